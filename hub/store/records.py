"""Canonical records: the page upsert at the heart of a sync, and blind-index lookups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store import sqlite_bulk
from hub.store.schema import blind_index, records

TOMBSTONE_HASH = "tombstone"


@dataclass(frozen=True)
class RecordRow:
    """One sealed canonical record ready to store."""

    object_type: str
    external_id: str
    kind: str
    data: dict[str, Any]
    raw: str
    content_hash: str
    index: Sequence[tuple[str, int, str]]  # (kind, key_id, digest)
    source_updated_at: datetime | None
    hash_key_id: int | None = None  # the index key that computed content_hash
    subject_key_id: int | None = None  # the customer key that sealed it (v2), if any


class UnsealedRow:
    """A record that was not sealed because its content hash equalled the stored copy's when
    the page was prepared (no token built for it).

    The page's transaction checks that hash again: should the stored copy have changed in
    between (or fail a full refresh's soundness check), :meth:`sealed` seals it there, once.
    """

    __slots__ = (
        "_seal",
        "_sealed",
        "content_hash",
        "data",
        "external_id",
        "index",
        "kind",
        "object_type",
        "source",
        "source_updated_at",
        "subject_key_id",
    )

    def __init__(
        self,
        object_type: str,
        external_id: str,
        content_hash: str,
        index: Sequence[tuple[str, int, str]],
        *,
        kind: str,
        data: dict[str, Any],
        source_updated_at: datetime | None,
        seal: Callable[[], RecordRow],
        source: object = None,
        subject_key_id: int | None = None,
    ) -> None:
        self.object_type = object_type
        self.external_id = external_id
        self.content_hash = content_hash
        self.index = index
        self.kind = kind
        self.data = data  # the fields stored in clear only: no personal field, sealed or not
        self.source_updated_at = source_updated_at
        self._seal = seal
        self._sealed: RecordRow | None = None
        self.source = source  # what the sync prepared it from (opaque here)
        self.subject_key_id = subject_key_id  # the customer key it would be sealed under

    def sealed(self) -> RecordRow:
        """The sealed row, built on first use."""
        if self._sealed is None:
            self._sealed = self._seal()
        return self._sealed

    @property
    def was_sealed(self) -> RecordRow | None:
        """The sealed row if the transaction needed it, else None."""
        return self._sealed


@dataclass(frozen=True)
class Tombstone:
    """A source deletion: the record stays, its personal data goes."""

    object_type: str
    external_id: str
    source_updated_at: datetime | None


@dataclass(frozen=True)
class StoredRecord:
    """A stored live record as a full refresh re-examines it (sealed, as stored)."""

    id: int
    object_type: str
    external_id: str
    kind: str
    data: dict[str, Any]
    raw: str | None
    content_hash: str
    index: frozenset[tuple[str, int, str]]


# Whether a stored record that the vendor sent again unchanged is sound as stored: when it is
# not (a sealed value does not open, an index row was moved), the fresh copy is written.
SoundCheck = Callable[[StoredRecord, "RecordRow | UnsealedRow"], bool]


@dataclass
class UpsertCounts:
    written: int = 0
    unchanged: int = 0
    deleted: int = 0


def _key(object_type: str, external_id: str) -> tuple[str, str]:
    return (object_type, external_id)


async def _existing(
    conn: AsyncConnection, connection: str, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """(object_type, external_id) -> (id, content_hash) for the keys already stored."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    by_type: dict[str, list[str]] = {}
    for object_type, external_id in keys:
        by_type.setdefault(object_type, []).append(external_id)
    for object_type, ids in by_type.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await conn.execute(
                sa.select(records.c.id, records.c.external_id, records.c.content_hash).where(
                    records.c.connection == connection,
                    records.c.object_type == object_type,
                    records.c.external_id.in_(chunk),
                )
            )
            for rid, external_id, content_hash in rows:
                found[_key(object_type, external_id)] = (rid, content_hash)
    return found


async def stored_hashes(
    conn: AsyncConnection, connection: str, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(object_type, external_id) -> stored content hash, for the keys already stored."""
    return {key: found[1] for key, found in (await _existing(conn, connection, keys)).items()}


async def holds_records(conn: AsyncConnection, connection: str, object_type: str) -> bool:
    """Whether any record (live or tombstone) of ``object_type`` is stored for ``connection``."""
    found = await conn.scalar(
        sa.select(records.c.id)
        .where(records.c.connection == connection, records.c.object_type == object_type)
        .limit(1)
    )
    return found is not None


async def upsert_records(
    conn: AsyncConnection,
    *,
    connection: str,
    stream: str,
    mapping_version: str,
    rows: Sequence[RecordRow | UnsealedRow],
    tombstones: Sequence[Tombstone],
    now: datetime,
    sound: SoundCheck | None = None,
) -> UpsertCounts:
    """Insert new records, update changed ones, skip unchanged ones, tombstone deletions.

    Runs inside the caller's transaction. Within one call the last occurrence of a key wins
    (time-based exports may repeat a record at a page boundary). With ``sound`` (a full
    refresh), an unchanged record is skipped only if it passes that check; otherwise it is
    rewritten, blind-index rows included, and counted as written. An :class:`UnsealedRow` is
    sealed here only if it has to be written after all.
    """
    latest: dict[tuple[str, str], RecordRow | UnsealedRow | Tombstone] = {}
    items: list[RecordRow | UnsealedRow | Tombstone] = [*rows, *tombstones]
    for item in items:
        latest[_key(item.object_type, item.external_id)] = item
    existing = await _existing(conn, connection, set(latest))
    stored = await _stored_records(conn, [old[0] for old in existing.values()]) if sound else {}
    counts = UpsertCounts()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletions: list[dict[str, Any]] = []
    index_for: dict[tuple[str, str], Sequence[tuple[str, int, str]]] = {}
    for key, item in latest.items():
        old = existing.get(key)
        fresh_hash = TOMBSTONE_HASH if isinstance(item, Tombstone) else item.content_hash
        if old is not None and old[1] == fresh_hash:
            damaged = (
                sound is not None
                and not isinstance(item, Tombstone)
                and old[0] in stored
                and not sound(stored[old[0]], item)
            )
            if not damaged:
                counts.unchanged += 1
                continue
        if isinstance(item, UnsealedRow):
            item = item.sealed()
        values = _values(item, connection, stream, mapping_version, now)
        if isinstance(item, Tombstone):
            counts.deleted += 1
            if old is None:
                # Never seen alive: remember the deletion so an older copy cannot revive it.
                inserts.append({**values, "kind": "tombstone", "created_at": now})
            else:
                # The row keeps its canonical kind, so lookups still know what it was.
                deletions.append(
                    {**{k: v for k, v in values.items() if k != "kind"}, "_id": old[0]}
                )
            continue
        counts.written += 1
        index_for[key] = item.index
        if old is None:
            inserts.append({**values, "created_at": now})
        else:
            updates.append({**values, "_id": old[0]})
    ids = {key: old[0] for key, old in existing.items()}
    if conn.dialect.name == "postgresql":
        ids.update(await _write_by_copy(conn, connection, inserts, [*updates, *deletions]))
    else:
        ids.update(await _write_by_statements(conn, connection, inserts, updates, deletions))
    touched = [ids[_key(d["object_type"], d["external_id"])] for d in [*updates, *deletions]]
    await _replace_index(conn, touched, [(ids[k], entries) for k, entries in index_for.items()])
    return counts


async def _write_by_statements(
    conn: AsyncConnection,
    connection: str,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    deletions: list[dict[str, Any]],
) -> dict[tuple[str, str], int]:
    """SQLite: write the page with one executemany per statement (hub.store.sqlite_bulk);
    the new rows' ids."""
    ids = await sqlite_bulk.insert_records(conn, connection, inserts)
    for batch in (updates, deletions):
        await sqlite_bulk.update_records(conn, batch)
    return ids


async def _write_by_copy(
    conn: AsyncConnection,
    connection: str,
    inserts: list[dict[str, Any]],
    changes: list[dict[str, Any]],
) -> dict[tuple[str, str], int]:
    """PostgreSQL: COPY the new rows, update the others in one statement (hub.store.pg_bulk);
    the new rows' ids, read back by key."""
    from hub.store import pg_bulk  # here: psycopg costs an SQLite hub ~10 MB of RSS

    if inserts:
        await pg_bulk.insert_records(conn, inserts)
    if changes:
        await pg_bulk.update_records(conn, changes)
    if not inserts:
        return {}
    added = await _existing(
        conn, connection, {_key(r["object_type"], r["external_id"]) for r in inserts}
    )
    return {key: found[0] for key, found in added.items()}


async def index_rows(
    conn: AsyncConnection, record_ids: Sequence[int]
) -> dict[int, set[tuple[str, int, str]]]:
    """(kind, key id, digest) of every blind-index row of these records, by record id."""
    query = sa.select(
        blind_index.c.record_id, blind_index.c.kind, blind_index.c.key_id, blind_index.c.digest
    ).where(blind_index.c.record_id.in_(list(record_ids)))
    found: dict[int, set[tuple[str, int, str]]] = {}
    for i in await conn.execute(query):
        found.setdefault(i.record_id, set()).add((i.kind, i.key_id, i.digest))
    return found


async def _stored_records(conn: AsyncConnection, ids: list[int]) -> dict[int, StoredRecord]:
    """The live records with these ids, with their blind-index rows, by id."""
    found: dict[int, StoredRecord] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        index = await index_rows(conn, chunk)
        query = sa.select(
            records.c.id, records.c.object_type, records.c.external_id, records.c.kind,
            records.c.data, records.c.raw, records.c.content_hash,
        ).where(records.c.id.in_(chunk), records.c.deleted.is_(False))  # fmt: skip
        for r in await conn.execute(query):
            found[r.id] = StoredRecord(
                r.id, r.object_type, r.external_id, r.kind, dict(r.data), r.raw,
                r.content_hash, frozenset(index.get(r.id, ())),
            )  # fmt: skip
    return found


async def _replace_index(
    conn: AsyncConnection,
    stale_ids: list[int],
    fresh: list[tuple[int, Sequence[tuple[str, int, str]]]],
) -> None:
    """Drop the blind-index rows of changed records and write the new ones."""
    for start in range(0, len(stale_ids), 500):
        chunk = stale_ids[start : start + 500]
        await conn.execute(sa.delete(blind_index).where(blind_index.c.record_id.in_(chunk)))
    columns = ("record_id", "kind", "key_id", "digest")
    entries = [(rid, *entry) for rid, found in fresh for entry in set(found)]
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        from hub.store import pg_bulk

        await pg_bulk.copy_rows(conn, "blind_index", columns, entries)
    else:
        await sqlite_bulk.insert_rows(conn, blind_index, columns, entries)


def _values(
    item: RecordRow | Tombstone, connection: str, stream: str, mapping_version: str, now: datetime
) -> dict[str, Any]:
    if isinstance(item, Tombstone):
        kind, data, raw, content_hash, hash_key_id = "tombstone", {}, None, TOMBSTONE_HASH, None
    else:
        kind, data, raw = item.kind, item.data, item.raw
        content_hash, hash_key_id = item.content_hash, item.hash_key_id
    # One dict literal per row, not a merge of two: built for every record of every page.
    return {
        "connection": connection,
        "object_type": item.object_type,
        "external_id": item.external_id,
        "stream": stream,
        "mapping_version": mapping_version,
        "source_updated_at": item.source_updated_at,
        "updated_at": now,
        "kind": kind,
        "data": data,
        "raw": raw,
        "content_hash": content_hash,
        "hash_key_id": hash_key_id,
        "deleted": isinstance(item, Tombstone),
    }


async def find_by_blind_index(
    conn: AsyncConnection, kind: str, digests: Sequence[str]
) -> list[sa.Row[Any]]:
    """Live records whose blind index of ``kind`` matches one of ``digests``, with their
    sealed ``data``: index rows are not authenticated, so the caller confirms each candidate
    by opening it (see docs/security.md)."""
    query = (
        sa.select(
            records.c.id,
            records.c.connection,
            records.c.object_type,
            records.c.external_id,
            records.c.kind,
            records.c.source_updated_at,
            records.c.data,
        )
        .where(
            records.c.id.in_(
                sa.select(blind_index.c.record_id).where(
                    blind_index.c.kind == kind, blind_index.c.digest.in_(list(digests))
                )
            )
        )
        .where(records.c.deleted.is_(False))
        .order_by(records.c.id)
    )  # IN, not a join with DISTINCT: PostgreSQL cannot compare json values
    return list(await conn.execute(query))


async def latest_source_update(
    conn: AsyncConnection, connection: str, object_type: str, external_id: str
) -> datetime | None:
    """The source update time of the stored copy of a record (None if absent or unknown)."""
    return await conn.scalar(
        sa.select(records.c.source_updated_at).where(
            records.c.connection == connection,
            records.c.object_type == object_type,
            records.c.external_id == external_id,
        )
    )
