"""Export jobs (Airbyte's ``AsyncRetriever``): submit a job, poll it with backoff until it is
done or failed, page through its results, and submit it again when the vendor let it expire
(a bounded number of times). The job id and the results position are in every page's state,
so a read resumes in the same job's results on a fresh process.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from hub.connector import Page
from hub.errors import ConnectorError, VendorError
from hub.paging.cursors import FullRefresh
from hub.paging.errors import StreamStateError
from hub.paging.instants import Bounds
from hub.paging.loops import LoopGuard
from hub.paging.paginators import Paginator, Position, SinglePage
from hub.paging.paths import getter
from hub.paging.reader import Records, RestStream, StreamWalk, fetch_page
from hub.paging.request import PageRequest, PageResponse
from hub.paging.state import Upgrade, stream_state
from hub.paging.strategy import CursorRun, CursorStrategy

if TYPE_CHECKING:
    from hub.connector import Connector


def _never(error: ConnectorError) -> bool:
    return False


class _Job(enum.Enum):
    RUNNING = "running"
    DONE = "done"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ExportJob:
    """An export API declared as data.

    ``submit`` creates the job (its JSON body from ``submit_body(bounds)`` when given) and the
    answer holds the job id at ``job_id``. ``status`` and ``results`` are requests whose path
    has a ``{job_id}`` placeholder; the status answer holds the job's state at ``state``, one
    of ``done``, ``failed`` or ``expired`` (anything else: still running). ``job_expired``
    recognises an error answer meaning the job is gone (e.g. a 404 for purged results).
    """

    submit: PageRequest
    job_id: str
    status: PageRequest
    state: str
    done: frozenset[str]
    results: PageRequest
    records: Records
    failed: frozenset[str] = frozenset()
    expired: frozenset[str] = frozenset()
    paginator: Paginator = field(default_factory=SinglePage)
    cursor: CursorStrategy = field(default_factory=FullRefresh)
    submit_body: Callable[[Bounds], Any] | None = None
    job_expired: Callable[[ConnectorError], bool] = _never
    first_poll_seconds: float = 1.0
    max_poll_seconds: float = 30.0
    max_polls: int = 120
    max_resubmits: int = 2
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    upgrade: Upgrade | None = None


async def read_export_job(
    connector: Connector, stream: str, job: ExportJob, state: Mapping[str, Any] | None
) -> AsyncIterator[Page]:
    """Yield the pages of an export job's results after ``state``."""
    export = _Export(connector, stream, job)
    saved = export.walk.load(state)
    run = export.walk.begin(saved)
    job_id: str | None = None
    position: Position = None
    if saved is not None and saved.next is not None:
        job_id, position = export.resume_point(saved.next)
    guard = LoopGuard(job.paginator, connection=connector.connection, stream=stream,
                      path=job.results.path)  # fmt: skip
    expiries = 0
    while True:
        if job_id is None:
            job_id = await export.submit(run)
            position = job.paginator.first(run.bounds)
            guard.reset()
        if await export.wait(job_id) is _Job.DONE:
            async for page in export.pages(run, job_id, position, guard):
                yield page
            if export.finished:
                return
        expiries += 1
        if expiries > job.max_resubmits:
            raise export.error(f"export job {job_id} expired {expiries} times; giving up")
        job_id = None


class _Export:
    """The requests of one export job read, counted for the pages' ``requests``."""

    def __init__(self, connector: Connector, stream: str, job: ExportJob) -> None:
        self.connector = connector
        self.stream = stream
        self.job = job
        self.walk = StreamWalk(connector, stream, RestStream(
            job.results, job.records, job.paginator, job.cursor, upgrade=job.upgrade
        ))  # fmt: skip
        self._records = getter(job.records) if isinstance(job.records, str) else job.records
        self._requests = 0
        self.finished = False

    async def pages(
        self, run: CursorRun, job_id: str, position: Position, guard: LoopGuard
    ) -> AsyncIterator[Page]:
        """The results of a done job from ``position``; sets ``finished`` after the last
        page, and stops early (unfinished) when the vendor says the job is gone."""
        guard.enter(position)
        while True:
            page = await self.results(job_id, position)
            if page is None:
                return
            records = run.absorb(page.records)
            guard.compare(position, page.records, run.progress())
            following = self.walk.next_position(position, page)
            if following is None:
                self.finished = True
                final = stream_state(run.finish(None))
                yield Page(records=records, state=final, requests=self.take_requests())
                return
            guard.enter(following)  # before its state is stored, as in read_stream
            after = {"job": job_id, "page": following}
            state = stream_state(run.progress(), next=after)
            yield Page(records=records, state=state, requests=self.take_requests())
            position = following

    def take_requests(self) -> int:
        count, self._requests = self._requests, 0
        return count

    def resume_point(self, stored: Any) -> tuple[str, Position]:
        """The job id and results position of a mid-run state."""
        if not isinstance(stored, dict) or not isinstance(stored.get("job"), str):
            raise StreamStateError(
                "the stored state's next position names no export job; "
                "start the stream over with `hub sync --full-refresh`",
                connection=self.connector.connection,
                stream=self.stream,
            )
        return stored["job"], stored.get("page")

    def error(self, message: str) -> VendorError:
        return VendorError(message, connection=self.connector.connection, stream=self.stream)

    async def submit(self, run: CursorRun) -> str:
        request = self.job.submit.with_params(run.params())
        if self.job.submit_body is not None:
            request = replace(request, json=self.job.submit_body(run.bounds))
        body = await self._send(request)
        job_id = getter(self.job.job_id)(body)
        if not isinstance(job_id, str | int) or isinstance(job_id, bool) or job_id == "":
            raise self.error(f"{request.path} answered without a job id at {self.job.job_id!r}")
        return str(job_id)

    async def wait(self, job_id: str) -> _Job:
        """Poll the job with exponential backoff until it is done or expired."""
        job = self.job
        polling = AsyncRetrying(
            stop=stop_after_attempt(job.max_polls),
            wait=wait_exponential(multiplier=job.first_poll_seconds, max=job.max_poll_seconds),
            retry=retry_if_result(lambda outcome: outcome is _Job.RUNNING),
            sleep=job.sleep,
        )
        try:
            outcome: _Job = await polling(self._poll, job_id)
        except RetryError:
            raise self.error(
                f"export job {job_id} was still running after {job.max_polls} polls"
            ) from None
        return outcome

    async def _poll(self, job_id: str) -> _Job:
        try:
            body = await self._send(self.job.status.format(job_id=job_id))
        except ConnectorError as error:
            if self.job.job_expired(error):
                return _Job.EXPIRED
            raise
        status = getter(self.job.state)(body)
        if not isinstance(status, str):
            raise self.error(f"export job {job_id}'s status has no state at {self.job.state!r}")
        if status in self.job.done:
            return _Job.DONE
        if status in self.job.expired:
            return _Job.EXPIRED
        if status in self.job.failed:
            raise self.error(f"export job {job_id} ended as {status!s:.40}")
        return _Job.RUNNING

    async def results(self, job_id: str, position: Position) -> PageResponse | None:
        """The results page at ``position``, or None when the vendor says the job is gone."""
        request = self.job.paginator.apply(self.job.results.format(job_id=job_id), position)
        self._requests += 1
        try:
            return await fetch_page(self.connector, self.stream, request, self._records)
        except ConnectorError as error:
            if self.job.job_expired(error):
                return None
            raise

    async def _send(self, request: PageRequest) -> Any:
        self._requests += 1
        _, body = await self.connector.request_json(
            request.method, request.path, stream=self.stream, **request.send_kwargs()
        )
        return body
