"""Appending to the trail and reading it back.

:func:`record` writes in the caller's transaction, so an action and its entry commit or roll
back together (fail closed). Appends are serialised by updating the one ``audit_head`` row
first: on PostgreSQL that row lock orders concurrent writers, on SQLite the first write takes
the database's write lock; either way entry numbers have no gaps and the tree no forks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit.entry import AuditEntry, entry_to_row, entry_values, iso, row_to_entry
from hub.audit.merkle import StoredTree
from hub.audit.offline_verify import Frontier, canonical, leaf_hash
from hub.errors import AuditError
from hub.store.schema import audit_entries, audit_head, audit_pruned

HEAD_ID = 1
READ_BATCH = 5_000


@dataclass(frozen=True)
class Head:
    """The tree as it stands: its size and its root (hex)."""

    size: int
    root: str


# Built once: the statements every append runs (SQLAlchemy caches their compiled form).
_TAKE_NUMBERS = (
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(size=audit_head.c.size + sa.bindparam("count"))
    .returning(audit_head.c.size)
)
_INSERT_ENTRIES = sa.insert(audit_entries)


async def record(conn: AsyncConnection, entry: AuditEntry, *, now: datetime | None = None) -> int:
    """Append ``entry`` in ``conn``'s transaction and return its number (``seq``).

    Raises (and so rolls the caller's transaction back) when the entry cannot be written.
    """
    [seq] = await record_many(conn, [entry], now=now)
    return seq


async def record_many(
    conn: AsyncConnection, entries: Sequence[AuditEntry], *, now: datetime | None = None
) -> list[int]:
    """Append ``entries`` in ``conn``'s transaction, numbered in order; their numbers.

    Two statements however many entries: taking ``len(entries)`` numbers from the head row
    first is what orders concurrent appenders, then one insert of them all. The frontier is
    brought up to date by whoever next asks for the root.
    """
    if not entries:
        return []
    taken = await conn.execute(_TAKE_NUMBERS, {"count": len(entries)})
    last = taken.scalar()
    if last is None:
        raise AuditError("the audit trail has no head row; run `hub init` to repair the schema")
    first = int(last) - len(entries) + 1
    at = iso(now or datetime.now(UTC))
    rows = []
    for seq, entry in enumerate(entries, start=first):
        values = entry_values(entry, seq, at)
        rows.append({**entry_to_row(values), "leaf_hash": leaf_hash(canonical(values)).hex()})
    await conn.execute(_INSERT_ENTRIES, rows if len(rows) > 1 else rows[0])
    return list(range(first, int(last) + 1))


async def head(conn: AsyncConnection) -> Head:
    """The current size and root: the head row's frontier, with the leaves appended since
    it was saved folded in."""
    frontier = await current_frontier(conn)
    return Head(frontier.size, frontier.root().hex())


async def current_frontier(conn: AsyncConnection) -> Frontier:
    """The frontier of the whole tree, from the one saved in the head row (at
    ``frontier_size``) and the stored leaf hashes after it."""
    row = (await conn.execute(sa.select(audit_head).where(audit_head.c.id == HEAD_ID))).first()
    if row is None:
        raise AuditError("the audit trail has no head row; run `hub init` to repair the schema")
    saved = int(row.frontier_size)
    frontier = Frontier(saved, [bytes.fromhex(h) for h in json.loads(row.frontier)])
    query = (
        sa.select(audit_entries.c.seq, audit_entries.c.leaf_hash)
        .where(audit_entries.c.seq > saved, audit_entries.c.seq <= int(row.size))
        .order_by(audit_entries.c.seq)
    )
    for seq, stored in await conn.execute(query):
        if seq != frontier.size + 1:
            break
        frontier.append(bytes.fromhex(stored))
    if frontier.size != int(row.size):
        raise AuditError(
            f"entry {frontier.size + 1} is missing from the trail; run `hub audit verify`"
        )
    return frontier


async def save_frontier(conn: AsyncConnection, frontier: Frontier) -> None:
    """Keep ``frontier`` in the head row, so the next root starts from it."""
    await conn.execute(
        sa.update(audit_head)
        .where(audit_head.c.id == HEAD_ID)
        .values(
            frontier_size=frontier.size,
            frontier=json.dumps([h.hex() for h in frontier.hashes]),
        )
    )


async def stored_entries(
    conn: AsyncConnection, *, up_to: int | None = None
) -> AsyncIterator[dict[str, object]]:
    """Every entry kept (after those retention pruned) in ``seq`` order, with its stored
    ``leaf_hash``, read in batches so a million entries need no million rows in memory."""
    after = await pruned_size(conn)
    while True:
        query = sa.select(audit_entries).where(audit_entries.c.seq > after)
        if up_to is not None:
            query = query.where(audit_entries.c.seq <= up_to)
        rows = (await conn.execute(query.order_by(audit_entries.c.seq).limit(READ_BATCH))).all()
        for r in rows:
            yield row_to_entry(r._mapping)
        if len(rows) < READ_BATCH:
            return
        after = int(rows[-1].seq)


async def entry_at(conn: AsyncConnection, seq: int) -> dict[str, object]:
    """Entry ``seq`` as it is hashed (without its stored leaf hash)."""
    row = (await conn.execute(sa.select(audit_entries).where(audit_entries.c.seq == seq))).first()
    if seq <= await pruned_size(conn):
        raise AuditError(f"entry {seq} was pruned by retention (docs/audit.md, Retention)")
    if row is None:
        raise AuditError(f"entry {seq} is missing from the trail; run `hub audit verify`")
    entry = row_to_entry(row._mapping)
    entry.pop("leaf_hash", None)
    return entry


async def pruned_subtrees(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The subtree roots (start, size, hash) that stand for the pruned entries, in order."""
    rows = await conn.execute(sa.select(audit_pruned).order_by(audit_pruned.c.start))
    return [{"start": int(r.start), "size": int(r.size), "hash": r.hash} for r in rows]


async def pruned_size(conn: AsyncConnection) -> int:
    """How many entries (1..n) retention pruned: 0 when none."""
    end = sa.func.max(audit_pruned.c.start + audit_pruned.c.size)
    return int(await conn.scalar(sa.select(end)) or 0)


async def leaf_hashes(
    conn: AsyncConnection, size: int, *, from_entries: bool = False
) -> StoredTree:
    """The tree of entries 1..size, for building proofs: the subtrees that stand for pruned
    entries, then the leaf hashes of the kept ones, from the stored column (fast, and safe
    for an inclusion proof, whose verifier hashes the entry itself), or with ``from_entries``
    recomputed from what the entries say (a consistency check)."""
    subtrees = await pruned_subtrees(conn)
    first = await pruned_size(conn)
    kept = {(n["start"], n["size"]): bytes.fromhex(n["hash"]) for n in subtrees}
    leaves = await _kept_leaf_hashes(conn, first, size, from_entries=from_entries)
    return StoredTree(leaves, first=first, subtrees=kept)


async def _kept_leaf_hashes(
    conn: AsyncConnection, first: int, size: int, *, from_entries: bool
) -> list[bytes]:
    if from_entries:
        recomputed = [leaf_hash(canonical(e)) async for e in stored_entries(conn, up_to=size)]
        if len(recomputed) != size - first:
            raise AuditError(f"the trail holds {len(recomputed)} of entries {first + 1}..{size}")
        return recomputed
    hashes: list[bytes] = []
    while first + len(hashes) < size:
        query = (
            sa.select(audit_entries.c.seq, audit_entries.c.leaf_hash)
            .where(audit_entries.c.seq > first + len(hashes), audit_entries.c.seq <= size)
            .order_by(audit_entries.c.seq)
            .limit(READ_BATCH * 10)
        )
        rows = (await conn.execute(query)).all()
        for seq, stored in rows:
            if seq != first + len(hashes) + 1:
                break
            hashes.append(bytes.fromhex(stored))
        if not rows or first + len(hashes) != int(rows[-1].seq):
            raise AuditError(
                f"entry {first + len(hashes) + 1} is missing from the trail; run `hub audit verify`"
            )
    return hashes
