"""The evidence the contract suite judges retries and tokens by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from hub.testing.traffic import Exchange, Pause, Traffic, retry_after_seconds


def _limited(retry_after: float | None, status: int = 429) -> Exchange:
    return Exchange("GET", "/things", status, retry_after, authorization=None)


def test_retry_after_reads_delta_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_seconds(later) or 0) <= 30


def test_a_pause_shorter_than_retry_after_is_reported() -> None:
    traffic = Traffic([_limited(2.0), Pause(1.5), _limited(None, 200)])
    [failure] = traffic.unhonoured_retry_afters()
    assert "asked 2 s, waited 1.5 s" in failure


def test_a_request_sent_at_once_after_retry_after_is_reported() -> None:
    traffic = Traffic([_limited(1.0), _limited(None, 200)])
    assert traffic.unhonoured_retry_afters() == ["GET /things -> 429: retried at once"]


def test_pauses_of_at_least_retry_after_pass_and_successes_ask_for_nothing() -> None:
    traffic = Traffic([_limited(1.0), Pause(1.05), _limited(5.0, 200), _limited(None, 200)])
    assert traffic.unhonoured_retry_afters() == []


async def test_watching_a_client_records_its_responses_and_bearer_tokens() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer one":
            return httpx.Response(429, headers={"Retry-After": "1"})
        return httpx.Response(200, json={})

    traffic = Traffic()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        traffic.watch(client)
        for token in ("one", "two", "two"):
            await client.get("https://vendor.test/x", headers={"Authorization": f"Bearer {token}"})
    assert [(e.status, e.retry_after) for e in traffic.exchanges] == [
        (429, 1.0),
        (200, None),
        (200, None),
    ]
    assert len(traffic.bearer_tokens()) == 2
    assert {"Bearer one", "one", "Bearer two", "two"} == traffic.authorizations()


async def test_skipped_pauses_are_recorded_instead_of_slept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hub.http.request

    traffic = Traffic()
    traffic.skip_pauses(monkeypatch)
    await hub.http.request._pause(3600)
    assert traffic.events == [Pause(3600)]
