"""A sync does not bring back what retention removed: a record that arrives already past its
period is not stored, and a stored copy of it goes. A new hub sets no period for
interactions, so it stores a vendor's whole history, however old."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from connectors.twilio.sandbox import TwilioSandbox
from hub.config import Settings
from hub.retention import RetentionSettings
from hub.runtime import Hub, utcnow
from hub.sandbox.server import serve_in_background
from hub.services.retention import run_retention
from hub.services.sandboxes import connect_sandbox
from hub.store.schema import blind_index, records
from hub.sync import PageWrite, store_page, sync_connection, to_record_row
from hub.testing import MemorySource
from hub.testing.store import store_snapshot
from tests.hub.retention.seed import CONNECTION, interaction, with_typical_periods


async def _cases_by_status(hub: Hub) -> dict[str, set[str]]:
    async with hub.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(records.c.external_id, records.c.data).where(records.c.kind == "case")
        )
        found: dict[str, set[str]] = {}
        for external_id, data in rows:
            found.setdefault(data["status"], set()).add(external_id)
    return found


def _strict(settings: Settings) -> Settings:
    """The same hub with closed cases kept one day: the memory source's dates are of 2024."""
    policy = RetentionSettings(closed_cases="1 day")
    return settings.model_copy(update={"retention": policy})


async def test_a_full_refresh_does_not_bring_back_purged_closed_cases(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    await sync_connection(hub, CONNECTION)
    closed = (await _cases_by_status(hub))["closed"]
    assert closed
    async with Hub.open(_strict(hub_settings)) as strict:
        purged = await run_retention(strict)
        assert {t.data_type: t.count for t in purged.types}["closed_cases"] == len(closed)

        [_people, cases] = await sync_connection(strict, CONNECTION, full_refresh=True)

        assert "closed" not in await _cases_by_status(strict)
        assert cases.counters.records_written == 0  # the others are stored already, unchanged
        assert cases.counters.records_unchanged >= len(closed)


async def test_a_stored_case_that_comes_back_closed_and_past_its_period_is_deleted(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    await sync_connection(hub, CONNECTION)
    open_case = sorted((await _cases_by_status(hub))["open"])[0]
    case = memory.latest("cases")[open_case]
    memory.put("cases", {**case, "status": "closed"})
    async with Hub.open(_strict(hub_settings)) as strict:
        await sync_connection(strict, CONNECTION, streams=["cases"])

        stored = await _cases_by_status(strict)
        assert open_case not in stored.get("open", set()) | stored.get("closed", set())
        assert stored["open"]  # the other open cases stay


async def test_an_interaction_past_its_period_is_not_stored(hub_settings: Settings) -> None:
    async with Hub.open(with_typical_periods(hub_settings), create=True) as hub:
        now = utcnow()
        old = interaction("old-call", ended=now - timedelta(days=3 * 366))
        recent = interaction("recent-call", ended=now - timedelta(days=30))
        rows = [to_record_row(m, hub) for m in (old, recent)]
        write = PageWrite(CONNECTION, "calls", 1, "t", rows, [], now)

        async with hub.engine.begin() as conn:
            counts = await store_page(conn, hub, write)

        assert (counts.written, counts.unchanged) == (1, 1)
        async with hub.engine.connect() as conn:
            ids = set(await conn.scalars(sa.select(records.c.external_id)))
            indexed = len(list(await conn.scalars(sa.select(blind_index.c.record_id))))
        assert ids == {"recent-call"}
        assert indexed == 1


async def test_a_new_hub_stores_every_interaction_of_a_sandbox_however_old(hub: Hub) -> None:
    app = TwilioSandbox(records=40, seed=7, relaxed_limits=True)
    async with serve_in_background(app) as running:
        config = app.connection_config(running.base_url, running.ca_file)
        await connect_sandbox(hub, "tw", "twilio", config)
        results = await sync_connection(hub, "tw")

    assert all(r.status == "succeeded" for r in results)
    stored = await store_snapshot(hub, "tw")
    assert len(stored) == sum(app.data.counts.values())  # messages, calls and conversations
    started = [
        datetime.fromisoformat(fields["started_at"]) for (_, _, fields, _) in stored.values()
    ]
    assert min(started) < utcnow() - timedelta(days=3 * 366)  # past any typical period


async def _stripped(hub: Hub) -> int:
    async with hub.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(
            records.c.raw.is_(None), records.c.deleted.is_(False)
        )
        return int(await conn.scalar(query) or 0)


async def test_a_stripped_payload_stays_stripped_until_the_vendor_sends_it_again(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, CONNECTION)
    later = utcnow() + timedelta(days=31)
    stripped = {t.data_type: t.count for t in (await run_retention(hub, clock=lambda: later)).types}
    assert stripped["raw_payloads"] == await _stripped(hub) > 0

    await sync_connection(hub, CONNECTION)  # nothing changed at the vendor
    assert await _stripped(hub) == stripped["raw_payloads"]

    await sync_connection(hub, CONNECTION, full_refresh=True)  # every payload received anew
    assert await _stripped(hub) == 0
