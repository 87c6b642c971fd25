"""Asynchronous export jobs as vendors run them: submit, poll until done, page the results.

A job is submitted with a query and parameters and gets an id. Its state moves on as it is
polled: ``queued`` -> ``running`` -> ``completed`` after a configured number of polls, or once
enough seconds have passed on the server clock. A job can be made to fail (``failed``), and a
completed job's results are gone after a time to live (``expired``). Results are computed
when the job completes and read in cursor pages; a vendor sandbox maps the job errors below
onto its own error answers.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.sandbox.paging import PositionToken

JobState = Literal["queued", "running", "completed", "failed", "expired"]
Record = dict[str, Any]
_CURSOR = PositionToken("offset")


class JobError(LookupError):
    """A job cannot answer the request: unknown, not finished, failed or expired."""

    def __init__(self, job_id: str, state: JobState | Literal["unknown"], message: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.state = state


@dataclass
class Job:
    """One submitted job and where it stands."""

    id: str
    query: str
    params: Mapping[str, Any]
    submitted_at: float
    state: JobState = "queued"
    polls: int = 0
    completed_at: float | None = None
    error: str | None = None
    results: Sequence[Record] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ResultPage:
    """One page of a completed job's results and the cursor of the next (None: last page)."""

    records: Sequence[Record]
    cursor: str | None


class JobSimulator:
    """The jobs of one sandbox endpoint.

    ``run(query, params)`` computes a job's results when it completes (a lazy Sequence is
    fine for large exports). A job completes on the ``polls_to_complete``-th poll, or on the
    first poll once ``seconds_to_complete`` have passed, whichever comes first;
    ``fail_when(job)`` may return a reason to fail a job as it would complete.
    """

    def __init__(
        self,
        *,
        run: Callable[[str, Mapping[str, Any]], Sequence[Record]],
        polls_to_complete: int | None = 2,
        seconds_to_complete: float | None = None,
        result_ttl_seconds: float = 3600.0,
        fail_when: Callable[[Job], str | None] | None = None,
        clock: Callable[[], float] = time.time,
        id_prefix: str = "job",
    ) -> None:
        if polls_to_complete is None and seconds_to_complete is None:
            raise ValueError("a job needs polls_to_complete or seconds_to_complete to finish")
        if polls_to_complete is not None and polls_to_complete < 1:
            raise ValueError(f"polls_to_complete must be at least 1, got {polls_to_complete}")
        self._run = run
        self.polls_to_complete = polls_to_complete
        self.seconds_to_complete = seconds_to_complete
        self.result_ttl_seconds = result_ttl_seconds
        self._fail_when = fail_when
        self._clock = clock
        self._id_prefix = id_prefix
        self._numbers = itertools.count(1)
        self._jobs: dict[str, Job] = {}

    def submit(self, query: str, params: Mapping[str, Any] | None = None) -> Job:
        """A new queued job for ``query``."""
        job = Job(
            id=f"{self._id_prefix}-{next(self._numbers):06d}",
            query=query,
            params=dict(params or {}),
            submitted_at=self._clock(),
        )
        self._jobs[job.id] = job
        return job

    def fail(self, job_id: str, reason: str) -> Job:
        """Fail a job that has not finished (fault injection)."""
        job = self._job(job_id)
        if job.state in ("queued", "running"):
            job.state, job.error = "failed", reason
        return job

    def poll(self, job_id: str) -> Job:
        """Look at a job the way a client's status request does; this moves it on."""
        job = self._job(job_id)
        if job.state in ("queued", "running"):
            job.polls += 1
            if self._due(job):
                self._finish(job)
            else:
                job.state = "running"
        self._expire(job)
        return job

    def results(self, job_id: str, cursor: str | None = None, *, size: int) -> ResultPage:
        """A page of a completed job's results from ``cursor`` (None: the first page)."""
        job = self._job(job_id)
        self._expire(job)
        if job.state != "completed" or job.results is None:
            reason = job.error if job.state == "failed" else None
            raise JobError(job.id, job.state, reason or f"job {job.id} is {job.state}")
        start = 0
        if cursor:
            decoded = _CURSOR.decode(cursor)
            if decoded is None or not 0 <= decoded <= len(job.results):
                raise ValueError(f"cursor {cursor!r} is not a cursor of job {job.id}")
            start = decoded
        end = min(start + size, len(job.results))
        following = _CURSOR.encode(end) if end < len(job.results) else None
        return ResultPage(job.results[start:end], following)

    def _job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobError(job_id, "unknown", f"no job {job_id!r}")
        return job

    def _due(self, job: Job) -> bool:
        by_polls = self.polls_to_complete is not None and job.polls >= self.polls_to_complete
        by_time = (
            self.seconds_to_complete is not None
            and self._clock() - job.submitted_at >= self.seconds_to_complete
        )
        return by_polls or by_time

    def _finish(self, job: Job) -> None:
        reason = self._fail_when(job) if self._fail_when else None
        if reason is not None:
            job.state, job.error = "failed", reason
            return
        job.results = self._run(job.query, job.params)
        job.state, job.completed_at = "completed", self._clock()

    def _expire(self, job: Job) -> None:
        if (
            job.state == "completed"
            and job.completed_at is not None
            and self._clock() - job.completed_at >= self.result_ttl_seconds
        ):
            job.state, job.results = "expired", None
