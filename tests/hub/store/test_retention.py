"""A purge window re-checks its rows as it purges them: what a sync rewrote since the window
was read is left alone."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.retention import CLOSED_CASES, RAW_PAYLOADS, examine
from hub.store.schema import records
from tests.hub.retention.seed import NOW, case, customer, store_models


async def _raw_of(hub: Hub, external_id: str) -> str | None:
    async with hub.engine.connect() as conn:
        raw: str | None = await conn.scalar(
            sa.select(records.c.raw).where(records.c.external_id == external_id)
        )
    return raw


async def test_a_payload_rewritten_after_its_window_was_read_is_not_stripped(hub: Hub) -> None:
    await store_models(hub, [customer("sarah")], stored_at=NOW - timedelta(days=40))
    cutoff = NOW - timedelta(days=30)
    async with hub.engine.connect() as conn:
        due = await examine(conn, RAW_PAYLOADS, cutoff, after=0, limit=100)
    assert len(due) == 1
    changed = customer("sarah").model_copy(update={"raw": {"id": "sarah", "plan": "gold"}})
    await store_models(hub, [changed], stored_at=NOW)  # a sync writes a fresh payload

    async with hub.engine.begin() as conn:
        stripped = await RAW_PAYLOADS.apply(conn, due, cutoff)

    assert stripped == 0
    assert await _raw_of(hub, "sarah") is not None


async def test_a_case_reopened_after_its_window_was_read_is_not_deleted(hub: Hub) -> None:
    old = NOW - timedelta(days=8 * 366)
    await store_models(hub, [case("c1", "closed", old)], stored_at=old)
    cutoff = NOW - timedelta(days=7 * 366)
    async with hub.engine.connect() as conn:
        due = await examine(conn, CLOSED_CASES, cutoff, after=0, limit=100)
    assert len(due) == 1
    await store_models(hub, [case("c1", "open", NOW)], stored_at=NOW)  # reopened

    async with hub.engine.begin() as conn:
        deleted = await CLOSED_CASES.apply(conn, due, cutoff)

    assert deleted == 0
    async with hub.engine.connect() as conn:
        status = await conn.scalar(sa.select(records.c.data["status"].as_string()))
    assert status == "open"
