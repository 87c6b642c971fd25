"""hub.http against a vendor that misbehaves on real loopback sockets: a trickled answer ends
at the request's deadline, a huge or endless body at the size limit with bounded memory, an
HTML page is not taken for JSON, and rate limits hold whatever path the base URL has."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
import weakref
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hub.errors import ConnectorError
from hub.http import HttpSettings, RateLimit, create_client, request_json
from tests.misbehaving import (
    MisbehavingVendor,
    Reply,
    Request,
    answer,
    compressed_bomb,
    flood,
    trickle,
)
from tests.support import collector_off

MiB = 1024 * 1024
PATH = "/api/v2/incremental/tickets/cursor.json"
QUICK = HttpSettings(max_attempts=2, backoff_base_seconds=0, backoff_max_seconds=0)


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[BaseException, float]:
    """The error ``call`` raises and the seconds it took to raise it."""
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        await call()
    return caught.value, time.monotonic() - started


async def get(vendor: MisbehavingVendor, settings: HttpSettings, path: str = PATH) -> Any:
    async with create_client(vendor.base_url, auth=None, settings=settings) as client:
        return await request_json(client, "GET", path, settings=settings, connection="zd")


async def test_a_trickled_answer_ends_at_the_request_deadline_naming_path_and_setting() -> None:
    # Every byte arrives well within the 5 s read timeout; the whole answer would take 20 s.
    settings = QUICK.model_copy(update={"timeout_seconds": 5, "request_deadline_seconds": 0.5})
    async with MisbehavingVendor(trickle({"tickets": []}, pause=1.0)) as vendor:
        error, seconds = await timed(lambda: get(vendor, settings))

    assert seconds < 10
    assert len(vendor.requests) == 2  # each attempt abandoned at its deadline, then retried
    assert str(error) == (
        f"zd: GET {PATH} gave up after 2 attempt(s); last error: no complete answer within "
        "the 0.5 s request deadline (http.request_deadline_seconds)"
    )


def test_the_request_deadline_defaults_to_minutes_and_bounds_the_read_timeout() -> None:
    settings = HttpSettings()

    assert settings.timeout_seconds < settings.request_deadline_seconds <= 600


@pytest.mark.parametrize(
    "reply",
    [
        flood(size=None),
        flood(size=64 * MiB),
        # About 64 KiB on the wire each; whole, they would inflate to 64 MiB.
        compressed_bomb(size=64 * MiB, encoding="gzip"),
        compressed_bomb(size=64 * MiB, encoding="deflate"),
    ],
    ids=["endless body", "64 MiB body without a length", "gzip bomb", "deflate bomb"],
)
async def test_a_body_past_the_size_limit_stops_reading_with_memory_bounded(
    reply: Reply,
) -> None:
    settings = QUICK.model_copy(update={"max_body_bytes": 2 * MiB})
    async with MisbehavingVendor(reply) as vendor:
        tracemalloc.start()
        try:
            error, seconds = await timed(lambda: get(vendor, settings))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert seconds < 20
    assert peak < 12 * MiB  # the limit and a chunk (or an inflated step), not the body
    assert len(vendor.requests) == 1  # not retried: the next answer would be as large
    assert f"GET {PATH} answered with a body larger than the 2 MiB limit" in str(error)
    assert "http.max_body_bytes" in str(error)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_body_within_the_limit_is_decoded(encoding: str) -> None:
    records = [{"id": n, "padding": "x" * 1000} for n in range(500)]
    payload = json.dumps({"tickets": records}).encode()
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS if encoding == "gzip" else 15)
    body = packer.compress(payload) + packer.flush()

    async def reply(request: Request, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}"
        writer.write(f"{head}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()

    async with MisbehavingVendor(reply) as vendor:
        _, answered = await get(vendor, QUICK.model_copy(update={"max_body_bytes": MiB}))

    assert answered == {"tickets": records}
    assert vendor.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_an_encoding_the_hub_did_not_ask_for_is_refused_naming_it() -> None:
    async def reply(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: br\r\n"
            b"Content-Length: 4\r\n\r\n\x0b\x01\x80\x03"
        )
        await writer.drain()

    async with MisbehavingVendor(reply) as vendor:
        error, _ = await timed(lambda: get(vendor, QUICK))

    assert str(error) == (
        f"zd: GET {PATH} answered with Content-Encoding br, which the hub does not ask for "
        "(it accepts gzip, deflate)"
    )


async def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    async with MisbehavingVendor(flood(size=300 * MiB, declare_length=True)) as vendor:
        error, seconds = await timed(lambda: get(vendor, HttpSettings(max_attempts=1)))

    assert seconds < 10
    assert "answered with a body larger than the 32 MiB limit" in str(error)


async def test_a_body_within_the_limit_is_read_whole() -> None:
    records = [{"id": n, "padding": "x" * 1000} for n in range(500)]  # about 0.5 MiB
    settings = QUICK.model_copy(update={"max_body_bytes": MiB})
    async with MisbehavingVendor(answer(lambda request: {"tickets": records})) as vendor:
        _, body = await get(vendor, settings)

    assert body == {"tickets": records}


async def test_a_response_read_whole_is_freed_without_the_cyclic_collector() -> None:
    # httpx's stream wrapper and its response refer to each other: left so, every page's
    # body would wait in memory for the cyclic collector.
    async with MisbehavingVendor(answer(lambda request: {"tickets": [{"id": 1}]})) as vendor:
        with collector_off():
            response, body = await get(vendor, QUICK)
            assert response.json() == body == {"tickets": [{"id": 1}]}  # still readable
            gone = weakref.ref(response)
            del response
            assert gone() is None


async def test_json_answered_as_text_html_is_an_error_saying_a_proxy_or_login_page_answered() -> (
    None
):
    page = answer(lambda request: {"tickets": [{"id": 1}]}, content_type="text/html; charset=utf-8")
    async with MisbehavingVendor(page) as vendor:
        error, _ = await timed(lambda: get(vendor, QUICK))

    assert len(vendor.requests) == 1  # a login page does not go away by asking again
    assert f"GET {PATH} answered 200 with an HTML page" in str(error)
    assert "a proxy or a login page answered" in str(error)


async def test_rate_limits_hold_when_the_base_url_has_a_path_of_its_own() -> None:
    once_an_hour = [RateLimit("/api/v2/incremental/", 1, 3600)]
    settings = HttpSettings(max_attempts=1)

    def ok(request: Request) -> dict[str, Any]:
        return {"tickets": []}

    async with MisbehavingVendor(answer(ok), base_path="/tenant") as vendor:
        client = create_client(vendor.base_url, auth=None, settings=settings, limits=once_an_hour)
        async with client:
            await request_json(client, "GET", PATH, settings=settings)
            other = await request_json(client, "GET", "/api/v2/users.json", settings=settings)
            second = request_json(client, "GET", PATH, settings=settings)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(second, timeout=1.0)  # held by the limiter

    assert other[1] == {"tickets": []}  # another prefix is not held
    assert [r.path for r in vendor.requests] == [f"/tenant{PATH}", "/tenant/api/v2/users.json"]
