"""Pruning the oldest audit entries for retention, so that what is kept still verifies.

Only entries covered by a signed checkpoint are pruned, and only up to a checkpoint's size:
the stretch of entries between two checkpoints is replaced by its largest aligned perfect
subtrees (their roots, in ``audit_pruned``). Those are exactly the nodes any proof between
kept checkpoints, or of a kept entry, needs of the pruned part; and folded in order they give
each pruned checkpoint's root again, so verification still checks every checkpoint.

The subtree roots, the saved frontier and the trail's own record of the prune commit in one
transaction; the pruned rows are deleted afterwards in batches. Readers skip entries up to
the pruned size, so a prune killed while deleting leaves nothing visible half done, and the
next one deletes the rest.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.audit.checkpoints import all_checkpoints
from hub.audit.entry import iso
from hub.audit.merkle import aligned_subtrees
from hub.audit.offline_verify import TrailCheck, canonical, leaf_hash, tree_root
from hub.audit.signing import Signer
from hub.audit.trail import (
    HEAD_ID,
    current_frontier,
    pruned_size,
    pruned_subtrees,
    save_frontier,
    stored_entries,
)
from hub.errors import AuditError
from hub.store.schema import audit_checkpoints, audit_entries, audit_head, audit_pruned

# The entry that records an archive (hub audit export --before): detail from, to, sha256.
ARCHIVE_ACTION = "audit.archive"
# Records the prune on the trail, in the transaction that commits it: (conn, detail).
RecordPrune = Callable[[AsyncConnection, dict[str, object]], Awaitable[object]]


@dataclass(frozen=True)
class PrunePlan:
    """Entries ``after + 1`` to ``up_to`` can go: all older than the cutoff, ``up_to`` a
    signed checkpoint's size. ``unarchived``: entries past ``up_to`` that were due too but
    are kept because no archive covers them (``archive_before_prune``)."""

    after: int
    up_to: int
    unarchived: int = 0

    @property
    def count(self) -> int:
        return self.up_to - self.after


async def plan_prune(
    conn: AsyncConnection, cutoff: datetime, *, archived_only: bool = False
) -> PrunePlan:
    """How far the trail can be pruned for ``cutoff``: up to the largest checkpoint whose
    entries are all older than it (nothing past the last checkpoint, ever); with
    ``archived_only``, no further than an archive recorded on the trail covers."""
    due = await _plan_due(conn, cutoff)
    if not archived_only:
        return due
    up_to = min(due.up_to, max(due.after, await archived_up_to(conn)))
    return PrunePlan(due.after, up_to, due.up_to - up_to)


async def archived_up_to(conn: AsyncConnection) -> int:
    """How far the archives recorded on the trail (``audit.archive`` entries, written by
    ``hub audit export --before``) cover the entries kept without a gap: the largest ``to``
    of an archive starting at or before the first kept entry; the pruned size when none."""
    after = await pruned_size(conn)
    query = sa.select(audit_entries.c.detail).where(
        audit_entries.c.seq > after,
        audit_entries.c.action == ARCHIVE_ACTION,
        audit_entries.c.outcome == "success",
    )
    covered = after
    for (detail,) in await conn.execute(query):
        archive = json.loads(detail)
        if int(archive.get("from", 0)) <= after + 1:
            covered = max(covered, int(archive.get("to", 0)))
    return covered


async def _plan_due(conn: AsyncConnection, cutoff: datetime) -> PrunePlan:
    after = await pruned_size(conn)
    first_young = await conn.scalar(
        sa.select(sa.func.min(audit_entries.c.seq)).where(
            audit_entries.c.seq > after, audit_entries.c.at >= iso(cutoff.astimezone(UTC))
        )
    )
    if first_young is None:
        first_young = int(await conn.scalar(sa.select(audit_head.c.size)) or 0) + 1
    up_to = await conn.scalar(
        sa.select(sa.func.max(audit_checkpoints.c.size)).where(
            audit_checkpoints.c.size > after, audit_checkpoints.c.size < int(first_young)
        )
    )
    return PrunePlan(after, int(up_to) if up_to is not None else after)


async def seal_prune(
    conn: AsyncConnection,
    signer: Signer,
    cutoff: datetime,
    record: RecordPrune,
    *,
    archived_only: bool = False,
) -> PrunePlan:
    """In ``conn``'s transaction: check the entries to prune against the checkpoints, keep
    their subtree roots and the frontier, and record the prune. Rows are deleted later.
    With ``archived_only``, only entries an archive covers are pruned (see plan_prune)."""
    # Take the head row first, as appends and checkpoints do: the tree stands still.
    await conn.execute(
        sa.update(audit_head).where(audit_head.c.id == HEAD_ID).values(size=audit_head.c.size)
    )
    plan = await plan_prune(conn, cutoff, archived_only=archived_only)
    if plan.count == 0:
        return plan
    checkpoints = await all_checkpoints(conn)
    leaves = await _checked_leaves(conn, signer, checkpoints, plan)
    bounds = sorted({plan.after, plan.up_to} | {
        int(cp["size"]) for cp in checkpoints if plan.after < int(cp["size"]) < plan.up_to
    })  # fmt: skip
    tiles = [tile for lo, hi in pairwise(bounds) for tile in aligned_subtrees(lo, hi)]
    subtrees = [
        {"start": start, "size": size, "hash": _root(leaves, start - plan.after, size)}
        for start, size in tiles
    ]
    await save_frontier(conn, await current_frontier(conn))
    await conn.execute(sa.insert(audit_pruned), subtrees)
    detail: dict[str, object] = {
        "from": plan.after + 1, "to": plan.up_to, "cutoff": cutoff.isoformat(),
        "subtrees": len(subtrees),
    }  # fmt: skip
    await record(conn, detail)
    return plan


def _root(leaves: list[bytes], offset: int, size: int) -> str:
    return tree_root(leaves[offset : offset + size]).hex()


async def _checked_leaves(
    conn: AsyncConnection, signer: Signer, checkpoints: list[dict[str, object]], plan: PrunePlan
) -> list[bytes]:
    """The recomputed leaf hashes of the entries to prune, once they verify against every
    checkpoint they reach: pruning must never launder an altered entry."""
    check = TrailCheck(checkpoints, signer.public_key)
    check.feed_pruned(await pruned_subtrees(conn))
    leaves: list[bytes] = []
    async for entry in stored_entries(conn, up_to=plan.up_to):
        if not check.feed(entry):
            break
        leaves.append(leaf_hash(canonical(entry)))
    if check.failed is not None or len(leaves) != plan.count:
        problem = check.failed.problem if check.failed else "entries are missing"
        raise AuditError(f"the audit trail was not pruned, it does not verify: {problem}")
    return leaves


async def delete_pruned(engine: AsyncEngine, batch_size: int) -> int:
    """Delete the rows of pruned entries, ``batch_size`` per transaction; how many."""
    async with engine.connect() as conn:
        up_to = await pruned_size(conn)
        lowest = await conn.scalar(sa.select(sa.func.min(audit_entries.c.seq)))
    deleted = 0
    start = int(lowest or up_to + 1) - 1
    for after in range(start, up_to, batch_size):
        async with engine.begin() as conn:
            query = sa.delete(audit_entries).where(
                audit_entries.c.seq > after, audit_entries.c.seq <= min(after + batch_size, up_to)
            )
            deleted += (await conn.execute(query)).rowcount
    return deleted


async def oldest_entry_at(conn: AsyncConnection) -> datetime | None:
    """When the oldest entry kept was written, None on an empty trail."""
    after = await pruned_size(conn)
    at = await conn.scalar(
        sa.select(audit_entries.c.at)
        .where(audit_entries.c.seq > after)
        .order_by(audit_entries.c.seq)
        .limit(1)
    )
    return datetime.fromisoformat(at) if at is not None else None
