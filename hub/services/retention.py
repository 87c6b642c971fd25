"""Retention: purge what is past its period (``hub retention run``) and show what is due
(``hub retention status``).

:func:`run_retention` is what a housekeeping job calls: it fixes each cutoff once from the
clock, then works in transactions that each examine a window of ``retention.batch_size`` ids.
It keeps no progress of its own: each batch purges what is still stored and due, so a purge
killed at any point loses at most its open batch, and running it again finishes the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import authorize, record_action
from hub.audit.pruning import oldest_entry_at, plan_prune
from hub.retention.policy import Period, describe_period
from hub.runtime import Hub, utcnow
from hub.services.audit import prune_trail
from hub.store.retention import TARGETS, Target, examine, id_ceiling

Clock = Callable[[], datetime]
AUDIT_TRAIL = "audit_trail"
# Told after each committed batch: (data type, rows purged so far for it).
BatchCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class Purged:
    """What a purge did (or, dry, would do) to one data type."""

    data_type: str
    action: str  # strip | delete | prune (the audit trail's, docs/audit.md)
    policy: str  # "30 days", or "forever"
    cutoff: datetime | None  # items whose clock started before it are due; None: kept forever
    count: int


@dataclass(frozen=True)
class RetentionRun:
    dry_run: bool
    now: datetime
    types: list[Purged]

    @property
    def total(self) -> int:
        return sum(t.count for t in self.types)


@dataclass(frozen=True)
class RetentionStatus:
    """One data type's policy, what is due now and how old its oldest item is."""

    data_type: str
    action: str
    policy: str
    cutoff: datetime | None
    due: int
    oldest_at: datetime | None
    oldest_age_days: float | None


def _period(hub: Hub, target: Target) -> Period | None:
    period: Period | None = getattr(hub.settings.retention, target.key)
    return period


async def run_retention(
    hub: Hub,
    *,
    dry_run: bool = False,
    clock: Clock = utcnow,
    on_batch: BatchCallback | None = None,
) -> RetentionRun:
    """Purge every data type past its period; with ``dry_run``, count instead and change
    nothing. Each purged batch is on the audit trail, in the batch's own transaction."""
    await authorize(hub, "retention.run", action="retention.purge")
    now = clock()
    types: list[Purged] = []
    for target in TARGETS:
        period = _period(hub, target)
        cutoff = period.cutoff(now) if period is not None else None
        count = 0
        if cutoff is not None:
            if dry_run:
                async with hub.engine.connect() as conn:
                    size = hub.settings.retention.batch_size
                    count = await _count_due(conn, target, cutoff, size)
            else:
                count = await _purge(hub, target, cutoff, on_batch)
        types.append(Purged(target.key, target.action, describe_period(period), cutoff, count))
    types.append(await _prune_audit_trail(hub, now, dry_run=dry_run))
    return RetentionRun(dry_run, now, types)


async def _prune_audit_trail(hub: Hub, now: datetime, *, dry_run: bool) -> Purged:
    """The audit trail last, so the entries that record this run's purges are kept."""
    period = hub.settings.retention.audit_trail
    cutoff = period.cutoff(now) if period is not None else None
    count = 0
    if cutoff is not None and dry_run:
        async with hub.engine.connect() as conn:
            archived_only = hub.settings.retention.archive_before_prune
            count = (await plan_prune(conn, cutoff, archived_only=archived_only)).count
    elif cutoff is not None:
        count = await prune_trail(hub, cutoff)
    return Purged(AUDIT_TRAIL, "prune", describe_period(period), cutoff, count)


async def _purge(hub: Hub, target: Target, cutoff: datetime, on_batch: BatchCallback | None) -> int:
    """Purge ``target`` in batches, one transaction each; how many rows it purged."""
    size = hub.settings.retention.batch_size
    async with hub.engine.connect() as conn:
        top = await id_ceiling(conn, target)
    purged = 0
    for after in range(0, top, size):
        async with hub.engine.begin() as conn:
            due = await examine(conn, target, cutoff, after=after, limit=size)
            if due:
                done = await target.apply(conn, due, cutoff)
                purged += done
                await record_action(
                    hub, conn, "retention.purge", target_type=target.key,
                    detail={"action": target.action, "count": done, "cutoff": cutoff.isoformat()},
                )  # fmt: skip
        if due and on_batch is not None:
            on_batch(target.key, purged)
    return purged


async def _count_due(conn: AsyncConnection, target: Target, cutoff: datetime, size: int) -> int:
    top = await id_ceiling(conn, target)
    due = 0
    for after in range(0, top, size):
        due += len(await examine(conn, target, cutoff, after=after, limit=size))
    return due


async def retention_status(hub: Hub, *, clock: Clock = utcnow) -> list[RetentionStatus]:
    """Per data type: its policy, how many items are due now, and its oldest item."""
    now = clock()
    size = hub.settings.retention.batch_size
    found: list[RetentionStatus] = []
    async with hub.engine.connect() as conn:
        for target in TARGETS:
            period = _period(hub, target)
            cutoff = period.cutoff(now) if period is not None else None
            due = await _count_due(conn, target, cutoff, size) if cutoff is not None else 0
            oldest = await target.oldest(conn)
            age = (now - oldest).total_seconds() / 86_400 if oldest is not None else None
            found.append(
                RetentionStatus(
                    target.key, target.action, describe_period(period), cutoff, due, oldest, age
                )
            )
        found.append(await _audit_trail_status(hub, conn, now))
    return found


async def _audit_trail_status(hub: Hub, conn: AsyncConnection, now: datetime) -> RetentionStatus:
    period = hub.settings.retention.audit_trail
    cutoff = period.cutoff(now) if period is not None else None
    due = (await plan_prune(conn, cutoff)).count if cutoff is not None else 0
    oldest = await oldest_entry_at(conn)
    age = (now - oldest).total_seconds() / 86_400 if oldest is not None else None
    return RetentionStatus(AUDIT_TRAIL, "prune", describe_period(period), cutoff, due, oldest, age)
