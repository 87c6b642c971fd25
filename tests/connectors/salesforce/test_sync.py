"""Salesforce syncs over loopback: incremental by SystemModstamp behind the server's clock,
late commits, deletions, and the daily API allowance."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.sandbox import SalesforceSandbox
from hub.runtime import Hub
from hub.sync import sync_connection
from hub.testing import FakeClock
from hub.testing.store import store_snapshot

MARGIN = 120  # the connector's default safety margin


async def _sync(hub: Hub, *streams: str) -> list[Any]:
    return await sync_connection(hub, "sf", streams=list(streams), raise_errors=False)


def _case_id(sandbox: SalesforceSandbox, number: int) -> str:
    return sandbox.org.tables["Case"].sf_id(number)


async def test_full_sync_stores_every_stream_with_consistent_references(
    hub: Hub, sf: SalesforceSandbox
) -> None:
    results = await sync_connection(hub, "sf")
    assert {r.status for r in results} == {"succeeded"}
    snapshot = await store_snapshot(hub, "sf")
    kinds = {key[0]: kind for key, (kind, *_rest) in snapshot.items()}
    assert kinds == {"account": "organization", "contact": "customer", "case": "case",
                     "entitlement": "entitlement", "service_contract": "contract",
                     "asset": "product_ownership", "product": "product",
                     "user": "agent"}  # fmt: skip
    counts = sf.org.counts
    stored = {t: sum(1 for key in snapshot if key[0] == t) for t in kinds}
    assert stored["contact"] == counts.contacts and stored["asset"] == counts.assets
    phones = [d["phones"] for (t, _), (_, _, d, _) in snapshot.items() if t == "contact"]
    assert sum(1 for found in phones if found) > len(phones) / 2  # E.164; invalid ones dropped
    assert all(number.startswith("+") for found in phones for number in found)
    for (object_type, _), (_, _, data, raw) in snapshot.items():
        if object_type == "contact":  # a customer with the contact's address, as sent
            [address] = data["addresses"]
            assert (address["city"], address["country"]) == (
                raw["MailingCity"],
                raw["MailingCountry"],
            )
            assert data["organization_ref"] == f"account/{raw['AccountId']}"
        if object_type == "entitlement":  # every reference names a record the hub holds
            for ref in (data["organization_ref"], data["ownership_ref"], data["contract_ref"]):
                kind, _, ref_id = ref.partition("/")
                assert (kind, ref_id) in snapshot


async def test_a_change_is_read_once_the_safety_margin_behind_the_server_clock_passed(
    hub: Hub, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    await _sync(hub, "Case")
    [changed] = sf.mutate(1)
    clock.advance(MARGIN / 2)
    [early] = await _sync(hub, "Case")
    assert early.counters.records_written == 0  # within the margin: maybe still committing
    clock.advance(MARGIN)
    [later] = await _sync(hub, "Case")
    assert later.counters.records_written == 1
    snapshot = await store_snapshot(hub, "sf", "Case")
    object_type, case_id = changed.split("/")
    now = sf.org.tables["Case"].get(case_id)
    assert now is not None and snapshot[(object_type, case_id)][3]["Status"] == now["Status"]


async def test_a_row_committed_late_with_a_stamp_older_than_the_cursor_is_still_synced(
    hub: Hub, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    await _sync(hub, "Case")
    late = _case_id(sf, 3)
    # A long transaction stamps case 3 now but commits only after a newer change is read.
    sf.write_uncommitted("Case", late, {"Subject": "committed late"})
    clock.advance(30)
    sf.mutate(1)  # case 1 changes 30 s after case 3's stamp, and commits at once
    clock.advance(MARGIN + 60)
    [first] = await _sync(hub, "Case")
    assert first.counters.records_written == 1  # case 1; case 3 is not visible yet
    sf.commit()
    clock.advance(10)
    [second] = await _sync(hub, "Case")
    assert second.counters.records_written == 1
    snapshot = await store_snapshot(hub, "sf", "Case")
    assert snapshot[("case", late)][2]["subject"] == "committed late"


async def test_deleted_rows_from_query_all_become_tombstones(
    hub: Hub, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    await _sync(hub, "Case", "Contact")
    sf.delete("Case", _case_id(sf, 2))
    clock.advance(MARGIN + 1)
    [cases] = await _sync(hub, "Case")
    assert cases.counters.records_deleted == 1
    snapshot = await store_snapshot(hub, "sf", "Case")
    assert snapshot[("case", _case_id(sf, 2))][1] is True
    assert sum(1 for _, deleted, *_ in snapshot.values() if not deleted) == sf.org.counts.cases - 1


async def test_an_expired_session_is_renewed_and_the_sync_goes_on(
    hub: Hub, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    await _sync(hub, "Case")
    clock.advance(3 * 3600)  # past the org's two-hour session timeout: 401 INVALID_SESSION_ID
    sf.mutate(2)
    clock.advance(MARGIN + 1)
    [result] = await _sync(hub, "Case")
    assert result.status == "succeeded" and result.counters.records_written == 1


@pytest.mark.parametrize("sandbox_options", [{"records": 30, "seed": 5, "daily_api_requests": 20}])
@pytest.mark.parametrize("config_overrides", [{"page_size": 10, "api_share_limit": 1.0}])
async def test_a_refused_allowance_stops_the_connection_and_the_next_day_resumes(
    hub: Hub,
    sf: SalesforceSandbox,
    clock: FakeClock,
    sandbox_options: dict[str, Any],
    config_overrides: Any,
) -> None:
    await _sync(hub, "Case")
    while sf.allowance.take().allowed:  # another integration spends the rest of the day
        pass
    answered = sf.stats.requests
    contact, account = await _sync(hub, "Contact", "Account")
    assert contact.status == "failed" and "REQUEST_LIMIT_EXCEEDED" in (contact.error or "")
    assert account.status == "skipped"  # no request is spent on a refusal known in advance
    assert sf.stats.requests - answered == 1  # one refused request, no retry loop
    clock.advance(86_400)  # the allowance rolls on
    results = await _sync(hub, "Contact", "Account")
    assert {r.status for r in results} == {"succeeded"}


@pytest.mark.parametrize("sandbox_options", [{"records": 30, "seed": 5, "daily_api_requests": 40}])
@pytest.mark.parametrize("config_overrides", [{"page_size": 2, "api_share_limit": 0.25}])
async def test_a_run_stops_before_its_share_of_the_allowance_and_resumes_the_next_day(
    hub: Hub,
    sf: SalesforceSandbox,
    clock: FakeClock,
    sandbox_options: dict[str, Any],
    config_overrides: Any,
) -> None:
    [stopped] = await _sync(hub, "Case")
    assert stopped.status == "failed" and "api_share_limit" in (stopped.error or "")
    assert sf.allowance.peek().remaining == 30  # 10 of 40 used: the org never refused one
    assert stopped.counters.pages == 9  # /limits and nine pages, each committed
    clock.advance(86_400)
    answered = sf.stats.requests
    [resumed] = await _sync(hub, "Case")
    assert resumed.status == "succeeded"
    # Overnight the session timed out (a 401 INVALID_SESSION_ID, one new session) and the
    # stored query locator expired (one 400 INVALID_QUERY_LOCATOR): after /limits the read
    # queries again from the overlap before the newest stamp committed, 13 rows in 7 pages,
    # not the whole day-one read again.
    assert sf.stats.requests - answered == 2 + 1 + 1 + 7
    assert resumed.counters.records_written == sf.org.counts.cases - 18
    assert len(await store_snapshot(hub, "sf", "Case")) == sf.org.counts.cases
