"""A sandbox's Date header shows the sandbox's own clock, once."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.sandbox.dates import DateHeader
from hub.testing import FakeClock


async def _ok(request: Request) -> Response:
    return JSONResponse({}, headers={"Date": "Mon, 01 Jan 1990 00:00:00 GMT"})


async def test_the_date_header_is_the_sandbox_clock_and_replaces_any_other() -> None:
    clock = FakeClock(1_790_000_000)
    app = DateHeader(Starlette(routes=[Route("/", _ok)]), clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        first = await c.get("/")
        clock.advance(3600)
        later = await c.get("/")
    assert first.headers.get_list("date") == [first.headers["date"]]
    assert parsedate_to_datetime(first.headers["date"]).timestamp() == 1_790_000_000
    assert parsedate_to_datetime(later.headers["date"]).timestamp() == 1_790_003_600
