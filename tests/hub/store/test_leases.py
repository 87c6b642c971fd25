"""One run at a time per (connection, stream): a second run is refused, a dead holder's lease
is taken over, and a run that lost its lease commits nothing more."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.connector import Page
from hub.errors import StreamBusy
from hub.runtime import Hub, utcnow
from hub.services.sandboxes import connect_sandbox
from hub.store import leases
from hub.store.engine import async_url
from hub.store.leases import Holder, this_process
from hub.store.runs import start_run
from hub.store.schema import records, stream_leases, sync_runs
from hub.sync import StreamResult, sync_connection
from hub.testing import MemorySource
from tests.support import hub_env


async def _runs(hub: Hub, stream: str) -> dict[int, str]:
    async with hub.engine.connect() as conn:
        query = sa.select(sync_runs.c.id, sync_runs.c.status).where(sync_runs.c.stream == stream)
        return {r.id: r.status for r in await conn.execute(query)}


async def _record_count(hub: Hub) -> int:
    async with hub.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(records)) or 0)


async def _leave_lease(hub: Hub, stream: str, holder: str, expires_in: timedelta) -> int:
    """A run of ``stream`` left running by ``holder``, holding the lease ``expires_in`` more."""
    now = utcnow()
    async with hub.engine.begin() as conn:
        run_id = await start_run(conn, "mem", stream, full_refresh=False, now=now)
        await conn.execute(
            sa.insert(stream_leases).values(
                connection="mem",
                stream=stream,
                run_id=run_id,
                holder=holder,
                expires_at=now + expires_in,
            )
        )
    return run_id


def _ended_process_on_this_host() -> str:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{int(child.stdout)}:1"


# -- refusing a second run --------------------------------------------------------------------


async def test_a_second_run_of_a_stream_being_synced_is_refused_and_leaves_no_trace(
    hub: Hub, memory: MemorySource
) -> None:
    memory.page_delay_seconds = 0.05  # the first run still holds the stream when the second asks
    one, two = await asyncio.gather(
        sync_connection(hub, "mem", streams=["cases"], raise_errors=False),
        sync_connection(hub, "mem", streams=["cases"], raise_errors=False),
    )
    results = sorted([*one, *two], key=lambda r: r.status)
    assert [r.status for r in results] == ["busy", "succeeded"]
    busy, done = results
    assert busy.error is not None and "mem/cases" in busy.error
    assert await _runs(hub, "cases") == {done.run_id: "succeeded"}
    async with hub.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(stream_leases)) == 0


async def test_a_live_run_on_another_host_keeps_its_stream(hub: Hub, memory: MemorySource) -> None:
    other = await _leave_lease(hub, "people", "elsewhere:4242:1", timedelta(minutes=1))
    [result] = await sync_connection(hub, "mem", streams=["people"], raise_errors=False)
    assert result.status == "busy"
    assert result.error is not None
    assert f"run {other}" in result.error and "elsewhere" in result.error
    assert await _runs(hub, "people") == {other: "running"}
    assert await _record_count(hub) == 0
    with pytest.raises(StreamBusy):
        await sync_connection(hub, "mem", streams=["people"])


def _hub_sync(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """``hub sync ARGS`` in another process (the CLI with the memory connector registered)."""
    config = str(settings.home / "hub.toml")
    return subprocess.Popen(
        [sys.executable, "-m", "hub.testing", "--config", config, "sync", *args],
        env=hub_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
async def test_a_second_hub_sync_of_a_running_stream_is_busy_at_once_while_a_page_is_written(
    hub: Hub, hub_settings: Settings, memory_plugin: None
) -> None:
    slow = {"people": 0, "cases": 60, "page_delay_seconds": 0.3}
    await connect_sandbox(hub, "slow", "memory", {"generate": slow, "page_size": 10})
    engine = sa.create_engine(
        async_url(hub_settings.resolved_database_url).replace("+aiosqlite", "")
    )
    first = _hub_sync(hub_settings, "slow", "--stream", "cases")
    try:
        deadline = time.monotonic() + 120
        with engine.connect() as conn:
            while not conn.scalar(sa.select(sa.func.count()).select_from(stream_leases)):
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline, "the first sync never took its lease"
                await asyncio.sleep(0.01)
        # Write as the first run's next page does (its lease first), and keep the transaction
        # open: on SQLite that is the database's write lock, on PostgreSQL the lease row's lock.
        with engine.begin() as page:
            held = page.execute(
                sa.update(stream_leases).values(expires_at=stream_leases.c.expires_at)
            )
            assert held.rowcount == 1, "the first sync finished before the second started"
            second = _hub_sync(hub_settings, "slow", "--stream", "cases", "--json")
            out, err = await asyncio.to_thread(second.communicate, timeout=120)
        assert second.returncode == 1, err
        assert "Traceback" not in err
        [result] = json.loads(out)
        assert result["status"] == "busy"
        assert "slow/cases is held by run" in result["error"]
        assert first.poll() is None, "the second sync waited for the first to end"
        _, first_err = await asyncio.to_thread(first.communicate, timeout=120)
        assert first.returncode == 0, first_err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        engine.dispose()
    async with hub.engine.connect() as conn:
        runs = (await conn.execute(sa.select(sync_runs.c.status, sync_runs.c.pages))).all()
    assert runs == [("succeeded", 6)]


# -- taking over from a dead holder -----------------------------------------------------------


async def test_a_lapsed_lease_is_taken_over_and_its_run_marked_interrupted(
    hub: Hub, memory: MemorySource
) -> None:
    dead = await _leave_lease(hub, "people", "elsewhere:4242:1", timedelta(seconds=-1))
    [result] = await sync_connection(hub, "mem", streams=["people"])
    assert result.status == "succeeded" and result.counters.records_written > 0
    assert await _runs(hub, "people") == {dead: "interrupted", result.run_id: "succeeded"}


async def test_a_run_whose_process_ended_on_this_host_frees_its_stream_at_once(
    hub: Hub, memory: MemorySource
) -> None:
    dead = await _leave_lease(hub, "people", _ended_process_on_this_host(), timedelta(hours=1))
    [result] = await sync_connection(hub, "mem", streams=["people"])
    assert result.status == "succeeded"
    assert (await _runs(hub, "people"))[dead] == "interrupted"


def test_holders_are_presumed_alive_unless_this_host_sees_them_gone() -> None:
    me = this_process()
    assert not me.is_gone()
    assert Holder.parse(str(me)) == me
    assert not Holder("elsewhere", me.pid, me.started).is_gone()
    assert Holder.parse(_ended_process_on_this_host()).is_gone()


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_a_reused_pid_is_told_apart_by_its_start_time() -> None:
    me = this_process()
    assert Holder(me.host, me.pid, str(int(me.started) + 1)).is_gone()


# -- fencing and renewal ----------------------------------------------------------------------


async def test_a_run_that_lost_its_stream_commits_no_further_page(
    hub: Hub, memory: MemorySource
) -> None:
    # The progress callback is synchronous: it steals the lease through a blocking engine.
    thief = sa.create_engine(
        async_url(hub.settings.resolved_database_url).replace("+aiosqlite", "")
    )

    def steal_after_first_page(result: StreamResult) -> None:
        if result.counters.pages == 1:
            with thief.begin() as conn:
                conn.execute(sa.update(stream_leases).values(run_id=result.run_id + 1000))

    try:
        with pytest.raises(StreamBusy, match="lost the stream"):
            await sync_connection(hub, "mem", streams=["cases"], progress=steal_after_first_page)
    finally:
        thief.dispose()
    async with hub.engine.connect() as conn:
        run = (await conn.execute(sa.select(sync_runs))).one()
    assert (run.status, run.pages) == ("failed", 1)
    assert await _record_count(hub) == run.records_written + run.records_deleted


async def test_a_run_keeps_its_stream_while_waiting_longer_than_the_lease_between_pages(
    hub: Hub, memory: MemorySource
) -> None:
    hub.settings = hub.settings.model_copy(update={"sync_lease_seconds": 1.0})
    async with hub.connection("mem") as connector:  # the one sync_connection will use too
        pass
    pages_of = connector.read
    first_page_done = asyncio.Event()

    async def slow_second_page(stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        async for n, page in _numbered(pages_of(stream, state)):
            if n == 1:
                await first_page_done.wait()
                await asyncio.sleep(2.5)  # as a long Retry-After would
            yield page

    connector.read = slow_second_page  # type: ignore[method-assign]

    def note_first_page(result: StreamResult) -> None:
        first_page_done.set()

    async def probe_during_the_wait() -> bool:
        """Whether another run could take the stream 1.8 s into the 2.5 s wait."""
        await first_page_done.wait()
        await asyncio.sleep(1.8)
        async with hub.engine.connect() as conn, conn.begin() as transaction:
            try:
                await leases.acquire(
                    conn, "mem", "cases", -1, now=utcnow(), period=timedelta(seconds=1)
                )
            except StreamBusy:
                return False
            finally:
                await transaction.rollback()
            return True

    results, taken = await asyncio.gather(
        sync_connection(hub, "mem", streams=["cases"], progress=note_first_page),
        probe_during_the_wait(),
    )
    assert not taken
    assert results[0].status == "succeeded" and results[0].counters.pages >= 2


async def _numbered(pages: AsyncIterator[Page]) -> AsyncIterator[tuple[int, Page]]:
    n = 0
    async for page in pages:
        yield n, page
        n += 1
