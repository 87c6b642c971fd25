"""A purge killed with SIGKILL between batches loses only its open batch, and running it
again finishes the work: the victim is a real ``hub retention run`` process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.config import Settings, load_settings
from hub.runtime import Hub, utcnow
from hub.services.retention import run_retention
from hub.store.schema import blind_index, records
from tests.hub.retention.seed import interaction, store_models, with_typical_periods
from tests.support import kill_inside_a_batch, sync_engine

pytestmark = pytest.mark.slow

BATCH = 5
OLD, RECENT = 600, 20


def _interactions(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(records.c.kind == "interaction")
        return int(conn.scalar(query) or 0)


async def _seed(settings: Settings) -> None:
    now = utcnow()
    async with Hub.open(settings, create=True) as hub:
        old = [interaction(f"old-{i}", ended=now - timedelta(days=800)) for i in range(OLD)]
        for start in range(0, OLD, 500):
            await store_models(hub, old[start : start + 500], stored_at=now)
        recent = [interaction(f"new-{i}", ended=now - timedelta(days=5)) for i in range(RECENT)]
        await store_models(hub, recent, stored_at=now)


def test_a_killed_purge_loses_at_most_its_open_batch_and_a_rerun_finishes_it(
    hub_settings: Settings,
) -> None:
    config = hub_settings.home / "hub.toml"
    with config.open("a") as toml:
        toml.write(f'\n[retention]\ninteractions = "2 years"\nbatch_size = {BATCH}\n')
    settings = load_settings(config)
    asyncio.run(_seed(settings))
    url = settings.resolved_database_url
    engine = sync_engine(url)
    kill_inside_a_batch(
        config, ("retention", "run"), url, engine, "records",
        started=lambda: _interactions(engine) < OLD + RECENT,
    )  # fmt: skip
    left = _interactions(engine)
    purged_before_kill = OLD + RECENT - left
    assert 0 < purged_before_kill < OLD
    assert purged_before_kill % BATCH == 0  # whole batches only: the open one rolled back

    async def resume() -> int:  # in batches of the default size: the work left is the same
        resumed = with_typical_periods(settings)
        async with Hub.open(resumed) as hub:
            outcome = await run_retention(hub)
            return {t.data_type: t.count for t in outcome.types}["interactions"]

    assert asyncio.run(resume()) == OLD - purged_before_kill
    with engine.connect() as conn:
        kept = set(
            conn.scalars(sa.select(records.c.external_id).where(records.c.kind == "interaction"))
        )
        index_rows = conn.scalar(sa.select(sa.func.count()).select_from(blind_index))
    engine.dispose()
    assert kept == {f"new-{i}" for i in range(RECENT)}
    assert index_rows == RECENT
