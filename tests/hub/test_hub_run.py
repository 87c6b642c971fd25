"""`hub run` embedded (one process, SQLite): schedules fire on time, never overlap a running
sync, coalesce fires missed while down, follow connections added or removed, and stop cleanly.

Each test runs real `hub run` processes (``python -m hub.testing run``) on a generated memory
source, with intervals of a second or two.
"""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.services.connections import remove_connection
from hub.services.sandboxes import connect_sandbox
from hub.services.schedules import next_fire_times, set_schedule
from hub.store.schema import stream_leases
from hub.sync import sync_connection
from tests.hub.scheduling import (
    committed_pages,
    configure_service,
    node_is_up,
    runs_of,
    start_node,
    wait_until,
)
from tests.support import store_snapshot

pytestmark = pytest.mark.slow

GENERATE = {"people": 20, "cases": 40, "seed": 3}
FIRE = re.compile(r"fire (\S+)/(\S+) at (\S+) on (\S+): (.+)")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Embedded means SQLite (the cluster's tests run on PostgreSQL)."""
    return f"sqlite:///{tmp_path}/hub.db"


async def _finished(hub: Hub, connection: str, stream: str, at_least: int) -> bool:
    runs = await runs_of(hub, connection, stream)
    return sum(r.status == "succeeded" for r in runs) >= at_least


async def test_fires_on_time_never_overlap_and_follow_connections_added_or_removed(
    hub: Hub, hub_settings: Settings, memory_plugin: None, tmp_path: Path
) -> None:
    configure_service(hub_settings)
    # Each run of "slow" reads 6 pages 0.3 s apart: it outlasts its 1 s interval.
    slow = {"generate": {**GENERATE, "page_delay_seconds": 0.3}, "page_size": 10}
    await connect_sandbox(hub, "slow", "memory", slow)
    await connect_sandbox(hub, "fast", "memory", {"generate": GENERATE})
    await set_schedule(hub, "slow", None, every="1s")
    await set_schedule(hub, "fast", "people", every="1s")  # fast/cases: the default 15 min
    node = start_node(hub_settings, tmp_path / "node.log")
    try:
        await wait_until(node_is_up(node), what="hub run to start")
        await wait_until(lambda: _finished(hub, "slow", "cases", 2), what="two slow runs")
        await connect_sandbox(hub, "added", "memory", {"generate": GENERATE})
        await wait_until(lambda: _finished(hub, "added", "cases", 1), what="the added one")
        await remove_connection(hub, "fast")

        async def unscheduled() -> bool:
            return not any(k.startswith("sync:fast/") for k in await next_fire_times(hub))

        await wait_until(unscheduled, what="the removed connection's schedules to go")
        node.signal(signal.SIGTERM)
        assert node.wait() == 0
    finally:
        node.stop()

    for stream in ("people", "cases"):
        runs = sorted(await runs_of(hub, "slow", stream), key=lambda r: r.started_at)
        for before, after in zip(runs, runs[1:], strict=False):
            assert before.finished_at <= after.started_at, "two runs of one stream overlapped"
    fires = [FIRE.match(line) for line in node.fires()]
    assert any(f and f[1] == "slow" and f[5] == "busy" for f in fires), "no fire met a run"
    fast = sorted(r.started_at for r in await runs_of(hub, "fast", "people"))
    assert len(fast) >= 2
    assert all((b - a).total_seconds() > 0.5 for a, b in zip(fast, fast[1:], strict=False))
    assert len(await runs_of(hub, "fast", "cases")) == 1  # 15 minutes: only the first fire


async def test_fires_missed_while_the_service_was_down_coalesce_into_one_run(
    hub: Hub, hub_settings: Settings, memory_plugin: None, tmp_path: Path
) -> None:
    configure_service(hub_settings)
    await connect_sandbox(hub, "mem", "memory", {"generate": GENERATE})
    await set_schedule(hub, "mem", "people", every="2s")
    first = start_node(hub_settings, tmp_path / "first.log")
    try:
        await wait_until(lambda: _finished(hub, "mem", "people", 1), what="a first run")
        first.signal(signal.SIGTERM)
        assert first.wait() == 0
    finally:
        first.stop()
    await asyncio.sleep(4.5)  # two fires missed, and more while the next node starts
    second = start_node(hub_settings, tmp_path / "second.log")
    try:
        await wait_until(lambda: _finished(hub, "mem", "people", 2), what="the run after")
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    finally:
        second.stop()
    started = next(
        datetime.fromisoformat(e["time"])
        for e in second.log_lines()
        if e["message"].startswith("hub run: node")
    )
    fired = [FIRE.match(line) for line in second.fires()]
    missed = [f for f in fired if f and f[2] == "people" and datetime.fromisoformat(f[3]) < started]
    assert len(missed) == 1, f"missed fires ran {len(missed)} times: {second.fires()}"


@pytest.mark.parametrize("signals", [1, 2])
async def test_stopping_mid_sync_leaves_a_consistent_store(
    hub: Hub, hub_settings: Settings, memory_plugin: None, tmp_path: Path, signals: int
) -> None:
    big = {"people": 20, "cases": 200, "seed": 5}
    await connect_sandbox(hub, "ref", "memory", {"generate": big, "page_size": 10})
    await sync_connection(hub, "ref")
    slow = {"generate": {**big, "page_delay_seconds": 0.1}, "page_size": 10}
    configure_service(hub_settings)
    await connect_sandbox(hub, "mem", "memory", slow)
    node = start_node(hub_settings, tmp_path / "node.log")
    try:
        await wait_until(lambda: _pages_at_least(hub, 4), what="a few committed pages")
        # Two different signals back to back: the kernel would merge two pending SIGTERMs.
        for signum in [signal.SIGINT, signal.SIGTERM][-signals:]:
            node.signal(signum)
        code = node.wait()
    finally:
        node.stop()

    runs = await runs_of(hub, "mem")
    if signals == 1:
        assert code == 0
        assert {r.status for r in runs} <= {"succeeded", "interrupted"}
        assert "interrupted" in {r.status for r in runs}
        async with hub.engine.connect() as conn:
            assert (await conn.execute(sa.select(stream_leases))).first() is None
    else:
        assert code in (130, 143)  # interrupted (Ctrl-C or SIGTERM), not stopped cleanly
    # Whatever was committed is whole: resuming ends exactly where an uninterrupted sync does.
    await sync_connection(hub, "mem")
    assert await store_snapshot(hub, "mem") == await store_snapshot(hub, "ref")


async def _pages_at_least(hub: Hub, pages: int) -> bool:
    return await committed_pages(hub, "mem") >= pages
