"""Fault specs and the fault-injecting middleware, observed by a real client over loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub.sandbox import FaultSpec, RunningSandbox, SandboxApp, serve_in_background
from hub.sandbox.faults import FaultResponder


class _Responder(FaultResponder):
    def rate_limited(self, retry_after: float) -> Response:
        return JSONResponse({"e": "slow down"}, 429, {"Retry-After": f"{retry_after:.2f}"})

    def server_error(self, status: int) -> Response:
        return JSONResponse({"e": "boom"}, status)

    def token_expired(self) -> Response:
        return JSONResponse({"e": "expired"}, 401)


class _EchoSandbox(SandboxApp):
    """A minimal vendor: GET /things returns a list, POST /things counts writes."""

    vendor = "echo"

    def __init__(self, faults: str | None) -> None:
        super().__init__(seed=3, faults=faults, credentials={"token": "t"})
        self.writes = 0

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/things", self._list, methods=["GET"]),
            Route("/things", self._write, methods=["POST"]),
        ]

    async def _list(self, request: Request) -> Response:
        return JSONResponse({"things": [{"id": i, "name": "thing"} for i in range(50)]})

    async def _write(self, request: Request) -> Response:
        self.writes += 1
        return JSONResponse({"written": self.writes}, 201)

    def fault_responder(self) -> FaultResponder:
        return _Responder()

    def mutate(self, count: int) -> list[str]:
        return [f"thing/{i}" for i in range(count)]

    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        return {"base_url": base_url}


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("429=0.1,boom=0.1", "'boom=0.1'"),
        ("429=lots", "'429=lots'"),
        ("500=1.5", "'500=1.5'"),
        ("429", "'429'"),
        ("500=0.1,500=0.2", "'500=0.2'"),
    ],
)
def test_rejects_a_bad_spec_item_by_name(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        FaultSpec.parse(spec)


def test_rejects_shares_adding_up_to_more_than_one() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        FaultSpec.parse("429=0.6,500=0.6")


def test_empty_spec_injects_nothing() -> None:
    spec = FaultSpec.parse("")
    assert [spec.pick(1, n) for n in range(100)] == [None] * 100


def test_same_seed_faults_the_same_requests_and_another_seed_does_not() -> None:
    spec = FaultSpec.parse("429=0.05,500=0.02,reset=0.01,slow=0.02,truncate=0.01,expire=0.01")
    first = [spec.pick(42, n) for n in range(2000)]
    assert first == [spec.pick(42, n) for n in range(2000)]
    assert first != [spec.pick(43, n) for n in range(2000)]


def test_each_fault_gets_about_its_share_of_requests() -> None:
    spec = FaultSpec.parse("429=0.10,500=0.05")
    picks = [spec.pick(7, n) for n in range(20_000)]
    assert 0.09 < picks.count("429") / len(picks) < 0.11
    assert 0.04 < picks.count("500") / len(picks) < 0.06


@contextlib.asynccontextmanager
async def _serving(sandbox: SandboxApp) -> AsyncIterator[tuple[RunningSandbox, httpx.AsyncClient]]:
    async with (
        serve_in_background(sandbox) as served,
        httpx.AsyncClient(
            base_url=served.base_url, headers={"Authorization": "Bearer test-access-token"}
        ) as client,
    ):
        yield served, client


async def _get(sandbox: _EchoSandbox, method: str = "GET") -> httpx.Response:
    async with _serving(sandbox) as (_, client):
        return await client.request(method, "/things")


@pytest.mark.parametrize(
    ("kind", "status"), [("500", 500), ("502", 502), ("503", 503), ("expire", 401)]
)
async def test_error_faults_answer_with_the_vendor_error(kind: str, status: int) -> None:
    response = await _get(_EchoSandbox(f"{kind}=1"))
    assert response.status_code == status


async def test_expire_fault_spares_credentials_that_cannot_expire() -> None:
    sandbox = _EchoSandbox("expire=1")
    async with serve_in_background(sandbox) as served, httpx.AsyncClient() as client:
        response = await client.get(f"{served.base_url}/things", auth=("user", "api-key"))
    assert response.status_code == 200


async def test_rate_limit_fault_says_when_to_retry() -> None:
    response = await _get(_EchoSandbox("429=1"))
    assert response.status_code == 429
    assert 0 <= float(response.headers["retry-after"]) <= 1


async def test_reset_fault_drops_the_connection_without_an_answer() -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await _get(_EchoSandbox("reset=1"))


async def test_truncate_fault_sends_less_body_than_announced() -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await _get(_EchoSandbox("truncate=1"))


async def test_slow_fault_still_answers_correctly() -> None:
    sandbox = _EchoSandbox("slow=1")
    response = await _get(sandbox)
    assert response.status_code == 200
    assert len(response.json()["things"]) == 50
    assert sandbox.stats.faults == {"slow": 1}


@pytest.mark.parametrize("kind", ["500", "429", "reset", "truncate", "expire"])
async def test_a_faulted_write_is_not_performed(kind: str) -> None:
    sandbox = _EchoSandbox(f"{kind}=1")
    with contextlib.suppress(httpx.TransportError):
        await _get(sandbox, "POST")
    assert sandbox.writes == 0


async def test_control_endpoints_are_never_faulted_and_count_faults() -> None:
    sandbox = _EchoSandbox("500=1")
    async with _serving(sandbox) as (_, client):
        await client.get("/things")
        await client.get("/things")
        stats = await client.get("/_sandbox/stats")
        mutated = await client.post("/_sandbox/mutate", json={"count": 2})
    assert stats.status_code == 200
    assert stats.json() == {
        "vendor": "echo",
        "requests": 2,
        "faults": {"500": 2},
        "faults_total": 2,
    }
    assert mutated.json() == {"ids": ["thing/0", "thing/1"]}


async def test_mutate_rejects_a_count_that_is_not_a_small_integer() -> None:
    async with _serving(_EchoSandbox(None)) as (_, client):
        response = await client.post("/_sandbox/mutate", json={"count": "many"})
    assert response.status_code == 400
    assert "count" in response.json()["error"]
