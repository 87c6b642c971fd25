"""The scheduler's jobs, called as APScheduler calls them: a failing stream backs off and
leaves the others alone; a stream held by a live run is not run twice; one connection's rate
limit never holds another's streams."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from apscheduler import JobOutcome, RunState

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.run import Run
from hub.runtime import Hub
from hub.sandbox import RunningSandbox, serve_in_background
from hub.scheduler import HubScheduler, SchedulerService, open_data_store, open_event_broker
from hub.services.sandboxes import connect_sandbox
from hub.services.schedules import current_plans, set_schedule
from hub.sync import StreamSync
from hub.testing import MemorySource
from hub.testing.memory import register_source
from tests.connectors.zendesk.support import UNLIMITED, zendesk_config
from tests.hub.scheduling import runs_of, wait_until


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


async def test_an_unexpected_error_fails_the_fire_and_leaves_the_scheduler_running(
    hub: Hub, memory: MemorySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raised on to APScheduler, the error's traceback rode in the job's release event, which
    on PostgreSQL exceeds NOTIFY's 8000 bytes and crashed the scheduler."""

    async def broken(self: StreamSync, **_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(StreamSync, "run", broken)
    service = await _service(hub)
    assert await service.sync_job("mem", "people") == "failed"
    failures = service.metrics.registry.get_sample_value(
        "hub_sync_failures_total", {"connection": "mem", "stream": "people"}
    )
    assert failures == 1


async def test_a_stopping_node_starts_no_new_sync(hub: Hub, memory: MemorySource) -> None:
    service = await _service(hub)
    service.stopping.set()
    assert await service.sync_job("mem", "people") == "skipped"


@contextlib.asynccontextmanager
async def _zendesk(
    hub: Hub, name: str, *, incremental_per_minute: int
) -> AsyncIterator[RunningSandbox]:
    """Connection ``name`` to a Zendesk sandbox of its own, whose client may send
    ``incremental_per_minute`` requests to the incremental exports."""
    app = ZendeskSandbox(
        records=60, seed=5, incremental_per_minute=UNLIMITED, rate_limit_per_minute=UNLIMITED
    )
    async with serve_in_background(app) as running:
        config = zendesk_config(app, running, page_size=10)
        config["incremental_requests_per_minute"] = incremental_per_minute
        await connect_sandbox(hub, name, "zendesk", config)
        yield running


async def test_one_connections_rate_limit_never_stalls_another_connections_streams(
    hub: Hub,
) -> None:
    # "held" may send one incremental request a minute: its streams wait on that limit for
    # most of a minute. "free", another vendor account, must sync on schedule.
    async with (
        _zendesk(hub, "held", incremental_per_minute=1),
        _zendesk(hub, "free", incremental_per_minute=UNLIMITED),
    ):
        for name in ("held", "free"):
            await set_schedule(hub, name, None, every="1s")
        plans = [p for p in await current_plans(hub) if p.connection == "free"]
        service = SchedulerService(hub)
        serving = asyncio.create_task(service.serve())

        waits = service.metrics.registry.get_sample_value

        async def free_synced_three_times_while_held_waits() -> bool:
            # Both, in either order: on a loaded machine held's wait may begin after free's
            # third fire. Which held stream waits depends on which took the minute's one
            # request (one that ends in a single page, organizations, may take it).
            runs = await runs_of(hub, "free")
            done = [r.stream for r in runs if r.status == "succeeded"]
            held = await runs_of(hub, "held")
            held_waiting = any(r.status == "running" for r in held) and bool(
                waits("hub_rate_limit_waits_total", {"connection": "held", "reason": "limit"})
            )
            return held_waiting and all(done.count(p.stream) >= 3 for p in plans)

        try:
            await wait_until(
                free_synced_three_times_while_held_waits, seconds=60, what="free's fires"
            )
            held = await runs_of(hub, "held")
            assert any(r.status == "running" for r in held), "a held stream waits on its limit"
            assert not waits(
                "hub_rate_limit_waits_total", {"connection": "free", "reason": "limit"}
            )
        finally:
            serving.cancel()  # the held streams' waits would outlast a graceful stop
            with contextlib.suppress(asyncio.CancelledError):
                await serving


async def test_a_job_taken_again_when_its_lease_lapsed_runs_once_and_the_node_keeps_running(
    hub: Hub,
) -> None:
    """A node that stalls for longer than its lease on a running job takes the job again;
    APScheduler then started it a second time, and the second end crashed the scheduler."""
    starts = 0
    release = asyncio.Event()

    async def held() -> None:
        nonlocal starts
        starts += 1
        await release.wait()

    async def noop() -> None:
        pass

    store = await open_data_store(hub)
    # A long lease: the lapse below is the only one, the lease extension never runs.
    lease = timedelta(seconds=60)
    scheduler = HubScheduler(store, await open_event_broker(hub), lease_duration=lease)
    async with scheduler:
        await scheduler.configure_task("held", func=held, max_running_jobs=None)
        await scheduler.configure_task("noop", func=noop, max_running_jobs=None)
        await scheduler.start_in_background()
        kept = timedelta(minutes=1)  # how long the job results are kept
        job = await scheduler.add_job("held", result_expiration_time=kept)
        await wait_until(_true_when(lambda: starts == 1), what="the job to start")
        async with hub.engine.begin() as conn:  # as if the node had stalled past its lease
            lapsed = datetime.now(UTC) - timedelta(seconds=1)
            await conn.execute(sa.update(store._t_jobs).values(acquired_until=lapsed))
        # A new job makes the node look for work, and take the lapsed one again.
        await scheduler.get_job_result(await scheduler.add_job("noop", result_expiration_time=kept))
        release.set()
        result = await scheduler.get_job_result(job)
        assert result is not None and result.outcome is JobOutcome.success
        assert scheduler.state is RunState.started
    assert starts == 1


def _true_when(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def condition() -> bool:
        return check()

    return condition
