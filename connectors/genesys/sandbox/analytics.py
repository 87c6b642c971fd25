"""The analytics conversation details API of the sandbox: the synchronous query
(``POST /api/v2/analytics/conversations/details/query``: ``interval``, ``paging``,
``totalHits``) and the asynchronous jobs (submit, poll ``state``, results by ``cursor``).

The query holds conversations that *started* in the interval; a job holds those with
*activity* in it (started before its end, ended at or after its start), as Genesys documents
for ``ConversationQuery`` and ``AsyncConversationQuery`` (vendor-apis.md 4.3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.genesys.sandbox.listing import bad_request, not_found
from connectors.genesys.sandbox.records import GenesysRecords, Record, genesys_time
from hub.sandbox.jobs import Job, JobError, JobSimulator
from hub.sandbox.paging import int_param
from hub.sandbox.pipeline import VendorApiError

MAX_QUERY_PAGE_SIZE = 100
MAX_RESULTS_PAGE_SIZE = 1000
# [uncertain] the query's ceiling; jobs exist for long ranges, so the sandbox caps only the query.
MAX_QUERY_INTERVAL_DAYS = 93
_STATES = {"queued": "QUEUED", "running": "PENDING", "completed": "FULFILLED",
           "failed": "FAILED", "expired": "EXPIRED"}  # fmt: skip


def parse_interval(value: Any, *, max_days: int | None = None) -> tuple[float, float]:
    """``2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z`` as Unix seconds."""
    if not isinstance(value, str) or value.count("/") != 1:
        raise bad_request("interval must be 'start/end' in ISO-8601")
    try:
        start, end = (datetime.fromisoformat(part) for part in value.split("/"))
    except ValueError:
        raise bad_request("interval must be 'start/end' in ISO-8601") from None
    if start.tzinfo is None or end.tzinfo is None:
        raise bad_request("interval times need a zone (Z)")
    if end <= start:
        raise bad_request("interval must end after it starts")
    if max_days is not None and (end - start).days > max_days:
        raise bad_request(f"interval must not exceed {max_days} days")
    return start.timestamp(), end.timestamp()


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise bad_request("the body is not JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _paging(body: Mapping[str, Any]) -> tuple[int, int]:
    paging = body.get("paging") or {}
    if not isinstance(paging, dict):
        raise bad_request("paging must be an object {pageSize, pageNumber}")
    size, number = paging.get("pageSize", 25), paging.get("pageNumber", 1)
    for name, value, high in (("pageSize", size, MAX_QUERY_PAGE_SIZE),
                              ("pageNumber", number, 1_000_000)):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            raise bad_request(f"paging.{name} must be an integer from 1 to {high}")
    return size, number


class ConversationDetails:
    """The details query and jobs over one sandbox's conversations."""

    def __init__(
        self, records: GenesysRecords, *, clock: Callable[[], float], data_lag_seconds: int = 0
    ) -> None:
        self.records = records
        self.clock = clock
        self.data_lag_seconds = data_lag_seconds
        self.submitted = 0  # details jobs submitted so far
        self.jobs = JobSimulator(run=self._job_results, polls_to_complete=2, clock=clock,
                                 id_prefix="details")  # fmt: skip

    async def query(self, request: Request) -> Response:
        body = await json_body(request)
        start, end = parse_interval(body.get("interval"), max_days=MAX_QUERY_INTERVAL_DAYS)
        size, number = _paging(body)
        found = self.records.started_between(start, end)
        if body.get("order", "asc") == "desc":
            found = found[::-1]
        first = (number - 1) * size
        page = [self.records.conversation(i) for i in found[first : first + size]]
        answer: Record = {"totalHits": len(found)}
        if page:  # Genesys leaves the key out of an empty answer
            answer["conversations"] = page
        return JSONResponse(answer)

    def data_available(self) -> float:
        """``dataAvailabilityDate``: jobs hold nothing newer. The generated history ends at
        the anchor; a lag set by option holds back the newest of it, as Genesys's analytics
        pipeline does."""
        return min(self.records.anchor, self.clock() - self.data_lag_seconds)

    def _job_results(self, interval: str, params: Mapping[str, Any]) -> Sequence[Record]:
        start, end = parse_interval(interval)
        available = self.data_available()
        end = min(end, available)
        if end <= start:
            return []
        found = self.records.active_between(start, end)
        # A conversation still going on at the availability date is not in the data yet.
        return [c for c in map(self.records.conversation, found) if _ended_by(c, available)]

    async def submit(self, request: Request) -> Response:
        body = await json_body(request)
        parse_interval(body.get("interval"))  # refused now, not when the job runs
        job = self.jobs.submit(body["interval"])
        self.submitted += 1
        return JSONResponse({"jobId": job.id}, status_code=202)

    def _job(self, request: Request) -> Job:
        try:
            return self.jobs.poll(request.path_params["job_id"])
        except JobError:
            raise not_found("job") from None

    async def status(self, request: Request) -> Response:
        job = self._job(request)
        answer: Record = {"state": _STATES[job.state],
                          "submissionDate": genesys_time(job.submitted_at)}  # fmt: skip
        if job.completed_at is not None:
            answer["completionDate"] = genesys_time(job.completed_at)
            answer["expirationDate"] = genesys_time(job.completed_at + self.jobs.result_ttl_seconds)
        if job.error:
            answer["errorMessage"] = job.error
        return JSONResponse(answer)

    async def results(self, request: Request) -> Response:
        job_id = request.path_params["job_id"]
        params = request.query_params
        size = int_param(params, "pageSize", default=100, low=1, high=MAX_RESULTS_PAGE_SIZE,
                         invalid=bad_request)  # fmt: skip
        try:
            page = self.jobs.results(job_id, params.get("cursor") or None, size=size)
        except JobError as error:
            if error.state in ("unknown", "expired"):
                raise not_found("job") from None
            raise VendorApiError(400, "bad.request", f"job is {_STATES[error.state]}") from None
        except ValueError:
            raise bad_request("the cursor is not a cursor of this job") from None
        answer: Record = {"conversations": list(page.records),
                          "dataAvailabilityDate": genesys_time(self.data_available())}  # fmt: skip
        if page.cursor is not None:
            answer["cursor"] = page.cursor
        return JSONResponse(answer)

    async def availability(self, request: Request) -> Response:
        return JSONResponse({"dataAvailabilityDate": genesys_time(self.data_available())})

    async def delete(self, request: Request) -> Response:
        try:
            self.jobs.fail(request.path_params["job_id"], "cancelled")
        except JobError:
            raise not_found("job") from None
        return Response(status_code=204)


def _ended_by(conversation: Record, moment: float) -> bool:
    ended = conversation.get("conversationEnd")
    return isinstance(ended, str) and datetime.fromisoformat(ended).timestamp() <= moment
