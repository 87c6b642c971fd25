"""The Salesforce sandbox answers as Salesforce does: the token endpoint, SOQL and its
errors, query locators, Sforce-Limit-Info, the daily allowance, changed and deleted ids, and
an org whose records are consistent with each other and drawn from the shared world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from connectors.salesforce.sandbox import SalesforceSandbox
from connectors.salesforce.sandbox.objects import SalesforceOrg
from hub.sandbox.data import person
from hub.sandbox.server import RunningSandbox
from hub.testing import FakeClock

API = "/services/data/v59.0"


@pytest.fixture
async def api(running: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a session of the client credentials flow."""
    grant = {"grant_type": "client_credentials", "client_id": running.credentials["client_id"],
             "client_secret": running.credentials["client_secret"]}  # fmt: skip
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        token = (await client.post("/services/oauth2/token", data=grant)).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


async def _query(api: httpx.AsyncClient, soql: str, **headers: str) -> httpx.Response:
    return await api.get(f"{API}/query", params={"q": soql}, headers=headers)


async def test_the_token_answer_names_the_instance_and_gives_no_expiry(
    running: RunningSandbox,
) -> None:
    grant = {"grant_type": "client_credentials", "client_id": running.credentials["client_id"],
             "client_secret": running.credentials["client_secret"]}  # fmt: skip
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        good = (await client.post("/services/oauth2/token", data=grant)).json()
        bad = await client.post("/services/oauth2/token", data={**grant, "client_secret": "x"})
    assert good["instance_url"] == running.base_url and good["token_type"] == "Bearer"
    assert {"id", "issued_at", "signature"} <= set(good) and "expires_in" not in good
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Nothing", "INVALID_TYPE"),
        ("SELECT Id, Nope__c FROM Case", "INVALID_FIELD"),
        ("SELECT Id FROM Case WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Case WHERE IsDeleted = false AND Id = 'x' OR Id = 'y'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Case WHERE (Id = 'x' OR Id = 'y'", "MALFORMED_QUERY"),
    ],
)
async def test_bad_queries_answer_400_with_a_json_array_error(
    api: httpx.AsyncClient, soql: str, code: str
) -> None:
    answer = await _query(api, soql)
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["errorCode"] == code and error["message"]
    assert answer.headers["sforce-limit-info"].startswith("api-usage=")


async def test_where_joins_conditions_with_or_not_and_parentheses(api: httpx.AsyncClient) -> None:
    some = (await _query(api, "SELECT Id FROM Case ORDER BY Id LIMIT 3")).json()["records"]
    first, second, third = (record["Id"] for record in some)

    async def ids(where: str) -> set[str]:
        answer = await _query(api, f"SELECT Id FROM Case WHERE {where}")
        assert answer.status_code == 200, answer.text
        return {record["Id"] for record in answer.json()["records"]}

    assert await ids(f"Id = '{first}' OR Id = '{second}'") == {first, second}
    assert await ids(f"IsDeleted = false AND (Id = '{first}' OR Id = '{third}')") == {first, third}
    assert await ids(f"(Id = '{first}' OR Id = '{second}') AND NOT Id = '{first}'") == {second}
    assert await ids(f"Id IN ('{first}', '{second}') AND Id NOT IN ('{second}')") == {first}


async def test_pages_hold_at_most_the_batch_asked_and_follow_the_locator(
    api: httpx.AsyncClient, sf: SalesforceSandbox
) -> None:
    soql = "SELECT Id FROM Case WHERE SystemModstamp >= 2024-06-01T00:00:00Z ORDER BY Id DESC"
    first = (await _query(api, soql, **{"Sforce-Query-Options": "batchSize=4"})).json()
    ids = [r["Id"] for r in first["records"]]
    while not first["done"]:
        first = (await api.get(first["nextRecordsUrl"])).json()
        assert len(first["records"]) <= 2000
        ids += [r["Id"] for r in first["records"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == first["totalSize"]
    stamps = [sf.org.tables["Case"].get(i)["SystemModstamp"] for i in ids]  # type: ignore[index]
    assert min(stamps) >= "2024-06-01"
    gone = await api.get(f"{API}/query/01gXXXX-10")
    assert gone.status_code == 400 and gone.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize("sandbox_options", [{"records": 2100, "seed": 2, "relaxed_limits": True}])
async def test_a_page_never_holds_more_than_2000_rows(
    api: httpx.AsyncClient, sandbox_options: dict[str, Any]
) -> None:
    page = (await _query(api, "SELECT Id FROM Case")).json()
    assert (len(page["records"]), page["totalSize"], page["done"]) == (2000, 2100, False)


async def test_an_unknown_session_is_invalid_session_id(running: RunningSandbox) -> None:
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        answer = await client.get(f"{API}/limits", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert answer.headers["sforce-limit-info"] == "api-usage=0/100000000"  # a 401 costs nothing


async def test_a_method_a_path_does_not_take_is_a_json_array_error(
    api: httpx.AsyncClient, sandbox: SalesforceSandbox
) -> None:
    case = sandbox.org.tables["Case"].sf_id(1)
    answer = await api.put(f"{API}/sobjects/Case/{case}", json={"Subject": "x"})
    assert answer.status_code == 405
    [error] = answer.json()
    assert error == {"message": "HTTP Method 'PUT' not allowed.", "errorCode": "METHOD_NOT_ALLOWED"}


@pytest.mark.parametrize(
    "sandbox_options",
    [{"records": 10, "seed": 2, "daily_api_requests": 3, "session_ttl_seconds": 200_000}],
)
async def test_the_daily_allowance_is_counted_in_every_answer_and_then_refused(
    api: httpx.AsyncClient, clock: FakeClock, sandbox_options: dict[str, Any]
) -> None:
    usage = [(await api.get(f"{API}/limits")).headers["sforce-limit-info"] for _ in range(3)]
    assert usage == ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]
    refused = await api.get(f"{API}/limits")
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    clock.advance(86_400)
    assert (await api.get(f"{API}/limits")).status_code == 200


@pytest.mark.parametrize(
    "sandbox_options",
    [{"records": 10, "seed": 2, "daily_api_requests": 3, "session_ttl_seconds": 200_000}],
)
async def test_the_allowance_is_a_rolling_24_hours_not_a_calendar_day(
    api: httpx.AsyncClient, clock: FakeClock, sandbox_options: dict[str, Any]
) -> None:
    async def status() -> tuple[int, str]:
        answer = await api.get(f"{API}/limits")
        return answer.status_code, answer.headers["sforce-limit-info"]

    assert await status() == (200, "api-usage=1/3")
    clock.advance(12 * 3600)  # past a midnight, for the org's clock, whatever it reads
    assert [await status(), await status()] == [(200, "api-usage=2/3"), (200, "api-usage=3/3")]
    assert (await status())[0] == 403
    clock.advance(12 * 3600 + 60)  # the first request is a day old: one place is free again
    assert await status() == (200, "api-usage=3/3")
    assert (await status())[0] == 403


async def test_updated_and_deleted_ids_of_a_time_range(
    api: httpx.AsyncClient, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    since = datetime.fromtimestamp(clock(), UTC).isoformat()
    [changed] = sf.mutate(1)
    gone = sf.org.tables["Case"].sf_id(9)
    sf.delete("Case", gone)
    until = datetime.fromtimestamp(clock() + 1, UTC).isoformat()
    window = {"start": since, "end": until}
    updated = (await api.get(f"{API}/sobjects/Case/updated/", params=window)).json()
    deleted = (await api.get(f"{API}/sobjects/Case/deleted/", params=window)).json()
    assert updated["ids"] == [changed.split("/")[1]]
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]


def test_entitlements_point_at_an_existing_account_asset_and_contract() -> None:
    org = SalesforceOrg(records=40, seed=8)
    tables = org.tables
    for number in range(1, org.counts.assets + 1):
        entitlement = tables["Entitlement"].get(tables["Entitlement"].sf_id(number))
        assert entitlement is not None
        asset = tables["Asset"].get(entitlement["AssetId"])
        contract = tables["ServiceContract"].get(entitlement["ServiceContractId"])
        assert asset is not None and contract is not None
        assert asset["AccountId"] == contract["AccountId"] == entitlement["AccountId"]
        assert tables["Account"].get(entitlement["AccountId"]) is not None
        contact = tables["Contact"].get(asset["ContactId"])
        assert contact is not None and contact["AccountId"] == asset["AccountId"]


def test_contacts_are_the_shared_worlds_people_as_salesforce_holds_them() -> None:
    org = SalesforceOrg(records=20, seed=8)
    for index in range(20):
        contact = org.tables["Contact"].get(org.tables["Contact"].sf_id(index + 1))
        who = person(8, index, "salesforce")
        assert contact is not None and (contact["Email"], contact["LastName"]) == (
            who.email, who.family_name)  # fmt: skip


async def test_every_answer_is_dated_by_the_orgs_clock(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    answer = await api.get(f"{API}/limits")
    assert answer.headers.get_list("date") == [answer.headers["date"]]  # uvicorn adds none
    assert parsedate_to_datetime(answer.headers["date"]).timestamp() == int(clock())
