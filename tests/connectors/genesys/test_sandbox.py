"""The Genesys Cloud sandbox answers like the Platform API: tokens, ErrorBody errors, entity
listings, the details query and jobs, rate-limit headers."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors.genesys.connector import GenesysConnector
from connectors.genesys.sandbox import GenesysSandbox
from connectors.genesys.sandbox.records import DAY, HISTORY_END
from connectors.genesys.sessions import customer_sessions
from hub.errors import VendorError
from hub.testing import FakeClock

QUERY = "/api/v2/analytics/conversations/details/query"
JOBS = "/api/v2/analytics/conversations/details/jobs"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(HISTORY_END)


@pytest.fixture
def app(clock: FakeClock) -> GenesysSandbox:
    return GenesysSandbox(records=40, seed=7, clock=clock, relaxed_limits=True)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
async def api(app: GenesysSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a bearer token from the sandbox's /oauth/token."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        credentials = app.credentials
        answer = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": _basic(credentials["client_id"],
                                             credentials["client_secret"])},
        )  # fmt: skip
        token = answer.json()
        assert (token["token_type"], token["expires_in"]) == ("bearer", 86_400)
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


def _interval(app: GenesysSandbox, days_before: float, days_until: float = 0) -> str:
    from connectors.genesys.sandbox.records import genesys_time

    anchor = app.records.anchor
    return f"{genesys_time(anchor - days_before * DAY)}/{genesys_time(anchor - days_until * DAY)}"


def _error_body(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == status
    assert (body["status"], body["code"]) == (status, code)
    assert body["message"] and body["contextId"]
    return body


@pytest.mark.parametrize(
    ("client_id", "secret", "description"),
    [(None, "wrong", "authentication failed"), ("no-such-client", None, "client not found")],
)
async def test_a_refused_token_request_answers_400_as_the_login_host_does(
    app: GenesysSandbox, client_id: str | None, secret: str | None, description: str
) -> None:
    credentials = app.credentials
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        answer = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": _basic(client_id or credentials["client_id"],
                                             secret or credentials["client_secret"])},
        )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_client", "description": description,
                             "error_description": description}  # fmt: skip


async def test_a_request_without_a_bearer_token_is_told_authentication_is_required(
    api: httpx.AsyncClient,
) -> None:
    del api.headers["Authorization"]
    _error_body(await api.get("/api/v2/users"), 401, "authentication.required")


async def test_an_expired_token_is_refused_with_an_error_body(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (await api.get("/api/v2/users")).status_code == 200
    clock.advance(86_401)
    _error_body(await api.get("/api/v2/users"), 401, "bad.credentials")


async def test_listings_page_by_number_with_counts_and_uris(
    api: httpx.AsyncClient, app: GenesysSandbox
) -> None:
    first = (await api.get("/api/v2/routing/queues", params={"pageSize": 2})).json()
    assert (first["total"], first["pageCount"], first["pageNumber"]) == (5, 3, 1)
    assert first["nextUri"] == "/api/v2/routing/queues?pageSize=2&pageNumber=2"
    last = (await api.get(first["lastUri"])).json()
    assert "nextUri" not in last and last["previousUri"].endswith("pageNumber=2")
    assert [q["id"] for q in [*first["entities"], *last["entities"]]] == [
        app.records.queues[i]["id"] for i in (0, 1, 4)
    ]
    assert int(last.get("pageSize")) == 2


async def test_external_contacts_stop_at_a_thousand_and_the_scan_reads_them_all(
    api: httpx.AsyncClient, app: GenesysSandbox
) -> None:
    refused = await api.get("/api/v2/externalcontacts/contacts",
                            params={"pageSize": 100, "pageNumber": 11})  # fmt: skip
    _error_body(refused, 400, "bad.request")
    seen, url = [], "/api/v2/externalcontacts/scan/contacts?limit=7"
    while url:
        page = (await api.get(url)).json()
        seen += [c["id"] for c in page["entities"]]
        url = page.get("nextUri")
    assert seen == [app.records.contact(i)["id"] for i in range(app.records.sizes.contacts)]


async def test_the_details_query_holds_conversations_started_in_the_interval(
    api: httpx.AsyncClient, app: GenesysSandbox
) -> None:
    body = {"interval": _interval(app, 10, 5), "paging": {"pageSize": 4, "pageNumber": 1}}
    page = (await api.post(QUERY, json=body)).json()
    starts = [c["conversationStart"] for c in page["conversations"]]
    low, high = body["interval"].split("/")
    assert page["totalHits"] >= 4 and len(starts) == 4
    assert all(low <= s < high for s in starts) and starts == sorted(starts)
    beyond = {**body, "paging": {"pageSize": 4, "pageNumber": 100}}
    empty = (await api.post(QUERY, json=beyond)).json()
    assert empty == {"totalHits": page["totalHits"]}  # no "conversations" key when none


@pytest.mark.parametrize(
    "body",
    [{}, {"interval": "yesterday"}, {"interval": "2026-01-02T00:00:00Z/2026-01-01T00:00:00Z"},
     {"interval": "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z", "paging": {"pageSize": 101}}],
)  # fmt: skip
async def test_a_bad_details_query_is_a_bad_request(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    _error_body(await api.post(QUERY, json=body), 400, "bad.request")


async def test_a_details_job_is_pending_then_fulfilled_paged_by_cursor_then_expires(
    api: httpx.AsyncClient, app: GenesysSandbox, clock: FakeClock
) -> None:
    submitted = await api.post(JOBS, json={"interval": _interval(app, 40)})
    job = submitted.json()["jobId"]
    states = [(await api.get(f"{JOBS}/{job}")).json()["state"] for _ in range(2)]
    assert states == ["PENDING", "FULFILLED"]
    ids, cursor = [], None
    while True:
        params = {"pageSize": 15, **({"cursor": cursor} if cursor else {})}
        page = (await api.get(f"{JOBS}/{job}/results", params=params)).json()
        ids += [c["conversationId"] for c in page["conversations"]]
        cursor = page.get("cursor")
        if cursor is None:
            break
    assert ids == [app.records.conversation(i)["conversationId"] for i in range(40)]
    clock.advance(3601)
    assert (await api.get(f"{JOBS}/{job}")).json()["state"] == "EXPIRED"
    _error_body(await api.get(f"{JOBS}/{job}/results"), 404, "not.found")


async def test_answers_carry_the_inin_ratelimit_headers(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v2/users")
    count, allowed = (int(answer.headers[f"inin-ratelimit-{h}"]) for h in ("count", "allowed"))
    assert 1 <= count <= allowed and int(answer.headers["inin-ratelimit-reset"]) >= 1


def test_conversation_customers_are_the_external_contacts_of_the_shared_world(
    app: GenesysSandbox,
) -> None:
    contacts = {c["id"]: c for c in map(app.records.contact, range(app.records.sizes.contacts))}
    linked = 0
    for index in range(app.records.sizes.conversations):
        for session in customer_sessions(app.records.conversation(index)):
            contact = contacts.get(session["externalContactId"])
            if contact is None:
                continue
            linked += 1
            assert set(session["customerEmails"]) <= {contact.get("personalEmail")}
            phone = contact.get("cellPhone", {}).get("e164")
            assert set(session["customerPhones"]) <= {phone}
    assert linked >= 20


async def test_connector_errors_show_the_error_body_but_no_token(
    api: httpx.AsyncClient, app: GenesysSandbox
) -> None:
    config = app.connection_config("http://localhost", None)
    # The sandbox's ASGI transport, with the test's bearer token.
    connector = GenesysConnector(GenesysConnector.config_model.model_validate(config),
                                 connection="gc", client=api)  # fmt: skip
    with pytest.raises(VendorError) as caught:
        await connector.request_json("GET", "/api/v2/no/such/thing")
    message = str(caught.value)
    # ErrorBody's code, message, status and contextId (the id Genesys support asks for).
    assert "404 not.found: The requested resource was not found. (status 404" in message
    assert re.search(r"contextId [0-9a-f]{8}-[0-9a-f]{4}-", message)
    assert api.headers["Authorization"].split()[1] not in message


def test_the_generated_history_is_the_same_whichever_day_the_sandbox_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = []
    midnight = HISTORY_END + 200 * DAY
    for moment in (midnight - 1, midnight + 1):  # the machine's clock either side of midnight
        monkeypatch.setattr(time, "time", lambda moment=moment: moment)
        built.append(GenesysSandbox(records=20, seed=7))
    before, after = built
    assert before.records.anchor == after.records.anchor == HISTORY_END
    assert [before.records.conversation(i) for i in range(20)] == [
        after.records.conversation(i) for i in range(20)
    ]
    assert HISTORY_END <= before.server_time() < HISTORY_END + 60  # its Date starts there


def test_genesys_customers_are_people_the_other_vendors_hold_too() -> None:
    from connectors.zendesk.sandbox.records import WORLD_VENDOR as ZENDESK
    from hub.sandbox.data import person, world

    app = GenesysSandbox(records=200, seed=7)
    truth = world(7)
    contacts = {truth.truth("genesys", i): i for i in range(app.records.sizes.contacts)}
    zendesk_users = {truth.truth(ZENDESK, i): i for i in range(200)}
    shared = contacts.keys() & zendesk_users.keys()
    assert len(shared) >= len(contacts) // 3
    same_email = [
        pid
        for pid in shared
        if (app.records.contact(contacts[pid]).get("personalEmail") or "").lower()
        == (person(7, zendesk_users[pid], ZENDESK).email or "-").lower()
    ]
    # Each vendor keeps its own noise (an older address, a typo), so most, not all, agree.
    assert len(same_email) >= len(shared) * 3 // 4
