"""One run of one stream, whatever writes it: a sync or a quarantine replay.

A :class:`Run` opens a ``sync_runs`` row holding the stream's lease (hub.store.leases),
renews the lease from every transaction that writes the stream and from a heartbeat between
them, keeps the run's counters, and closes the row and frees the stream when it ends, however
it ends. Sync and replay share it, so the lease lifecycle is written once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import record_action
from hub.errors import StreamBusy, safe_error
from hub.runtime import Hub, utcnow
from hub.store import leases
from hub.store.runs import RunCounters, RunKind, add_to_run, close_run, open_run

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted (Ctrl-C or SIGTERM); committed pages are kept, the next run resumes"


class RunStopped(Exception):
    """The service is stopping: the run ended after its last committed page."""


@dataclass
class StreamResult:
    """The outcome of one run of one stream, as the CLI and the scheduler report it."""

    connection: str
    stream: str
    run_id: int
    status: str = "running"
    error: str | None = None
    seconds: float = 0.0
    counters: RunCounters = field(default_factory=RunCounters)
    waiting: str | None = None  # while a request waits to be retried: attempt, wait, reason

    def as_dict(self) -> dict[str, Any]:
        """The result as ``hub sync --json`` prints it: counters, then what ran and how."""
        return {
            **asdict(self.counters),
            "connection": self.connection,
            "stream": self.stream,
            "status": self.status,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


class Run:
    """The lease, heartbeat, counters and closing of one run; use as ``async with``.

    Entering opens the run (StreamBusy when another live run holds the stream); every
    transaction that writes the stream calls :meth:`renew` first and :meth:`count` with what
    it did; leaving closes the run as succeeded or failed, shielded from cancellation.
    """

    def __init__(
        self, hub: Hub, connection: str, stream: str, *, kind: RunKind, full_refresh: bool = False
    ) -> None:
        self.hub = hub
        self.connection = connection
        self.stream = stream
        self.kind: RunKind = kind
        self.full_refresh = full_refresh
        self.lease = hub.settings.sync_lease
        self.result = StreamResult(connection, stream, run_id=-1)
        self._started = time.monotonic()
        self._renewed = self._started  # when a transaction last renewed the lease
        self._heartbeat: asyncio.Task[None] | None = None
        self._uncounted = RunCounters()  # requests sent that no committed page counted
        self.taken_from: int | None = None  # the run whose lapsed lease this one took over

    @property
    def id(self) -> int:
        return self.result.run_id

    async def __aenter__(self) -> Run:
        # Refused before queueing for a write lock that a live holder's page may be holding.
        async with self.hub.engine.connect() as conn:
            await leases.refuse_if_held(conn, self.connection, self.stream, now=utcnow())
        async with self.hub.engine.begin() as conn:
            self.result.run_id = await open_run(
                conn,
                self.connection,
                self.stream,
                kind=self.kind,
                full_refresh=self.full_refresh,
                now=utcnow(),
                lease=self.lease,
                on_takeover=self._took_over,
            )
            await record_action(
                self.hub,
                conn,
                "sync.start",
                target_type="stream",
                target_id=f"{self.connection}/{self.stream}",
                detail={"run": self.id, "kind": self.kind, "full_refresh": self.full_refresh},
            )
        self._started = self._renewed = time.monotonic()
        self._heartbeat = asyncio.create_task(self._beat())
        log.debug("run %d of %s/%s started (%s)", self.id, self.connection, self.stream, self.kind)
        return self

    def _took_over(self, run_id: int) -> None:
        self.taken_from = run_id
        log.info(
            "%s/%s: taken over from run %d, whose process died or stopped renewing its lease",
            self.connection,
            self.stream,
            run_id,
        )

    async def renew(self, conn: AsyncConnection) -> None:
        """Renew the lease in ``conn``'s transaction: first, so a run that lost its stream
        writes nothing (StreamBusy rolls the transaction back)."""
        await leases.renew(
            conn, self.connection, self.stream, self.id, expires_at=utcnow() + self.lease
        )
        self._renewed = time.monotonic()

    async def count(self, conn: AsyncConnection, delta: RunCounters) -> None:
        """Add ``delta`` to the run's counters, in the same transaction as the work counted."""
        await add_to_run(conn, self.id, delta)

    def sent(self, requests: int) -> None:
        """Take the run's total of requests sent: those no committed page counted (a failed
        page, a read-ahead page never written) are stored when the run closes."""
        missing = requests - self.result.counters.requests
        if missing > 0:
            self._uncounted.requests += missing
            self.result.counters.requests += missing

    def committed(self, delta: RunCounters) -> None:
        """Take a committed transaction's counters into the in-memory result."""
        self.result.counters.add(delta)
        self.result.seconds = time.monotonic() - self._started

    async def _beat(self) -> None:
        """Renew the lease between transactions, which rate limits and retries may keep far
        apart."""
        beat = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(beat)
            # Skipped while transactions renew it: a beat during a page's transaction would
            # open a second database connection, which costs ~20 MB of RSS on SQLite.
            if time.monotonic() - self._renewed < beat:
                continue
            try:
                async with self.hub.engine.begin() as conn:
                    await self.renew(conn)
            except StreamBusy as exc:
                log.warning("%s", exc)  # the next transaction fails on the same fence
                return
            except Exception as exc:  # a database hiccup; the next beat or page renews
                log.warning("run %s could not renew its lease: %s", self.id, safe_error(exc))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        result = self.result
        if exc is None:
            result.status = "succeeded"
        elif isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | RunStopped):
            result.status, result.error = "interrupted", INTERRUPTED
        else:
            result.status, result.error = "failed", safe_error(exc)
        result.seconds = time.monotonic() - self._started
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        await _finish(self._close())

    async def _close(self) -> None:
        """Store the requests no committed page counted (a failed page's, say), then close
        the run with its status and free the stream."""
        if self._heartbeat is not None:
            await asyncio.wait([self._heartbeat])  # it renews the lease no more
        if self._uncounted.requests:
            async with self.hub.engine.begin() as conn:
                await self.count(conn, self._uncounted)
        result = self.result
        log.debug(
            "run %d of %s/%s %s: %d page(s), %d request(s)",
            self.id,
            self.connection,
            self.stream,
            result.status,
            result.counters.pages,
            result.counters.requests,
        )
        await close_run(
            self.hub.engine,
            self.connection,
            self.stream,
            self.id,
            status=result.status,
            error=result.error,
            now=utcnow(),
        )
        async with self.hub.engine.begin() as conn:
            counts = asdict(result.counters)
            await record_action(
                self.hub,
                conn,
                "sync.end",
                outcome="success" if result.status == "succeeded" else "failure",
                target_type="stream",
                target_id=f"{self.connection}/{self.stream}",
                detail={"run": self.id, "kind": self.kind, "status": result.status, **counts},
            )


async def _finish(closing: Coroutine[Any, Any, None]) -> None:
    """Await ``closing`` to its end even when cancelled meanwhile, then pass the cancellation
    on: a cancelled run must still say so when the process lives on. A shield alone is not
    enough under anyio's cancel scopes (APScheduler's jobs run in one), which cancel again at
    every await: the run was left "running", holding its stream's lease."""
    task = asyncio.ensure_future(closing)
    cancelled = False
    while True:
        try:
            await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
