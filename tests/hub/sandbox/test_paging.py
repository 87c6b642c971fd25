"""Cursor and offset paging helpers, driven through a small list endpoint over ASGITransport."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.sandbox.paging import (
    CursorPaging,
    IdSpace,
    OffsetPaging,
    PositionToken,
    decode_token,
    encode_token,
)
from hub.sandbox.pipeline import RequestPipeline, VendorApiError


def _bad(message: str) -> VendorApiError:
    return VendorApiError(400, "BadPaging", message)


CURSOR = CursorPaging("limit", "after", default_size=10, max_size=50, invalid=_bad)
OFFSET = OffsetPaging(
    "page", "size", default_per_page=10, max_per_page=50, max_pages=3, invalid=_bad
)


def _evens(high: int = 100) -> IdSpace:
    return IdSpace(0, high, lambda p: p % 2 == 0, lambda p: {"id": p}, lambda: high // 2)


async def _cursor_list(request: Request) -> Response:
    page = CURSOR.page(_evens(), request.query_params, base="http://sandbox", path="/things")
    return JSONResponse({"items": [p for p in page.positions], "next": page.next_url,
                         "more": page.has_more})  # fmt: skip


async def _offset_list(request: Request) -> Response:
    page = OFFSET.page(_evens(), request.query_params, base="http://sandbox", path="/numbered")
    return JSONResponse({"items": page.positions, "next": page.next_url, "prev": page.previous_url})


def _client() -> httpx.AsyncClient:
    pipeline = RequestPipeline(authenticate=lambda request: None)
    app = Starlette(
        routes=[
            Route("/things", pipeline.wrap(_cursor_list)),
            Route("/numbered", pipeline.wrap(_offset_list)),
        ]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def test_following_cursor_next_urls_visits_every_accepted_position_once() -> None:
    async with _client() as client:
        page = (await client.get("/things", params={"limit": 15, "kind": "x"})).json()
        seen, pages = list(page["items"]), 1
        while page["next"]:
            assert "kind=x" in page["next"]  # other parameters are carried along
            page = (await client.get(page["next"])).json()
            seen += page["items"]
            pages += 1
    assert seen == list(range(0, 100, 2))
    assert pages == 4
    assert page["more"] is False


async def test_a_bad_cursor_or_size_is_the_vendors_error() -> None:
    async with _client() as client:
        bad_token = await client.get("/things", params={"after": "garbage"})
        too_big = await client.get("/things", params={"limit": 51})
    assert bad_token.status_code == too_big.status_code == 400
    assert bad_token.json()["message"] == "after is invalid"
    assert too_big.json()["message"] == "limit must be between 1 and 50"


async def test_offset_pages_link_both_ways_and_stop_at_the_vendors_depth() -> None:
    async with _client() as client:
        second = (await client.get("/numbered", params={"page": 2, "size": 5})).json()
        third = (await client.get(second["next"])).json()
        too_deep = await client.get("/numbered", params={"page": 4, "size": 5})
    assert second["items"] == [10, 12, 14, 16, 18]
    assert second["prev"] == "http://sandbox/numbered?page=1&size=5"
    assert third["items"] == [20, 22, 24, 26, 28]
    assert third["next"] is None  # more records exist, but page 3 is the last one served
    assert too_deep.status_code == 400
    assert "first 3 pages" in too_deep.json()["message"]


def test_position_tokens_round_trip_and_refuse_foreign_tokens() -> None:
    token = PositionToken("v", (("o", "id"),))
    assert token.decode(token.encode(42)) == 42
    assert decode_token(token.encode(42)) == {"o": "id", "v": 42}
    assert token.decode(encode_token({"v": "42"})) is None
    assert token.decode("%%%") is None


@pytest.mark.parametrize("start", [0, 37, 99])
def test_id_space_positions_start_where_asked_and_skip_rejected(start: int) -> None:
    found = _evens().positions(start, 3)
    assert found == [p for p in range(start, 100) if p % 2 == 0][:3]
