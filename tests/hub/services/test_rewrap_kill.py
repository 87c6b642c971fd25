"""A real ``hub keys rewrap`` process SIGKILLed at random points, with syncs changing records
between the kills, then resumed: after each kill every value opens, and at the end the old
keys' census is 0, they are retired, and no write made meanwhile was reverted.

Five kill points on SQLite and two on PostgreSQL by default (the suite's time budget: each
point starts a process); ``HUB_REWRAP_KILLS=20`` for more on both, and ``HUB_CRASH_SEED`` to
draw other points."""

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
from hub.services.keys import rewrap, rotate_keys, take_census
from hub.store.engine import async_url
from hub.store.schema import data_keys, rewrap_progress
from hub.sync import sync_connection
from hub.testing import MemorySource
from tests.hub.services.vault_stores import fill_store, unopened_values
from tests.support import hub_env, store_snapshot

pytestmark = pytest.mark.slow

BATCH = 3


def _rows_done(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.coalesce(sa.func.sum(rewrap_progress.c.rows_done), 0))
        return int(conn.scalar(query) or 0)


def _hub_rewrap(settings: Settings) -> subprocess.Popen[bytes]:
    config = str(settings.home / "hub.toml")
    return subprocess.Popen(
        [sys.executable, "-m", "hub.testing", "--config", config, "keys", "rewrap",
         "--batch-size", str(BATCH)],
        env=hub_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


async def _kill_at(settings: Settings, engine: sa.Engine, rows: int) -> bool:
    """Run the job and SIGKILL it once ``rows`` rows are done; False if it finished first."""
    victim = _hub_rewrap(settings)
    deadline = time.monotonic() + 120
    while victim.poll() is None and _rows_done(engine) < rows:
        assert time.monotonic() < deadline, "the rewrap made no progress"
        await asyncio.sleep(0.002)
    finished = victim.poll() is not None
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    if finished:
        assert victim.returncode == 0, victim.stderr and victim.stderr.read()[-2000:]
    return not finished


async def test_rewrap_killed_at_random_points_resumes_to_every_value_under_the_new_keys(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    await fill_store(hub)
    rotation = await rotate_keys(hub, force=True, purposes=("data", "index"))
    old_keys = set(rotation.retired_primaries.values())
    url = hub_settings.resolved_database_url
    default_kills = "5" if url.startswith("sqlite") else "2"
    kills = int(os.environ.get("HUB_REWRAP_KILLS", default_kills))
    rng = random.Random(os.environ.get("HUB_CRASH_SEED", "19"))
    engine = sa.create_engine(async_url(url).replace("+aiosqlite", ""))
    expected_names: dict[str, str] = {}
    killed = 0
    try:
        total = 180  # about the rows of this store (the job counts them again each pass)
        points = sorted(rng.sample(range(BATCH, total), kills))
        for n, point in enumerate(points):
            killed += await _kill_at(hub_settings, engine, point)
            assert await unopened_values(hub) == [], f"after the kill at row {point}"
            # A sync between kills: these writes must survive the job.
            name = f"Renamed {n}"
            person = f"p{n}"
            record = {"id": person, "name": name, "email": f"{person}@example.org",
                      "phone": "+14155550123", "tags": [], "deleted": False}  # fmt: skip
            memory.put("people", record)
            expected_names[person] = name
            await sync_connection(hub, "mem")
    finally:
        engine.dispose()

    assert killed >= kills - 1, "the job finished before most kill points"

    outcome = await rewrap(hub, batch_size=BATCH)

    assert outcome.remaining == {}
    # Retired by this pass, or by a killed one that finished before its kill point.
    async with hub.engine.connect() as conn:
        query = sa.select(data_keys.c.id).where(data_keys.c.status == "retired")
        retired = set((await conn.execute(query)).scalars())
    assert old_keys <= retired
    if killed == kills:
        assert set(outcome.retired) == old_keys
    census = await take_census(hub)
    assert all(census.of(key) == 0 for key in old_keys)
    assert await unopened_values(hub) == []
    snapshot = await store_snapshot(hub, "mem")
    for person, name in expected_names.items():
        assert snapshot[("person", person)][2]["display_name"] == name
