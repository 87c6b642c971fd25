"""Sealing canonical records: Pii fields become tokens, raw payloads are sealed whole.

What stays readable in ``records.data``: every field not marked ``Pii``, and Pii fields that
are empty (None, "", [] or {}). Absence is not secret and keeping it visible lets the hub
answer "which customers have no email" without decrypting; every other Pii value, including
lists of addresses, is one token of its JSON encoding, bound to column ``data.<field>`` and
the record's row ``connection/object_type/external_id``.

A record that belongs to a customer is sealed under that customer's subject key (v2 tokens,
:mod:`hub.vault.subjects`), which the caller resolves and passes in; any other record under
the primary data key (v1 tokens).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from hub.errors import VaultError
from hub.models import BlindIndexKind, CanonicalRecord, Pii, model_for
from hub.vault.blind_index import blind_index, normalise
from hub.vault.canonical import canonical_json
from hub.vault.cipher import length_prefixed, open_token, seal
from hub.vault.data_key import DataKey, SubjectKey
from hub.vault.keyring import Keyring
from hub.vault.mac import hmac_sha256

_CONTENT_LABEL = "hub.content_hash.v1"


@dataclass(frozen=True)
class SealedRecord:
    """What the store writes for one canonical record: nothing personal in clear."""

    data: dict[str, Any]  # canonical fields, Pii values replaced by tokens
    raw: str  # the vendor record, sealed under column "raw"
    index: list[tuple[str, int, str]]  # (kind, index key id, digest), no duplicates
    content_hash: str  # keyed HMAC of the plaintext data and raw; equal iff unchanged
    hash_key_id: int | None = None  # the index key of content_hash and index


def record_row(connection: str, object_type: str, external_id: str) -> str:
    """The AAD row of a record's tokens: ``connection/object_type/external_id``."""
    return f"{connection}/{object_type}/{external_id}"


@dataclass(frozen=True)
class PreparedRecord:
    """A record ready to seal, with what needs no data key already computed: its content
    hash (which decides whether it must be sealed at all) and its blind-index entries.

    Holds plaintext: it lives only between mapping and sealing, never in the store.
    """

    # Plaintext fields stay out of repr, so a log line or traceback never shows them.
    record: CanonicalRecord = field(repr=False)
    row: str  # the AAD row of its tokens (:func:`record_row`)
    plain: dict[str, Any] = field(repr=False)  # canonical fields as JSON types, in clear
    raw_json: str = field(repr=False)  # the vendor record's canonical JSON
    index: list[tuple[str, int, str]]
    content_hash: str
    hash_key_id: int


def prepare_record(record: CanonicalRecord, keyring: Keyring) -> PreparedRecord:
    """A record's content hash and blind indexes, without sealing anything (no token built).

    The raw payload, the largest part, is serialised once here: the same canonical text goes
    into the content hash and, if the record is sealed, into its raw token.
    """
    p = record.provenance
    plain = record.model_dump(mode="json", exclude={"provenance", "raw"})
    raw_json = canonical_json(record.raw)
    index_key = keyring.primary("index")
    return PreparedRecord(
        record=record,
        row=record_row(p.connection, p.object_type, p.external_id),
        plain=plain,
        raw_json=raw_json,
        index=_index_entries(record, index_key),
        content_hash=_content_hash_of_json(
            type(record).kind, canonical_json(plain), raw_json, index_key
        ),
        hash_key_id=index_key.id,
    )


def seal_record(
    record: CanonicalRecord | PreparedRecord,
    keyring: Keyring,
    *,
    table: str = "records",
    subject_key: SubjectKey | None = None,
) -> SealedRecord:
    """Seal a record's Pii fields and raw payload, and compute its blind indexes and hash.

    With ``subject_key`` (the record's customer's key, see :func:`hub.vault.subjects.subject_of`)
    every value is sealed under it in v2 tokens; without, under the primary data key. Given a
    :class:`PreparedRecord` (:func:`prepare_record`), only the tokens are built.
    """
    prepared = record if isinstance(record, PreparedRecord) else prepare_record(record, keyring)
    row = prepared.row
    data_key: DataKey | SubjectKey = subject_key or keyring.primary("data")
    data = dict(prepared.plain)
    seals = 1  # the raw payload
    for name in _pii_fields(type(prepared.record)):
        if not _is_empty(data[name]):
            data[name] = _seal_text(
                canonical_json(data[name]), data_key, table=table, column=f"data.{name}", row=row
            )
            seals += 1
    if subject_key is None:  # a subject key seals a handful of values: not counted
        keyring.add_seals({data_key.id: seals})  # counted against the key's NIST limit
    return SealedRecord(
        data=data,
        raw=_seal_text(prepared.raw_json, data_key, table=table, column="raw", row=row),
        index=prepared.index,
        content_hash=prepared.content_hash,
        hash_key_id=prepared.hash_key_id,
    )


def unseal_data(
    kind: str, data: dict[str, Any], keyring: Keyring, *, row: str, table: str = "records"
) -> dict[str, Any]:
    """The plaintext canonical fields of a stored record of ``kind`` (for an audited reveal)."""
    opened = dict(data)
    for name in model_for(kind).pii_fields():
        value = data.get(name)
        if not _is_empty(value):
            opened[name] = open_value(value, keyring, table=table, column=f"data.{name}", row=row)
    return opened


def indexed_values(
    kind: str,
    data: dict[str, Any],
    keyring: Keyring,
    *,
    index: BlindIndexKind,
    row: str,
    table: str = "records",
) -> set[str]:
    """The normalised values a stored record's blind index of ``index`` was computed from,
    opened from its sealed fields: what a lookup compares a candidate with. VaultError if a
    sealed field does not open in this row."""
    found: set[str] = set()
    for name, marker in model_for(kind).pii_fields().items():
        value = data.get(name)
        if marker.index != index or _is_empty(value):
            continue
        opened = open_value(value, keyring, table=table, column=f"data.{name}", row=row)
        for text in _strings(opened):
            try:
                found.add(normalise(index, text))
            except ValueError:
                continue  # not indexable, so not indexed either
    return found


def open_raw(sealed: str, keyring: Keyring, *, row: str, table: str = "records") -> dict[str, Any]:
    """The vendor record as received, from a sealed ``raw`` column."""
    raw = open_value(sealed, keyring, table=table, column="raw", row=row)
    if not isinstance(raw, dict):
        raise VaultError(f"{table}.raw does not hold a sealed vendor record")
    return raw


def seal_value(
    value: Any,
    keyring: Keyring,
    *,
    table: str,
    column: str,
    row: str,
    subject_key: SubjectKey | None = None,
) -> str:
    """Seal any JSON-able value under the primary data key (or a customer's subject key),
    bound to (table, column, row)."""
    key = subject_key or keyring.sealing_key()
    return _seal_text(canonical_json(value), key, table=table, column=column, row=row)


def _seal_text(text: str, key: DataKey | SubjectKey, *, table: str, column: str, row: str) -> str:
    """Seal canonical JSON text (ASCII, so its UTF-8 encoding is the text itself)."""
    return seal(text.encode("utf-8"), key, table=table, column=column, row=row)


def open_value(token: Any, keyring: Keyring, *, table: str, column: str, row: str) -> Any:
    """The JSON value sealed by :func:`seal_value` for exactly (table, column, row); a v2
    token opens through the subject keys loaded into ``keyring`` (Erased if forgotten)."""
    plaintext = open_token(
        token, keyring.get, table=table, column=column, row=row, subjects=keyring.subject_key
    )
    try:
        return json.loads(plaintext)
    except ValueError:
        raise VaultError(f"{table}.{column} opens to something that is not JSON") from None


@functools.cache
def _pii_fields(model: type[CanonicalRecord]) -> dict[str, Pii]:
    # A model's fields are fixed once its class exists; sealing asks twice per record.
    return model.pii_fields()


def _is_empty(value: Any) -> bool:
    # A tuple, not ``str | list | dict``: that builds a union object on every call (this
    # check alone was 2 % of a sync's py-spy samples with it; docs/performance.md).
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _index_entries(record: CanonicalRecord, key: DataKey) -> list[tuple[str, int, str]]:
    """Every normalisable value of every indexed field, once; others are skipped silently."""
    entries: list[tuple[str, int, str]] = []
    for name, marker in _pii_fields(type(record)).items():
        if marker.index is None:
            continue
        for value in _strings(getattr(record, name)):
            entry = _index_entry(marker.index, value, key)
            if entry is not None and entry not in entries:
                entries.append(entry)
    return entries


def _index_entry(kind: BlindIndexKind, value: str, key: DataKey) -> tuple[str, int, str] | None:
    try:
        return (kind, key.id, blind_index(kind, value, key))
    except ValueError:
        return None  # not an email/phone: no index, the sealed value is still stored


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _content_hash(kind: str, data: dict[str, Any], raw: dict[str, Any], key: DataKey) -> str:
    """Keyed, so equal hashes reveal nothing; from plaintext, because tokens are randomised."""
    return _content_hash_of_json(kind, canonical_json(data), canonical_json(raw), key)


def _content_hash_of_json(kind: str, data_json: str, raw_json: str, key: DataKey) -> str:
    """:func:`_content_hash` from the canonical texts of ``data`` and ``raw``.

    The document is assembled exactly as ``canonical_json({"kind", "data", "raw"})`` would
    write it (keys sorted: data, kind, raw), so hashes stored by earlier versions still match.
    """
    document = f'{{"data":{data_json},"kind":{canonical_json(kind)},"raw":{raw_json}}}'
    message = length_prefixed(_CONTENT_LABEL, document)
    return hmac_sha256(key, message)
