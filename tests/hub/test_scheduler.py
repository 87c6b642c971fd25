"""The scheduler's jobs, called as APScheduler calls them: a failing stream backs off and
leaves the others alone; a stream held by a live run is not run twice."""

from __future__ import annotations

import uuid

from hub.run import Run
from hub.runtime import Hub
from hub.scheduler import SchedulerService
from hub.services.sandboxes import connect_sandbox
from hub.services.schedules import current_plans, set_schedule
from hub.testing import MemorySource
from hub.testing.memory import register_source


async def _connect(hub: Hub, name: str, source: MemorySource) -> None:
    key = f"src-{uuid.uuid4().hex[:8]}"
    register_source(key, source)
    await connect_sandbox(hub, name, "memory", {"source": key})


async def _service(hub: Hub) -> SchedulerService:
    service = SchedulerService(hub)
    service._plans = {p.id: p for p in await current_plans(hub)}
    return service


async def test_a_failing_stream_backs_off_while_the_others_keep_syncing(
    hub: Hub, memory_plugin: None
) -> None:
    failing = MemorySource.generated(people=5, cases=5)
    failing.fail_at_page = 0
    await _connect(hub, "bad", failing)
    await _connect(hub, "good", MemorySource.generated(people=5, cases=5))
    for name in ("bad", "good"):
        await set_schedule(hub, name, None, every="1h")
    service = await _service(hub)

    outcomes = [await service.sync_job("bad", "people") for _ in range(3)]
    assert outcomes == ["failed", "failed", "backing off"]
    assert await service.sync_job("good", "people") == "succeeded"
    failures = service.metrics.registry.get_sample_value(
        "hub_sync_failures_total", {"connection": "bad", "stream": "people"}
    )
    assert failures == 2


async def test_a_fire_meeting_a_live_run_of_its_stream_is_busy_and_writes_nothing(
    hub: Hub, memory: MemorySource
) -> None:
    service = await _service(hub)
    async with Run(hub, "mem", "people", kind="sync"):
        assert await service.sync_job("mem", "people") == "busy"
    assert await service.sync_job("mem", "people") == "succeeded"


async def test_a_stopping_node_starts_no_new_sync(hub: Hub, memory: MemorySource) -> None:
    service = await _service(hub)
    service.stopping.set()
    assert await service.sync_job("mem", "people") == "skipped"
