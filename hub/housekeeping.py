"""The hub's housekeeping jobs: named, periodic ``async (hub) -> None`` callables that
`hub run` schedules next to the streams, each fire on exactly one node of a cluster.

A feature that needs periodic work registers it here (key rotation, retention and audit
checkpoints will), with an interval its cost allows; a failure is logged and retried at the
next fire, never fatal to the service.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.runtime import Hub

log = logging.getLogger(__name__)

HOUSEKEEPING_PREFIX = "housekeeping:"

Chore = Callable[["Hub"], Awaitable[None]]


@dataclass(frozen=True)
class HousekeepingJob:
    """One periodic job: its name (the schedule's id), how often, and what it does."""

    name: str
    every: timedelta
    run: Chore
    description: str

    @property
    def id(self) -> str:
        return HOUSEKEEPING_PREFIX + self.name

    @property
    def spec(self) -> str:
        return f"every {self.every.total_seconds():g}s"


_JOBS: dict[str, HousekeepingJob] = {}


def register(name: str, every: timedelta, description: str) -> Callable[[Chore], Chore]:
    """Decorator: register ``async def chore(hub)`` as housekeeping job ``name``."""

    def add(chore: Chore) -> Chore:
        if name in _JOBS:
            raise ValueError(f"housekeeping job {name!r} is registered twice")
        _JOBS[name] = HousekeepingJob(name, every, chore, description)
        return chore

    return add


def housekeeping_jobs() -> list[HousekeepingJob]:
    """Every registered job, by name."""
    return [_JOBS[name] for name in sorted(_JOBS)]


@register(
    "quarantine-replay",
    timedelta(hours=1),
    "Map open quarantine entries again: records fixed at the source or by a mapping edit move in.",
)
async def replay_quarantine(hub: Hub) -> None:
    from hub.replay import replay_quarantine as replay

    result = await replay(hub)
    if result.moved or result.failed:
        log.info(
            "quarantine replay: %d moved, %d still invalid, %d failed",
            result.moved,
            result.still_invalid,
            len(result.failed),
        )


@register(
    "store-check",
    timedelta(days=1),
    "Open every sealed value, index row and wrapped key (as `hub check` does); log what fails.",
)
async def check_store(hub: Hub) -> None:
    from hub.services.check import check_store as check

    report = await check(hub)
    for failure in report.failures:
        log.error("store check: %s", failure)


@register(
    "outbox-deliver",
    timedelta(seconds=30),
    "Deliver due outbox messages of every connection, each once (`hub outbox deliver`).",
)
async def deliver_outbox(hub: Hub) -> None:
    from hub.services.outbox import deliver
    from hub.store.outbox import connections_with_work

    async with hub.engine.connect() as conn:
        connections = await connections_with_work(conn)
    for connection in connections:
        try:
            delivered = await deliver(hub, connection)
        except Exception as exc:  # one connection's failure must not hold up the others
            log.error("outbox delivery for %s failed: %s", connection, type(exc).__name__)
            continue
        if delivered:
            log.info("outbox: %d entr(ies) of %s handled", len(delivered), connection)


@register(
    "audit-checkpoint",
    timedelta(minutes=1),
    "Sign the audit trail's head when 1,000 entries or a minute have passed since the last.",
)
async def checkpoint_audit_trail(hub: Hub) -> None:
    from hub.services.audit import checkpoint_if_due

    await checkpoint_if_due(hub)


@register(
    "retention",
    timedelta(days=1),
    "Purge each data type past its retention period (`hub retention run`).",
)
async def purge_expired(hub: Hub) -> None:
    from hub.services.retention import run_retention

    purged = await run_retention(hub)
    if purged.total:
        log.info("retention: %s", ", ".join(f"{t.data_type} {t.count}" for t in purged.types))


@register(
    "key-rotation",
    timedelta(hours=6),
    "Rotate the primary data key when the policy says (90 days or 2^32 seals), then rewrap.",
)
async def rotate_due_keys(hub: Hub) -> None:
    from hub.services.keys import key_status, rewrap, rotate_keys

    rotation = await rotate_keys(hub)
    for purpose, reason in rotation.reasons.items():
        log.warning("key rotation: the %s key was rotated (%s)", purpose, reason)
    if (await key_status(hub)).rewrap_pending:
        result = await rewrap(hub)
        log.info("rewrap: %d resealed, keys retired: %s", result.rewrapped, result.retired)
