"""Behaviour of hub.http: retries, Retry-After, rate limits, auth refresh and safe errors."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import socket
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import trustme

import hub.http.request
from hub.errors import (
    AuthError,
    ConnectorError,
    QuotaSpent,
    RateLimited,
    Unreachable,
    VendorError,
)
from hub.http import (
    HttpSettings,
    LimitWait,
    QuotaHeaders,
    RateLimit,
    RateLimitedTransport,
    RefreshingAuth,
    RetryNotice,
    SlidingWindowLimiter,
    StaticBearer,
    VendorErrors,
    create_client,
    limit_wait_listener,
    parse_retry_after,
    request_json,
    requests_sent,
    retry_listener,
)
from hub.log import configure_logging

BASE = "https://acme.vendor.test/api/v2/"
FAST = HttpSettings(max_attempts=4, backoff_base_seconds=0.01, backoff_max_seconds=0.02)


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Pauses between attempts are recorded instead of slept."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(hub.http.request, "_pause", record)
    return recorded


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with create_client(
        BASE, auth=StaticBearer("tkn-static-1"), settings=FAST, connection="crm-prod"
    ) as built:
        yield built


@pytest.fixture
def vendor() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def raw_reply(
    status: int, body: bytes = b"", *, headers: str = "", length: int | None = None
) -> bytes:
    """An HTTP/1.1 response; ``length`` larger than the body makes a truncated one."""
    declared = len(body) if length is None else length
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Loopback:
    """A raw HTTP server on 127.0.0.1 playing canned replies, one per connection."""

    replies: list[bytes]
    arrivals: list[float] = field(default_factory=list)
    url: str = ""

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.arrivals.append(time.monotonic())
            writer.write(self.replies.pop(0))
            await writer.drain()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def loopback(*replies: bytes, tls: ssl.SSLContext | None = None) -> AsyncIterator[Loopback]:
    box = Loopback(list(replies))
    server = await asyncio.start_server(box.answer, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    box.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/api/v2/"
    async with server:
        yield box


class RotatingToken(RefreshingAuth):
    """A bearer token that a refresh replaces; counts refreshes."""

    def __init__(self) -> None:
        self.token = "tkn-old"
        self.refreshes = 0

    async def refresh(self) -> None:
        self.refreshes += 1
        await asyncio.sleep(0)  # let other requests run, as a real token call would
        self.token = f"tkn-new-{self.refreshes}"

    def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self.token}"


class FakeClock:
    """Monotonic time that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


# -- Retry-After -----------------------------------------------------------------------------


async def test_waits_at_least_retry_after_before_the_next_attempt() -> None:
    async with (
        loopback(
            raw_reply(429, b"{}", headers="Retry-After: 1\r\n"),
            raw_reply(200, b'{"tickets": []}'),
        ) as server,
        create_client(server.url, auth=None, settings=FAST) as http,
    ):
        _, body = await request_json(http, "GET", "tickets.json", settings=FAST)
    assert body == {"tickets": []}
    assert server.arrivals[1] - server.arrivals[0] >= 1.0


async def test_pause_after_retry_after_seconds_is_never_less_than_asked(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    vendor.get("tickets.json").mock(
        side_effect=[reply(429, headers={"Retry-After": "7"}), reply(200, {"tickets": []})]
    )
    await request_json(client, "GET", "tickets.json", settings=FAST)
    assert len(pauses) == 1
    assert 7 <= pauses[0] <= 7 * 1.1


async def test_retry_after_as_http_date_is_honoured(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    vendor.get("tickets.json").mock(
        side_effect=[reply(503, headers={"Retry-After": later}), reply(200, {})]
    )
    await request_json(client, "GET", "tickets.json", settings=FAST)
    assert len(pauses) == 1
    assert 28 <= pauses[0] <= 30 * 1.1  # the header has whole seconds


def test_parses_both_retry_after_forms() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Wed, 01 May 2024 12:00:45 GMT", now=now) == 45
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


async def test_retry_after_zero_pauses_briefly_instead_of_hot_looping(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.get("tickets.json").mock(return_value=reply(429, headers={"Retry-After": "0"}))
    with pytest.raises(RateLimited):
        await request_json(client, "GET", "tickets.json", settings=FAST)
    assert route.call_count == FAST.max_attempts
    assert len(pauses) == FAST.max_attempts - 1
    assert all(p >= FAST.min_retry_after_seconds for p in pauses)


async def test_retry_after_beyond_the_budget_raises_rate_limited_at_once(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.get("search.json").mock(
        return_value=reply(429, {"error": "TooManyRequests"}, {"Retry-After": "3600"})
    )
    with pytest.raises(RateLimited) as caught:
        await request_json(
            client,
            "GET",
            "search.json",
            params={"query": "jane.doe@example.com"},
            settings=FAST,
            connection="crm-prod",
            stream="tickets",
        )
    assert route.call_count == 1
    assert pauses == []
    message = str(caught.value)
    for part in ("crm-prod/tickets", "GET /api/v2/search.json", "429", "1 attempt"):
        assert part in message
    assert "jane" not in message
    assert caught.value.status == 429
    assert caught.value.connection == "crm-prod"


# -- retries ---------------------------------------------------------------------------------


async def test_server_errors_then_success_returns_the_body(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.get("tickets.json").mock(
        side_effect=[reply(503), reply(502), reply(200, {"tickets": [{"id": 1}]})]
    )
    response, body = await request_json(client, "GET", "tickets.json", settings=FAST)
    assert response.status_code == 200
    assert body == {"tickets": [{"id": 1}]}
    assert route.call_count == 3
    assert all(0 <= p <= FAST.backoff_max_seconds for p in pauses)


async def test_truncated_json_body_with_2xx_status_is_retried(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.get("tickets.json").mock(
        side_effect=[
            httpx.Response(200, content=b'{"tickets": [{"id": 1}, {"id"'),
            reply(200, {"tickets": []}),
        ]
    )
    _, body = await request_json(client, "GET", "tickets.json", settings=FAST)
    assert body == {"tickets": []}
    assert route.call_count == 2


async def test_connection_dropped_mid_body_is_retried_over_real_http() -> None:
    async with (
        loopback(
            raw_reply(200, b'{"tickets": [', length=400),
            raw_reply(200, b'{"tickets": []}'),
        ) as server,
        create_client(server.url, auth=None, settings=FAST) as http,
    ):
        _, body = await request_json(http, "GET", "tickets.json", settings=FAST)
    assert body == {"tickets": []}
    assert len(server.arrivals) == 2


async def test_transport_errors_that_persist_raise_connector_error(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.get("tickets.json").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectorError) as caught:
        await request_json(client, "GET", "tickets.json", settings=FAST, connection="zd")
    assert type(caught.value) is ConnectorError
    assert route.call_count == FAST.max_attempts
    assert "4 attempt(s)" in str(caught.value)
    assert "ConnectError" in str(caught.value)


async def test_server_errors_that_persist_raise_vendor_error_with_status(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    vendor.get("users.json").mock(return_value=reply(500, {"code": "internal.error"}))
    with pytest.raises(VendorError) as caught:
        await request_json(client, "GET", "users.json", settings=FAST, connection="gc")
    assert caught.value.status == 500
    assert caught.value.vendor_code == "internal.error"
    assert "GET /api/v2/users.json" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            422,
            {"error": "RecordInvalid", "description": "jane@example.com is taken"},
            "RecordInvalid",
        ),
        (
            400,
            [{"message": "bad value jane@example.com", "errorCode": "INVALID_FIELD"}],
            "INVALID_FIELD",
        ),
        (404, {"code": 20404, "message": "not found"}, "20404"),
        (
            404,
            {"message": "no user jane@example.com", "code": "not.found", "status": 404},
            "not.found",
        ),
        (403, "forbidden", None),
    ],
    ids=["error-key", "list-of-error-codes", "numeric-code", "dotted-code", "not-json"],
)
async def test_client_errors_raise_at_once_with_the_generic_error_code_only(
    client: httpx.AsyncClient,
    vendor: respx.MockRouter,
    status: int,
    body: Any,
    code: str | None,
) -> None:
    content = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
    route = vendor.post("users.json").mock(return_value=httpx.Response(status, content=content))
    with pytest.raises(VendorError) as caught:
        await request_json(client, "POST", "users.json", json={"email": "x"}, settings=FAST)
    assert route.call_count == 1
    assert caught.value.status == status
    assert caught.value.vendor_code == code
    assert str(status) in str(caught.value)
    assert "jane" not in str(caught.value)


def quota_in_detail(body: Any) -> str | None:
    """A made-up vendor that nests its code as ``{"fault": {"detail": CODE}}``."""
    fault = body.get("fault") if isinstance(body, dict) else None
    return fault.get("detail") if isinstance(fault, dict) else None


DAILY_QUOTA = VendorErrors(code_of=quota_in_detail, quota_codes=frozenset({"DAILY_QUOTA"}))


async def test_a_quota_code_the_connector_names_is_a_spent_quota_without_retrying(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    body = {"fault": {"detail": "DAILY_QUOTA", "text": "24h allowance spent"}}
    route = vendor.get("query").mock(return_value=reply(403, body))
    with pytest.raises(QuotaSpent) as caught:  # a RateLimited that stops the connection
        await request_json(client, "GET", "query", settings=FAST, vendor_errors=DAILY_QUOTA)
    assert route.call_count == 1
    assert caught.value.vendor_code == "DAILY_QUOTA"


async def test_without_the_connectors_description_a_quota_code_is_a_plain_vendor_error(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    vendor.get("query").mock(return_value=reply(403, {"code": "DAILY_QUOTA"}))
    with pytest.raises(VendorError) as caught:
        await request_json(client, "GET", "query", settings=FAST)
    assert type(caught.value) is VendorError
    assert caught.value.vendor_code == "DAILY_QUOTA"


async def test_a_connectors_code_reader_still_returns_only_identifier_like_codes(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    body = {"fault": {"detail": "no account for jane.doe@example.com"}}
    vendor.get("query").mock(return_value=reply(404, body))
    with pytest.raises(VendorError) as caught:
        await request_json(client, "GET", "query", settings=FAST, vendor_errors=DAILY_QUOTA)
    assert caught.value.vendor_code is None
    assert "jane" not in str(caught.value)


DETAILED = VendorErrors(
    detail_of=lambda body: f"{body['message']} (ref {body['ref']})",
    wait_of=lambda response: (
        float(response.headers["x-reset"]) if "x-reset" in response.headers else None
    ),
)


async def test_a_connectors_error_detail_is_shown_redacted_and_cut(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    body = {"message": "no contact jane.doe@example.com " + "x" * 400, "ref": "c-77"}
    vendor.get("query").mock(return_value=reply(404, body))
    with pytest.raises(VendorError) as caught:
        await request_json(client, "GET", "query", settings=FAST, vendor_errors=DETAILED)
    message = str(caught.value)
    assert "answered 404: no contact [EMAIL] xxx" in message and "jane" not in message
    assert len(message) < 420


async def test_a_429_without_retry_after_waits_what_the_vendors_header_says(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    vendor.get("query").mock(
        side_effect=[reply(429, {}, {"x-reset": "7"}), reply(200, {"ok": True})]
    )
    _, body = await request_json(client, "GET", "query", settings=FAST, vendor_errors=DETAILED)
    assert body == {"ok": True}
    assert len(pauses) == 1 and pauses[0] >= 7


async def test_error_in_a_2xx_body_raises_vendor_error_without_retrying(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    route = vendor.get("tickets.json").mock(return_value=reply(200, {"error": "Throttled"}))

    def body_error(response: httpx.Response, body: Any) -> str | None:
        return "the body reports an error" if "error" in body else None

    with pytest.raises(VendorError) as caught:
        await request_json(client, "GET", "tickets.json", settings=FAST, body_error=body_error)
    assert route.call_count == 1
    assert caught.value.vendor_code == "Throttled"
    assert "the body reports an error" in str(caught.value)


async def test_empty_body_decodes_to_none(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    vendor.delete("tickets/1.json").mock(return_value=httpx.Response(204))
    response, body = await request_json(client, "DELETE", "tickets/1.json", settings=FAST)
    assert response.status_code == 204
    assert body is None


# -- an address where nothing answers --------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_refused_connection_is_tried_once_more_then_names_the_address(
    pauses: list[float],
) -> None:
    port = closed_port()
    settings = HttpSettings()  # the defaults: 8 attempts for transient errors
    async with create_client(
        f"http://127.0.0.1:{port}/api/v2/", auth=None, settings=settings
    ) as http:
        with pytest.raises(Unreachable) as caught:
            await request_json(http, "GET", "tickets.json", settings=settings, connection="zd")
        assert requests_sent(http) == 2
    assert (
        str(caught.value) == f"zd: cannot connect to http://127.0.0.1:{port} (connection refused)"
    )
    assert len(pauses) == 1 and pauses[0] <= 0.5


async def test_an_unknown_host_is_tried_once_more_then_says_the_host_is_unknown(
    pauses: list[float],
) -> None:
    settings = HttpSettings()
    async with create_client(
        "http://no-such-host.invalid/api/", auth=None, settings=settings
    ) as http:
        with pytest.raises(Unreachable) as caught:
            await request_json(http, "GET", "users/me.json", settings=settings)
        assert requests_sent(http) == 2
    assert str(caught.value) == "cannot connect to http://no-such-host.invalid (unknown host)"
    assert len(pauses) == 1


async def test_a_write_to_a_refused_port_is_tried_once_more_since_it_never_left(
    pauses: list[float],
) -> None:
    port = closed_port()
    async with create_client(f"http://127.0.0.1:{port}/", auth=None, settings=FAST) as http:
        with pytest.raises(Unreachable, match="connection refused"):
            await request_json(http, "POST", "tickets.json", settings=FAST, json={})
        assert requests_sent(http) == 2


async def test_the_retry_listener_hears_each_coming_attempt_its_wait_and_reason(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    vendor.get("tickets.json").mock(
        side_effect=[reply(503), httpx.ReadTimeout("slow"), reply(200, {"tickets": []})]
    )
    heard: list[RetryNotice] = []
    with retry_listener(heard.append):
        await request_json(client, "GET", "tickets.json", settings=FAST)
    assert [(n.attempt, n.max_attempts, n.reason) for n in heard] == [
        (2, 4, "503"),
        (3, 4, "ReadTimeout"),
    ]
    assert [n.wait_seconds for n in heard] == pauses
    assert str(heard[0]).startswith("retry 2/4 in ") and str(heard[0]).endswith(" s: 503")


async def test_retries_outside_a_listener_block_are_not_heard(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    vendor.get("tickets.json").mock(
        side_effect=[reply(503), reply(200, {}), reply(503), reply(200, {})]
    )
    heard: list[RetryNotice] = []
    with retry_listener(heard.append):
        await request_json(client, "GET", "tickets.json", settings=FAST)
    await request_json(client, "GET", "tickets.json", settings=FAST)
    assert len(heard) == 1 and len(pauses) == 2


# -- credentials -----------------------------------------------------------------------------


def expiring_vendor(router: respx.MockRouter, seen: list[str]) -> respx.Route:
    """A route that refuses the old token and accepts any refreshed one."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer tkn-old":
            return reply(401, {"error": "Unauthorized"})
        return reply(200, {"ok": True})

    return router.get("me.json").mock(side_effect=answer)


async def test_refreshes_once_on_401_then_succeeds(vendor: respx.MockRouter) -> None:
    auth, seen = RotatingToken(), list[str]()
    expiring_vendor(vendor, seen)
    async with create_client(BASE, auth=auth, settings=FAST) as http:
        _, body = await request_json(http, "GET", "me.json", settings=FAST)
    assert body == {"ok": True}
    assert auth.refreshes == 1
    assert seen == ["Bearer tkn-old", "Bearer tkn-new-1"]


async def test_second_401_after_refresh_raises_auth_error(
    vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.get("me.json").mock(return_value=reply(401, {"error": "Unauthorized"}))
    auth = RotatingToken()
    async with create_client(BASE, auth=auth, settings=FAST) as http:
        with pytest.raises(AuthError) as caught:
            await request_json(http, "GET", "me.json", settings=FAST, connection="zd")
    assert auth.refreshes == 1
    assert route.call_count == 2
    assert caught.value.status == 401
    assert "tkn-" not in str(caught.value)


async def test_concurrent_401s_refresh_the_credentials_once(vendor: respx.MockRouter) -> None:
    auth, seen = RotatingToken(), list[str]()
    expiring_vendor(vendor, seen)
    async with create_client(BASE, auth=auth, settings=FAST) as http:
        results = await asyncio.gather(
            *(request_json(http, "GET", "me.json", settings=FAST) for _ in range(10))
        )
    assert [body for _, body in results] == [{"ok": True}] * 10
    assert seen.count("Bearer tkn-old") == 10  # all ten really met the expired token
    assert auth.refreshes == 1


async def test_credentials_known_to_be_missing_are_fetched_once_before_sending(
    vendor: respx.MockRouter,
) -> None:
    class FirstUse(RotatingToken):
        def is_expired(self) -> bool:
            return self.token == "tkn-old"

    auth, seen = FirstUse(), list[str]()
    expiring_vendor(vendor, seen)
    async with create_client(BASE, auth=auth, settings=FAST) as http:
        await asyncio.gather(
            *(request_json(http, "GET", "me.json", settings=FAST) for _ in range(5))
        )
    assert auth.refreshes == 1
    assert seen == ["Bearer tkn-new-1"] * 5


async def test_refresh_refused_by_the_vendor_surfaces_as_auth_error(
    vendor: respx.MockRouter, pauses: list[float]
) -> None:
    class RevokedToken(RotatingToken):
        async def refresh(self) -> None:
            self.refreshes += 1
            raise AuthError("token endpoint refused the refresh grant", connection="sf")

    route = vendor.get("me.json").mock(return_value=reply(401))
    auth = RevokedToken()
    async with create_client(BASE, auth=auth, settings=FAST) as http:
        with pytest.raises(AuthError, match="refused the refresh grant"):
            await request_json(http, "GET", "me.json", settings=FAST)
    assert (route.call_count, auth.refreshes, pauses) == (1, 1, [])


async def test_401_with_credentials_that_cannot_refresh_raises_auth_error(
    vendor: respx.MockRouter,
) -> None:
    route = vendor.get("me.json").mock(return_value=reply(401))
    auth = httpx.BasicAuth("agent@example.com/token", "api-secret")
    async with create_client(BASE, auth=auth, settings=FAST) as http:
        with pytest.raises(AuthError):
            await request_json(http, "GET", "me.json", settings=FAST)
    assert route.call_count == 1


def test_static_bearer_does_not_show_its_token() -> None:
    assert "tkn-static-1" not in repr(StaticBearer("tkn-static-1"))


# -- the client ------------------------------------------------------------------------------


async def test_client_sends_user_agent_and_credentials_under_the_base_url(
    client: httpx.AsyncClient, vendor: respx.MockRouter
) -> None:
    route = vendor.get("tickets.json").mock(return_value=reply(200, {}))
    await request_json(client, "GET", "tickets.json", settings=FAST)
    sent = route.calls.last.request
    assert sent.url.path == "/api/v2/tickets.json"
    assert sent.headers["User-Agent"].startswith("hub/")
    assert sent.headers["Authorization"] == "Bearer tkn-static-1"


async def test_verifies_tls_against_a_ca_bundle_path(tmp_path: Path) -> None:
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_tls)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    async with loopback(raw_reply(200, b'{"ok": true}'), tls=server_tls) as server:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            http = create_client(server.url, auth=None, settings=FAST, verify=str(bundle))
        async with http:
            _, body = await request_json(http, "GET", "me.json", settings=FAST)
    assert body == {"ok": True}


# -- client-side rate limits -----------------------------------------------------------------

INCREMENTAL = RateLimit("/api/v2/incremental/", requests=2, per_seconds=60)


async def test_limiter_holds_requests_over_the_limit_until_the_window_slides() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter([INCREMENTAL], clock=clock, sleep=clock.sleep)
    granted = []
    for at in (0, 30, 30, 30):
        clock.now = max(clock.now, at)
        await limiter.acquire("/api/v2/incremental/tickets/cursor.json")
        granted.append(clock.now)
    # A sliding window frees one slot as each old request ages out; a fixed one would not.
    assert granted == [0, 30, 60, 90]


QUOTA = QuotaHeaders(used="x-used", allowed="x-allowed", reset="x-reset")


async def test_a_spent_vendor_quota_holds_the_next_request_until_its_reset() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter([], quota=QUOTA, clock=clock, sleep=clock.sleep)
    limiter.observe(httpx.Headers({"x-used": "299", "x-allowed": "300", "x-reset": "40"}))
    await limiter.acquire("/api/v2/users")
    assert clock.now == 0  # one request was still left
    limiter.observe(httpx.Headers({"x-used": "300", "x-allowed": "300", "x-reset": "40"}))
    await limiter.acquire("/api/v2/users")
    assert clock.now == 40


async def test_each_request_held_by_a_spent_quota_or_a_full_limit_is_told_once() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(
        [RateLimit("/", 1, 10)], quota=QUOTA, clock=clock, sleep=clock.sleep
    )
    heard: list[LimitWait] = []
    with limit_wait_listener(heard.append):
        await limiter.acquire("/api/v2/users")  # free: told nothing
        limiter.observe(httpx.Headers({"x-used": "300", "x-allowed": "300", "x-reset": "40"}))
        await limiter.acquire("/api/v2/users")  # the quota holds it 40 s, then the slot is free
        await limiter.acquire("/api/v2/users")  # the limit holds it 10 s
    assert heard == [LimitWait(40, "quota"), LimitWait(10, "limit")]
    await limiter.acquire("/api/v2/users")  # outside the block: nobody is told
    assert len(heard) == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-used": "3", "x-allowed": "3"}, {"x-used": "a", "x-allowed": "3", "x-reset": "9"}],
)
async def test_quota_headers_that_are_missing_or_unreadable_hold_nothing(
    headers: dict[str, str],
) -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter([], quota=QUOTA, clock=clock, sleep=clock.sleep)
    limiter.observe(httpx.Headers(headers))
    await limiter.acquire("/api/v2/users")
    assert clock.now == 0


def test_a_remaining_header_counts_too_and_an_absurd_reset_is_capped() -> None:
    quota = QuotaHeaders(remaining="x-left", reset="x-reset", max_wait_seconds=60)
    assert quota.wait({"x-left": "0", "x-reset": "86400"}) == 60
    assert quota.wait({"x-left": "1", "x-reset": "5"}) is None
    with pytest.raises(ValueError, match="remaining"):
        QuotaHeaders(reset="x-reset", used="x-used")


async def test_limiter_ignores_paths_outside_its_prefix() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter([INCREMENTAL], clock=clock, sleep=clock.sleep)
    for _ in range(10):
        await limiter.acquire("/api/v2/tickets.json")
    assert clock.now == 0


async def test_limiter_serves_waiters_in_arrival_order() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter([RateLimit("/", 1, 10)], clock=clock, sleep=clock.sleep)
    granted: list[tuple[int, float]] = []

    async def take(n: int) -> None:
        await limiter.acquire("/api/v2/tickets.json")
        granted.append((n, clock.now))

    await asyncio.gather(*(take(n) for n in range(5)))
    assert granted == [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40)]


async def test_limiter_applies_before_every_retry_attempt(pauses: list[float]) -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def vendor_side(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return reply(503) if len(sent_at) == 1 else reply(200, {})

    limiter = SlidingWindowLimiter([RateLimit("/", 1, 60)], clock=clock, sleep=clock.sleep)
    transport = RateLimitedTransport(httpx.MockTransport(vendor_side), limiter)
    async with httpx.AsyncClient(base_url=BASE, transport=transport) as http:
        await request_json(http, "GET", "tickets.json", settings=FAST)
    assert sent_at == [0, 60]


async def test_client_shares_its_limits_across_streams_per_path_prefix(
    vendor: respx.MockRouter,
) -> None:
    incremental = vendor.get("incremental/tickets/cursor.json").mock(return_value=reply(200, {}))
    plain = vendor.get("users.json").mock(return_value=reply(200, {}))
    once_an_hour = [RateLimit("/api/v2/incremental/", 1, 3600)]
    async with create_client(BASE, auth=None, settings=FAST, limits=once_an_hour) as http:
        await request_json(http, "GET", "incremental/tickets/cursor.json", settings=FAST)
        waiting = asyncio.create_task(
            request_json(http, "GET", "incremental/tickets/cursor.json", settings=FAST)
        )
        await request_json(http, "GET", "users.json", settings=FAST)
        for _ in range(20):
            await asyncio.sleep(0)
        assert incremental.call_count == 1
        assert not waiting.done()
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    assert plain.call_count == 1


# -- logging ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("restore_root_logging")
async def test_debug_logs_of_a_request_show_no_token_or_cookie(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    output = io.StringIO()
    configure_logging(logging.DEBUG, stream=output)
    async with (
        loopback(
            raw_reply(
                200, b'{"tickets": []}', headers="Set-Cookie: sid=cookie-secret-42; Path=/\r\n"
            )
        ) as server,
        create_client(server.url, auth=StaticBearer("bearer-secret-99"), settings=FAST) as http,
    ):
        await request_json(
            http,
            "GET",
            "tickets.json",
            params={"access_token": "query-secret-7", "email": "jane.doe@example.com"},
            settings=FAST,
        )
    for text in (caplog.text, output.getvalue()):
        assert "GET /api/v2/tickets.json -> 200 (attempt 1)" in text
        assert "receive_response_headers" in text  # httpcore's DEBUG lines were captured
        for secret in ("bearer-secret-99", "cookie-secret-42", "query-secret-7", "jane.doe"):
            assert secret not in text


# -- writes that must not happen twice -------------------------------------------------------


async def test_post_without_idempotency_key_is_not_resent_after_a_5xx(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.post("tickets.json").mock(side_effect=[reply(503), reply(201, {"id": 1})])
    with pytest.raises(ConnectorError, match="not retried"):
        await request_json(client, "POST", "tickets.json", settings=FAST, json={"ticket": {}})
    assert route.call_count == 1


async def test_post_without_idempotency_key_is_not_resent_after_a_dropped_answer(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.post("tickets.json").mock(
        side_effect=[httpx.ReadError("connection reset"), reply(201, {"id": 1})]
    )
    with pytest.raises(ConnectorError, match="Idempotency-Key"):
        await request_json(client, "POST", "tickets.json", settings=FAST, json={})
    assert route.call_count == 1


async def test_post_that_never_reached_the_vendor_is_retried(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.post("tickets.json").mock(
        side_effect=[httpx.ConnectError("refused"), reply(201, {"id": 1})]
    )
    _, body = await request_json(client, "POST", "tickets.json", settings=FAST, json={})
    assert body == {"id": 1} and route.call_count == 2


async def test_post_with_idempotency_key_is_retried_like_a_read(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float]
) -> None:
    route = vendor.post("tickets.json").mock(side_effect=[reply(503), reply(201, {"id": 7})])
    _, body = await request_json(
        client, "POST", "tickets.json", settings=FAST, json={}, headers={"Idempotency-Key": "k1"}
    )
    assert body == {"id": 7} and route.call_count == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_write_marked_retry_safe_is_retried_after_a_500(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float], method: str
) -> None:
    route = vendor.request(method, "contacts/upsert").mock(
        side_effect=[reply(500), reply(200, {"id": 9})]
    )
    _, body = await request_json(
        client, method, "contacts/upsert", settings=FAST, json={}, retry_safe=True
    )
    assert body == {"id": 9} and route.call_count == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_an_unmarked_write_is_not_retried_after_a_500(
    client: httpx.AsyncClient, vendor: respx.MockRouter, pauses: list[float], method: str
) -> None:
    route = vendor.request(method, "contacts/upsert").mock(
        side_effect=[reply(500), reply(200, {"id": 9})]
    )
    with pytest.raises(ConnectorError, match="not marked retry_safe"):
        await request_json(client, method, "contacts/upsert", settings=FAST, json={})
    assert route.call_count == 1


# -- counting what is sent -------------------------------------------------------------------


async def test_counts_every_attempt_and_auth_resend_a_client_sends(
    vendor: respx.MockRouter, pauses: list[float]
) -> None:
    vendor.get("tickets.json").mock(side_effect=[reply(503), reply(429), reply(200, {})])
    expiring_vendor(vendor, [])
    async with create_client(BASE, auth=RotatingToken(), settings=FAST) as http:
        assert requests_sent(http) == 0
        await request_json(http, "GET", "tickets.json", settings=FAST)
        assert requests_sent(http) == 3
        await request_json(http, "GET", "me.json", settings=FAST)  # 401, refresh, resend
        assert requests_sent(http) == 5


async def test_a_request_waiting_for_the_rate_limiter_is_not_counted_yet(
    vendor: respx.MockRouter,
) -> None:
    vendor.get("users.json").mock(return_value=reply(200, {}))
    once_an_hour = [RateLimit("/api/v2/", 1, 3600)]
    async with create_client(BASE, auth=None, settings=FAST, limits=once_an_hour) as http:
        await request_json(http, "GET", "users.json", settings=FAST)
        waiting = asyncio.create_task(request_json(http, "GET", "users.json", settings=FAST))
        for _ in range(20):
            await asyncio.sleep(0)
        assert requests_sent(http) == 1
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    assert requests_sent(http) == 1


def test_reading_the_count_of_a_client_hub_http_did_not_build_says_so() -> None:
    with pytest.raises(ValueError, match=r"not built by hub\.http\.create_client"):
        requests_sent(httpx.AsyncClient())
