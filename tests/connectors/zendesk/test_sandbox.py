"""The Zendesk sandbox over real loopback HTTP, with httpx and with the zenpy SDK."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.sandbox import RunningSandbox, serve_in_background
from hub.sandbox.app import build_sandbox
from hub.sandbox.options import SandboxOptionError

SEED = 11


class FakeClock:
    """A clock the test moves by hand, so token expiry and rate windows need no waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _basic(running: RunningSandbox) -> tuple[str, str]:
    return (f"{running.credentials['email']}/token", running.credentials["api_token"])


@contextlib.asynccontextmanager
async def _serving(
    sandbox: ZendeskSandbox, **serve: Any
) -> AsyncIterator[tuple[RunningSandbox, httpx.AsyncClient]]:
    """A served sandbox and an httpx client signed in with its API token."""
    async with (
        serve_in_background(sandbox, **serve) as served,
        httpx.AsyncClient(base_url=served.base_url, auth=_basic(served)) as api,
    ):
        yield served, api


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def running(clock: FakeClock) -> AsyncIterator[RunningSandbox]:
    sandbox = ZendeskSandbox(records=60, seed=SEED, incremental_per_minute=1000, clock=clock)
    async with serve_in_background(sandbox) as served:
        yield served


@pytest.fixture
async def client(running: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.base_url, auth=_basic(running)) as api:
        yield api


async def _walk(client: httpx.AsyncClient, kind: str, **params: Any) -> list[dict[str, Any]]:
    """Follow a cursor export from ``start_time`` to ``end_of_stream``, via ``after_url``."""
    page = (await client.get(f"/api/v2/incremental/{kind}/cursor.json", params=params)).json()
    pages = [page]
    while not page["end_of_stream"]:
        page = (await client.get(page["after_url"])).json()
        pages.append(page)
    return pages


# -- auth ---------------------------------------------------------------------------------------


async def test_accepts_api_token_basic_auth(
    client: httpx.AsyncClient, running: RunningSandbox
) -> None:
    response = await client.get("/api/v2/users/me.json")
    assert response.status_code == 200
    assert response.json()["user"]["email"] == running.credentials["email"]
    assert response.headers["x-rate-limit"] == "700"
    assert response.headers["x-rate-limit-remaining"] == "699"


async def test_refuses_a_wrong_api_token_in_zendesk_style(running: RunningSandbox) -> None:
    auth = (f"{running.credentials['email']}/token", "not-the-token")
    async with httpx.AsyncClient(base_url=running.base_url, auth=auth) as api:
        response = await api.get("/api/v2/users/me")
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


async def test_oauth_client_credentials_token_works_until_it_expires_then_refreshes(
    running: RunningSandbox, clock: FakeClock
) -> None:
    creds = running.credentials
    async with httpx.AsyncClient(base_url=running.base_url) as api:
        grant = {
            "grant_type": "client_credentials",
            "client_id": creds["oauth_client_id"],
            "client_secret": creds["oauth_client_secret"],
        }
        token = (await api.post("/oauth/tokens", json=grant)).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await api.get("/api/v2/users/me", headers=bearer)).status_code == 200

        clock.now += token["expires_in"] + 1
        expired = await api.get("/api/v2/users/me", headers=bearer)
        assert expired.status_code == 401
        assert expired.json()["error"] == "invalid_token"

        refresh = {**grant, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        renewed = (await api.post("/oauth/tokens", data=refresh)).json()
        fresh = {"Authorization": f"Bearer {renewed['access_token']}"}
        assert (await api.get("/api/v2/users/me", headers=fresh)).status_code == 200
        reused = await api.post("/oauth/tokens", data=refresh)
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_grant"


async def test_token_endpoint_refuses_a_wrong_client_secret(running: RunningSandbox) -> None:
    async with httpx.AsyncClient(base_url=running.base_url) as api:
        response = await api.post(
            "/oauth/tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": running.credentials["oauth_client_id"],
                "client_secret": "wrong",
            },
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# -- incremental exports ------------------------------------------------------------------------


async def test_cursor_export_walks_every_ticket_once_to_end_of_stream(
    client: httpx.AsyncClient, running: RunningSandbox
) -> None:
    pages = await _walk(client, "tickets", start_time=0, per_page=25)
    ids = [t["id"] for page in pages for t in page["tickets"]]
    assert ids == list(range(1, 61))
    assert [p["end_of_stream"] for p in pages] == [False, False, True]
    assert pages[0]["after_url"].startswith(
        f"{running.base_url}/api/v2/incremental/tickets/cursor.json?"
    )
    stamps = [t["generated_timestamp"] for page in pages for t in page["tickets"]]
    assert stamps == sorted(stamps)


async def test_start_time_skips_older_tickets(client: httpx.AsyncClient) -> None:
    everything = [t for p in await _walk(client, "tickets", start_time=0) for t in p["tickets"]]
    cut = everything[40]["generated_timestamp"]
    later = [t for p in await _walk(client, "tickets", start_time=cut) for t in p["tickets"]]
    assert [t["id"] for t in later] == [t["id"] for t in everything[40:]]


async def test_deleted_tickets_are_exported_unless_excluded(client: httpx.AsyncClient) -> None:
    with_deleted = [t for p in await _walk(client, "tickets", start_time=0) for t in p["tickets"]]
    without = [
        t
        for p in await _walk(client, "tickets", start_time=0, exclude_deleted="true")
        for t in p["tickets"]
    ]
    deleted = [t["id"] for t in with_deleted if t.get("status") == "deleted"]
    assert deleted
    assert {t["id"] for t in without} == {t["id"] for t in with_deleted} - set(deleted)


async def test_metric_sets_side_load_covers_the_page(client: httpx.AsyncClient) -> None:
    page = (
        await client.get(
            "/api/v2/incremental/tickets/cursor.json",
            params={"start_time": 0, "include": "metric_sets", "exclude_deleted": "true"},
        )
    ).json()
    assert {m["ticket_id"] for m in page["metric_sets"]} == {t["id"] for t in page["tickets"]}
    assert {"reply_time_in_minutes", "full_resolution_time_in_minutes"} <= set(
        page["metric_sets"][0]
    )


async def test_user_export_and_organization_time_export_reach_the_end(
    client: httpx.AsyncClient,
) -> None:
    users = [u for p in await _walk(client, "users", start_time=0) for u in p["users"]]
    assert len(users) == 30
    assert {"end-user", "agent", "admin"} <= {u["role"] for u in users}
    orgs = (
        await client.get("/api/v2/incremental/organizations.json", params={"start_time": 0})
    ).json()
    assert orgs["count"] == 3
    assert orgs["end_of_stream"] is True
    assert orgs["end_time"] == max(_unix(o["updated_at"]) for o in orgs["organizations"])


def _unix(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


async def test_generated_data_exercises_quarantine_and_identity_edge_cases() -> None:
    sandbox = ZendeskSandbox(records=2000, seed=SEED, incremental_per_minute=1000)
    async with _serving(sandbox) as (_, api):
        tickets = [t for p in await _walk(api, "tickets", start_time=0) for t in p["tickets"]]
        users = [u for p in await _walk(api, "users", start_time=0) for u in p["users"]]
    statuses = {t.get("status") for t in tickets}
    assert {"new", "open", "pending", "hold", "solved", "closed", "deleted"} <= statuses
    assert any("status" not in t or t.get("priority") == "critical" for t in tickets)
    emails = [u["email"] for u in users if u["email"]]
    assert any("@" not in e or e.endswith("@") for e in emails)  # some invalid
    assert len({e.casefold() for e in emails}) < len(emails)  # some people exist twice
    assert any(not u["name"].isascii() for u in users)


async def test_two_sandboxes_with_the_same_seed_answer_byte_for_byte_alike() -> None:
    bodies = []
    for _ in range(2):
        sandbox = ZendeskSandbox(
            records=40, seed=SEED, api_token="same", oauth_client_secret="same"
        )
        async with _serving(sandbox, port=0) as (served, api):
            page = await api.get("/api/v2/incremental/tickets/cursor.json?start_time=0")
            bodies.append(page.content.replace(served.base_url.encode(), b"BASE"))
    assert bodies[0] == bodies[1]


async def test_incremental_limit_answers_429_with_retry_after(clock: FakeClock) -> None:
    sandbox = ZendeskSandbox(records=10, seed=SEED, incremental_per_minute=2, clock=clock)
    async with _serving(sandbox) as (_, api):
        path = "/api/v2/incremental/users/cursor.json?start_time=0"
        statuses = [(await api.get(path)).status_code for _ in range(3)]
        limited = await api.get(path)
        clock.now += 60
        after_window = await api.get(path)
    assert statuses == [200, 200, 429]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.headers["content-type"].startswith("text/plain")  # as Zendesk's limiter
    assert after_window.status_code == 200


# -- lists --------------------------------------------------------------------------------------


async def test_satisfaction_ratings_follow_links_next_within_the_time_filter(
    client: httpx.AsyncClient,
) -> None:
    everything = (
        await client.get("/api/v2/satisfaction_ratings", params={"page[size]": 100})
    ).json()
    all_ratings = everything["satisfaction_ratings"]
    start = _unix(all_ratings[2]["created_at"])
    url: str | None = f"/api/v2/satisfaction_ratings?page[size]=2&start_time={start}"
    seen: list[dict[str, Any]] = []
    while url:
        page = (await client.get(url)).json()
        seen += page["satisfaction_ratings"]
        url = page["links"]["next"] if page["meta"]["has_more"] else None
    assert [r["id"] for r in seen] == [r["id"] for r in all_ratings[2:]]


async def test_offset_pagination_stops_after_page_100(client: httpx.AsyncClient) -> None:
    live = [
        t
        for p in await _walk(client, "tickets", start_time=0, exclude_deleted="true")
        for t in p["tickets"]
    ]
    first = (await client.get("/api/v2/tickets.json", params={"per_page": 10})).json()
    assert first["count"] == len(live)
    assert [t["id"] for t in first["tickets"]] == [t["id"] for t in live[:10]]
    assert first["next_page"] is not None
    beyond = await client.get("/api/v2/tickets.json", params={"page": 101})
    assert beyond.status_code == 400


async def test_unknown_ticket_is_record_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/tickets/999999.json")
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}


# -- writes -------------------------------------------------------------------------------------


async def test_ticket_create_is_idempotent_under_the_same_key(client: httpx.AsyncClient) -> None:
    body = {"ticket": {"subject": "Router dead", "comment": {"body": "It blinks red."}}}
    headers = {"Idempotency-Key": "key-1"}
    first = await client.post("/api/v2/tickets.json", json=body, headers=headers)
    again = await client.post("/api/v2/tickets.json", json=body, headers=headers)
    other = await client.post(
        "/api/v2/tickets.json", json={"ticket": {"comment": {"body": "x"}}}, headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert first.headers["x-idempotency-lookup"] == "miss"
    assert again.headers["x-idempotency-lookup"] == "hit"
    assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"] == 61
    assert other.status_code == 400
    listing = (await client.get("/api/v2/tickets.json", params={"page[size]": 100})).json()
    assert [t["id"] for t in listing["tickets"]].count(61) == 1


async def test_invalid_ticket_is_refused_with_record_invalid_details(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v2/tickets", json={"ticket": {"priority": "whenever"}})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "RecordInvalid"
    assert {"priority", "description"} <= set(body["details"])


async def test_create_or_update_matches_by_email_then_updates(client: httpx.AsyncClient) -> None:
    user = {"user": {"name": "Ana Lúcia", "email": "ana.lucia@example.com"}}
    created = await client.post("/api/v2/users/create_or_update.json", json=user)
    changed = {"user": {"email": "ANA.LUCIA@example.com", "phone": "+351912345678"}}
    updated = await client.post("/api/v2/users/create_or_update.json", json=changed)
    assert created.status_code == 201
    assert updated.status_code == 200
    assert updated.json()["user"]["id"] == created.json()["user"]["id"]
    assert updated.json()["user"]["phone"] == "+351912345678"


async def test_writes_and_mutations_appear_in_the_next_export(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    pages = await _walk(client, "tickets", start_time=0)
    resume = pages[-1]["after_cursor"]
    target = next(t["id"] for p in pages for t in p["tickets"] if t.get("status") == "open")
    clock.now += 5
    put = await client.put(
        f"/api/v2/tickets/{target}.json", json={"ticket": {"priority": "urgent"}}
    )
    assert put.status_code == 200
    created = await client.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "new"}}})
    mutated = (await client.post("/_sandbox/mutate", json={"count": 2})).json()["ids"]
    later = [t for p in await _walk(client, "tickets", cursor=resume) for t in p["tickets"]]
    ticket_ids = {target, created.json()["ticket"]["id"]} | {
        int(i.split("/")[1]) for i in mutated if i.startswith("ticket/")
    }
    assert {t["id"] for t in later} == ticket_ids
    assert next(t for t in later if t["id"] == target)["priority"] == "urgent"
    assert all(t["generated_timestamp"] >= clock.now - 1 for t in later)


async def test_tls_mode_serves_https_trusted_by_the_ca_file() -> None:
    sandbox = ZendeskSandbox(records=5, seed=SEED)
    async with serve_in_background(sandbox, tls=True) as served:
        assert served.base_url.startswith("https://127.0.0.1:")
        assert served.ca_file is not None
        assert served.info()["ca_file"] == served.ca_file
        trust = ssl.create_default_context(cafile=served.ca_file)
        async with httpx.AsyncClient(
            base_url=served.base_url, auth=_basic(served), verify=trust
        ) as api:
            response = await api.get("/api/v2/users/me")
        assert response.status_code == 200
        assert served.connection_config()["verify_tls"] == served.ca_file


# -- zenpy --------------------------------------------------------------------------------------


async def test_zenpy_lists_and_creates_through_the_sandbox(
    running: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenpy import Zenpy
    from zenpy.lib.api_objects import Ticket

    netloc = running.base_url.removeprefix("http://")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", netloc)
    creds = running.credentials

    def use_zenpy() -> tuple[int, int, int]:
        zd = Zenpy(subdomain=creds["subdomain"], email=creds["email"], token=creds["api_token"])
        tickets = list(zd.tickets.incremental(start_time=0, paginate_by_time=False, per_page=25))
        users = list(zd.users.incremental(start_time=0, paginate_by_time=False))
        audit = zd.tickets.create(Ticket(subject="Via zenpy", description="Hello from zenpy"))
        return len(tickets), len(users), audit.ticket.id

    tickets, users, created_id = await asyncio.to_thread(use_zenpy)
    assert (tickets, users, created_id) == (60, 30, 61)


# -- size ---------------------------------------------------------------------------------------


async def test_a_million_tickets_are_generated_lazily() -> None:
    sandbox = ZendeskSandbox(records=1_000_000, seed=SEED, incremental_per_minute=1000)
    last_ts = sandbox.data.ticket_ts(999_999)
    async with _serving(sandbox) as (_, api):
        page = (
            await api.get(
                "/api/v2/incremental/tickets/cursor.json",
                params={"start_time": last_ts - 3600, "per_page": 100},
            )
        ).json()
        one = await api.get("/api/v2/tickets/999999.json")
    assert page["end_of_stream"] is True
    assert page["tickets"][-1]["id"] == 1_000_000
    assert one.status_code in (200, 404)  # 404 when that ticket is a deleted one
    assert sandbox.data.built["ticket"] <= len(page["tickets"]) + 1
    assert len(sandbox.state.ticket_changes) == 0


# -- options ------------------------------------------------------------------------------------


def test_options_are_declared_and_a_misspelt_one_is_refused_with_the_valid_list() -> None:
    specs = ZendeskSandbox.option_specs()
    assert specs["relaxed_limits"].type == "bool"
    assert specs["rate_limit_per_minute"].default == 700
    assert ZendeskSandbox.demo_port == 8101
    with pytest.raises(SandboxOptionError) as refused:
        build_sandbox("zendesk", records=5, seed=SEED, rate_limit_per_mniute=5)
    message = str(refused.value)
    assert "unknown zendesk sandbox option 'rate_limit_per_mniute'" in message
    assert "rate_limit_per_minute (int)" in message
    assert "relaxed_limits (bool)" in message


async def test_relaxed_limits_lift_both_rate_limits(clock: FakeClock) -> None:
    sandbox = ZendeskSandbox(records=5, seed=SEED, relaxed_limits="true", clock=clock)
    async with _serving(sandbox) as (_, api):
        responses = [
            (await api.get("/api/v2/incremental/users/cursor.json", params={"start_time": 0}))
            for _ in range(12)
        ]
    assert {r.status_code for r in responses} == {200}
    assert responses[0].headers["x-rate-limit"] == "1000000"


def test_organizations_are_the_world_companies_their_users_work_for() -> None:
    from connectors.zendesk.sandbox.records import ORG_ID_BASE, WORLD_VENDOR, ZendeskRecords
    from hub.sandbox.data import world

    records = ZendeskRecords(records=400, seed=5, admin_email="a@s.example", subdomain="s")
    shared = world(5)
    with_org = 0
    for index in range(1, records.users_n):
        org_id = records.user(index)["organization_id"]
        company = shared.individual(shared.truth(WORLD_VENDOR, index)).company_id
        if org_id is None:
            assert company is None or company >= records.orgs_n
            continue
        with_org += 1
        assert org_id - ORG_ID_BASE == company
        org = records.organization(company)
        assert (org["name"], org["domain_names"]) == (
            shared.company(company).name,
            [shared.company(company).domain],
        )
    assert with_org > records.users_n // 4  # most employed users' companies are in the account
