"""Stream cursors and sync-run bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store import leases
from hub.store.schema import stream_state, sync_runs

# A sync reads the vendor; a replay moves quarantined records in after a mapping fix.
RunKind = Literal["sync", "replay"]


@dataclass
class RunCounters:
    """What one sync run (or one page of it) did."""

    pages: int = 0
    requests: int = 0
    records_read: int = 0
    records_written: int = 0
    records_unchanged: int = 0
    records_deleted: int = 0
    records_quarantined: int = 0
    records_erased: int = 0  # records of forgotten customers, not stored

    @classmethod
    def of_run(cls, row: Any) -> RunCounters:
        """The counters stored on a ``sync_runs`` row."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def add(self, other: RunCounters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


async def load_state(conn: AsyncConnection, connection: str, stream: str) -> dict[str, Any] | None:
    """The connector state after the last committed page, or None for a first sync."""
    value = await conn.scalar(
        sa.select(stream_state.c.state).where(
            stream_state.c.connection == connection, stream_state.c.stream == stream
        )
    )
    return dict(value) if value else None


async def save_state(
    conn: AsyncConnection, connection: str, stream: str, state: dict[str, Any] | None, now: datetime
) -> None:
    """Write the stream's state (inside the page's transaction)."""
    updated = await conn.execute(
        sa.update(stream_state)
        .where(stream_state.c.connection == connection, stream_state.c.stream == stream)
        .values(state=state, updated_at=now)
    )
    if updated.rowcount == 0:
        await conn.execute(
            sa.insert(stream_state).values(
                connection=connection, stream=stream, state=state, updated_at=now
            )
        )


async def clear_state(conn: AsyncConnection, connection: str, stream: str | None = None) -> None:
    query = sa.delete(stream_state).where(stream_state.c.connection == connection)
    if stream is not None:
        query = query.where(stream_state.c.stream == stream)
    await conn.execute(query)


async def open_run(
    conn: AsyncConnection,
    connection: str,
    stream: str,
    *,
    kind: RunKind,
    full_refresh: bool,
    now: datetime,
    lease: timedelta,
    on_takeover: Callable[[int], None] | None = None,
) -> int:
    """Open a run holding the stream's lease; StreamBusy (roll back) if a live run holds it.

    Every write to a stream's records happens in a run, so syncs and replays never interleave.
    ``on_takeover`` hears of the run whose lapsed lease was taken over, if any.
    """
    run_id = await start_run(
        conn, connection, stream, kind=kind, full_refresh=full_refresh, now=now
    )
    taken_from = await leases.acquire(conn, connection, stream, run_id, now=now, period=lease)
    if taken_from is not None:
        await interrupt_run(conn, taken_from)
        if on_takeover is not None:
            on_takeover(taken_from)
    return run_id


async def close_run(
    engine: AsyncEngine,
    connection: str,
    stream: str,
    run_id: int,
    *,
    status: str,
    error: str | None,
    now: datetime,
) -> None:
    """Record how the run ended and give its lease back, in a transaction of its own (callers
    shield it, so a cancelled run still ends)."""
    async with engine.begin() as conn:
        await finish_run(conn, run_id, status=status, error=error, now=now)
        await leases.release(conn, connection, stream, run_id)


async def start_run(
    conn: AsyncConnection,
    connection: str,
    stream: str,
    *,
    kind: RunKind = "sync",
    full_refresh: bool,
    now: datetime,
) -> int:
    """Insert a run row; :func:`open_run` also takes the lease, which every real run needs."""
    run_id = await conn.scalar(
        sa.insert(sync_runs)
        .values(
            connection=connection,
            stream=stream,
            kind=kind,
            status="running",
            full_refresh=full_refresh,
            started_at=now,
            **{f.name: 0 for f in fields(RunCounters)},
        )
        .returning(sync_runs.c.id)
    )
    assert run_id is not None
    return int(run_id)


async def interrupt_run(conn: AsyncConnection, run_id: int) -> None:
    """Mark a run whose lease was taken over: its process died or stopped renewing."""
    await conn.execute(
        sa.update(sync_runs)
        .where(sync_runs.c.id == run_id, sync_runs.c.status == "running")
        .values(status="interrupted", error="its process ended before the run finished")
    )


async def add_to_run(conn: AsyncConnection, run_id: int, delta: RunCounters) -> None:
    """Increment the run's counters (inside the page's transaction)."""
    await conn.execute(
        sa.update(sync_runs)
        .where(sync_runs.c.id == run_id)
        .values(
            {f.name: getattr(sync_runs.c, f.name) + getattr(delta, f.name) for f in fields(delta)}
        )
    )


async def finish_run(
    conn: AsyncConnection, run_id: int, *, status: str, error: str | None, now: datetime
) -> None:
    await conn.execute(
        sa.update(sync_runs)
        .where(sync_runs.c.id == run_id)
        .values(status=status, error=error, finished_at=now)
    )


async def recent_runs(
    conn: AsyncConnection, connection: str | None = None, limit: int = 20
) -> list[sa.Row[Any]]:
    query = sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
    if connection is not None:
        query = query.where(sync_runs.c.connection == connection)
    return list(await conn.execute(query))
