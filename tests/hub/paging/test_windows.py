"""Time-window slicing: [start, end) in steps, each window paged by an inner paginator,
resumable inside a window, empty when there is no time to read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hub.paging import (
    PageNumberPaginator,
    PageRequest,
    PaginationLoop,
    RestStream,
    SinglePage,
    TimeWindowPaginator,
    Watermark,
    iso8601,
)
from tests.hub.paging.support import Recorder, ids, read_all, roundtrip

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Events:
    """Events at given hours after T0, queried by ``from``/``to`` and paged by ``page``."""

    def __init__(self, hours: list[float]) -> None:
        self.events = [{"id": n, "at": (T0 + h * HOUR).isoformat()} for n, h in enumerate(hours)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        low = datetime.fromisoformat(request.url.params["from"])
        high = datetime.fromisoformat(request.url.params["to"])
        number = int(request.url.params["page"])
        inside = [e for e in self.events if low <= datetime.fromisoformat(e["at"]) < high]
        return httpx.Response(200, json={"items": inside[(number - 1) * 2 : number * 2]})


def windowed(now: datetime, step: timedelta = 2 * HOUR) -> RestStream:
    return RestStream(
        PageRequest("events"),
        records="items",
        paginator=TimeWindowPaginator(
            step, PageNumberPaginator(size=2), start_param="from", end_param="to"
        ),
        cursor=Watermark(
            "at", initial=T0, lag=timedelta(0), clock=lambda: now, advance_on_finish=True
        ),
    )


async def test_walks_every_window_from_the_start_to_now() -> None:
    events = Events([0, 0.5, 1, 2.5, 3, 3.2, 3.4, 5.9])
    recorder = Recorder(events)
    pages = await read_all(windowed(T0 + 6 * HOUR), recorder)

    assert ids(pages) == list(range(8))
    windows = sorted({(p["from"], p["to"]) for p in recorder.params()})
    assert [w[0][11:16] for w in windows] == ["00:00", "02:00", "04:00"]
    assert windows[-1][1] == "2024-01-01T06:00:00Z"


async def test_resumes_inside_the_window_it_stopped_in() -> None:
    events = Events([2.1, 2.2, 2.3, 2.4, 2.5])
    pages = await read_all(windowed(T0 + 4 * HOUR), events)
    resumed = await read_all(windowed(T0 + 4 * HOUR), events, roundtrip(pages[1].state))

    assert ids(resumed) == ids(pages[2:]) == [2, 3, 4]  # pages[0] is the empty first window


async def test_the_next_run_starts_where_the_last_window_ended() -> None:
    events = Events([1])
    recorder = Recorder(events)
    pages = await read_all(windowed(T0 + 4 * HOUR), recorder)
    recorder.requests.clear()
    await read_all(windowed(T0 + 5 * HOUR), recorder, roundtrip(pages[-1].state))

    assert recorder.params() == [
        {"from": "2024-01-01T04:00:00Z", "to": "2024-01-01T05:00:00Z", "page": "1"}
    ]


async def test_no_request_when_there_is_no_time_to_read() -> None:
    recorder = Recorder(Events([]))
    pages = await read_all(windowed(T0), recorder)

    assert (pages, recorder.requests) == ([], [])


class PostedEvents(Events):
    """The same events behind a POSTed query: ``{"interval": "a/b", "paging": {...}}``."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        low, high = (datetime.fromisoformat(t) for t in body["interval"].split("/"))
        number, size = body["paging"]["pageNumber"], body["paging"]["pageSize"]
        inside = [e for e in self.events if low <= datetime.fromisoformat(e["at"]) < high]
        return httpx.Response(200, json={"items": inside[(number - 1) * size : number * size],
                                         "kept": body["order"]})  # fmt: skip


def _interval(request: PageRequest, start: datetime, end: datetime) -> PageRequest:
    return request.with_json({"interval": f"{iso8601(start)}/{iso8601(end)}"})


async def test_windows_and_page_numbers_can_go_into_a_posted_body() -> None:
    recorder = Recorder(PostedEvents([0, 0.5, 1, 2.5, 3, 3.2, 3.4, 5.9]))
    paging = PageNumberPaginator(param="pageNumber", size=2, size_param="pageSize", body="paging")
    spec = RestStream(
        PageRequest("events", method="POST", json={"order": "asc"}, retry_safe=True),
        records="items",
        paginator=TimeWindowPaginator(2 * HOUR, paging, place=_interval),
        cursor=Watermark("at", initial=T0, lag=timedelta(0), clock=lambda: T0 + 6 * HOUR),
    )
    pages = await read_all(spec, recorder)

    assert ids(pages) == list(range(8))
    bodies = [json.loads(r.content) for r in recorder.requests]
    assert all(r.url.query == b"" for r in recorder.requests)
    assert bodies[0] == {"order": "asc", "interval": "2024-01-01T00:00:00Z/2024-01-01T02:00:00Z",
                         "paging": {"pageNumber": 1, "pageSize": 2}}  # fmt: skip


def test_a_window_needs_its_parameters_or_a_placer() -> None:
    with pytest.raises(ValueError, match="start_param and end_param, or place"):
        TimeWindowPaginator(HOUR, PageNumberPaginator(size=2))


async def test_a_window_whose_pages_repeat_raises_a_pagination_loop_naming_the_window() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:  # ignores the page number
        return httpx.Response(200, json={"items": [{"id": 1, "at": T0.isoformat()}] * 2})

    with pytest.raises(PaginationLoop, match="did not move past window 2024-01-01T00:00:00Z"):
        await read_all(windowed(T0 + 6 * HOUR), vendor)


async def test_many_empty_windows_in_a_row_are_progress_not_a_loop() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json={"items": []}))
    stream = RestStream(
        PageRequest("events"),
        records="items",
        paginator=TimeWindowPaginator(HOUR, SinglePage(), start_param="from", end_param="to"),
        cursor=Watermark("at", initial=T0, lag=timedelta(0), clock=lambda: T0 + 24 * HOUR),
    )
    pages = await read_all(stream, recorder)

    assert len(recorder.requests) == 24
    assert ids(pages) == []
