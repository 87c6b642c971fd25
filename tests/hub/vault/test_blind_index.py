"""Blind indexes: one digest per person's address however it is written, keyed and by kind."""

from __future__ import annotations

import hashlib

import pytest

from hub.errors import VaultError
from hub.vault import DataKey, blind_index, lookup_digests, normalise_email, normalise_phone

OTHER_INDEX_KEY = DataKey(id=9, purpose="index", material=b"\x99" * 32)  # TEST-ONLY


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("  Ana@Example.COM ", "ana@example.com"),
        ("ana@example.com", "ana@example.com"),
        ("Ana@Bücher.de", "ana@xn--bcher-kva.de"),
    ],
)
def test_emails_normalise_to_lowercase_with_an_idna_domain(written: str, normalised: str) -> None:
    assert normalise_email(written) == normalised


@pytest.mark.parametrize("invalid", ["ana", "ana@", "@example.com", "ana example@example.com", ""])
def test_an_invalid_email_is_a_value_error_that_does_not_repeat_it(invalid: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise_email(invalid)

    assert str(caught.value) == "not a valid email address"


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("+1 (415) 555-0100", None, "+14155550100"),
        ("+14155550100", None, "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("+44 20 7946 0958", None, "+442079460958"),
    ],
)
def test_phones_normalise_to_e164(written: str, region: str | None, e164: str) -> None:
    assert normalise_phone(written, default_region=region) == e164


@pytest.mark.parametrize(
    ("kind", "written", "region"),
    [
        ("email", "  Ana@Example.COM ", None),
        ("email", "Ana@Bücher.de", None),
        ("email", "José.Ñúñez@Exämple.es", None),
        ("phone", "(415) 555-0100", "US"),
        ("phone", "020 7946 0958", "GB"),
    ],
)
def test_a_normalised_value_is_its_own_normal_form_with_nothing_cached(
    kind: str, written: str, region: str | None
) -> None:
    # The sealing step does not parse a value the mapping just normalised again; that is only
    # right if normalising the output changes nothing, whatever the caches hold.
    from hub.vault.blind_index import _NORMAL, _normalise_email, _normalise_phone

    normal = normalise_email(written) if kind == "email" else normalise_phone(written, region)
    _NORMAL[kind].clear()
    _normalise_email.cache_clear()
    _normalise_phone.cache_clear()
    again = normalise_email(normal) if kind == "email" else normalise_phone(normal)

    assert again == normal


@pytest.mark.parametrize("invalid", ["(415) 555-0100", "12", "+1 000", "call me", ""])
def test_an_invalid_phone_is_a_value_error_that_does_not_repeat_it(invalid: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise_phone(invalid)

    assert str(caught.value) == "not a valid phone number"


def test_differently_written_emails_share_one_digest(index_key: DataKey) -> None:
    assert blind_index("email", "  Ana@Example.COM ", index_key) == blind_index(
        "email", "ana@example.com", index_key
    )


def test_differently_written_phones_share_one_digest(index_key: DataKey) -> None:
    assert blind_index("phone", "+1 (415) 555-0100", index_key) == blind_index(
        "phone", "+14155550100", index_key
    )


def test_different_people_get_different_digests(index_key: DataKey) -> None:
    assert blind_index("email", "ana@example.com", index_key) != blind_index(
        "email", "ann@example.com", index_key
    )


def test_digests_differ_across_kinds_and_keys(index_key: DataKey) -> None:
    email = blind_index("email", "ana@example.com", index_key)
    phone = blind_index("phone", "+14155550100", index_key)

    assert len({email, phone}) == 2
    assert blind_index("email", "ana@example.com", OTHER_INDEX_KEY) != email


def test_a_digest_is_keyed_not_a_plain_hash(index_key: DataKey) -> None:
    digest = blind_index("email", "ana@example.com", index_key)

    assert len(digest) == 64
    assert digest != hashlib.sha256(b"ana@example.com").hexdigest()


def test_a_data_key_cannot_compute_blind_indexes(data_key: DataKey) -> None:
    with pytest.raises(VaultError, match="index key"):
        blind_index("email", "ana@example.com", data_key)


def test_an_unnormalisable_value_has_no_digest(index_key: DataKey) -> None:
    with pytest.raises(ValueError):
        blind_index("phone", "n/a", index_key)


def test_lookup_digests_cover_every_index_key(index_key: DataKey) -> None:
    found = lookup_digests("email", "Ana@example.com", [index_key, OTHER_INDEX_KEY])

    assert found == [
        (index_key.id, blind_index("email", "ana@example.com", index_key)),
        (9, blind_index("email", "ana@example.com", OTHER_INDEX_KEY)),
    ]
