"""APScheduler wiring of `hub run`: embedded (SQLite, local event broker) or clustered
(PostgreSQL, psycopg event broker), with the schedules kept equal to the connections.

Every node opens APScheduler 4's SQLAlchemy data store on the hub's own database, so the
nodes of a cluster share one set of schedules and each fire becomes one job that one node
acquires. The stream lease (hub.store.leases) is the guarantee against overlap: a job whose
stream is held by a live run ends at once as ``busy``. APScheduler's task concurrency limit is
off (``max_running_jobs=None``) because its running-job counter is never given back by a
node that dies; the stream lease is given back, or lapses.

Every node reconciles the schedules with the connections table every
``schedule_poll_seconds`` (idempotent: a schedule whose spec is unchanged is left alone). A
no-op schedule, ``hub:wake``, fires every half scheduler lease so that every node looks for
work regularly: APScheduler 4.0.0a6 only looks for jobs a dead node left behind, and for
schedules it held, when an event wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from apscheduler import AsyncScheduler, ConflictPolicy, Job, Schedule, current_job
from apscheduler.abc import EventBroker
from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
from apscheduler.eventbrokers.local import LocalEventBroker
from apscheduler.executors.async_ import AsyncJobExecutor
from apscheduler.triggers.interval import IntervalTrigger

from hub.errors import HubError, StreamBusy, safe_error
from hub.housekeeping import HOUSEKEEPING_PREFIX, housekeeping_jobs
from hub.http import LimitWait, RetryNotice, limit_wait_listener, retry_listener
from hub.metrics import HubMetrics
from hub.run import RunStopped
from hub.runtime import Hub, utcnow
from hub.schedule_plan import SYNC_PREFIX, StreamPlan
from hub.services.schedules import consecutive_failures, current_plans, stream_lags
from hub.store import leases
from hub.store.housekeeping_runs import HousekeepingRun, save_run
from hub.sync import StreamSync

log = logging.getLogger(__name__)

SYNC_TASK = "hub.sync_stream"
HOUSEKEEPING_TASK = "hub.housekeeping"
WAKE_TASK = "hub.wake"
# A reconciliation reads every schedule back at least every this many polls.
FULL_RECONCILE_EVERY = 20
# How often the lag gauges are refreshed: drift targets are minutes.
LAG_REFRESH_SECONDS = 15
WAKE_ID = "hub:wake"


def node_identity() -> str:
    """This node's name in the data store: host and process, as the stream leases name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def open_data_store(hub: Hub) -> SQLAlchemyDataStore:
    """APScheduler's tables (tasks, schedules, jobs, job_results, metadata) in the hub's
    database, through the hub's engine (SQLite: WAL and a busy timeout already set).

    The tables are created here, under a PostgreSQL advisory lock: APScheduler creates them
    on start without one, and two nodes starting together collide on its enum types.
    """
    store = SQLAlchemyDataStore(hub.engine)
    async with hub.engine.begin() as conn:
        if hub.engine.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        await conn.run_sync(store.get_table_definitions().create_all)
    return store


# An arbitrary, fixed advisory-lock key: "hub run creates the scheduler's tables".
_LOCK_KEY = 0x48554253  # "HUBS"


async def open_event_broker(hub: Hub) -> EventBroker:
    """The local broker for SQLite (one node), PostgreSQL's NOTIFY for a cluster."""
    if hub.engine.dialect.name != "postgresql":
        return LocalEventBroker()
    from apscheduler.eventbrokers.psycopg import PsycopgEventBroker

    return PsycopgEventBroker.from_async_sqla_engine(hub.engine, channel=await _channel(hub))


async def _channel(hub: Hub) -> str:
    """A NOTIFY channel per hub schema: two hubs on one server (or tests in their own
    schemas) must not wake each other."""
    async with hub.engine.connect() as conn:
        schema = str(await conn.scalar(sa.text("SELECT current_schema()")))
    return "hub_scheduler_" + re.sub(r"[^a-z0-9_]", "_", schema.lower())[:40]


def backoff_delay(failures: int, interval: timedelta, cap: timedelta) -> timedelta:
    """How long a stream that failed ``failures`` times in a row pauses after its last
    failure: none after one (it retries at the next fire), then 1, 3, 7... intervals (each
    failure doubles the gap between attempts), at most ``cap``."""
    if failures <= 1:
        return timedelta(0)
    pause: timedelta = interval * (2 ** (failures - 1) - 1)
    return min(pause, cap)


class HubScheduler(AsyncScheduler):
    """APScheduler 4.0.0a6 takes a job again when this node's own lease on it lapsed (the
    node stalled for longer than the lease) and starts it a second time; when both ended, the
    second crashed the scheduler (KeyError: the job had left its running set), and `hub run`
    exited 1. The second start is skipped: the run under way releases the job."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running_here: set[UUID] = set()  # the jobs this node runs now

    async def _run_job(self, job: Job, func: Callable[..., Any], executor: str) -> None:
        if job.id in self._running_here:
            log.warning("job %s runs here already; it was taken again as its lease lapsed", job.id)
            return
        self._running_here.add(job.id)
        try:
            await super()._run_job(job, func, executor)
        finally:
            self._running_here.discard(job.id)


class SchedulerService:
    """`hub run` on one node: the scheduler, its jobs and the graceful stop."""

    def __init__(self, hub: Hub, metrics: HubMetrics | None = None) -> None:
        self.hub = hub
        self.metrics = metrics or HubMetrics()
        self.identity = node_identity()
        # Set by the first SIGTERM/Ctrl-C: running syncs end after their current page.
        self.stopping = asyncio.Event()
        self.started = asyncio.Event()
        self._syncs: set[asyncio.Task[Any]] = set()
        self._plans: dict[str, StreamPlan] = {}
        self._rounds = FULL_RECONCILE_EVERY - 1  # the first reconciliation is a full one
        self._scheduler: AsyncScheduler | None = None

    # -- the service ---------------------------------------------------------------------

    async def serve(self) -> None:
        """Run until :attr:`stopping` is set, then let running syncs commit their page and
        stop; cancelling this coroutine (a second signal) stops at once."""
        settings = self.hub.settings
        scheduler = HubScheduler(
            await open_data_store(self.hub),
            await open_event_broker(self.hub),
            identity=self.identity,
            lease_duration=timedelta(seconds=settings.scheduler_lease_seconds),
            max_concurrent_jobs=settings.max_concurrent_syncs,
            job_executors={"async": AsyncJobExecutor()},
            logger=logging.getLogger("apscheduler"),
        )
        async with scheduler:
            self._scheduler = scheduler
            await self._configure_tasks(scheduler)
            await self.reconcile()
            await scheduler.start_in_background()
            self.started.set()
            log.info("hub run: node %s started, %d schedule(s)", self.identity, len(self._plans))
            loops = [
                asyncio.create_task(self._keep_reconciled(), name="hub-reconcile"),
                asyncio.create_task(self._watch_lag(), name="hub-lag"),
            ]
            try:
                await self.stopping.wait()
                log.info("hub run: stopping; running syncs end after their current page")
                await self._drain()
            finally:
                for loop in loops:
                    loop.cancel()
                await asyncio.wait(loops)
                self._scheduler = None

    async def _drain(self) -> None:
        """Wait for the syncs running on this node: each ends after the page it commits."""
        while self._syncs:
            await asyncio.wait(set(self._syncs))

    @property
    def plans(self) -> list[StreamPlan]:
        """The streams this node schedules (as of its last reconciliation)."""
        return list(self._plans.values())

    def health(self) -> tuple[bool, dict[str, Any]]:
        """For /health: ok while the scheduler runs and the node is not stopping."""
        ok = self._scheduler is not None and not self.stopping.is_set()
        return ok, {"node": self.identity, "running": len(self._syncs)}

    async def _configure_tasks(self, scheduler: AsyncScheduler) -> None:
        # Callables defined here, not importable: every node registers its own, bound to its
        # hub, before it processes any job.
        for task_id, func in (
            (SYNC_TASK, self.sync_job),
            (HOUSEKEEPING_TASK, self.housekeeping_job),
            (WAKE_TASK, _wake),
        ):
            await scheduler.configure_task(task_id, func=func, max_running_jobs=None)

    # -- keeping the schedules equal to the connections -------------------------------------

    async def reconcile(self) -> None:
        """Add, replace and remove schedules so that there is one per (connection, stream),
        one per housekeeping job and the wake schedule. A schedule whose spec did
        not change is left alone, keeping its next fire time."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        plans = {p.id: p for p in await current_plans(self.hub)}
        # Reading every schedule back unpickles each trigger: with a thousand schedules that
        # is most of an idle node's work, so it is done when the plan changed, and now and
        # then in case the data store changed under it (APScheduler drops a schedule whose
        # trigger fails).
        self._rounds = (self._rounds + 1) % FULL_RECONCILE_EVERY
        if plans == self._plans and self._rounds != 0:
            return
        wanted: dict[str, tuple[str, Callable[[], Any], dict[str, Any]]] = {}
        for plan in plans.values():
            kwargs = {"connection": plan.connection, "stream": plan.stream}
            wanted[plan.id] = (plan.spec, plan.trigger, kwargs)
        for job in housekeeping_jobs():
            trigger = _interval(job.every)
            wanted[job.id] = (job.spec, trigger, {"name": job.name})
        wake = timedelta(seconds=self.hub.settings.scheduler_lease_seconds / 2)
        wanted[WAKE_ID] = (f"every {wake.total_seconds():g}s", _interval(wake), {})
        existing = {s.id: s for s in await scheduler.get_schedules()}
        for schedule_id, (spec, trigger, kwargs) in wanted.items():
            current = existing.get(schedule_id)
            if current is not None and current.metadata.get("spec") == spec:
                continue
            # A new schedule is added only if no other node added it meanwhile: a second
            # add would replace it and fire it twice.
            await scheduler.add_schedule(
                _task_of(schedule_id),
                trigger(),
                id=schedule_id,
                kwargs=kwargs,
                metadata={"spec": spec},
                conflict_policy=ConflictPolicy.do_nothing
                if current is None
                else ConflictPolicy.replace,
            )
            log.info("schedule %s: %s", schedule_id, spec)
        for schedule_id in existing.keys() - wanted.keys():
            if _is_ours(existing[schedule_id]):
                await scheduler.remove_schedule(schedule_id)
                log.info("schedule %s removed", schedule_id)
        for gone in self._plans.keys() - plans.keys():
            old = self._plans[gone]
            self.metrics.forget_stream(old.connection, old.stream)
        self._plans = plans

    async def _keep_reconciled(self) -> None:
        while True:
            await asyncio.sleep(self.hub.settings.schedule_poll_seconds)
            try:
                await self.reconcile()
            except Exception as exc:  # a database hiccup: the next round tries again
                log.warning("could not reconcile the schedules: %s", safe_error(exc))

    async def _watch_lag(self) -> None:
        """Keep the lag and drift gauges current, for Prometheus' alerts."""
        while True:
            try:
                plans = list(self._plans.values())
                lags = await stream_lags(self.hub, plans, now=utcnow())
                for plan in plans:
                    labels = (plan.connection, plan.stream)
                    self.metrics.lag.labels(*labels).set(lags[plan.id].total_seconds())
                    self.metrics.drift_target.labels(*labels).set(plan.drift.total_seconds())
            except Exception as exc:  # a database hiccup: the next round tries again
                log.warning("could not read the streams' lag: %s", safe_error(exc))
            await asyncio.sleep(LAG_REFRESH_SECONDS)

    # -- the jobs ------------------------------------------------------------------------

    async def sync_job(self, connection: str, stream: str) -> str:
        """One fire of a stream's schedule: sync it unless it is held, backing off or the
        node is stopping. The outcome is logged with the fire's time, so the logs of a
        cluster's nodes show which node ran each fire."""
        outcome = await self._sync_fire(connection, stream)
        job = current_job.get(None)
        fired = job.scheduled_fire_time.isoformat() if job and job.scheduled_fire_time else "-"
        log.info("fire %s/%s at %s on %s: %s", connection, stream, fired, self.identity, outcome)
        return outcome

    async def _sync_fire(self, connection: str, stream: str) -> str:
        if self.stopping.is_set():
            return "skipped"  # this node is stopping; the next fire runs where one is up
        plan = self._plans.get(f"{SYNC_PREFIX}{connection}/{stream}")
        if plan is not None and await self._backing_off(plan):
            self.metrics.runs.labels(connection, stream, "backing_off").inc()
            return "backing off"
        task = asyncio.current_task()
        assert task is not None
        self._syncs.add(task)
        running = self.metrics.running.labels(connection, stream)
        running.inc()
        try:
            outcome = await self._sync(connection, stream)
        finally:
            running.dec()
            self._syncs.discard(task)
        self.metrics.runs.labels(connection, stream, outcome).inc()
        return outcome

    async def _sync(self, connection: str, stream: str) -> str:
        outcome = await self._sync_once(connection, stream)
        if outcome != "busy":
            return outcome
        # A holder on another host that stopped renewing (its node died) frees the stream
        # only when its lease lapses: wait for that once, rather than for the next fire.
        async with self.hub.engine.connect() as conn:
            lapse = await leases.lapsing_in(
                conn, connection, stream, now=utcnow(), period=self.hub.settings.sync_lease
            )
        if lapse is None:
            return outcome
        await _unless(self.stopping, lapse.total_seconds() + 0.1)
        return outcome if self.stopping.is_set() else await self._sync_once(connection, stream)

    async def _sync_once(self, connection: str, stream: str) -> str:
        sync: StreamSync | None = None
        with self._counting_retries(connection):
            try:
                async with self.hub.connection(connection) as connector:
                    connector.warn_if_insecure()
                    sync = StreamSync(self.hub, connector, stream)
                    result = await sync.run(stop=self.stopping)
            except StreamBusy:
                return "busy"
            except RunStopped:
                return "interrupted"
            except Exception as exc:
                # Not only a HubError: a bug or a driver's own error raised on would reach
                # APScheduler as the job's outcome with its traceback, and on PostgreSQL the
                # event carrying that traceback exceeds NOTIFY's 8000 bytes and crashes the
                # scheduler.
                self.metrics.failures.labels(connection, stream).inc()
                level = logging.WARNING if isinstance(exc, HubError) else logging.ERROR
                log.log(level, "%s/%s failed: %s", connection, stream, safe_error(exc))
                return "failed"
            finally:
                if sync is not None and sync.result is not None:
                    self._count_records(connection, stream, sync)
        return result.status

    def _count_records(self, connection: str, stream: str, sync: StreamSync) -> None:
        assert sync.result is not None
        counters = sync.result.counters
        for what, value in (
            ("read", counters.records_read),
            ("written", counters.records_written),
            ("quarantined", counters.records_quarantined),
        ):
            self.metrics.records.labels(connection, stream, what).inc(value)
        if sync.taken_from is not None:
            self.metrics.takeovers.labels(connection, stream).inc()

    @contextlib.contextmanager
    def _counting_retries(self, connection: str) -> Iterator[None]:
        """Count the run's retries and rate-limit waits (the limiter's too) as it goes."""
        waits = self.metrics.rate_limit_waits

        def heard(notice: RetryNotice) -> None:
            self.metrics.retries.labels(connection).inc()
            if notice.reason.startswith("429") or "quota" in notice.reason.lower():
                waits.labels(connection, "retry-after").inc()

        def held(wait: LimitWait) -> None:
            waits.labels(connection, wait.reason).inc()

        with retry_listener(heard), limit_wait_listener(held):
            yield

    async def _backing_off(self, plan: StreamPlan) -> bool:
        """Whether the stream failed often enough, recently enough, to skip this fire."""
        failures, last = await consecutive_failures(self.hub, plan.connection, plan.stream)
        if failures < 2 or last is None:
            return False
        interval = plan.every or plan.drift / 3
        cap = timedelta(seconds=self.hub.settings.backoff_cap_seconds)
        return utcnow() < last + backoff_delay(failures, interval, cap)

    async def housekeeping_job(self, name: str) -> str:
        job = next((j for j in housekeeping_jobs() if j.name == name), None)
        if job is None:
            return "unknown"
        started, outcome, error = utcnow(), "succeeded", None
        try:
            await job.run(self.hub)
        except Exception as exc:  # logged; the next fire tries again
            outcome, error = "failed", safe_error(exc)
            log.error("housekeeping %s failed: %s", name, error)
        try:
            async with self.hub.engine.begin() as conn:
                await save_run(conn, name, HousekeepingRun(started, outcome, error), utcnow())
        except Exception as exc:  # only `hub schedules list` misses it
            log.warning("could not record housekeeping %s: %s", name, safe_error(exc))
        return outcome


def _interval(every: timedelta) -> Callable[[], IntervalTrigger]:
    return lambda: IntervalTrigger(seconds=every.total_seconds())


async def _unless(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if the node starts stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


def _wake() -> None:
    """The wake schedule's job: its fire is the point (see the module's docstring)."""


def _task_of(schedule_id: str) -> str:
    if schedule_id.startswith(SYNC_PREFIX):
        return SYNC_TASK
    if schedule_id.startswith(HOUSEKEEPING_PREFIX):
        return HOUSEKEEPING_TASK
    return WAKE_TASK


def _is_ours(schedule: Schedule) -> bool:
    return schedule.id.startswith((SYNC_PREFIX, HOUSEKEEPING_PREFIX)) or schedule.id == WAKE_ID
