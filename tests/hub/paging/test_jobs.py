"""Export jobs: submit, poll with backoff, page through results, resume inside a job's
results, resubmit an expired job a bounded number of times."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.connector import Page
from hub.errors import ConnectorError, VendorError
from hub.paging import ExportJob, PageRequest, PaginationLoop, TokenPaginator, read_export_job
from tests.hub.paging.support import PagingConnector, ids, roundtrip

RESULTS = [{"id": n} for n in range(5)]


class JobsVendor:
    """Jobs that run for ``polls`` status checks; results in pages of two; a job listed in
    ``purged`` answers 404, one in ``expired`` reports EXPIRED."""

    def __init__(self, *, polls: int = 2) -> None:
        self.polls = polls
        self.jobs: dict[str, int] = {}
        self.bodies: list[Any] = []
        self.expired: set[str] = set()
        self.purged: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/")
        if request.method == "POST":
            job = f"job{len(self.jobs) + 1}"
            self.jobs[job] = 0
            self.bodies.append(json.loads(request.content))
            return httpx.Response(202, json={"id": job})
        job = path.split("/")[1]
        if job in self.purged:
            return httpx.Response(404, json={"code": "not.found"})
        if path.endswith("/results"):
            start = int(request.url.params.get("cursor", 0))
            more = start + 2 < len(RESULTS)
            body: dict[str, Any] = {"entities": RESULTS[start : start + 2]}
            if more:
                body["cursor"] = str(start + 2)
            return httpx.Response(200, json=body)
        self.jobs[job] += 1
        if job in self.expired:
            return httpx.Response(200, json={"state": "EXPIRED"})
        done = self.jobs[job] >= self.polls
        return httpx.Response(200, json={"state": "FULFILLED" if done else "RUNNING"})


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def not_found(error: ConnectorError) -> bool:
    return error.status == 404


def export_job(sleep: Sleeps, **fields: Any) -> ExportJob:
    return ExportJob(
        submit=PageRequest("jobs", method="POST"),
        submit_body=lambda bounds: {"interval": "all"},
        job_id="id",
        status=PageRequest("jobs/{job_id}"),
        state="state",
        done=frozenset({"FULFILLED"}),
        failed=frozenset({"FAILED"}),
        expired=frozenset({"EXPIRED"}),
        results=PageRequest("jobs/{job_id}/results"),
        records="entities",
        paginator=TokenPaginator("cursor", param="cursor"),
        job_expired=not_found,
        sleep=sleep,
        **fields,
    )


async def read(
    vendor: JobsVendor, job: ExportJob, state: dict[str, Any] | None = None
) -> list[Page]:
    async with PagingConnector(vendor) as connector:
        pages: AsyncIterator[Page] = read_export_job(connector, "items", job, state)
        return [page async for page in pages]


async def test_submits_polls_with_backoff_and_pages_through_the_results() -> None:
    vendor, sleeps = JobsVendor(polls=4), Sleeps()
    pages = await read(vendor, export_job(sleeps, first_poll_seconds=1, max_poll_seconds=3))

    assert ids(pages) == [0, 1, 2, 3, 4]
    assert sleeps.seconds == [1, 2, 3]
    assert vendor.bodies == [{"interval": "all"}]
    assert sum(page.requests for page in pages) == 1 + 4 + 3  # submit, polls, result pages
    assert pages[0].state["next"] == {"job": "job1", "page": "2"}
    assert pages[-1].state["next"] is None


async def test_resumes_inside_the_same_jobs_results() -> None:
    vendor, sleeps = JobsVendor(), Sleeps()
    pages = await read(vendor, export_job(sleeps))
    resumed = await read(vendor, export_job(sleeps), roundtrip(pages[0].state))

    assert ids(resumed) == [2, 3, 4]
    assert list(vendor.jobs) == ["job1"]


async def test_resubmits_a_job_whose_results_were_purged() -> None:
    vendor, sleeps = JobsVendor(), Sleeps()
    pages = await read(vendor, export_job(sleeps))
    vendor.purged.add("job1")
    resumed = await read(vendor, export_job(sleeps), roundtrip(pages[0].state))

    assert list(vendor.jobs) == ["job1", "job2"]
    assert ids(resumed) == [0, 1, 2, 3, 4]  # a new job's results start over


async def test_gives_up_after_the_bounded_number_of_resubmits() -> None:
    vendor, sleeps = JobsVendor(), Sleeps()

    class AlwaysExpired(set[str]):
        def __contains__(self, job: object) -> bool:
            return True

    vendor.expired = AlwaysExpired()
    with pytest.raises(VendorError, match="expired 3 times"):
        await read(vendor, export_job(sleeps, max_resubmits=2))

    assert len(vendor.jobs) == 3


async def test_a_failed_job_is_a_vendor_error_naming_it() -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"id": "j9"})
        return httpx.Response(200, json={"state": "FAILED"})

    with pytest.raises(VendorError, match="export job j9 ended as FAILED"):
        async with PagingConnector(failing) as connector:
            job = export_job(Sleeps())
            [page async for page in read_export_job(connector, "items", job, None)]


async def test_a_job_still_running_after_the_last_poll_is_an_error() -> None:
    vendor = JobsVendor(polls=100)

    with pytest.raises(VendorError, match="still running after 5 polls"):
        await read(vendor, export_job(Sleeps(), max_polls=5))


async def test_results_whose_cursor_comes_back_raise_a_pagination_loop_before_its_state() -> None:
    class StuckResults(JobsVendor):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/results"):
                return httpx.Response(200, json={"entities": RESULTS[:2], "cursor": "2"})
            return super().__call__(request)

    vendor, sleeps = StuckResults(), Sleeps()
    stored: list[object] = []
    with pytest.raises(PaginationLoop, match="did not move past cursor 2"):
        async with PagingConnector(vendor) as connector:
            async for page in read_export_job(connector, "items", export_job(sleeps), None):
                stored.append(page.state["next"])

    assert stored == [{"job": "job1", "page": "2"}]
