"""Per-customer ("subject") keys: erasure by crypto-shredding (docs/security.md, "Erasure").

A *subject* is a customer's source identity, ``connection/object_type/external_id`` (the
AAD row of the customer record, :func:`hub.vault.sealing.record_row`). Every record of that
customer (the customer record itself, and each case, interaction, entitlement, contract or
product ownership whose ``customer_ref`` names it) seals all its values under the customer's
own key, in v2 tokens. Forgetting the customer destroys that key: every such value is gone
at once, wherever it was copied inside the hub.

``subject_keys`` names a customer only by ``subject_hash``, an HMAC of the identity under
the "subject" key: a key of its own purpose, never rotated, because rotating it would mean
recomputing every hash from identities the hub exists to forget (a forgotten customer's
identity is nowhere in the hub any more).

Two kinds of callers:

- the sync resolves the keys of a page's subjects in one select (inserting the new ones,
  race-safe on the unique ``subject_hash``) with :func:`subject_keys_for`, then seals;
- readers load the keys their batch's v2 tokens name with :func:`load_subject_keys` (one
  select per batch, every batch, so a forget in another process is seen at once) and then
  open through the keyring as before.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import VaultError
from hub.models import CanonicalRecord
from hub.store.schema import subject_keys
from hub.vault.cipher import header_subject_id, length_prefixed, open_token, seal
from hub.vault.data_key import KEY_BYTES, SubjectKey
from hub.vault.keyring import Forgotten, Keyring
from hub.vault.mac import hmac_sha256
from hub.vault.rotation import confirm_primaries

SUBJECT_TABLE = "subject_keys"
ERASED_HASH = "erased"
"""What a forgotten customer's records hold in ``content_hash`` (and NULL in hash_key_id):
their values are shredded, so no index key protects anything of theirs."""
_LABEL = "hub.subject.v1"
_CHUNK = 500  # ids or hashes per IN (...) list

Resolved = SubjectKey | Forgotten
"""A subject's key, or the tombstone of a forgotten one."""


def subject_identity(connection: str, object_type: str, external_id: str) -> str:
    """The identity of the customer record ``connection/object_type/external_id``."""
    return f"{connection}/{object_type}/{external_id}"


def subject_of(record: CanonicalRecord) -> str | None:
    """Whose record this is: the customer record's own identity, the identity its
    ``customer_ref`` names (``connection/<object_type>/<id>``), or None (agents, orgs...)."""
    p = record.provenance
    if record.kind == "customer":
        return subject_identity(p.connection, p.object_type, p.external_id)
    if not _names_customer(type(record)):
        return None
    ref = record.customer_ref  # type: ignore[attr-defined]
    if isinstance(ref, str) and "/" in ref:
        return f"{p.connection}/{ref}"
    return None


@functools.cache
def _names_customer(model: type[CanonicalRecord]) -> bool:
    # A getattr default on a pydantic model without the field costs an exception each time.
    return "customer_ref" in model.model_fields


def subject_hash(keyring: Keyring, identity: str) -> str:
    """The keyed hash that names a subject in ``subject_keys`` (and in audit pseudonyms'
    place): HMAC-SHA256 under the "subject" key, stable across data and index rotations."""
    return hmac_sha256(keyring.primary("subject"), length_prefixed(_LABEL, identity))


async def subject_keys_for(
    conn: AsyncConnection,
    keyring: Keyring,
    identities: Iterable[str],
    *,
    lookup_only: Iterable[str] = (),
    now: datetime | None = None,
) -> dict[str, Resolved]:
    """The keys of ``identities`` (created when missing) and of ``lookup_only`` (only those
    that exist), by identity, in one select (plus an insert and a re-select for new ones).

    New keys are inserted with ON CONFLICT DO NOTHING and read back, so two processes
    resolving the same new customer get the same key. A key is wrapped under the primary
    data key, confirmed primary in ``conn``'s transaction (KeyringStale if another process
    rotated it: reload the keyring and resolve again).
    """
    wanted = {identity: subject_hash(keyring, identity) for identity in set(identities)}
    maybe = {i: subject_hash(keyring, i) for i in set(lookup_only) if i not in wanted}
    by_hash = {h: i for i, h in {**wanted, **maybe}.items()}
    found = await _select_by_hash(conn, list(by_hash))
    missing = [h for h in wanted.values() if h not in found]
    made: dict[str, tuple[str, bytes]] = {}  # new keys by hash: wrapped, material
    if missing:
        made = await _insert_new(conn, keyring, missing, now or datetime.now(UTC))
        await confirm_primaries(conn, keyring)  # wrapped under a key still primary, counted
        found.update(await _select_by_hash(conn, missing))
    resolved: dict[int, tuple[SubjectKey, str] | Forgotten] = {}
    out: dict[str, Resolved] = {}
    for hash_, (key_id, wrapped, erased_at) in found.items():
        ours = made.get(hash_)
        if ours is not None and ours[0] == wrapped:  # inserted just now: no need to unwrap it
            value: tuple[SubjectKey, str] | Forgotten = (SubjectKey(key_id, ours[1]), wrapped)
        else:  # stored before, or by another process that won the race to insert it
            value = _unwrap(keyring, key_id, hash_, wrapped, erased_at)
        resolved[key_id] = value
        out[by_hash[hash_]] = value if isinstance(value, Forgotten) else value[0]
    keyring.remember_subjects(resolved)
    return out


async def load_subject_keys(conn: AsyncConnection, keyring: Keyring, values: Iterable[Any]) -> None:
    """Load into ``keyring`` the subject keys that the v2 tokens among ``values`` name (tokens,
    or dicts and lists holding them, such as ``records.data``): one select per call."""
    ids = subject_key_ids(values)
    if not ids:
        return
    resolved: dict[int, tuple[SubjectKey, str] | Forgotten] = {}
    c = subject_keys.c
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        rows = await conn.execute(
            sa.select(c.id, c.subject_hash, c.wrapped, c.erased_at).where(c.id.in_(chunk))
        )
        for key_id, hash_, wrapped, erased_at in rows:
            try:
                resolved[key_id] = _unwrap(keyring, key_id, hash_, wrapped, erased_at)
            except VaultError as exc:  # its values fail to open with this reason, not the batch
                keyring.subject_damaged(key_id, str(exc))
    keyring.remember_subjects(resolved)


def holds_erased(keyring: Keyring, values: Iterable[Any]) -> bool:
    """Whether any v2 token among ``values`` names a forgotten customer's key (loaded first
    with :func:`load_subject_keys`)."""
    return any(keyring.is_forgotten(key_id) for key_id in subject_key_ids(values))


async def erased_among(conn: AsyncConnection, ids: Iterable[int]) -> set[int]:
    """Which of these subject key ids are erased (their customer was forgotten)."""
    ordered = sorted(set(ids))
    erased: set[int] = set()
    c = subject_keys.c
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        rows = await conn.execute(sa.select(c.id).where(c.id.in_(chunk), c.wrapped.is_(None)))
        erased.update(key_id for (key_id,) in rows)
    return erased


def subject_key_ids(values: Iterable[Any]) -> set[int]:
    """The subject key ids named by the v2 tokens among ``values`` (searched in dicts and
    lists too)."""
    ids: set[int] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            key_id = header_subject_id(value)
            if key_id is not None:
                ids.add(key_id)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return ids


def wrap_subject_key(material: bytes, keyring: Keyring, subject_hash_: str) -> str:
    """A subject key sealed as a v1 token under the primary data key (one seal counted)."""
    return seal(
        material, keyring.sealing_key(), table=SUBJECT_TABLE, column="wrapped", row=subject_hash_
    )


def unwrap_subject_key(wrapped: str, keyring: Keyring, subject_hash_: str) -> bytes:
    """The material of a wrapped subject key; VaultError naming its row if it does not open."""
    material = open_token(
        wrapped, keyring.get, table=SUBJECT_TABLE, column="wrapped", row=subject_hash_
    )
    if len(material) != KEY_BYTES:
        raise VaultError(
            f"{SUBJECT_TABLE}.wrapped (row {subject_hash_}) is not a {KEY_BYTES}-byte key"
        )
    return material


async def _select_by_hash(
    conn: AsyncConnection, hashes: list[str]
) -> dict[str, tuple[int, str | None, datetime | None]]:
    c = subject_keys.c
    found: dict[str, tuple[int, str | None, datetime | None]] = {}
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start : start + _CHUNK]
        rows = await conn.execute(
            sa.select(c.id, c.subject_hash, c.wrapped, c.erased_at).where(c.subject_hash.in_(chunk))
        )
        for key_id, hash_, wrapped, erased_at in rows:
            found[hash_] = (key_id, wrapped, erased_at)
    return found


async def _insert_new(
    conn: AsyncConnection, keyring: Keyring, hashes: list[str], now: datetime
) -> dict[str, tuple[str, bytes]]:
    """Insert a new key for each hash unless one is there by now; what was offered, by hash
    (wrapped, material), so the caller need not unwrap the keys it made."""
    made = {}
    for h in hashes:
        material = os.urandom(KEY_BYTES)
        made[h] = (wrap_subject_key(material, keyring, h), material)
    values = [{"subject_hash": h, "wrapped": w, "created_at": now} for h, (w, _) in made.items()]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(subject_keys).on_conflict_do_nothing(index_elements=["subject_hash"])
    await conn.execute(statement, values)
    return made


def _unwrap(
    keyring: Keyring,
    key_id: int,
    hash_: str,
    wrapped: str | None,
    erased_at: datetime | None,
) -> tuple[SubjectKey, str] | Forgotten:
    if wrapped is None:
        return Forgotten(erased_at)
    cached = keyring.cached_subject(key_id, wrapped)
    if cached is not None:
        return cached, wrapped
    return SubjectKey(key_id, unwrap_subject_key(wrapped, keyring, hash_)), wrapped
