"""Genesys Cloud syncs over loopback: late changes, async-job backfills, token expiry, limits."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.genesys.sandbox.records import HISTORY_END
from connectors.genesys.sessions import customer_sessions
from hub.errors import AuthError
from hub.http import limiter as http_limiter
from hub.http import request as http_request
from hub.runtime import Hub
from hub.sandbox.clock import RunningClock
from hub.services import connections
from hub.sync import sync_connection
from hub.testing import FakeClock
from hub.testing.store import store_snapshot
from tests.connectors.genesys.conftest import Served, connect

Serve = Callable[..., AbstractAsyncContextManager[Served]]


def _interactions(snapshot: dict[Any, Any]) -> dict[Any, Any]:
    """The canonical fields of the stored sessions, keyed by session id."""
    return {key[1]: value[2] for key, value in snapshot.items() if key[0] == "conversation_session"}


async def test_a_conversation_changed_after_it_ended_is_updated_not_duplicated(
    hub: Hub, serve_genesys: Serve
) -> None:
    async with serve_genesys(records=40) as (app, running):
        await connect(hub, "gc", app, running)  # the default 72-hour lookback
        await sync_connection(hub, "gc")
        before = _interactions(await store_snapshot(hub, "gc", "conversations"))
        changed = app.mutate(1)
        results = await sync_connection(hub, "gc", streams=["conversations"])
        after = _interactions(await store_snapshot(hub, "gc", "conversations"))
    [key] = changed
    session = key.split("/", 1)[1]
    assert sorted(after) == sorted(before), "a re-read conversation must not add records"
    assert [r.counters.records_written for r in results] == [1]
    assert after[session]["score"] == "5" and before[session].get("score") is None
    assert after[session]["wrap_up_ref"] != before[session]["wrap_up_ref"]
    assert {k: v for k, v in after.items() if k != session} == {
        k: v for k, v in before.items() if k != session
    }


async def test_an_async_job_backfill_stores_the_interactions_of_the_paged_query(
    hub: Hub, serve_genesys: Serve
) -> None:
    async with serve_genesys(records=30) as (app, running):
        await connect(hub, "paged", app, running, async_backfill_days=1000)
        await connect(hub, "job", app, running, async_backfill_days=0)
        await sync_connection(hub, "paged", streams=["conversations"])
        assert app.details.submitted == 0
        await sync_connection(hub, "job", streams=["conversations"])
        assert app.details.submitted == 1
        paged = _interactions(await store_snapshot(hub, "paged", "conversations"))
        job = _interactions(await store_snapshot(hub, "job", "conversations"))
    assert len(paged) >= 25  # abandoned and unlinked sessions included
    assert job == paged


async def test_a_token_expiring_mid_run_is_renewed_and_the_run_continues(
    hub: Hub, serve_genesys: Serve
) -> None:
    clock = FakeClock(HISTORY_END)
    async with serve_genesys(records=30, clock=clock, token_ttl_seconds=600) as (app, running):
        await connect(hub, "gc", app, running)
        await connect(hub, "calm", app, running)
        await sync_connection(hub, "calm", streams=["conversations"])
        issued = app.issuer.issued
        aged: list[object] = []

        def age_the_token(result: object) -> None:
            # Once, after the first page: the sandbox's token is now expired, though the
            # client's clock says it is still good. (Every page would expire each new token
            # too, while the next page is being read ahead.)
            if not aged:
                aged.append(result)
                clock.advance(700)

        results = await sync_connection(
            hub, "gc", streams=["conversations"], progress=age_the_token
        )
        stored = _interactions(await store_snapshot(hub, "gc", "conversations"))
        calm = _interactions(await store_snapshot(hub, "calm", "conversations"))
    assert [r.error for r in results] == [None]
    assert app.issuer.issued - issued >= 2, "the expired token was not replaced"
    assert stored == calm


def _on_the_sandbox_clock(
    clock: RunningClock, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, Any]]:
    """Retry pauses and limiter holds recorded and passed on the sandbox's clock, unslept."""
    events: list[tuple[str, Any]] = []

    def passing(kind: str) -> Callable[[float], Awaitable[None]]:
        async def pause(seconds: float) -> None:
            events.append((kind, seconds))
            clock.advance(seconds)

        return pause

    monkeypatch.setattr(http_request, "_pause", passing("retry"))
    monkeypatch.setattr(http_limiter, "_wait", passing("hold"))
    return events


async def _sync_watching(hub: Hub, events: list[tuple[str, Any]], streams: list[str]) -> Any:
    async with hub.connection("gc") as connector:

        async def seen(response: httpx.Response) -> None:
            events.append(("response", response))

        connector.client.event_hooks["response"].append(seen)
        return await sync_connection(hub, "gc", streams=streams)


async def test_the_inin_ratelimit_headers_hold_requests_until_the_reset_before_any_429(
    hub: Hub, serve_genesys: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = RunningClock(start=1_800_000_000 - 30)  # half a minute before a window starts
    events = _on_the_sandbox_clock(clock, monkeypatch)
    async with serve_genesys(
        records=30, clock=clock, relaxed_limits=False, requests_per_minute=3
    ) as (app, running):
        await connect(hub, "gc", app, running, requests_per_minute=10_000, page_size=1)
        results = await _sync_watching(hub, events, ["users", "queues"])
    assert [r.error for r in results] == [None, None]
    answers = [value for kind, value in events if kind == "response"]
    assert len(answers) >= 9 and all(a.status_code == 200 for a in answers)
    holds = [i for i, (kind, _) in enumerate(events) if kind == "hold"]
    assert holds, "the client never waited for the window to reset"
    for i in holds:  # each hold follows an answer that spent the window, and lasts its reset
        spent = events[i - 1][1]
        assert spent.headers["inin-ratelimit-count"] == spent.headers["inin-ratelimit-allowed"]
        reset = float(spent.headers["inin-ratelimit-reset"])
        assert reset - 1 < events[i][1] <= reset  # the reset, less the time already gone by


async def test_a_429_without_retry_after_waits_for_the_ratelimit_reset(
    hub: Hub, serve_genesys: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = RunningClock(start=1_800_000_000 - 30)
    events = _on_the_sandbox_clock(clock, monkeypatch)
    async with serve_genesys(
        records=30, clock=clock, relaxed_limits=False, requests_per_minute=3
    ) as (app, running):
        for _ in range(3):  # another client of the same OAuth client spent the window
            app.limiter.take()
        await connect(hub, "gc", app, running, requests_per_minute=10_000)
        results = await _sync_watching(hub, events, ["queues"])
    assert [r.error for r in results] == [None]
    refused = events[0][1]
    assert refused.status_code == 429 and "retry-after" not in refused.headers
    assert refused.json()["code"] == "too.many.requests"
    assert events[1][0] == "retry"
    assert events[1][1] >= float(refused.headers["inin-ratelimit-reset"])
    answers = [value for kind, value in events[2:] if kind == "response"]
    assert answers and all(a.status_code == 200 for a in answers)


async def test_a_callers_number_finds_the_contact_and_the_calls_it_made(
    hub: Hub, serve_genesys: Serve
) -> None:
    from connectors.genesys.sessions import customer_sessions
    from hub.services.customers import find_customers

    async with serve_genesys(records=30) as (app, running):
        await connect(hub, "gc", app, running)
        await sync_connection(hub, "gc", streams=["conversations", "external_contacts"])
    records = app.records
    calls = [
        s
        for i in range(records.sizes.conversations)
        for s in customer_sessions(records.conversation(i))
        if s["customerPhones"] and s["externalContactId"]
    ]
    call = calls[0]
    found = await find_customers(hub, email=None, phone=call["customerPhones"][0])
    kinds = {(r["object_type"], r["external_id"]) for r in found}
    assert ("external_contact", call["externalContactId"]) in kinds
    assert ("conversation_session", call["sessionId"]) in kinds


def _all_sessions(app: Any) -> set[str]:
    records = app.records
    return {
        session["sessionId"]
        for i in range(records.sizes.conversations)
        for session in customer_sessions(records.conversation(i))
    }


async def test_reads_reach_genesys_now_whatever_the_machines_clock_says(
    hub: Hub, serve_genesys: Serve
) -> None:
    # The sandbox's clock is years away from this machine's: only intervals that end at the
    # server's Date, not at our now, read its month of calls.
    clock = RunningClock(start=1_900_000_000)
    async with serve_genesys(records=30, clock=clock) as (app, running):
        await connect(hub, "gc", app, running)  # a 31-day backfill limit: the paged query
        [result] = await sync_connection(hub, "gc", streams=["conversations"])
        stored = _interactions(await store_snapshot(hub, "gc", "conversations"))
    assert result.error is None
    assert app.details.submitted == 0, "the server's clock makes this a month, not a backfill"
    assert set(stored) == _all_sessions(app)


async def test_an_incremental_run_queries_only_the_lookback_before_the_newest_conversation(
    hub: Hub, serve_genesys: Serve
) -> None:
    async with serve_genesys(records=30) as (app, running):
        await connect(hub, "gc", app, running, lookback_hours=48)
        await sync_connection(hub, "gc", streams=["conversations"])
        intervals: list[str] = []
        async with hub.connection("gc") as connector:

            async def seen(request: httpx.Request) -> None:
                if request.url.path.endswith("/details/query"):
                    intervals.append(json.loads(request.content)["interval"])

            connector.client.event_hooks["request"].append(seen)
            [again] = await sync_connection(hub, "gc", streams=["conversations"])
    newest = max(
        datetime.fromisoformat(app.records.conversation(i)["conversationStart"])
        for i in range(app.records.sizes.conversations)
    )
    starts = sorted(datetime.fromisoformat(i.split("/")[0]) for i in intervals)
    assert intervals and starts[0] == newest - timedelta(hours=48)
    assert again.counters.records_written == 0, "re-read unchanged sessions were written"


async def test_a_wrong_client_secret_fails_the_check_with_the_code_and_not_the_secret(
    hub: Hub, serve_genesys: Serve
) -> None:
    async with serve_genesys() as (app, running):
        await connect(hub, "gc", app, running, client_secret="not-the-secret")
        with pytest.raises(AuthError) as refused:
            await connections.test_connection(hub, "gc")
    message = str(refused.value)
    assert "refused the client_credentials grant (400 invalid_client: authentication failed)" in (
        message
    )
    assert "not-the-secret" not in message and app.credentials["client_secret"] not in message


async def test_a_backfill_job_stops_at_data_availability_and_the_next_run_queries_the_rest(
    hub: Hub, serve_genesys: Serve
) -> None:
    lag = 2 * 86_400  # the analytics pipeline is two days behind the newest conversations
    clock = FakeClock(HISTORY_END)  # still: the availability date stays put
    async with serve_genesys(records=40, clock=clock, job_data_lag_seconds=lag) as (
        app,
        running,
    ):
        await connect(hub, "gc", app, running, async_backfill_days=10)
        await connect(hub, "paged", app, running, async_backfill_days=1000)
        jobs: list[str] = []
        async with hub.connection("gc") as connector:

            async def seen(request: httpx.Request) -> None:
                if request.method == "POST" and request.url.path.endswith("/details/jobs"):
                    jobs.append(json.loads(request.content)["interval"])

            connector.client.event_hooks["request"].append(seen)
            await sync_connection(hub, "gc", streams=["conversations"])  # 30 days: a job
            backfilled = _interactions(await store_snapshot(hub, "gc", "conversations"))
            await sync_connection(hub, "gc", streams=["conversations"])  # days: the query
        await sync_connection(hub, "paged", streams=["conversations"])
        stored = _interactions(await store_snapshot(hub, "gc", "conversations"))
        paged = _interactions(await store_snapshot(hub, "paged", "conversations"))
    [interval] = jobs
    assert datetime.fromisoformat(interval.split("/")[1]).timestamp() == HISTORY_END - lag
    assert app.details.submitted == 1, "the run after the backfill should have queried"
    assert len(backfilled) < len(paged), "the job held conversations past its availability"
    assert stored == paged
