"""A sync killed with SIGKILL at a random page resumes to exactly an uninterrupted result.

The victim is a real ``hub sync`` process (``python -m hub.testing``: the CLI with the memory
connector registered) reading a generated source, which it rebuilds from the connection's config
exactly as this process does for the uninterrupted reference."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.services.sandboxes import connect_sandbox
from hub.store.schema import sync_runs
from hub.sync import sync_connection
from tests.support import store_snapshot, sync_engine

pytestmark = pytest.mark.slow

GENERATE = {"people": 60, "cases": 240, "seed": 31}


def _committed_pages(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.coalesce(sa.func.sum(sync_runs.c.pages), 0)).where(
            sync_runs.c.connection == "mem"
        )
        return int(conn.scalar(query) or 0)


def _hub_sync(settings: Settings) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_MASTER_KEY", "HUB_CONFIG")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.testing",
            "--config",
            str(settings.home / "hub.toml"),
            "sync",
            "mem",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_sync_killed_at_a_random_page_resumes_to_exactly_the_uninterrupted_records(
    hub: Hub, hub_settings: Settings, memory_plugin: None
) -> None:
    await connect_sandbox(hub, "ref", "memory", {"generate": GENERATE, "page_size": 10})
    # Slow pages, so the kill lands mid-run; the data is the reference's.
    slow = {**GENERATE, "page_delay_seconds": 0.05}
    await connect_sandbox(hub, "mem", "memory", {"generate": slow, "page_size": 10})
    reference = await sync_connection(hub, "ref")
    total_pages = sum(r.counters.pages for r in reference)

    kill_after = random.Random(os.environ.get("HUB_CRASH_SEED", "7")).randint(2, total_pages - 2)
    engine = sync_engine(hub_settings.resolved_database_url)
    try:
        victim = _hub_sync(hub_settings)
        deadline = time.monotonic() + 120
        while _committed_pages(engine) < kill_after and victim.poll() is None:
            assert time.monotonic() < deadline, "the sync made no progress"
            await asyncio.sleep(0.005)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        at_kill = _committed_pages(engine)
    finally:
        engine.dispose()
    assert victim.returncode == -signal.SIGKILL, victim.stderr and victim.stderr.read()[-2000:]
    assert at_kill < total_pages, "killed too late: the run had finished"

    survivor = _hub_sync(hub_settings)
    _, err = await asyncio.to_thread(survivor.communicate, timeout=300)
    assert survivor.returncode == 0, err.decode(errors="replace")[-2000:]

    assert await store_snapshot(hub, "mem") == await store_snapshot(hub, "ref")
    async with hub.engine.connect() as conn:
        runs = (
            await conn.execute(sa.select(sync_runs).where(sync_runs.c.connection == "mem"))
        ).all()
    assert "interrupted" in {r.status for r in runs}
    written = sum(r.records_written + r.records_deleted for r in runs)
    assert written == sum(
        r.counters.records_written + r.counters.records_deleted for r in reference
    )
