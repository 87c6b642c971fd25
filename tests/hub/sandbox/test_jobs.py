"""The async-job simulator: states by polls or server time, failures, expiry, result pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from hub.sandbox.jobs import Job, JobError, JobSimulator


class _Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def _run(query: str, params: Mapping[str, Any]) -> Sequence[dict[str, Any]]:
    return [{"n": n, "query": query} for n in range(int(params["rows"]))]


def test_a_job_runs_then_completes_after_the_configured_polls() -> None:
    jobs = JobSimulator(run=_run, polls_to_complete=3, clock=_Clock())
    job = jobs.submit("SELECT things", {"rows": 5})
    assert job.state == "queued"
    states = [jobs.poll(job.id).state for _ in range(3)]
    assert states == ["running", "running", "completed"]


def test_a_job_completes_once_enough_server_seconds_have_passed() -> None:
    clock = _Clock()
    jobs = JobSimulator(run=_run, polls_to_complete=None, seconds_to_complete=30, clock=clock)
    job = jobs.submit("q", {"rows": 1})
    assert jobs.poll(job.id).state == "running"
    clock.now += 30
    assert jobs.poll(job.id).state == "completed"


def test_results_are_read_in_cursor_pages_to_the_end() -> None:
    jobs = JobSimulator(run=_run, polls_to_complete=1, clock=_Clock())
    job = jobs.submit("q", {"rows": 7})
    jobs.poll(job.id)
    rows, cursor = [], None
    while True:
        page = jobs.results(job.id, cursor, size=3)
        rows += [r["n"] for r in page.records]
        cursor = page.cursor
        if cursor is None:
            break
    assert rows == list(range(7))


def test_results_of_an_unfinished_job_are_refused_with_its_state() -> None:
    jobs = JobSimulator(run=_run, polls_to_complete=2, clock=_Clock())
    job = jobs.submit("q", {"rows": 1})
    with pytest.raises(JobError) as refused:
        jobs.results(job.id, size=10)
    assert refused.value.state == "queued"
    with pytest.raises(JobError) as unknown:
        jobs.poll("job-999999")
    assert unknown.value.state == "unknown"


def test_an_injected_failure_is_reported_with_its_reason() -> None:
    def fail_big(job: Job) -> str | None:
        return "too many rows" if job.params["rows"] > 100 else None

    jobs = JobSimulator(run=_run, polls_to_complete=1, fail_when=fail_big, clock=_Clock())
    big, small, stopped = (jobs.submit("q", {"rows": n}) for n in (1000, 3, 3))
    jobs.fail(stopped.id, "cancelled by the sandbox")
    assert jobs.poll(big.id).state == "failed"
    assert jobs.poll(small.id).state == "completed"
    assert jobs.poll(stopped.id).state == "failed"
    with pytest.raises(JobError, match="too many rows"):
        jobs.results(big.id, size=10)


def test_results_are_gone_after_their_time_to_live() -> None:
    clock = _Clock()
    jobs = JobSimulator(run=_run, polls_to_complete=1, result_ttl_seconds=600, clock=clock)
    job = jobs.submit("q", {"rows": 3})
    jobs.poll(job.id)
    first = jobs.results(job.id, size=2)
    clock.now += 600
    with pytest.raises(JobError) as expired:
        jobs.results(job.id, first.cursor, size=2)
    assert expired.value.state == "expired"
    assert jobs.poll(job.id).state == "expired"


def test_a_job_that_can_never_finish_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="polls_to_complete or seconds_to_complete"):
        JobSimulator(run=_run, polls_to_complete=None)
