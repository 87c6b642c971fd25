"""The Zendesk sandbox's list, show and search endpoints, read with zenpy and httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.sandbox import RunningSandbox, serve_in_background

SEED = 11
RECORDS = 60  # 60 tickets, 30 users (one admin, one agent), 3 organizations
T = TypeVar("T")


@pytest.fixture
async def running() -> AsyncIterator[RunningSandbox]:
    sandbox = ZendeskSandbox(records=RECORDS, seed=SEED, incremental_per_minute=1000)
    async with serve_in_background(sandbox) as served:
        yield served


@pytest.fixture
async def client(running: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    auth = (f"{running.credentials['email']}/token", running.credentials["api_token"])
    async with httpx.AsyncClient(base_url=running.base_url, auth=auth) as api:
        yield api


@pytest.fixture
def zenpy_call(
    running: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Callable[[Any], T]], Any]:
    """Run a function of a zenpy client (pointed at the sandbox) in a thread."""
    from zenpy import Zenpy

    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", running.base_url.removeprefix("http://"))
    creds = running.credentials

    def call(use: Callable[[Any], T]) -> Any:
        def in_thread() -> T:
            zd = Zenpy(subdomain=creds["subdomain"], email=creds["email"], token=creds["api_token"])
            return use(zd)

        return asyncio.to_thread(in_thread)

    return call


async def _walk_cursor(client: httpx.AsyncClient, path: str, key: str, **params: Any) -> list[Any]:
    """Follow ``links.next`` while ``meta.has_more``; every page must link consistently."""
    page = (await client.get(path, params=params)).json()
    items = list(page[key])
    while page["meta"]["has_more"]:
        next_query = parse_qs(urlsplit(page["links"]["next"]).query)
        assert next_query["page[after]"] == [page["meta"]["after_cursor"]]
        page = (await client.get(page["links"]["next"])).json()
        items += page[key]
    assert page["links"]["next"] is None
    return items


async def _walk_offset(client: httpx.AsyncClient, path: str, key: str, **params: Any) -> list[Any]:
    page = (await client.get(path, params=params)).json()
    items = list(page[key])
    while page["next_page"]:
        page = (await client.get(page["next_page"])).json()
        items += page[key]
    return items


# -- lists in both paging styles ----------------------------------------------------------------


async def test_zenpy_lists_every_standard_collection_through_cursor_pages(zenpy_call: Any) -> None:
    def lists(zd: Any) -> dict[str, list[Any]]:
        return {
            "users": list(zd.users(cursor_pagination=7)),
            "organizations": list(zd.organizations(cursor_pagination=2)),
            "groups": list(zd.groups()),
            "group_memberships": list(zd.group_memberships()),
            "ticket_fields": list(zd.ticket_fields()),
            "ticket_forms": list(zd.ticket_forms()),
            "user_fields": list(zd.user_fields()),
            "organization_fields": list(zd.organization_fields()),
            "macros": list(zd.macros()),
            "sla_policies": list(zd.sla_policies()),
        }

    found = await zenpy_call(lists)
    counts = {name: len(items) for name, items in found.items()}
    assert counts == {
        "users": 30, "organizations": 3, "groups": 3, "group_memberships": 4,
        "ticket_fields": 10, "ticket_forms": 2, "user_fields": 1, "organization_fields": 1,
        "macros": 4, "sla_policies": 2,
    }  # fmt: skip
    user_ids = [u.id for u in found["users"]]
    assert user_ids == sorted(set(user_ids))
    assert {f.key for f in found["user_fields"]} == {"customer_tier"}
    assert {o.value for o in found["organization_fields"][0].custom_field_options} == {
        "enterprise", "growth", "team"
    }  # fmt: skip


async def test_offset_and_cursor_styles_return_the_same_users(client: httpx.AsyncClient) -> None:
    by_cursor = await _walk_cursor(client, "/api/v2/users.json", "users", **{"page[size]": 7})
    by_offset = await _walk_offset(client, "/api/v2/users.json", "users", per_page=7)
    assert [u["id"] for u in by_offset] == [u["id"] for u in by_cursor]
    assert len(by_cursor) == 30


async def test_offset_pages_carry_count_and_links_both_ways(client: httpx.AsyncClient) -> None:
    second = (await client.get("/api/v2/organizations", params={"per_page": 1, "page": 2})).json()
    assert second["count"] == 3
    assert "page=1" in second["previous_page"] and "page=3" in second["next_page"]
    first = (await client.get(second["previous_page"])).json()
    assert first["previous_page"] is None
    assert first["organizations"][0]["id"] < second["organizations"][0]["id"]


async def test_users_list_narrows_by_role(client: httpx.AsyncClient) -> None:
    agents = (await client.get("/api/v2/users", params={"role": "agent"})).json()
    assert {u["role"] for u in agents["users"]} == {"agent"}
    assert agents["count"] == len(agents["users"]) == 1
    bad = await client.get("/api/v2/users", params={"role": "owner"})
    assert bad.status_code == 400


async def test_memberships_point_at_agents_and_groups_that_exist(
    client: httpx.AsyncClient,
) -> None:
    memberships = await _walk_cursor(
        client, "/api/v2/group_memberships", "group_memberships", **{"page[size]": 1}
    )
    groups = {g["id"] for g in (await client.get("/api/v2/groups")).json()["groups"]}
    for membership in memberships:
        assert membership["group_id"] in groups
        user = (await client.get(f"/api/v2/users/{membership['user_id']}")).json()["user"]
        assert user["role"] in ("agent", "admin")


async def test_tags_list_in_both_styles(client: httpx.AsyncClient) -> None:
    by_cursor = await _walk_cursor(client, "/api/v2/tags.json", "tags", **{"page[size]": 3})
    offset = (await client.get("/api/v2/tags.json")).json()
    assert [t["name"] for t in by_cursor] == [t["name"] for t in offset["tags"]]
    assert offset["count"] == len(by_cursor) and all(t["count"] > 0 for t in by_cursor)


# -- show by id -----------------------------------------------------------------------------------


async def test_zenpy_shows_records_by_id_and_raises_not_found(zenpy_call: Any) -> None:
    from zenpy.lib.exception import RecordNotFoundException

    def shows(zd: Any) -> dict[str, Any]:
        org = next(iter(zd.organizations()))
        group = next(iter(zd.groups()))
        field = next(iter(zd.ticket_fields()))
        macro = next(iter(zd.macros()))
        try:
            zd.organizations(id=1)
            missing = False
        except RecordNotFoundException:
            missing = True
        return {
            "organization": (zd.organizations(id=org.id).name, org.name),
            "group": (zd.groups(id=group.id).name, group.name),
            "ticket_field": (zd.ticket_fields(id=field.id).title, field.title),
            "macro": (zd.macros(id=macro.id).title, macro.title),
            "missing": missing,
        }

    found = await zenpy_call(shows)
    assert found.pop("missing") is True
    for shown, listed in found.values():
        assert shown == listed


async def test_every_show_route_answers_its_singular_key(client: httpx.AsyncClient) -> None:
    for collection, key in (
        ("ticket_forms", "ticket_form"),
        ("user_fields", "user_field"),
        ("organization_fields", "organization_field"),
        ("slas/policies", "sla_policy"),
        ("group_memberships", "group_membership"),
    ):
        listed = (await client.get(f"/api/v2/{collection}.json")).json()
        row = next(iter(listed.values()))[0]
        shown = (await client.get(row["url"])).json()
        assert shown == {key: row}


# -- tickets: fields, comments, audits, metric events ----------------------------------------------


async def test_tickets_carry_fields_as_well_as_custom_fields(client: httpx.AsyncClient) -> None:
    ticket = (await client.get("/api/v2/tickets/2.json")).json()["ticket"]
    assert ticket["fields"] == ticket["custom_fields"] != []
    exported = (
        await client.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
    ).json()["tickets"]
    assert all(t["fields"] == t["custom_fields"] for t in exported)


async def test_zenpy_reads_a_tickets_comments_and_audits(zenpy_call: Any) -> None:
    def activity(zd: Any) -> tuple[Any, list[Any], list[Any]]:
        ticket = zd.tickets(id=2)
        return ticket, list(zd.tickets.comments(ticket=2)), list(zd.tickets.audits(ticket=2))

    ticket, comments, audits = await zenpy_call(activity)
    assert comments[0].body == ticket.description
    assert comments[0].author_id == ticket.requester_id
    assert [a.id for a in audits] == [c.audit_id for c in comments]
    assert all(any(e["type"] == "Comment" for e in a.events) for a in audits)
    stamps = [c.created_at for c in comments]
    assert stamps == sorted(stamps)


async def test_comments_page_by_cursor_and_a_deleted_ticket_has_none(
    client: httpx.AsyncClient,
) -> None:
    everything = (await client.get("/api/v2/tickets/2/comments.json")).json()
    paged = await _walk_cursor(client, "/api/v2/tickets/2/comments.json", "comments",
                               **{"page[size]": 1})  # fmt: skip
    assert paged == everything["comments"] and everything["count"] == len(paged)
    exported = (
        await client.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
    ).json()["tickets"]
    deleted = next(t["id"] for t in exported if t["status"] == "deleted")
    gone = await client.get(f"/api/v2/tickets/{deleted}/audits.json")
    assert gone.status_code == 404 and gone.json()["error"] == "RecordNotFound"


async def test_zenpy_exports_ticket_metric_events_by_time(zenpy_call: Any) -> None:
    events = await zenpy_call(lambda zd: list(zd.tickets.metrics_incremental(start_time=0)))
    assert len(events) == RECORDS * 4
    assert {e.metric for e in events} == {"reply_time", "agent_work_time", "requester_wait_time"}
    times = [e.time for e in events]
    assert times == sorted(times)


async def test_metric_events_page_by_cursor_from_start_time(client: httpx.AsyncClient) -> None:
    first = (
        await client.get("/api/v2/incremental/ticket_metric_events.json", params={"start_time": 0})
    ).json()
    cut = first["ticket_metric_events"][100]["time"]
    later = [e for e in first["ticket_metric_events"] if e["time"] >= cut]
    from datetime import datetime

    start = int(datetime.fromisoformat(cut.replace("Z", "+00:00")).timestamp())
    paged = await _walk_cursor(
        client, "/api/v2/incremental/ticket_metric_events.json", "ticket_metric_events",
        start_time=start, **{"page[size]": 25},
    )  # fmt: skip
    assert paged == later
    assert first["end_of_stream"] is True


# -- search --------------------------------------------------------------------------------------


async def test_zenpy_search_filters_by_type_status_and_text(
    zenpy_call: Any, client: httpx.AsyncClient
) -> None:
    def searches(zd: Any) -> tuple[list[Any], list[Any], list[Any], int]:
        open_tickets = list(zd.search(type="ticket", status="open"))
        router = list(zd.search("router", type="ticket"))
        agents = list(zd.search(type="user", role="agent"))
        return open_tickets, router, agents, zd.search.count(type="ticket", status="open")

    open_tickets, router, agents, count = await zenpy_call(searches)
    exported = (
        await client.get("/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
    ).json()["tickets"]
    assert {t.id for t in open_tickets} == {t["id"] for t in exported if t["status"] == "open"}
    assert count == len(open_tickets) > 0
    assert router and all("router" in f"{t.subject} {t.description}".lower() for t in router)
    assert [u.role for u in agents] == ["agent"]


async def test_search_mixes_types_and_understands_comparisons(client: httpx.AsyncClient) -> None:
    mixed = (await client.get("/api/v2/search.json", params={"query": "vip"})).json()
    assert {"ticket", "user"} <= {r["result_type"] for r in mixed["results"]}
    early = (
        await client.get("/api/v2/search.json",
                         params={"query": "type:ticket status<pending -priority:urgent"})
    ).json()["results"]  # fmt: skip
    assert early and all(t["status"] in ("new", "open") for t in early)
    assert all(t["priority"] != "urgent" for t in early)
    never = (
        await client.get("/api/v2/search.json",
                         params={"query": "type:user updated>2030-01-01 updated<2000-01-02"})
    ).json()  # fmt: skip
    assert never["results"] == [] and never["count"] == 0


async def test_search_refuses_pages_beyond_1000_results(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v2/search.json", params={"query": "type:ticket", "page": 11, "per_page": 100}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


async def test_zenpy_search_export_walks_cursor_pages_of_one_type(
    zenpy_call: Any, client: httpx.AsyncClient
) -> None:
    exported = await zenpy_call(
        lambda zd: list(zd.search_export(type="ticket", status="solved", cursor_pagination=4))
    )
    searched = await _walk_offset(
        client, "/api/v2/search.json", "results", query="type:ticket status:solved", per_page=4
    )
    assert [t.id for t in exported] == [t["id"] for t in searched]
    assert exported and {t.status for t in exported} == {"solved"}
    contradicting = await client.get(
        "/api/v2/search/export", params={"query": "type:user", "filter[type]": "ticket"}
    )
    untyped = await client.get("/api/v2/search/export", params={"query": "status:open"})
    assert contradicting.status_code == untyped.status_code == 400


# -- size ------------------------------------------------------------------------------------------


async def test_lists_at_a_million_tickets_build_only_the_page() -> None:
    sandbox = ZendeskSandbox(records=1_000_000, seed=SEED, incremental_per_minute=1000)
    last_ts = sandbox.data.ticket_ts(999_999)
    async with serve_in_background(sandbox) as served:
        auth = (f"{served.credentials['email']}/token", served.credentials["api_token"])
        async with httpx.AsyncClient(base_url=served.base_url, auth=auth) as api:
            users = (await api.get("/api/v2/users", params={"page[size]": 100})).json()
            following = (await api.get(users["links"]["next"])).json()
            offset = (await api.get("/api/v2/organizations", params={"page": 100})).json()
            comments = await api.get("/api/v2/tickets/1000000/comments.json")
            events = (
                await api.get(
                    "/api/v2/incremental/ticket_metric_events.json",
                    params={"start_time": last_ts, "page[size]": 100},
                )
            ).json()
    assert len(users["users"]) == len(following["users"]) == 100
    assert users["users"][-1]["id"] < following["users"][0]["id"]
    assert offset["count"] == 50_000 and len(offset["organizations"]) == 100
    assert comments.status_code in (200, 404)  # 404 when that ticket is a deleted one
    assert [e["ticket_id"] for e in events["ticket_metric_events"]] == [1_000_000] * 4
    assert sandbox.data.built["user"] <= 2 * 101
    assert sandbox.data.built["organization"] <= 100
    assert sandbox.data.built["ticket"] <= 1
