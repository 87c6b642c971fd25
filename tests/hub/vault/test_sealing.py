"""Sealing canonical records: nothing personal leaves in clear, everything comes back."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.errors import VaultError
from hub.models import Address, Case, Customer, Provenance
from hub.vault import (
    DataKey,
    Keyring,
    PreparedRecord,
    blind_index,
    open_raw,
    open_value,
    prepare_record,
    record_row,
    seal_record,
    seal_value,
    unseal_data,
)
from hub.vault.verify import record_opens_as

PII_VALUES = [
    "Anabela Pérez",
    "Anabela",
    "Pérez",
    "Ana.Perez@Example.com",
    "ana.perez@example.com",
    "+1 (415) 555-0100",
    "+14155550100",
    "1 Calle Mayor",
]
ROW = "zd/user/42"


def _customer(**changes: Any) -> Customer:
    fields: dict[str, Any] = {
        "provenance": Provenance(
            system="acme",
            connection="zd",
            object_type="user",
            external_id="42",
            source_updated_at=datetime(2024, 5, 1, tzinfo=UTC),
        ),
        "raw": {"id": 42, "name": "Anabela Pérez", "email": "Ana.Perez@Example.com"},
        "display_name": "Anabela Pérez",
        "given_name": "Anabela",
        "family_name": "Pérez",
        "emails": ["Ana.Perez@Example.com", "ana.perez@example.com", "not-an-email"],
        "phones": ["+1 (415) 555-0100"],
        "addresses": [Address(street="1 Calle Mayor", city="Madrid")],
        "locale": "es-ES",
        "tags": ["vip"],
    }
    fields.update(changes)
    return Customer(**fields)


def _texts(value: str) -> list[str]:
    """The ways a value could show up in JSON text. Every value is long enough, or has a
    character outside base64url, so it cannot turn up by chance inside a token."""
    return [value, json.dumps(value)[1:-1], value.lower()]


def test_a_sealed_record_holds_no_personal_value_in_clear(keyring: Keyring) -> None:
    sealed = seal_record(_customer(), keyring)
    stored = json.dumps([sealed.data, sealed.raw, sealed.index, sealed.content_hash])

    for value in PII_VALUES:
        for text in _texts(value):
            assert text not in stored


def test_fields_that_are_not_personal_stay_readable(keyring: Keyring) -> None:
    sealed = seal_record(_customer(), keyring)

    assert sealed.data["locale"] == "es-ES"
    assert sealed.data["tags"] == ["vip"]
    assert sealed.data["active"] is True
    assert "provenance" not in sealed.data
    assert "raw" not in sealed.data


def test_empty_personal_fields_stay_visibly_empty(keyring: Keyring) -> None:
    sealed = seal_record(_customer(given_name=None, phones=[], addresses=[]), keyring)

    assert sealed.data["given_name"] is None
    assert sealed.data["phones"] == []
    assert sealed.data["addresses"] == []


def test_unsealing_gives_back_the_canonical_values(keyring: Keyring) -> None:
    record = _customer()
    sealed = seal_record(record, keyring)

    opened = unseal_data("customer", sealed.data, keyring, row=ROW)

    assert opened == record.model_dump(mode="json", exclude={"provenance", "raw"})


def test_the_raw_vendor_record_comes_back_whole(keyring: Keyring) -> None:
    record = _customer()

    assert open_raw(seal_record(record, keyring).raw, keyring, row=ROW) == record.raw


def test_a_token_moved_to_another_field_does_not_open(keyring: Keyring) -> None:
    data = seal_record(_customer(), keyring).data
    swapped = {**data, "given_name": data["family_name"], "family_name": data["given_name"]}

    with pytest.raises(VaultError, match=r"records\.data\.given_name"):
        unseal_data("customer", swapped, keyring, row=ROW)


def test_a_record_copied_to_another_row_does_not_open(keyring: Keyring) -> None:
    sealed = seal_record(_customer(), keyring)

    with pytest.raises(VaultError):
        unseal_data("customer", sealed.data, keyring, row=record_row("zd", "user", "43"))
    with pytest.raises(VaultError):
        open_raw(sealed.raw, keyring, row=record_row("zd", "user", "43"))


def test_a_personal_field_replaced_by_clear_text_is_refused(keyring: Keyring) -> None:
    data = seal_record(_customer(), keyring).data

    with pytest.raises(VaultError):
        unseal_data("customer", {**data, "given_name": "Mallory"}, keyring, row=ROW)


def test_each_indexable_value_is_indexed_once_and_junk_is_skipped(
    keyring: Keyring, index_key: DataKey
) -> None:
    sealed = seal_record(_customer(), keyring)

    assert sealed.index == [
        ("email", index_key.id, blind_index("email", "ana.perez@example.com", index_key)),
        ("phone", index_key.id, blind_index("phone", "+14155550100", index_key)),
    ]


def test_an_unchanged_record_reread_has_the_same_content_hash(keyring: Keyring) -> None:
    first = seal_record(_customer(), keyring)
    again = seal_record(_customer(), keyring)

    assert first.data != again.data  # tokens are randomised...
    assert first.content_hash == again.content_hash  # ...the hash is not


def test_the_content_hash_is_the_one_earlier_versions_stored(keyring: Keyring) -> None:
    # Records stored before the hash was assembled from pre-serialised parts must still match,
    # or the first sync after an upgrade would rewrite every record as changed.
    customer = _customer(raw={"id": 42, "note": "caf\u00e9 \ud800", "n": [1.5, None, True]})
    document = json.dumps(
        {
            "kind": "customer",
            "data": customer.model_dump(mode="json", exclude={"provenance", "raw"}),
            "raw": customer.raw,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    label = b"hub.content_hash.v1"
    text = document.encode("ascii")
    message = len(label).to_bytes(4, "big") + label + len(text).to_bytes(4, "big") + text
    expected = hmac.new(keyring.primary("index").material, message, hashlib.sha256).hexdigest()

    assert seal_record(customer, keyring).content_hash == expected


def test_the_content_hash_ignores_the_source_timestamp(keyring: Keyring) -> None:
    later = _customer().provenance.model_copy(
        update={"source_updated_at": datetime(2024, 6, 1, tzinfo=UTC)}
    )

    assert (
        seal_record(_customer(provenance=later), keyring).content_hash
        == seal_record(_customer(), keyring).content_hash
    )


@pytest.mark.parametrize(
    "change",
    [{"family_name": "Pérez García"}, {"tags": ["vip", "churn-risk"]}, {"raw": {"id": 42}}],
)
def test_any_change_to_data_or_raw_changes_the_content_hash(
    keyring: Keyring, change: dict[str, Any]
) -> None:
    assert (
        seal_record(_customer(**change), keyring).content_hash
        != seal_record(_customer(), keyring).content_hash
    )


def test_the_content_hash_is_keyed(keyring: Keyring, data_key: DataKey) -> None:
    other = Keyring([data_key, DataKey(id=2, purpose="index", material=b"\x33" * 32)])

    assert (
        seal_record(_customer(), keyring).content_hash
        != seal_record(_customer(), other).content_hash
    )


def test_cases_seal_their_subject_and_description(keyring: Keyring) -> None:
    case = Case(
        provenance=Provenance(
            system="acme", connection="zd", object_type="ticket", external_id="7"
        ),
        subject="Refund for Ana",
        description="Card ending 4242",
        status="open",
    )
    sealed = seal_record(case, keyring)

    assert "Refund for Ana" not in json.dumps(sealed.data)
    assert "Card ending 4242" not in json.dumps(sealed.data)
    assert sealed.data["status"] == "open"
    assert (
        unseal_data("case", sealed.data, keyring, row="zd/ticket/7")["subject"] == "Refund for Ana"
    )


def test_any_json_value_round_trips_through_seal_value(keyring: Keyring) -> None:
    payload = {"id": 1, "email": "ana@example.com", "nested": [1.5, None, True, "ñ\ud800"]}
    token = seal_value(payload, keyring, table="quarantine", column="raw", row="zd/users/1")

    assert open_value(token, keyring, table="quarantine", column="raw", row="zd/users/1") == payload


# -- a stored copy against its fresh, unsealed twin (a full refresh's soundness check) -------


def _stored_and_fresh(keyring: Keyring) -> tuple[dict[str, Any], str, PreparedRecord]:
    sealed = seal_record(_customer(), keyring)
    return dict(sealed.data), sealed.raw, prepare_record(_customer(), keyring)


def test_a_stored_copy_opens_as_its_fresh_twin(keyring: Keyring) -> None:
    data, raw, fresh = _stored_and_fresh(keyring)
    assert record_opens_as(fresh, "customer", data, raw, keyring, row=ROW)


@pytest.mark.parametrize(
    "damage",
    [
        "field token from another field",
        "raw token from another row",
        "clear field edited",
        "personal field emptied",
        "kind",
    ],
)
def test_a_stored_copy_that_differs_from_its_fresh_twin_does_not_open_as_it(
    keyring: Keyring, damage: str
) -> None:
    data, raw, fresh = _stored_and_fresh(keyring)
    kind = "customer"
    if damage == "field token from another field":
        data["given_name"] = data["family_name"]
    elif damage == "raw token from another row":
        other = _customer(
            provenance=_customer().provenance.model_copy(update={"external_id": "43"})
        )
        raw = seal_record(other, keyring).raw
    elif damage == "clear field edited":
        data["locale"] = "en-GB"
    elif damage == "personal field emptied":
        data["given_name"] = None
    else:
        kind = "organization"
    assert not record_opens_as(fresh, kind, data, raw, keyring, row=ROW)


def test_a_fresh_twin_that_changed_does_not_match_the_stored_copy(keyring: Keyring) -> None:
    data, raw, _ = _stored_and_fresh(keyring)
    changed = prepare_record(_customer(given_name="Ana"), keyring)
    assert not record_opens_as(changed, "customer", data, raw, keyring, row=ROW)


def test_a_prepared_record_shows_no_personal_value_in_its_repr(keyring: Keyring) -> None:
    shown = repr(prepare_record(_customer(), keyring))
    assert ROW in shown  # which record it is, by key
    for value in PII_VALUES:
        assert all(text not in shown for text in _texts(value)), value
