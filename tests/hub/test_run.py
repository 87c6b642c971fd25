"""A run's row and lease: however the run ends, it is closed and its stream is free."""

from __future__ import annotations

import asyncio

import anyio
import sqlalchemy as sa

from hub.run import Run
from hub.runtime import Hub
from hub.store.schema import stream_leases, sync_runs
from hub.testing import MemorySource


async def test_a_run_cancelled_by_an_anyio_cancel_scope_is_closed_and_frees_its_stream(
    hub: Hub, memory: MemorySource
) -> None:
    """APScheduler runs its jobs in anyio task groups, whose cancel scopes cancel at every
    await: the run's close was cut short, and the stream stayed leased to a "running" run."""
    started = asyncio.Event()

    async def runs_until_cancelled() -> None:
        async with Run(hub, "mem", "people", kind="replay"):
            started.set()
            await asyncio.sleep(3600)

    async with anyio.create_task_group() as group:
        group.start_soon(runs_until_cancelled)
        await started.wait()
        group.cancel_scope.cancel()

    async with hub.engine.connect() as conn:
        statuses = (await conn.execute(sa.select(sync_runs.c.status))).scalars().all()
        leased = (await conn.execute(sa.select(stream_leases))).first()
    assert statuses == ["interrupted"]
    assert leased is None
