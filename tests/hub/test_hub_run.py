"""`hub run` embedded (one process, SQLite): schedules fire on time, never overlap a running
sync, coalesce fires missed while down, follow connections added or removed, and stop cleanly.

Each test runs real `hub run` processes (``python -m hub.testing run``) on a generated memory
source, with intervals of a second or two.
"""

from __future__ import annotations

import asyncio
import itertools
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
        runs = {"stream": "people", "outcome": "succeeded"}
        assert node.metric("hub_sync_runs_total", connection="fast", **runs) >= 2
        # Three 1 s intervals, for each of its two streams.
        assert node.metric("hub_stream_drift_target_seconds", connection="slow") == 3 + 3
        node.signal(signal.SIGTERM)
        assert node.wait() == 0
    finally:
        node.stop()

    for stream in ("people", "cases"):
        runs = sorted(await runs_of(hub, "slow", stream), key=lambda r: r.started_at)
        for before, after in itertools.pairwise(runs):
            assert before.finished_at <= after.started_at, "two runs of one stream overlapped"
    fires = [FIRE.match(line) for line in node.fires()]
    assert any(f and f[1] == "slow" and f[5] == "busy" for f in fires), "no fire met a run"
    # On time: one fire a second, at the whole seconds of the schedule (a fire missed while
    # the machine was busy coalesces into the next, so a gap may be two seconds).
    fast = [datetime.fromisoformat(f[3]) for f in fires if f and (f[1], f[2]) == ("fast", "people")]
    assert len(fast) >= 2
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fast)]
    assert all(gap >= 1 and abs(gap - round(gap)) < 0.01 for gap in gaps), gaps
    assert len(await runs_of(hub, "fast", "cases")) == 1  # 15 minutes: only the first fire


async def test_a_stop_mid_sync_keeps_its_page_and_a_restart_coalesces_the_missed_fires(
    hub: Hub, hub_settings: Settings, memory_plugin: None, tmp_path: Path
) -> None:
    await _reference_and_slow_copy(hub, hub_settings)
    await set_schedule(hub, "mem", None, every="2s")
    first = start_node(hub_settings, tmp_path / "first.log")
    try:
        await wait_until(lambda: _pages_at_least(hub, 4), what="a few committed pages")
        first.signal(signal.SIGTERM)
        assert first.wait() == 0
    finally:
        first.stop()
    statuses = {r.status for r in await runs_of(hub, "mem")}
    assert "interrupted" in statuses
    assert statuses <= {"succeeded", "interrupted"}
    async with hub.engine.connect() as conn:
        assert (await conn.execute(sa.select(stream_leases))).first() is None

    await asyncio.sleep(4.5)  # two fires missed, and more while the next node starts
    second = start_node(hub_settings, tmp_path / "second.log")
    try:
        await wait_until(lambda: _finished(hub, "mem", "cases", 1), what="the resumed run")
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    finally:
        second.stop()
    # The resumed run started from the interrupted run's last committed page.
    assert await store_snapshot(hub, "mem") == await store_snapshot(hub, "ref")
    started = next(
        datetime.fromisoformat(e["time"])
        for e in second.log_lines()
        if e["message"].startswith("hub run: node")
    )
    fired = [FIRE.match(line) for line in second.fires()]
    missed = [f for f in fired if f and f[2] == "cases" and datetime.fromisoformat(f[3]) < started]
    assert len(missed) == 1, f"missed fires ran {len(missed)} times: {second.fires()}"


async def test_a_second_signal_stops_at_once_and_the_store_stays_consistent(
    hub: Hub, hub_settings: Settings, memory_plugin: None, tmp_path: Path
) -> None:
    await _reference_and_slow_copy(hub, hub_settings)
    node = start_node(hub_settings, tmp_path / "node.log")
    try:
        await wait_until(lambda: _pages_at_least(hub, 4), what="a few committed pages")
        # Two different signals back to back: the kernel would merge two pending SIGTERMs.
        node.signal(signal.SIGINT)
        node.signal(signal.SIGTERM)
        assert node.wait() in (130, 143)  # interrupted, not stopped cleanly
    finally:
        node.stop()
    # Whatever was committed is whole: resuming ends exactly where an uninterrupted sync does.
    await sync_connection(hub, "mem")
    assert await store_snapshot(hub, "mem") == await store_snapshot(hub, "ref")


BIG = {"people": 20, "cases": 200, "seed": 5}
SLOW_BIG = {"generate": {**BIG, "page_delay_seconds": 0.1}, "page_size": 10}


async def _reference_and_slow_copy(hub: Hub, settings: Settings) -> None:
    """ "ref" synced in this process; "mem", the same data with slow pages, for `hub run`."""
    await connect_sandbox(hub, "ref", "memory", {"generate": BIG, "page_size": 10})
    await sync_connection(hub, "ref")
    configure_service(settings)
    await connect_sandbox(hub, "mem", "memory", SLOW_BIG)


async def _pages_at_least(hub: Hub, pages: int) -> bool:
    return await committed_pages(hub, "mem") >= pages
