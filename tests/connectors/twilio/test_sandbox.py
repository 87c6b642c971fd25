"""The Twilio sandbox as Twilio's own clients see it: the official ``twilio`` SDK lists
messages, calls and conversations and sends a message; paging, errors, 429s, sids, dates and
status changes over time as Twilio has them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import pytest

from connectors.twilio.sandbox import TwilioSandbox
from connectors.twilio.sandbox.records import WORLD_PROFILE
from hub.sandbox.data import world
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.testing import FakeClock

T = TypeVar("T")
SID = re.compile(r"(SM|CA|CH|AC|MG|IS|PN)[0-9a-f]{32}")


@pytest.fixture
async def served() -> AsyncIterator[tuple[TwilioSandbox, RunningSandbox]]:
    app = TwilioSandbox(records=30, seed=5, relaxed_limits=True)
    async with serve_in_background(app) as running:
        yield app, running


def sdk_call(
    app: TwilioSandbox, running: RunningSandbox, use: Callable[[Any], T], *, api_key: bool = False
) -> asyncio.Future[T]:
    """Run ``use(client)`` with an unmodified ``twilio.rest.Client`` pointed at the sandbox,
    in a thread (the SDK is synchronous; the sandbox serves in this loop)."""
    from twilio.rest import Client

    creds = app.credentials

    def in_thread() -> T:
        if api_key:
            client = Client(creds["api_key_sid"], creds["api_key_secret"], creds["account_sid"])
        else:
            client = Client(creds["account_sid"], creds["auth_token"])
        client.api.base_url = running.base_url
        client.conversations.base_url = running.base_url
        return use(client)

    return asyncio.ensure_future(asyncio.to_thread(in_thread))


def basic(app: TwilioSandbox) -> httpx.BasicAuth:
    return httpx.BasicAuth(app.credentials["account_sid"], app.credentials["auth_token"])


# -- the official SDK -----------------------------------------------------------------------


async def test_the_twilio_sdk_lists_every_message_and_call_across_pages(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    app, running = served
    messages = await sdk_call(app, running, lambda c: c.messages.list(page_size=7))
    calls = await sdk_call(app, running, lambda c: c.calls.list(page_size=4), api_key=True)

    assert len(messages) == app.data.counts["message"] and len(calls) == app.data.counts["call"]
    assert len({m.sid for m in messages}) == len(messages)
    # Newest first, dates parsed by the SDK from RFC 2822.
    sent = [m.date_sent for m in messages]
    assert sent == sorted(sent, reverse=True) and sent[0].tzinfo is not None
    assert {m.status for m in messages} >= {"delivered", "received"}
    assert all(c.start_time is not None and SID.fullmatch(c.sid) for c in calls)


async def test_the_twilio_sdk_filters_messages_by_date_sent_and_calls_by_start_time(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    app, running = served
    middle = parsedate_to_datetime(app.data.message(15)["date_sent"])
    later = await sdk_call(app, running, lambda c: c.messages.list(date_sent_after=middle))
    assert later and all(m.date_sent >= middle for m in later)
    assert len(later) == sum(
        parsedate_to_datetime(app.data.message(i)["date_sent"]) >= middle for i in range(30)
    )
    start = parsedate_to_datetime(app.data.call(10)["start_time"])
    calls = await sdk_call(app, running, lambda c: c.calls.list(start_time_after=start))
    assert calls and all(call.start_time >= start for call in calls)


async def test_the_twilio_sdk_lists_conversations_by_their_absolute_next_page_url(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    app, running = served
    found = await sdk_call(
        app, running, lambda c: c.conversations.v1.conversations.list(page_size=2)
    )
    assert len(found) == app.data.counts["conversation"]
    assert all(SID.fullmatch(c.sid) and c.date_created.tzinfo is not None for c in found)


async def test_the_twilio_sdk_sends_a_message_and_fetches_it_back(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    app, running = served
    sent = await sdk_call(
        app,
        running,
        lambda c: c.messages.create(to="+15005550006", from_="+15017122661", body="Hi"),
    )
    again = await sdk_call(app, running, lambda c: c.messages(sent.sid).fetch())

    assert SID.fullmatch(sent.sid) and sent.status == "queued" and sent.direction == "outbound-api"
    assert again.sid == sent.sid and again.body == "Hi"


async def test_the_twilio_sdk_raises_twilio_s_error_code_for_a_bad_number(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    from twilio.base.exceptions import TwilioRestException

    app, running = served
    with pytest.raises(TwilioRestException) as caught:
        await sdk_call(
            app, running, lambda c: c.messages.create(to="12", from_="+15017122661", body="x")
        )
    assert caught.value.code == 21211 and caught.value.status == 400


# -- the wire, as Twilio has it -----------------------------------------------------------------


async def test_pages_link_the_next_one_by_a_relative_uri_with_page_and_page_token(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    app, running = served
    path = f"/2010-04-01/Accounts/{app.credentials['account_sid']}/Messages.json"
    async with httpx.AsyncClient(base_url=running.base_url, auth=basic(app)) as client:
        first = (await client.get(path, params={"PageSize": 10})).json()
        second = (await client.get(first["next_page_uri"])).json()
        capped = (await client.get(path, params={"PageSize": 5000})).json()

    assert first["next_page_uri"].startswith(f"{path}?")
    assert "Page=1" in first["next_page_uri"]
    assert f"PageToken=PA{first['messages'][-1]['sid']}" in first["next_page_uri"]
    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 10, 0, 9)
    assert (second["page"], second["start"]) == (1, 10)
    assert not {m["sid"] for m in first["messages"]} & {m["sid"] for m in second["messages"]}
    assert capped["page_size"] == 1000 and capped["next_page_uri"] is None


async def test_errors_have_twilio_s_code_message_more_info_and_status(
    served: tuple[TwilioSandbox, RunningSandbox],
) -> None:
    app, running = served
    account = app.credentials["account_sid"]
    wrong = httpx.BasicAuth(account, "0" * 32)
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        refused = await client.get(f"/2010-04-01/Accounts/{account}.json", auth=wrong)
        missing = await client.get(
            f"/2010-04-01/Accounts/{account}/Messages/SM{'0' * 32}.json", auth=basic(app)
        )
        no_body = await client.post(
            f"/2010-04-01/Accounts/{account}/Messages.json",
            data={"To": "+15005550006", "From": "+15017122661"},
            auth=basic(app),
        )
    for response, status, code in (
        (refused, 401, 20003),
        (missing, 404, 20404),
        (no_body, 400, 21602),
    ):
        body = response.json()
        assert response.status_code == status == body["status"]
        assert body["code"] == code and body["message"]
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


async def test_spent_requests_answer_429_with_code_20429_and_no_retry_after() -> None:
    clock = FakeClock()
    app = TwilioSandbox(records=5, seed=1, requests_per_second=2, clock=clock)
    path = f"/2010-04-01/Accounts/{app.credentials['account_sid']}.json"
    async with (
        serve_in_background(app) as running,
        httpx.AsyncClient(base_url=running.base_url, auth=basic(app)) as client,
    ):
        answers = [await client.get(path) for _ in range(3)]
        clock.advance(1)
        after = await client.get(path)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == 20429 and "retry-after" not in answers[2].headers
    assert after.status_code == 200


async def test_injected_429s_come_with_and_without_retry_after() -> None:
    app = TwilioSandbox(records=5, seed=1, relaxed_limits=True, faults="429=1")
    path = f"/2010-04-01/Accounts/{app.credentials['account_sid']}.json"
    async with (
        serve_in_background(app) as running,
        httpx.AsyncClient(base_url=running.base_url, auth=basic(app)) as client,
    ):
        answers = [await client.get(path) for _ in range(4)]
    assert {a.status_code for a in answers} == {429}
    assert {a.json()["code"] for a in answers} == {20429}
    assert ["retry-after" in a.headers for a in answers] == [True, False, True, False]


async def test_a_sent_message_moves_from_queued_to_sent_to_delivered_over_time() -> None:
    clock = FakeClock()
    app = TwilioSandbox(records=5, seed=1, relaxed_limits=True, delivery_seconds=2, clock=clock)
    account = app.credentials["account_sid"]
    async with (
        serve_in_background(app) as running,
        httpx.AsyncClient(base_url=running.base_url, auth=basic(app)) as client,
    ):
        created = (
            await client.post(
                f"/2010-04-01/Accounts/{account}/Messages.json",
                data={"To": "+15005550006", "From": "+15017122661", "Body": "Case 42 updated"},
            )
        ).json()
        seen = []
        for _ in range(3):
            fetched = await client.get(
                f"/2010-04-01/Accounts/{account}/Messages/{created['sid']}.json"
            )
            seen.append((fetched.json()["status"], fetched.json()["price"] is not None))
            clock.advance(2)
    assert seen == [("queued", False), ("sent", False), ("delivered", True)]


async def test_a_created_message_is_fetchable_at_once_but_listed_only_after_the_list_lag() -> None:
    clock = FakeClock()
    app = TwilioSandbox(records=5, seed=1, relaxed_limits=True, list_lag_seconds=3, clock=clock)
    messages = f"/2010-04-01/Accounts/{app.credentials['account_sid']}/Messages.json"
    async with (
        serve_in_background(app) as running,
        httpx.AsyncClient(base_url=running.base_url, auth=basic(app)) as client,
    ):
        form = {"To": "+15005550006", "From": "+15017122661", "Body": "Case 42 updated"}
        sid = (await client.post(messages, data=form)).json()["sid"]
        fetched = await client.get(messages.replace(".json", f"/{sid}.json"))
        before = (await client.get(messages, params={"To": form["To"]})).json()["messages"]
        clock.advance(3)
        after = (await client.get(messages, params={"To": form["To"]})).json()["messages"]
    assert fetched.status_code == 200 and before == []
    assert [m["sid"] for m in after] == [sid]


def test_hub_demo_includes_the_twilio_sandbox() -> None:
    """What `hub demo` serves; tests/connectors/zendesk/test_cli.py runs the demo itself and
    checks that every sandbox it serves syncs."""
    from hub.demo import demo_sandboxes

    vendors = [s.vendor for s in demo_sandboxes(records=10, seed=7)]
    assert "twilio" in vendors and len(vendors) > 1


def test_customers_are_people_of_the_shared_world_whose_numbers_other_vendors_hold_too() -> None:
    app = TwilioSandbox(records=60, seed=9)
    shared = world(9)
    shared.vendor("zendesk")  # registered, so the truth lists its records of each person
    also_at_zendesk = 0
    for index in range(60):
        message = app.data.message(index)
        phone = message["from"] if message["direction"] == "inbound" else message["to"]
        who, number = app.data.customer("message", index)
        assert who is not None and phone.removeprefix("whatsapp:") == number
        person = shared.individual(shared.truth(WORLD_PROFILE, who))
        assert person.phone == number  # Twilio holds the person's own number, in E.164
        also_at_zendesk += "zendesk" in shared.records_of(person.id)
    assert also_at_zendesk >= 10, "too few Twilio customers are Zendesk users as well"
