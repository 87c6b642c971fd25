"""simple-salesforce, the official community client, works unmodified against the sandbox
over TLS (it only speaks https): query, query_more through nextRecordsUrl, query_all with
deleted rows, and upsert by external id."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from connectors.salesforce.sandbox import SalesforceSandbox
from hub.sandbox.server import RunningSandbox, serve_in_background


@pytest.fixture
async def tls(sandbox: SalesforceSandbox) -> AsyncIterator[RunningSandbox]:
    async with serve_in_background(sandbox, tls=True) as served:
        yield served


@pytest.fixture
async def client(tls: RunningSandbox) -> AsyncIterator[Salesforce]:
    sf = await _client(tls)
    yield sf
    sf.session.close()


async def _client(running: RunningSandbox) -> Salesforce:
    """A client on a session from the client credentials flow (simple-salesforce's own login
    would post to https://{domain}.salesforce.com, which a loopback sandbox cannot be)."""
    assert running.ca_file is not None
    grant = {"grant_type": "client_credentials", **{
        k: running.credentials[k] for k in ("client_id", "client_secret")}}  # fmt: skip
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=running.ca_file)
    ) as client:
        token = (await client.post(f"{running.base_url}/services/oauth2/token", data=grant)).json()
    session = requests.Session()
    session.trust_env = False  # a CA bundle from the environment would override verify
    session.verify = running.ca_file
    # No kept-alive connections (an error answer leaves one checked out): the server's
    # shutdown would wait for them.
    session.headers["Connection"] = "close"
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      session=session, version="59.0")  # fmt: skip


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # simple-salesforce blocks; the sandbox serves on this event loop.
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_query_query_more_and_query_all_read_the_org(
    sandbox: SalesforceSandbox, client: Salesforce
) -> None:
    sf = client
    first = await _call(sf.query, "SELECT Id, Subject FROM Case ORDER BY SystemModstamp",
                        headers={"Sforce-Query-Options": "batchSize=7"})  # fmt: skip
    assert first["totalSize"] == sandbox.org.counts.cases and len(first["records"]) == 7
    assert first["done"] is False and first["nextRecordsUrl"].startswith("/services/data/v59.0/")
    second = await _call(sf.query_more, first["nextRecordsUrl"], identifier_is_url=True)
    assert {r["Id"] for r in second["records"]}.isdisjoint(r["Id"] for r in first["records"])
    every = await _call(sf.query_all, "SELECT Id, AccountId FROM Contact")
    assert len(every["records"]) == sandbox.org.counts.contacts
    assert sf.api_usage["api-usage"].used > 0  # parsed from Sforce-Limit-Info


async def test_query_all_returns_deleted_rows_and_query_does_not(
    sandbox: SalesforceSandbox, client: Salesforce
) -> None:
    sf = client
    gone = sandbox.org.tables["Case"].sf_id(4)
    sandbox.delete("Case", gone)
    soql = f"SELECT Id, IsDeleted FROM Case WHERE Id = '{gone}'"
    assert (await _call(sf.query, soql))["totalSize"] == 0
    deleted = await _call(sf.query_all, soql, include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in deleted["records"]] == [(gone, True)]


async def test_upsert_by_external_id_creates_once_then_updates(
    sandbox: SalesforceSandbox, client: Salesforce
) -> None:
    sf = client
    assert await _call(sf.Case.upsert, "Hub_Key__c/push-1", {"Subject": "Router down"}) == 201
    assert await _call(sf.Case.upsert, "Hub_Key__c/push-1", {"Subject": "Router fixed"}) == 200
    found = await _call(sf.query, "SELECT Id, Subject FROM Case WHERE Hub_Key__c = 'push-1'")
    assert [r["Subject"] for r in found["records"]] == ["Router fixed"]
    case = await _call(sf.Case.get, found["records"][0]["Id"])
    assert case["Hub_Key__c"] == "push-1" and case["attributes"]["type"] == "Case"


async def test_errors_reach_the_client_in_salesforce_shapes(
    sandbox: SalesforceSandbox, client: Salesforce
) -> None:
    sf = client
    with pytest.raises(SalesforceMalformedRequest) as bad:
        await _call(sf.query, "SELECT Id FROM Case WHERE Nope__c = 1")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
    sf.session_id = "expired"
    sf.headers["Authorization"] = "Bearer expired"
    with pytest.raises(SalesforceExpiredSession):
        await _call(sf.query, "SELECT Id FROM Case")
