"""A Zendesk that misbehaves on the wire cannot hang, bloat or fool a sync: a cursor that does
not move, an HTML page, a trickled or endless body and an endless export each end the run in
bounded time with an error naming stream and cause, and the store stays as the last good page
left it; behind a base URL with a path, the export's rate limit still holds (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.runtime import Hub
from hub.services.sandboxes import connect_sandbox
from hub.store.runs import load_state
from hub.sync import StreamResult, sync_connection
from tests.connectors.zendesk.support import UNLIMITED
from tests.misbehaving import MisbehavingVendor, Reply, Request, answer, flood, trickle
from tests.support import store_snapshot

EXPORT = "/api/v2/incremental/tickets/cursor.json"
MiB = 1024 * 1024


def ticket(number: int) -> dict[str, Any]:
    return {
        "id": number,
        "subject": f"Ticket {number}",
        "status": "open",
        "priority": "normal",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-02T00:00:00Z",
        "generated_timestamp": 1704153600 + number,
        "tags": [],
    }


def export_page(numbers: list[int], cursor: str, *, last: bool = False) -> dict[str, Any]:
    return {"tickets": [ticket(n) for n in numbers], "after_cursor": cursor, "end_of_stream": last}


class Vendor:
    """The reply of the moment, switched by the test between runs."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply

    async def __call__(self, request: Request, writer: asyncio.StreamWriter) -> None:
        await self.reply(request, writer)


@pytest.fixture
async def vendor(hub: Hub) -> AsyncIterator[tuple[Vendor, MisbehavingVendor]]:
    """Connection "zd" to a misbehaving server that first answers one good export page."""
    switch = Vendor(answer(lambda request: export_page([1], "c1", last=True)))
    async with MisbehavingVendor(switch) as server:
        config = {
            "base_url": server.base_url,
            "email": "ops@example.com",
            "token": "not-a-real-token",
            "incremental_requests_per_minute": UNLIMITED,
            "requests_per_minute": UNLIMITED,
            "http": {
                "max_attempts": 2,
                "backoff_base_seconds": 0,
                "request_deadline_seconds": 0.5,
                "max_body_bytes": MiB,
            },
        }
        await connect_sandbox(hub, "zd", "zendesk", config)
        yield switch, server


async def sync_tickets(hub: Hub) -> tuple[StreamResult, float]:
    started = time.monotonic()
    (result,) = await sync_connection(hub, "zd", streams=["tickets"], raise_errors=False)
    return result, time.monotonic() - started


async def stored(hub: Hub) -> tuple[list[str], dict[str, Any] | None]:
    """The stored tickets' ids and the stream's state."""
    snapshot = await store_snapshot(hub, "zd")
    async with hub.engine.connect() as conn:
        state = await load_state(conn, "zd", "tickets")
    return sorted(external_id for _, external_id in snapshot), state


@pytest.mark.parametrize(
    ("cursors", "kept", "repeated"),
    [(["c1", "c1"], ["1"], "c1"), (["c1", "c2", "c1"], ["1", "2"], "c1")],
    ids=["cursor that never moves", "cursor that returns to an earlier one"],
)
async def test_an_export_cursor_that_does_not_advance_fails_naming_stream_and_cursor(
    hub: Hub,
    vendor: tuple[Vendor, MisbehavingVendor],
    cursors: list[str],
    kept: list[str],
    repeated: str,
) -> None:
    switch, server = vendor

    def page(request: Request) -> dict[str, Any]:
        served = len(server.requests)  # this request included
        return export_page([served], cursors[min(served, len(cursors)) - 1])

    switch.reply = answer(page)
    result, seconds = await sync_tickets(hub)

    assert seconds < 10
    assert result.status == "failed"
    assert result.error == (
        f"zd/tickets: {EXPORT} did not move past cursor {repeated}: the vendor pointed back "
        "to a page it had already sent"
    )
    assert len(server.requests) == len(cursors)
    ids, state = await stored(hub)
    assert ids == kept  # the page pointing back was not written
    assert state is not None and state["next"] == cursors[-2]


@pytest.mark.parametrize(
    ("numbers", "why"),
    [
        ([7], "the vendor answered it with the same records as the page before"),
        (
            [],
            "the vendor answered 11 empty pages in a row, each with a new position and none "
            "moving the cursor",
        ),
    ],
    ids=["same records", "empty pages"],
)
async def test_an_export_with_a_new_cursor_on_every_page_but_the_same_content_fails_naming_it(
    hub: Hub, vendor: tuple[Vendor, MisbehavingVendor], numbers: list[int], why: str
) -> None:
    switch, server = vendor
    good, _ = await sync_tickets(hub)
    assert good.status == "succeeded"
    sent = len(server.requests)

    def page(request: Request) -> dict[str, Any]:
        return export_page(numbers, f"c{len(server.requests)}")  # new each time, forever

    switch.reply = answer(page)
    result, seconds = await sync_tickets(hub)

    assert seconds < 10
    assert result.status == "failed"
    repeated = len(server.requests) - 1  # the cursor of the request that repeated its page
    assert result.error == f"zd/tickets: {EXPORT} did not move past cursor c{repeated}: {why}"
    assert len(server.requests) - sent == (2 if numbers else 11)
    ids, state = await stored(hub)
    assert ids == sorted({"1", *(str(n) for n in numbers)})  # the first page was committed
    assert state is not None and state["next"] == f"c{repeated}"  # the repeat was not


async def misbehave_after_a_good_run(
    hub: Hub, vendor: tuple[Vendor, MisbehavingVendor], reply: Reply
) -> tuple[StreamResult, float]:
    """One good run, then a run against ``reply``; asserts the second changed nothing."""
    switch, _ = vendor
    good, _ = await sync_tickets(hub)
    assert good.status == "succeeded"
    before = await stored(hub), await store_snapshot(hub, "zd")
    switch.reply = reply
    result, seconds = await sync_tickets(hub)
    assert (await stored(hub), await store_snapshot(hub, "zd")) == before
    assert result.status == "failed"
    return result, seconds


async def test_json_served_as_an_html_page_fails_the_run_and_writes_nothing(
    hub: Hub, vendor: tuple[Vendor, MisbehavingVendor]
) -> None:
    html = answer(lambda request: export_page([7], "c2", last=True), content_type="text/html")
    result, seconds = await misbehave_after_a_good_run(hub, vendor, html)

    assert seconds < 10
    assert result.error is not None
    assert result.error.startswith(f"zd/tickets: GET {EXPORT} answered 200 with an HTML page")
    assert "a proxy or a login page answered" in result.error


async def test_a_trickled_export_ends_at_the_request_deadline_and_writes_nothing(
    hub: Hub, vendor: tuple[Vendor, MisbehavingVendor]
) -> None:
    slow = trickle(export_page([7], "c2", last=True), pause=0.2)
    result, seconds = await misbehave_after_a_good_run(hub, vendor, slow)

    assert seconds < 10
    assert result.error == (
        f"zd/tickets: GET {EXPORT} gave up after 2 attempt(s); last error: no complete answer "
        "within the 0.5 s request deadline (http.request_deadline_seconds)"
    )


async def test_an_endless_export_body_stops_at_the_size_limit_and_writes_nothing(
    hub: Hub, vendor: tuple[Vendor, MisbehavingVendor]
) -> None:
    result, seconds = await misbehave_after_a_good_run(hub, vendor, flood(size=None))

    assert seconds < 10
    assert result.error is not None
    assert f"GET {EXPORT} answered with a body larger than the 1 MiB limit" in result.error


async def test_a_run_past_its_deadline_stops_keeping_its_pages_and_the_next_resumes(
    hub: Hub, vendor: tuple[Vendor, MisbehavingVendor]
) -> None:
    switch, server = vendor
    hub.settings = hub.settings.model_copy(update={"stream_run_deadline_seconds": 1.0})

    async def endless_export(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.1)  # every page is well within the request deadline
        served = len(server.requests)
        await answer(lambda _: export_page([served], f"c{served}"))(request, writer)

    switch.reply = endless_export
    result, seconds = await sync_tickets(hub)

    assert seconds < 10
    assert result.status == "failed"
    assert result.error == (
        "zd/tickets: the run stopped at its 1 s deadline (stream_run_deadline_seconds); the "
        "pages committed so far are kept and the next run resumes after them"
    )
    ids, state = await stored(hub)
    assert state is not None and len(ids) == result.counters.pages >= 2
    assert state["next"] == f"c{len(ids)}"

    switch.reply = answer(lambda request: export_page([], "end", last=True))
    resumed, _ = await sync_tickets(hub)
    assert resumed.status == "succeeded"
    assert server.requests[-1].query["cursor"] == f"c{len(ids)}"


async def test_the_export_limit_holds_when_the_base_url_has_a_tenant_path(hub: Hub) -> None:
    endless = answer(lambda request: export_page([len(server.requests)], "c"))
    async with MisbehavingVendor(endless, base_path="/tenant") as server:
        config = {
            "base_url": server.base_url,
            "email": "ops@example.com",
            "token": "not-a-real-token",
            "incremental_requests_per_minute": 1,
            "requests_per_minute": UNLIMITED,
        }
        await connect_sandbox(hub, "zd", "zendesk", config)
        with pytest.raises(TimeoutError):  # the second export request waits a minute
            await asyncio.wait_for(sync_tickets(hub), timeout=1.5)

    assert [r.path for r in server.requests] == [f"/tenant{EXPORT}"]
    ids, state = await stored(hub)
    assert ids == ["1"] and state is not None and state["next"] == "c"
