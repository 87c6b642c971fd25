"""The sync engine end to end: Zendesk connector against its sandbox over loopback HTTP."""

from __future__ import annotations

import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.schema import records, stream_state, sync_runs
from hub.sync import sync_connection
from tests.support import store_snapshot

STREAMS = {"users", "organizations", "tickets", "ticket_metrics", "satisfaction_ratings"}


async def test_full_sync_stores_every_stream_then_incremental_sync_rewrites_nothing(
    hub: Hub, zendesk: tuple[object, object]
) -> None:
    first = await sync_connection(hub, "zd")
    assert {r.stream for r in first} == STREAMS
    assert all(r.status == "succeeded" for r in first)
    for r in first:
        c = r.counters
        assert c.records_read > 0, r.stream
        assert (
            c.records_read
            == c.records_written + c.records_unchanged + c.records_deleted + c.records_quarantined
        )
    tickets = next(r for r in first if r.stream == "tickets").counters
    assert tickets.pages > 1  # pages of 50: the cursor really moved between pages
    assert tickets.records_deleted > 0  # the sandbox deletes some tickets

    second = await sync_connection(hub, "zd")
    assert sum(r.counters.records_written for r in second) == 0
    reread = {r.stream: r.counters.records_read for r in second}
    # Cursor exports resume exactly after the last record; the time-based organization
    # export re-reads the boundary record (Zendesk's documented overlap), harmlessly.
    assert reread["users"] == reread["tickets"] == reread["ticket_metrics"] == 0
    assert reread["organizations"] <= 1

    async with hub.engine.connect() as conn:
        kinds = dict(
            (
                await conn.execute(
                    sa.select(records.c.kind, sa.func.count()).group_by(records.c.kind)
                )
            ).all()
        )
        states = (await conn.execute(sa.select(sa.func.count()).select_from(stream_state))).scalar()
        runs = (await conn.execute(sa.select(sync_runs.c.status))).scalars().all()
    assert {"customer", "agent", "organization", "case", "case_metrics", "interaction"} <= set(
        kinds
    )
    assert states == len(STREAMS)
    assert runs == ["succeeded"] * (2 * len(STREAMS))


async def test_changes_in_the_source_reach_the_store_on_the_next_sync(
    hub: Hub, zendesk: tuple[object, object]
) -> None:
    app, _ = zendesk
    await sync_connection(hub, "zd", streams=["users", "tickets"])
    before = await store_snapshot(hub, "zd")
    changed = {tuple(c.split("/")) for c in app.mutate(6)}  # type: ignore[attr-defined]
    results = await sync_connection(hub, "zd", streams=["users", "tickets"])
    after = await store_snapshot(hub, "zd")
    assert sum(r.counters.records_written for r in results) == len(changed)
    differing = {k for k in after if after[k] != before.get(k)}
    assert differing == changed
    assert all("sandbox_mutated" in after[k][2]["tags"] for k in changed)  # type: ignore[operator]


async def test_full_refresh_reads_everything_again_but_writes_only_changes(
    hub: Hub, zendesk: tuple[object, object]
) -> None:
    first = await sync_connection(hub, "zd", streams=["users"])
    again = await sync_connection(hub, "zd", streams=["users"], full_refresh=True)
    assert again[0].counters.records_read == first[0].counters.records_read
    assert again[0].counters.records_written == 0
    assert again[0].counters.records_unchanged == first[0].counters.records_written


async def test_a_page_item_that_is_not_an_object_is_quarantined_not_dropped(hub: Hub) -> None:
    import httpx
    import respx

    from hub.services.sandboxes import connect_sandbox

    base = "https://acme.zendesk.com"
    await connect_sandbox(
        hub, "zd", "zendesk", {"base_url": base, "email": "ops@example.com", "token": "t0k"}
    )
    user = {
        "id": 7,
        "name": "Ana",
        "email": "ana@example.com",
        "role": "end-user",
        "updated_at": "2026-01-01T00:00:00Z",
        "created_at": "2026-01-01T00:00:00Z",
    }
    page = {"users": [user, "not a user"], "after_cursor": "c1", "end_of_stream": True}
    with respx.mock(base_url=base) as vendor:
        vendor.get("/api/v2/incremental/users/cursor.json").mock(
            return_value=httpx.Response(200, json=page)
        )
        result = (await sync_connection(hub, "zd", streams=["users"]))[0]
    assert result.counters.records_read == 2
    assert result.counters.records_written == 1
    assert result.counters.records_quarantined == 1
