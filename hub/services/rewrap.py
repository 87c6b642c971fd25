"""The rewrap job: reseal, batch by batch, every value still under a decrypt-only key, and
recompute content hashes and blind indexes still under an old index key.

It walks six tables in primary-key order (secrets, connections, outbox, subject_keys,
quarantine, records). v2 tokens (a customer's values, under the customer's subject key) are
left as they are: rewrapping the subject keys themselves moves them off the old data key.
A record of a forgotten customer is skipped: it has nothing left to reseal or rehash.
Each batch commits with the table's position in ``rewrap_progress``, so a killed
job resumes at the next batch and loses at most one. It runs online: each row is written
back with a compare-and-set on the sealed value it read (tokens are randomised, so any other
write in between changed it), and a row that changed meanwhile is left as the newer write
left it, which :func:`hub.vault.rotation.confirm_primaries` guarantees is under the primary.
A resealed token opens to the same bytes; nothing but the ciphertext changes.

Once a full pass leaves a decrypt-only key with census 0 (:mod:`hub.services.census`), it
retires and its material is destroyed (:mod:`hub.services.keys`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_args

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.models import BlindIndexKind
from hub.runtime import Hub, utcnow
from hub.services.sealed_tables import (
    BATCH,
    TABLE,
    TARGETS,
    last_key,
    record_tokens,
)
from hub.store.schema import (
    blind_index,
    connections,
    outbox,
    quarantine,
    records,
    rewrap_progress,
    secrets,
    subject_keys,
)
from hub.sync import quarantine_row_key
from hub.vault import blind_index as index_digest
from hub.vault import indexed_values, open_token, record_row, seal, unseal_data
from hub.vault.cipher import header_key_id
from hub.vault.keyring import Keyring
from hub.vault.rotation import KeyringStale, confirm_primaries
from hub.vault.sealing import _content_hash
from hub.vault.subjects import holds_erased, load_subject_keys

_INDEX_KINDS: tuple[BlindIndexKind, ...] = get_args(BlindIndexKind)

RewrapProgress = Callable[[str, int, int], None]
"""Called after each batch with (table, rows done, rows in the table)."""


@dataclass
class PassResult:
    """What one run of the job did."""

    rewrapped: int = 0  # tokens resealed
    rehashed: int = 0  # records whose content hash and index rows were recomputed
    skipped: int = 0  # rows changed by another writer meanwhile: left as they are
    batches: int = 0
    finished: bool = False


# -- walking the tables -------------------------------------------------------------------


async def run_pass(
    hub: Hub, *, batch_size: int, progress: RewrapProgress | None = None
) -> PassResult:
    """Walk every table from where the job stopped, resealing what is stale, until each is
    finished; each batch commits with its position."""
    result = PassResult()
    for target in TARGETS:
        async with hub.engine.connect() as conn:
            after, finished, done = await _position(conn, target)
            total = int(
                await conn.scalar(sa.select(sa.func.count()).select_from(TABLE[target])) or 0
            )
        while not finished:
            try:
                after, finished, done = await _one_batch(
                    hub, target, after, done, batch_size, result
                )
            except KeyringStale:  # rotated again meanwhile: that batch rolled back; redo it
                await hub.reload_keyring()
                continue
            result.batches += 1
            if progress is not None:
                progress(target, min(done, total), total)
    result.finished = True
    return result


async def _one_batch(
    hub: Hub, target: str, after: str | None, done: int, size: int, result: PassResult
) -> tuple[str | None, bool, int]:
    """Reseal one batch of ``target`` after ``after`` and save the position, in one
    transaction; the new (position, finished, rows done)."""
    async with hub.engine.begin() as conn:
        batch = await BATCH[target](conn, after, size)
        counts = (0, 0, 0)
        if batch:
            keyring = hub.keyring
            counts = await _REWRAP[target](conn, keyring, batch)
            await confirm_primaries(conn, keyring)
            after = last_key(target, batch)
        finished = len(batch) < size
        await _save_position(conn, target, after, finished, done + len(batch))
    result.rewrapped += counts[0]
    result.rehashed += counts[1]
    result.skipped += counts[2]
    return after, finished, done + len(batch)


async def reset_progress(conn: AsyncConnection) -> None:
    """Start the walk again from the first row of every table (after a rotation)."""
    await conn.execute(rewrap_progress.delete())


async def job_started(conn: AsyncConnection) -> bool:
    return (await conn.scalar(sa.select(sa.func.count()).select_from(rewrap_progress))) != 0


async def _position(conn: AsyncConnection, target: str) -> tuple[str | None, bool, int]:
    p = rewrap_progress.c
    row = (
        await conn.execute(sa.select(p.after, p.finished, p.rows_done).where(p.target == target))
    ).first()
    return (None, False, 0) if row is None else (row.after, bool(row.finished), int(row.rows_done))


async def _save_position(
    conn: AsyncConnection, target: str, after: str | None, finished: bool, done: int
) -> None:
    values = {"after": after, "finished": finished, "rows_done": done, "updated_at": utcnow()}
    updated = await conn.execute(
        rewrap_progress.update().where(rewrap_progress.c.target == target).values(values)
    )
    if updated.rowcount == 0:
        await conn.execute(rewrap_progress.insert().values(target=target, **values))


# -- one batch of each table --------------------------------------------------------------

_Counts = tuple[int, int, int]  # (tokens resealed, records rehashed, rows skipped)
_Rewrap = Callable[[AsyncConnection, Keyring, list[Any]], Awaitable[_Counts]]


async def _rewrap_connections(conn: AsyncConnection, keyring: Keyring, batch: list[Any]) -> _Counts:
    resealed = skipped = 0
    primary = keyring.primary("data").id
    for r in batch:
        config = dict(r.config)
        stale = [k for k, v in config.items() if _is_stale(v, primary)]
        if not stale:
            continue
        for name in stale:
            config[name] = _reseal(keyring, "connections", f"config.{name}", r.name, config[name])
        c = connections.c
        # The config as text is the version read: JSON columns cannot be compared as such.
        written = await conn.execute(
            connections.update()
            .where(c.name == r.name, sa.cast(c.config, sa.Text) == r.text)
            .values(config=config)
        )
        if written.rowcount == 1:
            resealed += len(stale)
        else:
            skipped += 1
    return resealed, 0, skipped


@dataclass(frozen=True)
class _SealedColumn:
    """A table with one sealed column: its key column and the AAD row of each row."""

    table: sa.Table
    key: str
    sealed: str
    row: Callable[[Any], str]


def _single(spec: _SealedColumn) -> _Rewrap:
    """Reseal the one sealed column of ``spec``'s rows, compare-and-set on the value read."""

    async def rewrap(conn: AsyncConnection, keyring: Keyring, batch: list[Any]) -> _Counts:
        primary = keyring.primary("data").id
        stale = [r for r in batch if _is_stale(getattr(r, spec.sealed), primary)]
        updates = []
        for r in stale:
            old = getattr(r, spec.sealed)
            new = _reseal(keyring, spec.table.name, spec.sealed, spec.row(r), old)
            updates.append({"_key": getattr(r, spec.key), "_old": old, spec.sealed: new})
        c = spec.table.c
        done = await _compare_and_set(
            conn, spec.table, c[spec.key], c[spec.sealed], updates, spec.sealed
        )
        return done, 0, len(stale) - done

    return rewrap


async def _rewrap_records(conn: AsyncConnection, keyring: Keyring, batch: list[Any]) -> _Counts:
    """Reseal stale tokens; where the index key changed, recompute the content hash and the
    index rows from the opened values; write back where the raw token is still the one read."""
    index_key = keyring.primary("index")
    primary = keyring.primary("data").id
    old_index = await _records_with_old_index_rows(conn, [r.id for r in batch], index_key.id)
    await load_subject_keys(conn, keyring, [(r.data, r.raw) for r in batch])
    updates: list[dict[str, Any]] = []
    fresh_index: dict[int, list[tuple[str, int, str]]] = {}
    resealed_by_id: dict[int, int] = {}
    for r in batch:
        if holds_erased(keyring, [(r.data, r.raw)]):
            continue  # a forgotten customer's: shredded, nothing to reseal or rehash
        rehash = r.hash_key_id != index_key.id or r.id in old_index
        sealed = record_tokens(r)
        stale = [s for s in sealed if _is_stale(s.token, primary)]
        if not stale and not rehash:
            continue
        data = dict(r.data)
        raw = r.raw
        for s in stale:
            token = _reseal(keyring, "records", s.column, s.row, s.token)
            if s.column == "raw":
                raw = token
            else:
                data[s.column.removeprefix("data.")] = token
        values: dict[str, Any] = {"_key": r.id, "_old": r.raw, "raw": raw, "data": data}
        if rehash:
            values.update(_rehashed(r, keyring, index_key.id))
            fresh_index[r.id] = _fresh_index(r, keyring)
        else:
            values.update(content_hash=None, hash_key_id=r.hash_key_id)
        updates.append(values)
        resealed_by_id[r.id] = len(stale)
    written = await _write_records(conn, updates)
    if fresh_index:
        mine = [rid for rid in fresh_index if rid in written]
        await _replace_index_rows(conn, mine, fresh_index)
    resealed = sum(resealed_by_id[rid] for rid in written)
    rehashed = sum(1 for rid in written if rid in fresh_index)
    return resealed, rehashed, len(updates) - len(written)


def _rehashed(r: Any, keyring: Keyring, index_key_id: int) -> dict[str, Any]:
    row = record_row(r.connection, r.object_type, r.external_id)
    plain = unseal_data(r.kind, dict(r.data), keyring, row=row)
    raw = _open_json(keyring, "records", "raw", row, r.raw)
    key = keyring.get(index_key_id)
    return {"content_hash": _content_hash(r.kind, plain, raw, key), "hash_key_id": index_key_id}


def _fresh_index(r: Any, keyring: Keyring) -> list[tuple[str, int, str]]:
    row = record_row(r.connection, r.object_type, r.external_id)
    key = keyring.primary("index")
    entries: list[tuple[str, int, str]] = []
    for kind in _INDEX_KINDS:
        for value in sorted(indexed_values(r.kind, dict(r.data), keyring, index=kind, row=row)):
            entries.append((kind, key.id, index_digest(kind, value, key)))
    return entries


async def _records_with_old_index_rows(
    conn: AsyncConnection, ids: list[int], index_key_id: int
) -> set[int]:
    if not ids:
        return set()
    b = blind_index.c
    query = sa.select(b.record_id).where(b.record_id.in_(ids), b.key_id != index_key_id)
    return {rid for (rid,) in await conn.execute(query.distinct())}


async def _write_records(conn: AsyncConnection, updates: list[dict[str, Any]]) -> set[int]:
    """Write each record back where its raw token is still the one read; the ids written."""
    if not updates:
        return set()
    c = records.c
    keep_hash = [u for u in updates if u["content_hash"] is None]
    new_hash = [u for u in updates if u["content_hash"] is not None]
    base = records.update().where(c.id == sa.bindparam("_key"), c.raw == sa.bindparam("_old"))
    if keep_hash:
        await conn.execute(
            base.values(raw=sa.bindparam("raw"), data=sa.bindparam("data")),
            [{k: u[k] for k in ("_key", "_old", "raw", "data")} for u in keep_hash],
        )
    if new_hash:
        await conn.execute(
            base.values(
                raw=sa.bindparam("raw"),
                data=sa.bindparam("data"),
                content_hash=sa.bindparam("content_hash"),
                hash_key_id=sa.bindparam("hash_key_id"),
            ),
            [
                {k: u[k] for k in ("_key", "_old", "raw", "data", "content_hash", "hash_key_id")}
                for u in new_hash
            ],
        )
    # Per-row rowcounts are not reliable in executemany; the new raw tokens say which won.
    return await _confirmed(conn, records, c.id, c.raw, updates, "raw")


async def _replace_index_rows(
    conn: AsyncConnection, ids: list[int], fresh: dict[int, list[tuple[str, int, str]]]
) -> None:
    if not ids:
        return
    await conn.execute(blind_index.delete().where(blind_index.c.record_id.in_(ids)))
    rows = [
        {"record_id": rid, "kind": kind, "key_id": key_id, "digest": digest}
        for rid in ids
        for kind, key_id, digest in fresh[rid]
    ]
    if rows:
        await conn.execute(sa.insert(blind_index), rows)


# -- sealed values ------------------------------------------------------------------------


def _is_stale(value: Any, primary_id: int) -> bool:
    """Whether ``value`` is a token under another key than the primary data key."""
    key_id = header_key_id(value)
    return key_id is not None and key_id != primary_id


def _reseal(keyring: Keyring, table: str, column: str, row: str, token: str) -> str:
    """The same plaintext sealed under the primary key in the same place."""
    plaintext = open_token(token, keyring.get, table=table, column=column, row=row)
    return seal(plaintext, keyring.sealing_key(), table=table, column=column, row=row)


def _open_json(keyring: Keyring, table: str, column: str, row: str, token: str) -> Any:
    opened = open_token(
        token, keyring.get, table=table, column=column, row=row, subjects=keyring.subject_key
    )
    return json.loads(opened)


async def _compare_and_set(
    conn: AsyncConnection,
    table: sa.Table,
    key: sa.Column[Any],
    sealed: sa.Column[Any],
    updates: list[dict[str, Any]],
    name: str,
) -> int:
    """Write each new sealed value where the row still holds the one read; how many won."""
    if not updates:
        return 0
    statement = (
        table.update()
        .where(key == sa.bindparam("_key"), sealed == sa.bindparam("_old"))
        .values({name: sa.bindparam(name)})
    )
    await conn.execute(statement, updates)
    return len(await _confirmed(conn, table, key, sealed, updates, name))


async def _confirmed(
    conn: AsyncConnection,
    table: sa.Table,
    key: sa.Column[Any],
    sealed: sa.Column[Any],
    updates: list[dict[str, Any]],
    name: str,
) -> set[Any]:
    wanted = {u["_key"]: u[name] for u in updates}
    rows = await conn.execute(sa.select(key, sealed).where(key.in_(list(wanted))))
    return {k for k, value in rows if wanted.get(k) == value}


_REWRAP: dict[str, _Rewrap] = {
    "secrets": _single(_SealedColumn(secrets, "name", "sealed", lambda r: r.name)),
    "connections": _rewrap_connections,
    "outbox": _single(
        _SealedColumn(outbox, "id", "message", lambda r: f"{r.connection}/{r.idempotency_key}")
    ),
    "subject_keys": _single(_SealedColumn(subject_keys, "id", "wrapped", lambda r: r.subject_hash)),
    "quarantine": _single(
        _SealedColumn(
            quarantine,
            "id",
            "raw",
            lambda r: quarantine_row_key(r.connection, r.object_type, r.external_id),
        )
    ),
    "records": _rewrap_records,
}
