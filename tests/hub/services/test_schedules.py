"""`hub schedules list` and `hub status`: each stream's lag is the age of its last committed
cursor, a stream past its drift target makes `hub status` fail, and the housekeeping jobs are
listed apart from the streams with their last outcome."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hub import housekeeping
from hub.config import Settings
from hub.errors import ConfigError
from hub.runtime import Hub, utcnow
from hub.scheduler import SchedulerService
from hub.services.schedules import set_schedule, stream_statuses, unset_schedule
from hub.store.schema import stream_state
from hub.sync import sync_connection
from hub.testing import MemorySource
from tests.support import run_hub


async def _cursor_committed_at(hub: Hub, stream: str) -> datetime | None:
    async with hub.engine.connect() as conn:
        return await conn.scalar(
            sa.select(stream_state.c.updated_at).where(
                stream_state.c.connection == "mem", stream_state.c.stream == stream
            )
        )


async def test_the_lag_is_the_age_of_the_last_committed_cursor(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem")
    committed = await _cursor_committed_at(hub, "people")
    assert committed is not None
    now = committed + timedelta(seconds=100)
    people = {s.stream: s for s in await stream_statuses(hub, now=now)}["people"]
    assert people.lag_seconds == 100
    assert (people.late, people.last_outcome, people.state) == (False, "succeeded", "ok")
    much_later = now + timedelta(minutes=45)  # past three 15-minute intervals
    assert {s.stream: s for s in await stream_statuses(hub, now=much_later)}["people"].late


async def test_a_stream_never_synced_is_as_late_as_its_connection_is_old(
    hub: Hub, memory: MemorySource
) -> None:
    statuses = await stream_statuses(hub, now=utcnow() + timedelta(hours=1))
    assert all(s.late and s.last_run is None for s in statuses)


async def test_a_schedule_names_a_stream_the_connector_has(hub: Hub, memory: MemorySource) -> None:
    try:
        await set_schedule(hub, "mem", "tickets", every="5m")
    except ConfigError as exc:
        assert "people" in str(exc)
    else:
        raise AssertionError("an unknown stream was accepted")
    await set_schedule(hub, "mem", "cases", every="1m", drift="10m")
    cases = {s.stream: s for s in await stream_statuses(hub)}["cases"]
    assert (cases.schedule, cases.drift_target_seconds) == ("every 60s", 600)
    assert await unset_schedule(hub, "mem", "cases")
    assert {s.stream: s for s in await stream_statuses(hub)}["cases"].schedule == "every 900s"


async def test_hub_status_fails_when_a_stream_is_past_its_drift_target(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    if not hub_settings.database_url.startswith("sqlite"):
        pytest.skip("the CLI only presents the service, tested above on both databases")
    # The memory source lives in this process: the subprocess sees the connection, not it.
    await sync_connection(hub, "mem")
    fine = run_hub("--json", "status", cwd=hub_settings.home, module="hub.testing")
    assert fine.returncode == 0, fine.stderr
    async with hub.engine.begin() as conn:
        await conn.execute(
            sa.update(stream_state)
            .where(stream_state.c.stream == "cases")
            .values(updated_at=utcnow() - timedelta(hours=1))
        )
    late = run_hub("--json", "status", cwd=hub_settings.home, module="hub.testing")
    assert late.returncode == 1
    assert json.loads(late.stdout)["late"] == ["mem/cases"]


async def _broken_chore(hub: Hub) -> None:
    raise ConfigError("the chore broke")


async def test_schedules_list_shows_each_housekeeping_job_apart_with_its_last_outcome(
    hub: Hub, hub_settings: Settings, memory: MemorySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hub_settings.database_url.startswith("sqlite"):
        pytest.skip("the CLI only presents the service; the outcome is stored like a cursor")
    broken = housekeeping.HousekeepingJob("broken", timedelta(minutes=5), _broken_chore, "Fails.")
    monkeypatch.setitem(housekeeping._JOBS, "broken", broken)
    service = SchedulerService(hub)
    assert await service.housekeeping_job("audit-checkpoint") == "succeeded"
    assert await service.housekeeping_job("broken") == "failed"

    listed = run_hub("--json", "schedules", "list", cwd=hub_settings.home, module="hub.testing")
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert {s["stream"] for s in shown["streams"]} == {"people", "cases"}
    chores = {c["name"]: c for c in shown["housekeeping"]}
    # The subprocess has no "broken" job: it lists the jobs it would run.
    assert {"audit-checkpoint", "outbox-deliver", "store-check"} <= chores.keys()
    checkpoint = chores["audit-checkpoint"]
    assert (checkpoint["schedule"], checkpoint["last_outcome"]) == ("every 60s", "succeeded")
    assert checkpoint["last_run"] is not None
    assert chores["store-check"]["last_outcome"] is None  # never fired


async def test_a_failed_housekeeping_fire_is_listed_with_its_error(
    hub: Hub, memory: MemorySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.services.schedules import housekeeping_statuses

    broken = housekeeping.HousekeepingJob("broken", timedelta(minutes=5), _broken_chore, "Fails.")
    monkeypatch.setitem(housekeeping._JOBS, "broken", broken)
    await SchedulerService(hub).housekeeping_job("broken")
    chore = {c.name: c for c in await housekeeping_statuses(hub)}["broken"]
    assert (chore.schedule, chore.last_outcome) == ("every 300s", "failed")
    assert chore.last_error is not None and "the chore broke" in chore.last_error
    # Its state row is no stream: the streams' lags and statuses are unchanged.
    assert {s.stream for s in await stream_statuses(hub)} == {"people", "cases"}
