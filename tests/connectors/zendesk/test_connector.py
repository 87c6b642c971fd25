"""The Zendesk connector: config validation and HTTP edge cases (respx), then every stream,
resume, write-back and auth form against the Zendesk sandbox over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.zendesk.config import ZendeskConfig
from connectors.zendesk.connector import ZendeskConnector
from connectors.zendesk.sandbox import ZendeskSandbox
from hub.connector import CaseWrite, Page
from hub.errors import AuthError, VendorError
from hub.paging import PaginationLoop
from hub.sandbox.server import RunningSandbox, serve_in_background
from tests.connectors.zendesk.support import UNLIMITED, zendesk_oauth_tokens

BASE = "https://acme.zendesk.com"
FAST_HTTP = {"max_attempts": 2, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.02}
# Placeholder credentials, made up for the tests.
TOKEN_AUTH = {"email": "agent@example.test", "token": "api-token-value"}
CLIENT_AUTH = {"oauth_client_id": "hub", "oauth_client_secret": "client-secret-value"}


def make_config(**fields: Any) -> ZendeskConfig:
    fields.setdefault("base_url", BASE)
    fields.setdefault("http", FAST_HTTP)
    return ZendeskConfig(**fields)


async def collect(pages: AsyncIterator[Page]) -> list[Page]:
    return [page async for page in pages]


# -- config ------------------------------------------------------------------------------


def test_accepts_api_token_credentials_and_hides_the_token() -> None:
    config = make_config(**TOKEN_AUTH)

    assert "api-token-value" not in repr(config)
    assert "agent@example.test" not in repr(config)


def test_rejects_mixed_api_token_and_oauth_naming_the_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        make_config(**TOKEN_AUTH, access_token="bearer-value")

    message = str(caught.value)
    assert "email + token" in message
    assert "access_token" in message
    assert "api-token-value" not in message
    assert "bearer-value" not in message


def test_rejects_api_token_without_email_naming_the_missing_field() -> None:
    with pytest.raises(ValidationError, match="missing: email"):
        make_config(token="api-token-value")


def test_rejects_refresh_token_without_the_oauth_client() -> None:
    with pytest.raises(ValidationError, match="missing: oauth_client_id, oauth_client_secret"):
        make_config(access_token="bearer-value", refresh_token="refresh-value")


def test_rejects_a_config_without_credentials() -> None:
    with pytest.raises(ValidationError, match="no credentials"):
        make_config()


def test_rejects_a_base_url_that_is_not_http() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        make_config(base_url="acme.zendesk.com", **TOKEN_AUTH)


def test_caps_cursor_list_pages_at_zendesks_maximum() -> None:
    config = make_config(page_size=500, **TOKEN_AUTH)

    assert config.export_page_size() == 500
    assert config.list_page_size() == 100
    assert make_config(**TOKEN_AUTH).export_page_size() == 1000


# -- plugin registration ----------------------------------------------------------------


def test_is_installed_through_the_hub_entry_point_with_its_mapping_folder() -> None:
    from pathlib import Path

    from hub.plugins import connector_class, plugin_mapping_paths

    assert connector_class("zendesk") is ZendeskConnector
    assert any((Path(folder) / "zendesk.yaml").is_file() for folder in plugin_mapping_paths())


# -- HTTP edge cases (respx) -----------------------------------------------------------


def connector_for(**fields: Any) -> ZendeskConnector:
    return ZendeskConnector(make_config(**fields), connection="zd")


@respx.mock
async def test_check_rejects_credentials_zendesk_answers_as_anonymous() -> None:
    respx.get(f"{BASE}/api/v2/users/me.json").respond(
        json={"user": {"id": None, "role": "anonymous", "name": "Anonymous user"}}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        with pytest.raises(AuthError, match="anonymous"):
            await connector.check()


@respx.mock
async def test_check_sends_basic_auth_with_the_token_suffix() -> None:
    route = respx.get(f"{BASE}/api/v2/users/me.json").respond(
        json={"user": {"id": 7, "role": "admin"}}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        await connector.check()

    expected = httpx.BasicAuth("agent@example.test/token", "api-token-value")
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == next(expected.auth_flow(sent)).headers["Authorization"]


@respx.mock
async def test_refreshes_an_expired_oauth_token_once_and_resends() -> None:
    def me(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == "Bearer fresh":
            return httpx.Response(200, json={"user": {"id": 7, "role": "admin"}})
        return httpx.Response(401, json={"error": "Couldn't authenticate you"})

    respx.get(f"{BASE}/api/v2/users/me.json").mock(side_effect=me)
    token_route = respx.post(f"{BASE}/oauth/tokens").respond(
        201, json={"access_token": "fresh", "refresh_token": "next", "token_type": "bearer"}
    )
    async with connector_for(access_token="stale", refresh_token="old", **CLIENT_AUTH) as zd:
        await zd.check()

    assert token_route.call_count == 1
    grant = json.loads(token_route.calls.last.request.content)
    assert grant["grant_type"] == "refresh_token"
    assert grant["refresh_token"] == "old"


@respx.mock
async def test_client_credentials_fetch_a_token_before_the_first_call() -> None:
    me_route = respx.get(f"{BASE}/api/v2/users/me.json").respond(
        json={"user": {"id": 7, "role": "admin"}}
    )
    token_route = respx.post(f"{BASE}/oauth/tokens").respond(
        201, json={"access_token": "issued", "token_type": "bearer", "expires_in": 3600}
    )
    async with connector_for(**CLIENT_AUTH) as connector:
        await connector.check()

    assert json.loads(token_route.calls.last.request.content)["grant_type"] == "client_credentials"
    assert me_route.call_count == 1
    assert me_route.calls.last.request.headers["Authorization"] == "Bearer issued"


@respx.mock
async def test_a_refused_access_token_without_refresh_is_an_auth_error() -> None:
    respx.get(f"{BASE}/api/v2/users/me.json").respond(401, json={"error": "Unauthorized"})
    async with connector_for(access_token="revoked") as connector:
        with pytest.raises(AuthError) as caught:
            await connector.check()

    assert "revoked" not in str(caught.value)


@respx.mock
async def test_a_refused_refresh_grant_is_an_auth_error() -> None:
    respx.get(f"{BASE}/api/v2/users/me.json").respond(401, json={"error": "Unauthorized"})
    respx.post(f"{BASE}/oauth/tokens").respond(
        400, json={"error": "invalid_grant", "error_description": "expired"}
    )
    async with connector_for(access_token="stale", refresh_token="old", **CLIENT_AUTH) as zd:
        with pytest.raises(AuthError) as caught:
            await zd.check()

    assert "old" not in str(caught.value).split()
    assert "client-secret-value" not in str(caught.value)


@respx.mock
async def test_a_2xx_body_with_an_error_key_fails_the_read() -> None:
    respx.get(f"{BASE}/api/v2/incremental/tickets/cursor.json").respond(
        200, json={"error": "InvalidPaginationParameter", "description": "bad cursor"}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        with pytest.raises(VendorError, match="InvalidPaginationParameter"):
            await collect(connector.read("tickets", {"cursor": "garbled"}))


@respx.mock
async def test_organizations_export_that_does_not_advance_fails_instead_of_looping() -> None:
    respx.get(f"{BASE}/api/v2/incremental/organizations.json").respond(
        json={"organizations": [], "end_time": 100, "end_of_stream": False, "count": 0}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        with pytest.raises(VendorError, match="did not move past start_time 100"):
            await collect(connector.read("organizations", {"start_time": 100}))


@respx.mock
async def test_finished_ratings_run_restarts_a_lookback_before_the_newest_rating() -> None:
    route = respx.get(f"{BASE}/api/v2/satisfaction_ratings.json").respond(
        json={
            "satisfaction_ratings": [
                {"id": 1, "score": "offered", "created_at": "2024-01-01T00:00:00Z"},
                {"id": 2, "score": "good", "created_at": "2024-01-02T00:00:00Z"},
            ],
            "meta": {"has_more": False, "after_cursor": None},
        }
    )
    async with connector_for(satisfaction_ratings_lookback_seconds=3600, **TOKEN_AUTH) as zd:
        pages = await collect(zd.read("satisfaction_ratings", None))
        again = await collect(zd.read("satisfaction_ratings", pages[-1].state))

    newest = 1704153600  # 2024-01-02T00:00:00Z
    assert route.calls.last.request.url.params["start_time"] == str(newest - 3600)
    # The rating at the watermark comes again unchanged: a boundary duplicate, dropped.
    assert 2 not in [record["id"] for record in again[-1].records]


@respx.mock
async def test_reads_on_from_a_state_the_connector_wrote_before_versioned_states() -> None:
    exports = respx.get(f"{BASE}/api/v2/incremental/tickets/cursor.json").respond(
        json={"tickets": [], "after_cursor": "next", "end_of_stream": True}
    )
    ratings = respx.get(f"{BASE}/api/v2/satisfaction_ratings.json").respond(
        json={"satisfaction_ratings": [], "meta": {"has_more": False, "after_cursor": None}}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        await collect(connector.read("tickets", {"cursor": "old-cursor"}))
        old_ratings = {"start_time": 1700000000, "after": None}
        await collect(connector.read("satisfaction_ratings", old_ratings))

    assert exports.calls.last.request.url.params["cursor"] == "old-cursor"
    assert "start_time" not in exports.calls.last.request.url.params
    assert ratings.calls.last.request.url.params["start_time"] == "1700000000"


@respx.mock
async def test_tickets_export_whose_cursor_never_changes_fails_instead_of_looping() -> None:
    route = respx.get(f"{BASE}/api/v2/incremental/tickets/cursor.json").respond(
        json={"tickets": [{"id": 1}], "after_cursor": "stuck", "end_of_stream": False}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        with pytest.raises(PaginationLoop, match="did not move past cursor stuck") as caught:
            await collect(connector.read("tickets", None))

    assert (caught.value.connection, caught.value.stream) == ("zd", "tickets")
    assert route.call_count == 2


@respx.mock
async def test_a_refused_stored_export_cursor_restarts_from_the_watermark() -> None:
    def export(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "expired":
            return httpx.Response(
                400, json={"error": "InvalidPaginationParameter", "description": "bad cursor"}
            )
        page = [{"id": 9, "generated_timestamp": 1700000500}]
        return httpx.Response(
            200, json={"tickets": page, "after_cursor": "fresh", "end_of_stream": True}
        )

    route = respx.get(f"{BASE}/api/v2/incremental/tickets/cursor.json").mock(side_effect=export)
    async with connector_for(start_time=1700000000, **TOKEN_AUTH) as connector:
        first = await collect(connector.read("tickets", {"cursor": "expired"}))
        second = await collect(connector.read("tickets", first[-1].state))

    assert route.calls[1].request.url.params["start_time"] == "1700000000"
    assert [r["id"] for r in first[-1].records] == [9]
    assert second[-1].records == []  # resumed at the fresh cursor, the ticket not repeated
    assert route.calls.last.request.url.params["cursor"] == "fresh"


@respx.mock
async def test_update_case_maps_on_hold_and_sends_the_description_as_a_comment() -> None:
    route = respx.put(f"{BASE}/api/v2/tickets/42.json").respond(
        json={"ticket": {"id": 42, "status": "hold"}}
    )
    async with connector_for(**TOKEN_AUTH) as connector:
        result = await connector.update_case(
            "42", CaseWrite(status="on_hold", description="Waiting for the part")
        )

    assert json.loads(route.calls.last.request.content) == {
        "ticket": {"status": "hold", "comment": {"body": "Waiting for the part"}}
    }
    assert (result.external_id, result.created) == ("42", False)


async def test_update_case_refuses_a_non_numeric_ticket_id() -> None:
    async with connector_for(**TOKEN_AUTH) as connector:
        with pytest.raises(VendorError, match="is a number"):
            await connector.update_case("../users/1", CaseWrite(status="open"))


async def test_reading_an_unknown_stream_names_the_known_ones() -> None:
    async with connector_for(**TOKEN_AUTH) as connector:
        with pytest.raises(KeyError, match="satisfaction_ratings"):
            await collect(connector.read("macros", None))


# -- integration: the connector against the Zendesk sandbox over loopback HTTP ------------

STREAM_KEYS = ("users", "organizations", "tickets", "ticket_metrics", "satisfaction_ratings")
# Small pages so that every stream of the 200-ticket sandbox spans several of them.
PAGE_SIZES = {"organizations": 3, "satisfaction_ratings": 8, "users": 25}


class FakeClock:
    """The sandbox's clock, moved by hand so token expiry needs no waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> ZendeskSandbox:
    return ZendeskSandbox(
        records=200,
        seed=5,
        incremental_per_minute=UNLIMITED,
        rate_limit_per_minute=UNLIMITED,
        clock=clock,
    )


@pytest.fixture
async def running(sandbox: ZendeskSandbox) -> AsyncIterator[RunningSandbox]:
    async with serve_in_background(sandbox) as served:
        yield served


def sandbox_config(
    running: RunningSandbox, *, auth: str = "api_token", **fields: Any
) -> ZendeskConfig:
    """A config for the served sandbox, with the client-side limits relaxed for tests."""
    creds = running.credentials
    if auth == "api_token":
        fields.update(email=creds["email"], token=creds["api_token"])
    else:
        fields.update(
            oauth_client_id=creds["oauth_client_id"],
            oauth_client_secret=creds["oauth_client_secret"],
        )
    return make_config(
        base_url=running.base_url,
        verify_tls=running.ca_file or True,
        incremental_requests_per_minute=UNLIMITED,
        requests_per_minute=UNLIMITED,
        **{"page_size": 30, **fields},
    )


def ids(pages: list[Page]) -> list[Any]:
    return [record["id"] for page in pages for record in page.records]


def expected_count(sandbox: ZendeskSandbox, stream: str) -> int:
    """How many distinct records the sandbox holds for ``stream``."""
    data = sandbox.data
    deleted = data.tickets_n - data.live_tickets_below(data.tickets_n)
    return {
        "users": data.users_n,
        "organizations": data.orgs_n,
        "tickets": data.tickets_n,
        "ticket_metrics": data.tickets_n - deleted,
        "satisfaction_ratings": data.rated_below(data.tickets_n),
    }[stream]


@pytest.mark.parametrize("stream", STREAM_KEYS)
async def test_reads_every_record_of_a_stream_to_the_end(
    stream: str, sandbox: ZendeskSandbox, running: RunningSandbox
) -> None:
    config = sandbox_config(running, page_size=PAGE_SIZES.get(stream, 30))
    async with ZendeskConnector(config, connection="zd") as connector:
        pages = await collect(connector.read(stream, None))

    assert len(pages) > 2
    assert len(set(ids(pages))) == expected_count(sandbox, stream)
    json.dumps([page.state for page in pages])  # states must survive the store


async def test_tickets_export_keeps_deleted_tickets(running: RunningSandbox) -> None:
    async with ZendeskConnector(sandbox_config(running), connection="zd") as connector:
        pages = await collect(connector.read("tickets", None))

    assert any(r["status"] == "deleted" for page in pages for r in page.records)


@pytest.mark.parametrize("stream", STREAM_KEYS)
async def test_resumes_from_a_mid_stream_state_with_exactly_the_remaining_records(
    stream: str, running: RunningSandbox
) -> None:
    config = sandbox_config(running, page_size=PAGE_SIZES.get(stream, 30))
    async with ZendeskConnector(config, connection="zd") as connector:
        pages = await collect(connector.read(stream, None))
        middle = len(pages) // 2
        resumed = await collect(connector.read(stream, pages[middle - 1].state))

    remaining, got = ids(pages[middle:]), ids(resumed)
    if stream == "organizations":
        # The time-based export restarts at the boundary's timestamp: those records may repeat.
        boundary = set(ids(pages[middle - 1 : middle]))
        assert set(got) - boundary == set(remaining) - boundary
        assert set(remaining) <= set(got)
    else:
        assert got == remaining


@pytest.mark.parametrize("stream", STREAM_KEYS)
async def test_a_second_read_from_the_final_state_yields_nothing_new(
    stream: str, running: RunningSandbox
) -> None:
    config = sandbox_config(running, page_size=PAGE_SIZES.get(stream, 30))
    async with ZendeskConnector(config, connection="zd") as connector:
        pages = await collect(connector.read(stream, None))
        again = await collect(connector.read(stream, pages[-1].state))

    seen = [record for page in pages for record in page.records]
    assert all(record in seen for page in again for record in page.records)
    assert again[-1].state == pages[-1].state


async def test_the_next_read_yields_records_changed_in_the_sandbox(
    sandbox: ZendeskSandbox, running: RunningSandbox
) -> None:
    async with ZendeskConnector(sandbox_config(running), connection="zd") as connector:
        tickets = await collect(connector.read("tickets", None))
        users = await collect(connector.read("users", None))
        changed = sandbox.mutate(2)  # one ticket, one user
        new_tickets = await collect(connector.read("tickets", tickets[-1].state))
        new_users = await collect(connector.read("users", users[-1].state))

    tickets_and_users = [c for c in changed if not c.startswith("ticket_metric/")]
    assert [f"ticket/{i}" for i in ids(new_tickets)] + [f"user/{i}" for i in ids(new_users)] == (
        tickets_and_users
    )
    assert "sandbox_mutated" in new_tickets[0].records[0]["tags"]


async def test_create_case_twice_with_one_key_creates_one_ticket(running: RunningSandbox) -> None:
    case = CaseWrite(
        subject="Printer on fire",
        description="Smoke from the paper tray",
        priority="high",
        requester_email="caller@example.test",
        requester_name="A Caller",
        tags=["hub"],
        external_id="hub-case-1",
    )
    async with ZendeskConnector(sandbox_config(running), connection="zd") as connector:
        tickets = await collect(connector.read("tickets", None))
        first = await connector.create_case(case, idempotency_key="case-1")
        second = await connector.create_case(case, idempotency_key="case-1")
        created = await collect(connector.read("tickets", tickets[-1].state))

    assert (first.created, first.replayed) == (True, False)
    assert (second.external_id, second.replayed) == (first.external_id, True)
    assert [str(i) for i in ids(created)] == [first.external_id]
    ticket = created[0].records[0]
    assert (ticket["subject"], ticket["priority"], ticket["external_id"]) == (
        "Printer on fire",
        "high",
        "hub-case-1",
    )


async def test_update_case_changes_the_ticket_the_next_read_sees(running: RunningSandbox) -> None:
    async with ZendeskConnector(sandbox_config(running), connection="zd") as connector:
        tickets = await collect(connector.read("tickets", None))
        target = next(
            r for p in tickets for r in p.records if r["status"] in ("new", "open", "pending")
        )
        result = await connector.update_case(
            str(target["id"]), CaseWrite(status="on_hold", priority="urgent")
        )
        changed = await collect(connector.read("tickets", tickets[-1].state))

    assert (result.external_id, result.created) == (str(target["id"]), False)
    ticket = changed[0].records[0]
    assert (ticket["id"], ticket["status"], ticket["priority"]) == (target["id"], "hold", "urgent")


async def test_check_accepts_the_sandbox_api_token_and_refuses_a_wrong_one(
    running: RunningSandbox,
) -> None:
    async with ZendeskConnector(sandbox_config(running), connection="zd") as connector:
        await connector.check()
    wrong = sandbox_config(running).model_copy(update={"token": SecretStr("not-the-token")})
    async with ZendeskConnector(wrong, connection="zd") as connector:
        with pytest.raises(AuthError):
            await connector.check()


async def test_oauth_client_credentials_read_and_renew_an_expired_token(
    running: RunningSandbox, clock: FakeClock
) -> None:
    config = sandbox_config(running, auth="oauth")
    async with ZendeskConnector(config, connection="zd") as connector:
        await connector.check()
        clock.now += 3600  # past the sandbox's 30-minute token lifetime
        pages = await collect(connector.read("organizations", None))

    assert ids(pages)


async def test_oauth_access_token_is_renewed_with_its_refresh_token(
    running: RunningSandbox, clock: FakeClock
) -> None:
    issued = await zendesk_oauth_tokens(running.base_url, running.credentials)
    config = sandbox_config(
        running,
        auth="oauth",
        access_token=issued["access_token"],
        refresh_token=issued["refresh_token"],
    )
    async with ZendeskConnector(config, connection="zd") as connector:
        clock.now += 3600
        await connector.check()
        clock.now += 3600  # the rotated refresh token must be the one used now
        await connector.check()


async def test_reads_over_tls_with_the_sandbox_ca_file(sandbox: ZendeskSandbox) -> None:
    async with serve_in_background(sandbox, tls=True) as served:
        config = sandbox_config(served)
        assert config.verify_tls == served.ca_file
        async with ZendeskConnector(config, connection="zd") as connector:
            await connector.check()
            pages = await collect(connector.read("users", None))

    assert served.base_url.startswith("https://")
    assert len(set(ids(pages))) == expected_count(sandbox, "users")


async def test_oauth_renewal_saves_the_rotated_refresh_token_once(
    running: RunningSandbox, clock: FakeClock
) -> None:
    issued = await zendesk_oauth_tokens(running.base_url, running.credentials)
    saved: list[str] = []

    async def save(field: str, value: str) -> None:
        saved.append(field)

    config = sandbox_config(
        running,
        auth="oauth",
        access_token=issued["access_token"],
        refresh_token=issued["refresh_token"],
    )
    async with ZendeskConnector(config, connection="zd", save_credential=save) as connector:
        clock.now += 3600
        await asyncio.gather(*(connector.check() for _ in range(4)))

    assert saved == ["refresh_token", "access_token"]


async def test_token_calls_and_resends_count_among_the_connections_requests(
    running: RunningSandbox, clock: FakeClock
) -> None:
    async with ZendeskConnector(sandbox_config(running, auth="oauth"), connection="zd") as zd:
        assert zd.requests_sent == 0
        await zd.check()  # token call, then the call itself
        assert zd.requests_sent == 2
        clock.now += 3600  # the sandbox expires the token: 401, token call, resend
        await zd.check()
        assert zd.requests_sent == 5
