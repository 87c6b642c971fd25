"""Schedules of `hub run`: what is planned, how each stream is doing against its drift
target, and the stored settings that change the plan.

The lag of a stream is the age of its last committed cursor (``stream_state.updated_at``, set
in the transaction of every page); a stream never synced is as old as its connection. A
stream is *late* when its lag passes its drift target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hub.errors import ConfigError
from hub.housekeeping import housekeeping_jobs
from hub.plugins import connector_class
from hub.runtime import Hub, utcnow
from hub.schedule_plan import StreamPlan, cron_trigger, parse_duration, plan_all
from hub.store.connections import get_connection
from hub.store.housekeeping_runs import load_runs
from hub.store.schedule_settings import (
    EVERY_STREAM,
    ScheduleSetting,
    delete_setting,
    load_settings,
    save_setting,
)
from hub.store.schema import connections, stream_leases, stream_state, sync_runs

# How many of a stream's latest runs are read to count its failures in a row.
_FAILURE_WINDOW = 12


async def current_plans(hub: Hub) -> list[StreamPlan]:
    """One plan per (connection, stream) of every connection whose connector is installed."""
    async with hub.engine.connect() as conn:
        rows = await conn.execute(sa.select(connections.c.name, connections.c.connector))
        pairs = [(r.name, r.connector) for r in rows]
        settings = await load_settings(conn)
    return plan_all(pairs, settings)


async def stream_lags(
    hub: Hub, plans: Sequence[StreamPlan], *, now: datetime
) -> dict[str, timedelta]:
    """Each plan's lag by plan id: the age of its last committed cursor, else of its
    connection."""
    async with hub.engine.connect() as conn:
        cursors = {
            (r.connection, r.stream): r.updated_at
            for r in await conn.execute(
                sa.select(
                    stream_state.c.connection, stream_state.c.stream, stream_state.c.updated_at
                )
            )
        }
        created = {
            r.name: r.created_at
            for r in await conn.execute(sa.select(connections.c.name, connections.c.created_at))
        }
    lags: dict[str, timedelta] = {}
    for plan in plans:
        since = cursors.get((plan.connection, plan.stream)) or created.get(plan.connection, now)
        lags[plan.id] = max(now - since, timedelta(0))
    return lags


async def consecutive_failures(
    hub: Hub, connection: str, stream: str
) -> tuple[int, datetime | None]:
    """How many of the stream's latest sync runs failed in a row, and when the last ended."""
    async with hub.engine.connect() as conn:
        rows = list(
            await conn.execute(
                sa.select(sync_runs.c.status, sync_runs.c.finished_at)
                .where(
                    sync_runs.c.connection == connection,
                    sync_runs.c.stream == stream,
                    sync_runs.c.kind == "sync",
                    sync_runs.c.status != "running",
                )
                .order_by(sync_runs.c.id.desc())
                .limit(_FAILURE_WINDOW)
            )
        )
    failures = 0
    for row in rows:
        if row.status != "failed":
            break
        failures += 1
    return failures, rows[0].finished_at if failures else None


@dataclass
class StreamStatus:
    """One stream's schedule and health, as `hub schedules list` and `hub status` show it."""

    connection: str
    stream: str
    schedule: str  # "every 300s" or "cron */5 * * * *"
    drift_target_seconds: float
    lag_seconds: float
    next_run: datetime | None
    last_run: datetime | None
    last_outcome: str | None  # succeeded | failed | interrupted | running
    last_error: str | None
    failures_in_a_row: int
    running: bool

    @property
    def late(self) -> bool:
        return self.lag_seconds > self.drift_target_seconds

    @property
    def state(self) -> str:
        """One word for people: running, late, failing or ok."""
        if self.running:
            return "running"
        if self.late:
            return "late"
        if self.failures_in_a_row:
            return "failing"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "late": self.late, "state": self.state}


async def stream_statuses(
    hub: Hub,
    *,
    now: datetime | None = None,
    next_runs: dict[str, datetime | None] | None = None,
) -> list[StreamStatus]:
    """Every planned stream with its next and last run, last outcome and lag. ``next_runs``
    (from :func:`next_fire_times`) spares reading the scheduler's store twice."""
    now = now or utcnow()
    plans = await current_plans(hub)
    lags = await stream_lags(hub, plans, now=now)
    if next_runs is None:
        next_runs = await next_fire_times(hub)
    last = await _last_runs(hub)
    async with hub.engine.connect() as conn:
        held = {
            (r.connection, r.stream)
            for r in await conn.execute(
                sa.select(stream_leases.c.connection, stream_leases.c.stream).where(
                    stream_leases.c.expires_at > now
                )
            )
        }
    statuses = []
    for plan in plans:
        run = last.get((plan.connection, plan.stream))
        failures, _ = await consecutive_failures(hub, plan.connection, plan.stream)
        statuses.append(
            StreamStatus(
                connection=plan.connection,
                stream=plan.stream,
                schedule=plan.spec.split(";")[0],
                drift_target_seconds=plan.drift.total_seconds(),
                lag_seconds=round(lags[plan.id].total_seconds(), 3),
                next_run=next_runs.get(plan.id),
                last_run=run.started_at if run is not None else None,
                last_outcome=run.status if run is not None else None,
                last_error=run.error if run is not None else None,
                failures_in_a_row=failures,
                running=(plan.connection, plan.stream) in held,
            )
        )
    return statuses


@dataclass
class HousekeepingStatus:
    """One housekeeping job's schedule and last fire, as `hub schedules list` shows it."""

    name: str
    schedule: str  # "every 3600s"
    description: str
    next_run: datetime | None
    last_run: datetime | None
    last_outcome: str | None  # succeeded | failed
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def housekeeping_statuses(
    hub: Hub, *, next_runs: dict[str, datetime | None] | None = None
) -> list[HousekeepingStatus]:
    """Every housekeeping job with its interval, next fire and last fire's outcome.
    ``next_runs`` (from :func:`next_fire_times`) spares reading the scheduler's store twice."""
    if next_runs is None:
        next_runs = await next_fire_times(hub)
    async with hub.engine.connect() as conn:
        last = await load_runs(conn)
    statuses = []
    for job in housekeeping_jobs():
        run = last.get(job.name)
        statuses.append(
            HousekeepingStatus(
                name=job.name,
                schedule=job.spec,
                description=job.description,
                next_run=next_runs.get(job.id),
                last_run=run.started_at if run is not None else None,
                last_outcome=run.outcome if run is not None else None,
                last_error=run.error if run is not None else None,
            )
        )
    return statuses


async def schedule_overview(hub: Hub) -> tuple[list[StreamStatus], list[HousekeepingStatus]]:
    """What `hub schedules list` shows: the streams, then the housekeeping jobs."""
    next_runs = await next_fire_times(hub)
    streams = await stream_statuses(hub, next_runs=next_runs)
    return streams, await housekeeping_statuses(hub, next_runs=next_runs)


async def _last_runs(hub: Hub) -> dict[tuple[str, str], Any]:
    latest = (
        sa.select(sa.func.max(sync_runs.c.id))
        .where(sync_runs.c.kind == "sync")
        .group_by(sync_runs.c.connection, sync_runs.c.stream)
    )
    async with hub.engine.connect() as conn:
        rows = await conn.execute(sa.select(sync_runs).where(sync_runs.c.id.in_(latest)))
        return {(r.connection, r.stream): r for r in rows}


async def next_fire_times(hub: Hub) -> dict[str, datetime | None]:
    """The scheduler's next fire time of each schedule, by schedule id (empty before the
    first `hub run`)."""
    from apscheduler import AsyncScheduler
    from apscheduler.eventbrokers.local import LocalEventBroker

    from hub.scheduler import open_data_store

    # Read through APScheduler's own store: its timestamp encoding differs by database.
    async with AsyncScheduler(await open_data_store(hub), LocalEventBroker()) as scheduler:
        return {s.id: s.next_fire_time for s in await scheduler.get_schedules()}


async def set_schedule(
    hub: Hub,
    connection: str,
    stream: str | None,
    *,
    every: str | None = None,
    cron: str | None = None,
    drift: str | None = None,
) -> ScheduleSetting:
    """Store how often `hub run` syncs a connection (every stream) or one stream; running
    nodes apply it within ``schedule_poll_seconds``."""
    if (every is None) == (cron is None):
        raise ConfigError("give either --every (like 5m) or --cron (like '*/5 * * * *')")
    if cron is not None:
        cron_trigger(cron)
    setting = ScheduleSetting(
        connection,
        stream or EVERY_STREAM,
        every_seconds=parse_duration(every).total_seconds() if every else None,
        cron=cron,
        drift_seconds=parse_duration(drift, what="drift").total_seconds() if drift else None,
    )
    async with hub.engine.begin() as conn:
        connector, _ = await get_connection(conn, connection)
        if stream is not None:
            _known_stream(connector, stream)
        await save_setting(conn, setting, utcnow())
    return setting


def _known_stream(connector: str, stream: str) -> None:
    names = [s.name for s in connector_class(connector).streams]
    if stream not in names:
        raise ConfigError(
            f"connector {connector} has no stream {stream!r}; its streams: {', '.join(names)}"
        )


async def unset_schedule(hub: Hub, connection: str, stream: str | None) -> bool:
    """Forget a stored setting: the stream goes back to the connection's or the connector's
    default. False when there was none."""
    async with hub.engine.begin() as conn:
        await get_connection(conn, connection)
        return await delete_setting(conn, connection, stream or EVERY_STREAM)
