"""The request pipeline, observed by an httpx client over ASGITransport."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hub.sandbox.limits import LimitDecision, RollingWindowLimiter, WindowLimiter
from hub.sandbox.pipeline import Decisions, Limit, RequestPipeline, VendorApiError

START = 1_000_040.0  # 20 s into a minute window


def _authenticate(request: Request) -> Response | None:
    if request.headers.get("authorization") == "Key good":
        return None
    return JSONResponse({"fault": "who are you"}, 401)


def _limit(name: str, per_minute: int) -> Limit:
    def refuse(decision: LimitDecision, taken: Decisions) -> Response:
        headers = {"Retry-After": str(decision.reset_after), "X-Taken": ",".join(taken)}
        return PlainTextResponse(f"{name} spent", 429, headers)

    return Limit(name, WindowLimiter(per_minute, clock=lambda: START), refuse)


def _render(error: VendorApiError) -> Response:
    body = {"fault": error.code, "why": error.message, "more": error.details}
    return JSONResponse(body, error.status)


def _headers(decisions: Decisions) -> Mapping[str, str]:
    return {f"x-left-{name}": str(d.remaining) for name, d in decisions.items()}


def _client(*, account: int = 2, export: int = 2) -> tuple[httpx.AsyncClient, list[str]]:
    calls: list[str] = []

    async def ok(request: Request) -> Response:
        calls.append("ok")
        return JSONResponse({"ok": True})

    async def broken(request: Request) -> Response:
        calls.append("broken")
        raise VendorApiError(422, "Invalid", "name is blank", {"name": ["blank"]})

    pipeline = RequestPipeline(
        authenticate=_authenticate,
        render_error=_render,
        limits=[_limit("account", account)],
        headers=_headers,
    )
    app = Starlette(
        routes=[
            Route("/ok", pipeline.wrap(ok)),
            Route("/broken", pipeline.wrap(broken)),
            Route("/export", pipeline.wrap(ok, extra_limits=[_limit("export", export)])),
        ]
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sandbox",
        headers={"Authorization": "Key good"},
    )
    return client, calls


async def test_unauthenticated_requests_get_the_vendor_refusal_and_never_reach_the_handler() -> (
    None
):
    client, calls = _client()
    async with client:
        response = await client.get("/ok", headers={"Authorization": "Key bad"})
    assert response.status_code == 401
    assert response.json() == {"fault": "who are you"}
    assert calls == []


async def test_handler_errors_are_rendered_in_the_vendor_shape_with_rate_headers() -> None:
    client, calls = _client()
    async with client:
        response = await client.get("/broken")
    assert response.status_code == 422
    assert response.json() == {
        "fault": "Invalid",
        "why": "name is blank",
        "more": {"name": ["blank"]},
    }
    assert response.headers["x-left-account"] == "1"
    assert calls == ["broken"]


async def test_a_spent_limit_answers_429_before_the_handler_runs() -> None:
    client, calls = _client(account=2)
    async with client:
        responses = [await client.get("/ok") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers.get("x-left-account") for r in responses] == ["1", "0", None]
    assert responses[2].text == "account spent"
    assert responses[2].headers["retry-after"] == "40"  # the window ends on the whole minute
    assert calls == ["ok", "ok"]


async def test_an_endpoint_limit_is_taken_after_the_shared_ones_and_sees_their_decisions() -> None:
    client, calls = _client(account=10, export=1)
    async with client:
        first = await client.get("/export")
        refused = await client.get("/export")
        other = await client.get("/ok")
    assert [first.status_code, refused.status_code, other.status_code] == [200, 429, 200]
    assert first.headers["x-left-export"] == "0"
    assert refused.text == "export spent"
    assert refused.headers["x-taken"] == "account"
    assert other.headers["x-left-account"] == "7"  # the refused export still used the account
    assert calls == ["ok", "ok"]


def test_a_rolling_window_frees_each_request_one_window_after_it_was_made() -> None:
    now = [START]
    limiter = RollingWindowLimiter(2, window_seconds=60, buckets=60, clock=lambda: now[0])

    assert limiter.take().allowed
    now[0] += 30
    second = limiter.take()
    assert (second.allowed, second.remaining, second.reset_after) == (True, 0, 30)
    assert not limiter.take().allowed  # a new minute began: a fixed window would allow it
    now[0] += 30
    assert limiter.peek().remaining == 1  # the first request left the window
    assert limiter.take().allowed
    assert not limiter.take().allowed
