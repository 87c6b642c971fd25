"""Generated sandbox people: deterministic, varied, and never failing to render."""

from __future__ import annotations

from hub.sandbox.data import person
from hub.vault import normalise_phone


def test_every_generated_person_renders_whatever_their_index() -> None:
    people = [person(7, index) for index in range(20_000)]
    assert len({p.display_name for p in people}) > 50


def test_most_generated_phones_are_valid_numbers_in_a_messy_shape() -> None:
    phones = [p.phone for p in (person(3, i) for i in range(2_000)) if p.phone]
    valid = 0
    for phone in phones:
        try:
            normalise_phone(phone)
            valid += 1
        except ValueError:
            pass
    assert 0.8 < valid / len(phones) < 1.0  # some are broken on purpose
    assert any(not p.startswith("+") or " " in p or "(" in p for p in phones)


def test_the_same_seed_gives_the_same_people() -> None:
    assert [person(11, i) for i in range(50)] == [person(11, i) for i in range(50)]
