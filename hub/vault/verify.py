"""Verifying what is stored: does every sealed value of a record open where it is, does its
content hash still match the opened values, and do its blind-index rows belong to it?

`hub check` and a ``--full-refresh`` sync use these; nothing here writes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, get_args

from hub.errors import VaultError
from hub.models import BlindIndexKind, model_for
from hub.vault.blind_index import lookup_digests
from hub.vault.canonical import canonical_json
from hub.vault.cipher import open_token
from hub.vault.keyring import Keyring
from hub.vault.sealing import (
    PreparedRecord,
    _content_hash,
    _is_empty,
    _pii_fields,
    indexed_values,
    open_raw,
    open_value,
    unseal_data,
)

_INDEX_KINDS: tuple[BlindIndexKind, ...] = get_args(BlindIndexKind)


@dataclass(frozen=True)
class Problem:
    """One stored value that is not what it should be: which column, and why."""

    column: str
    reason: str


def record_problems(
    kind: str,
    data: dict[str, Any],
    raw: str | None,
    content_hash: str,
    keyring: Keyring,
    *,
    row: str,
) -> list[Problem]:
    """What is wrong with a live record's sealed values and content hash (empty: all is well).

    Each Pii field and the raw payload are opened on their own, so every damaged column is
    named; the hash is compared only when everything opened, as it is of the plaintext.
    """
    problems: list[Problem] = []
    opened = dict(data)
    for name in model_for(kind).pii_fields():
        try:
            opened.update(unseal_data(kind, {name: data.get(name)}, keyring, row=row))
        except VaultError as exc:
            problems.append(Problem(f"data.{name}", str(exc)))
    try:
        plain_raw = open_raw(raw or "", keyring, row=row)
    except VaultError as exc:
        problems.append(Problem("raw", str(exc)))
    if problems:
        return problems
    if not _hash_matches(kind, opened, plain_raw, content_hash, keyring):
        problems.append(
            Problem("content_hash", "does not match the record's values (a clear field changed?)")
        )
    return problems


def record_opens(
    kind: str,
    data: dict[str, Any],
    raw: str | None,
    content_hash: str,
    keyring: Keyring,
    *,
    row: str,
) -> bool:
    """Whether a stored record's sealed values open and still match its content hash."""
    return not record_problems(kind, data, raw, content_hash, keyring, row=row)


def record_opens_as(
    prepared: PreparedRecord,
    kind: str,
    data: dict[str, Any],
    raw: str | None,
    keyring: Keyring,
    *,
    row: str,
) -> bool:
    """Whether a stored record's sealed values open, in their place, to exactly the canonical
    texts of ``prepared`` (a fresh copy whose content hash equals the stored one), and its
    clear fields are the fresh ones.

    :func:`record_opens` without decoding the opened values and hashing them again: equal
    texts have equal hashes, and the fresh hash is the stored one. A value stored in a text
    that decodes equal but differs byte for byte counts as unsound (the record is rewritten).
    """
    model = type(prepared.record)
    if kind != model.kind or set(data) != set(prepared.plain):
        return False
    personal = _pii_fields(model)
    subjects = keyring.subject_key  # v2 tokens: the page's customer keys, resolved before
    try:
        for name, value in prepared.plain.items():
            if name not in personal or _is_empty(value):
                if data[name] != value:
                    return False
                continue
            column = f"data.{name}"
            opened = open_token(
                data[name], keyring.get, table="records", column=column, row=row, subjects=subjects
            )
            if opened != canonical_json(value).encode("utf-8"):
                return False
        opened_raw = open_token(
            raw or "", keyring.get, table="records", column="raw", row=row, subjects=subjects
        )
    except VaultError:
        return False
    return opened_raw == prepared.raw_json.encode("utf-8")


def expected_index(
    kind: str, data: dict[str, Any], keyring: Keyring, *, row: str
) -> set[tuple[str, int, str]]:
    """(kind, key id, digest) of every blind-index row a record's own values justify, under
    each usable index key; VaultError if a sealed field does not open."""
    expected: set[tuple[str, int, str]] = set()
    keys = keyring.index_keys()
    for index in _INDEX_KINDS:
        for value in indexed_values(kind, data, keyring, index=index, row=row):
            expected.update((index, key_id, d) for key_id, d in lookup_digests(index, value, keys))
    return expected


def _hash_matches(
    kind: str, data: dict[str, Any], raw: dict[str, Any], content_hash: str, keyring: Keyring
) -> bool:
    keys = keyring.index_keys()
    return any(
        hmac.compare_digest(_content_hash(kind, data, raw, key), content_hash) for key in keys
    )


def open_problem(token: Any, keyring: Keyring, *, table: str, column: str, row: str) -> str | None:
    """Why a sealed value does not open in its place, or None when it opens."""
    try:
        open_value(token, keyring, table=table, column=column, row=row)
    except VaultError as exc:
        return str(exc)
    return None


__all__ = [
    "Problem",
    "expected_index",
    "open_problem",
    "record_opens",
    "record_opens_as",
    "record_problems",
]
