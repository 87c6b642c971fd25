"""An audit prune killed with SIGKILL while deleting its rows: the trail still verifies (the
rows of pruned entries are already skipped), and the next run deletes the rest. The victim
is a real ``hub retention run`` process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.audit import Actor, AuditEntry, record
from hub.audit.checkpoints import make_checkpoint
from hub.config import Settings, load_settings
from hub.runtime import Hub, utcnow
from hub.services.audit import signer, verify
from hub.services.retention import run_retention
from hub.store.schema import audit_entries, audit_pruned
from tests.support import kill_inside_a_batch, sync_engine

pytestmark = pytest.mark.slow

BATCH = 5
OLD = 400  # a checkpoint every 100


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(audit_entries)) or 0)


def _pruned_and_lowest(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        pruned = conn.scalar(sa.select(sa.func.max(audit_pruned.c.start + audit_pruned.c.size)))
        lowest = conn.scalar(sa.select(sa.func.min(audit_entries.c.seq)))
    return int(pruned or 0), int(lowest or 0)


async def _seed(settings: Settings) -> None:
    old = utcnow() - timedelta(days=800)
    actor = Actor("bob", "admin", "test")
    async with Hub.open(settings, create=True) as hub:
        for start in range(0, OLD, 100):
            async with hub.engine.begin() as conn:
                for i in range(start, start + 100):
                    entry = AuditEntry(actor, "connection.add", target_id=f"c{i}")
                    await record(conn, entry, now=old)
                await make_checkpoint(conn, signer(hub))


def test_a_prune_killed_while_deleting_still_verifies_and_a_rerun_deletes_the_rest(
    hub_settings: Settings,
) -> None:
    config = hub_settings.home / "hub.toml"
    with config.open("a") as toml:
        toml.write(f"\n[retention]\nbatch_size = {BATCH}\narchive_before_prune = false\n")
    settings = load_settings(config)
    asyncio.run(_seed(settings))
    url = settings.resolved_database_url
    engine = sync_engine(url)
    kill_inside_a_batch(
        config, ("retention", "run"), url, engine, "audit_entries",
        started=lambda: _count(engine) < OLD,
    )  # fmt: skip
    pruned, lowest = _pruned_and_lowest(engine)
    assert pruned == OLD and 1 < lowest <= OLD  # sealed, and rows of pruned entries left

    async def resume() -> tuple[bool, int]:
        async with Hub.open(settings) as hub:
            before = (await verify(hub)).ok
            outcome = await run_retention(hub)
            return before, {t.data_type: t.count for t in outcome.types}["audit_trail"]

    assert asyncio.run(resume()) == (True, 0)  # verified as it was; nothing more to prune
    assert _pruned_and_lowest(engine) == (OLD, OLD + 1)
    engine.dispose()
