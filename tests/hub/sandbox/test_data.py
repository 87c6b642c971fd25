"""Generated sandbox people: deterministic, varied, and never failing to render."""

from __future__ import annotations

from hub.sandbox.data import is_duplicate_of_previous, person, world
from hub.vault import normalise_phone

VENDOR = "helpdesk"


def test_every_generated_person_renders_and_almost_every_name_is_new() -> None:
    people = [person(7, index, VENDOR) for index in range(5_000)]
    assert all(p.display_name.strip() for p in people)
    # Repeats, namesakes and households share names; nothing else does.
    assert len({p.display_name for p in people}) > 0.9 * len(people)


def test_most_generated_phones_are_valid_numbers_in_a_messy_shape() -> None:
    valid = total = 0
    shapes = set()
    for index in range(2_000):
        phone = person(3, index, VENDOR).phone
        if not phone:
            continue
        total += 1
        region = world(3).individual(world(3).truth(VENDOR, index)).region
        try:
            normalise_phone(phone, region)  # national forms need the person's region
            valid += 1
        except ValueError:
            pass
        shapes.add("+" if phone.startswith("+") and phone[1:].isdigit() else "messy")
    assert 0.85 < valid / total < 1.0  # some are broken on purpose
    assert shapes == {"+", "messy"}


def test_the_same_seed_gives_the_same_people() -> None:
    assert [person(11, i, VENDOR) for i in range(50)] == [person(11, i, VENDOR) for i in range(50)]


def test_a_duplicate_record_is_the_same_person_as_an_earlier_record() -> None:
    repeats = [i for i in range(3_000) if is_duplicate_of_previous(5, i, VENDOR)]
    assert repeats
    for index in repeats:
        earlier = world(5).records_of(world(5).truth(VENDOR, index))[VENDOR]
        assert min(earlier) < index
