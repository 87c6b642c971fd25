"""The Twilio connector: config validation and HTTP edge cases (respx), then both auth forms,
the incremental lookback and the mapping against the Twilio sandbox over real loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from connectors.twilio.config import TwilioConfig
from connectors.twilio.connector import TwilioConnector
from connectors.twilio.sandbox import TwilioSandbox
from hub.errors import AuthError
from hub.mapping import load_mapping
from hub.models import Interaction
from hub.runtime import Hub
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services import connections
from hub.services.sandboxes import connect_sandbox
from hub.sync import sync_connection
from hub.testing.store import store_snapshot
from tests.connectors.twilio.conftest import FAST_HTTP

# Placeholder credentials, made up for the tests.
ACCOUNT = "AC" + "0" * 31 + "1"
KEY = "SK" + "0" * 31 + "2"
TOKEN_AUTH = {"account_sid": ACCOUNT, "auth_token": "auth-token-value"}
KEY_AUTH = {"account_sid": ACCOUNT, "api_key_sid": KEY, "api_key_secret": "key-secret-value"}
BASE = "https://api.twilio.com"
MAPPING = Path(__file__).parents[3] / "mappings" / "twilio.yaml"


def make_config(**fields: Any) -> TwilioConfig:
    fields.setdefault("http", FAST_HTTP)
    return TwilioConfig(**fields)


# -- config ------------------------------------------------------------------------------


def test_accepts_both_credential_forms_and_hides_the_secrets() -> None:
    for fields in (TOKEN_AUTH, KEY_AUTH):
        config = make_config(**fields)
        assert "auth-token-value" not in repr(config)
        assert "key-secret-value" not in repr(config)
        assert config.base_url == BASE


def test_rejects_an_auth_token_together_with_an_api_key_naming_the_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        make_config(**KEY_AUTH, auth_token="auth-token-value")
    message = str(caught.value)
    assert "auth_token or api_key_sid + api_key_secret" in message
    assert "auth-token-value" not in message and "key-secret-value" not in message


def test_rejects_an_api_key_without_its_secret_and_a_config_without_credentials() -> None:
    with pytest.raises(ValidationError, match="missing: api_key_secret"):
        make_config(account_sid=ACCOUNT, api_key_sid=KEY)
    with pytest.raises(ValidationError, match="no credentials"):
        make_config(account_sid=ACCOUNT)


def test_rejects_sids_of_the_wrong_shape() -> None:
    with pytest.raises(ValidationError, match="account_sid must be AC followed by 32 hex"):
        make_config(account_sid="AC123", auth_token="auth-token-value")
    with pytest.raises(ValidationError, match="api_key_sid must be SK followed by 32 hex"):
        make_config(account_sid=ACCOUNT, api_key_sid="AK123", api_key_secret="secret")


def test_pages_are_twilio_s_largest_by_default_and_never_larger() -> None:
    assert make_config(**TOKEN_AUTH).page_size == 1000  # fewest requests for a backfill
    with pytest.raises(ValidationError, match="page_size"):
        make_config(**TOKEN_AUTH, page_size=1001)


# -- HTTP edge cases the sandbox does not reach ---------------------------------------------


@respx.mock
async def test_a_429_without_retry_after_is_retried_with_backoff() -> None:
    limited = {"code": 20429, "message": "Too Many Requests", "status": 429,
               "more_info": "https://www.twilio.com/docs/errors/20429"}  # fmt: skip
    route = respx.get(f"{BASE}/2010-04-01/Accounts/{ACCOUNT}.json").mock(
        side_effect=[httpx.Response(429, json=limited), httpx.Response(200, json={"sid": ACCOUNT})]
    )
    async with TwilioConnector(make_config(**TOKEN_AUTH), connection="tw") as connector:
        await connector.check()
    assert route.call_count == 2


@respx.mock
async def test_a_refused_credential_is_an_auth_error_with_twilio_s_code() -> None:
    refused = {"code": 20003, "message": "Authenticate", "status": 401,
               "more_info": "https://www.twilio.com/docs/errors/20003"}  # fmt: skip
    respx.get(f"{BASE}/2010-04-01/Accounts/{ACCOUNT}.json").mock(
        return_value=httpx.Response(401, json=refused)
    )
    async with TwilioConnector(make_config(**TOKEN_AUTH), connection="tw") as connector:
        with pytest.raises(AuthError) as caught:
            await connector.check()
    assert caught.value.vendor_code == "20003"


@respx.mock
async def test_the_api_key_is_sent_as_basic_auth_with_the_account_in_the_path() -> None:
    route = respx.get(f"{BASE}/2010-04-01/Accounts/{ACCOUNT}.json").mock(
        return_value=httpx.Response(200, json={"sid": ACCOUNT})
    )
    async with TwilioConnector(make_config(**KEY_AUTH), connection="tw") as connector:
        await connector.check()
    sent = route.calls.last.request.headers["authorization"]
    assert sent == httpx.BasicAuth(KEY, "key-secret-value")._auth_header


# -- against the sandbox --------------------------------------------------------------------


async def test_both_auth_forms_open_the_sandbox_and_altered_ones_do_not(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, running = twilio
    config = app.api_key_connection_config(running.base_url, running.ca_file)
    await connect_sandbox(hub, "key", "twilio", config)
    await connections.test_connection(hub, "key")
    await connections.test_connection(hub, "tw")
    await connect_sandbox(hub, "bad", "twilio", {**config, "api_key_secret": "0" * 32})
    with pytest.raises(AuthError):
        await connections.test_connection(hub, "bad")


async def test_a_message_delivered_after_the_last_run_is_updated_not_duplicated(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, _ = twilio
    await sync_connection(hub, "tw")
    before = await store_snapshot(hub, "tw", "messages")
    changed = [m for m in app.mutate(3) if m.startswith("message/")]
    results = await sync_connection(hub, "tw", streams=["messages"])
    after = await store_snapshot(hub, "tw", "messages")

    assert changed, "the sandbox had no message in flight"
    assert set(after) == set(before), "the lookback re-read added or lost messages"
    for mutated in changed:
        key = ("message", mutated.split("/")[1])
        assert before[key][2]["status"] != after[key][2]["status"]
    [result] = results
    assert result.counters.records_written == len(changed)


async def test_incremental_runs_filter_by_day_and_re_read_the_lookback(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, _ = twilio
    seen: list[httpx.URL] = []
    await sync_connection(hub, "tw", streams=["messages", "conversations"])
    async with hub.connection("tw") as connector:
        connector.client.event_hooks["request"].append(_record(seen))
        await sync_connection(hub, "tw", streams=["messages", "conversations"])
    firsts = {url.path.rsplit("/", 1)[-1]: url.params for url in seen if "Page" not in url.params}

    def lookback_day(kind: str) -> str:
        # The default 72 hours of lookback before the newest record, floored to its UTC day.
        newest = datetime.fromtimestamp(app.data.ts(kind, app.data.counts[kind] - 1), UTC)
        return f"{newest - timedelta(hours=72):%Y-%m-%d}"

    assert firsts["Messages.json"]["DateSent>"] == lookback_day("message")
    assert firsts["Conversations"]["StartDate"] == f"{lookback_day('conversation')}T00:00:00Z"


async def test_messages_calls_and_conversations_map_to_interactions(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, _ = twilio
    results = await sync_connection(hub, "tw")
    assert all(r.status == "succeeded" and r.counters.records_quarantined == 0 for r in results)
    stored = await store_snapshot(hub, "tw")
    messages = [fields for (kind, _), (_, _, fields, _) in stored.items() if kind == "message"]
    calls = [fields for (kind, _), (_, _, fields, _) in stored.items() if kind == "call"]
    chats = [fields for (kind, _), (_, _, fields, _) in stored.items() if kind == "conversation"]
    assert len(messages) == app.data.counts["message"] and len(calls) == app.data.counts["call"]
    assert {m["channel"] for m in messages} == {"sms", "whatsapp"}
    assert {m["direction"] for m in messages} == {"inbound", "outbound"}
    assert {c["channel"] for c in calls} == {"phone"}
    assert {c["interaction_kind"] for c in chats} == {"chat"}
    for record in (*messages, *calls):
        [phone] = record["customer_phones"]
        assert phone.startswith("+") and phone[1:].isdigit()
    completed = [c for c in calls if c["status"] == "completed"]
    assert completed and all(isinstance(c["duration_seconds"], int) for c in completed)
    priced = [m for m in messages if m["price"] is not None]
    assert priced and all(Decimal(m["price"]) < 0 and m["price_unit"] == "USD" for m in priced)


def test_the_customer_is_the_other_party_and_never_the_company_s_own_number() -> None:
    calls = load_mapping(MAPPING).stream("calls")
    call = {"sid": "CA" + "1" * 32, "date_updated": "Fri, 24 May 2019 17:44:46 +0000",
            "start_time": "Fri, 24 May 2019 17:44:46 +0000", "status": "completed",
            "to": "whatsapp:+14155552671", "from": "whatsapp:+447911123456",
            "direction": "inbound"}  # fmt: skip
    inbound = calls.apply(call, system="twilio", connection="tw")
    outbound = calls.apply({**call, "direction": "outbound-dial"}, system="twilio", connection="tw")
    hidden = calls.apply({**call, "from": None}, system="twilio", connection="tw")

    assert isinstance(inbound, Interaction) and isinstance(outbound, Interaction)
    assert isinstance(hidden, Interaction)
    assert (inbound.channel, inbound.customer_phones) == ("whatsapp", ["+447911123456"])
    assert outbound.customer_phones == ["+14155552671"]
    assert hidden.customer_phones == []  # a caller without a number: not the number called


async def test_rfc_2822_and_iso_8601_dates_both_become_the_same_utc_instants(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    await sync_connection(hub, "tw")
    stored = await store_snapshot(hub, "tw")
    sources = {"message": "date_sent", "call": "start_time", "conversation": "date_created"}
    for (kind, _), (_, _, fields, raw) in stored.items():
        written = raw[sources[kind]]
        # 2010 API: "Tue, 11 Jan 2022 04:27:06 +0000"; v1: "2022-01-11T04:27:06Z".
        vendor = (
            datetime.fromisoformat(written)
            if kind == "conversation"
            else parsedate_to_datetime(written)
        )
        assert datetime.fromisoformat(fields["started_at"]) == vendor.astimezone(UTC)


async def test_the_customer_phone_of_each_message_is_a_blind_index_for_linking(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    from hub.services.customers import find_customers

    app, _ = twilio
    await sync_connection(hub, "tw", streams=["messages"])
    message = app.data.message(0)
    phone = message["from"] if message["direction"] == "inbound" else message["to"]
    found = await find_customers(hub, email=None, phone=phone.removeprefix("whatsapp:"))
    assert ("message", message["sid"]) in {(r["object_type"], r["external_id"]) for r in found}


def _record(seen: list[httpx.URL]) -> Any:
    async def hook(request: httpx.Request) -> None:
        seen.append(request.url)

    return hook


async def test_the_connector_checks_the_sandbox_over_tls_too() -> None:
    app = TwilioSandbox(records=10, seed=2, relaxed_limits=True)
    async with serve_in_background(app, tls=True) as running:
        config = make_config(**app.connection_config(running.base_url, running.ca_file))
        async with TwilioConnector(config, connection="tls") as connector:
            await connector.check()
    assert running.base_url.startswith("https://")
