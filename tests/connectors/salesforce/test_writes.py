"""Writing back to Salesforce: a case pushed twice with one key is one Case, a key several
cases hold is an error that says so, and a contact's mailing address is replaced."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from connectors.salesforce.sandbox import SalesforceSandbox
from hub.cli import app
from hub.config import Settings
from hub.connector import CaseWrite
from hub.errors import VendorError
from hub.models import Address
from hub.runtime import Hub
from hub.sandbox.server import RunningSandbox
from hub.services.cases import push_case, update_customer_address
from hub.sync import sync_connection
from hub.testing import FakeClock
from hub.testing.store import store_snapshot


def _cases_keyed(sandbox: SalesforceSandbox, key: str) -> list[dict[str, Any]]:
    table = sandbox.org.tables["Case"]
    return [r for r in (table.get(i) for i in table.matching("Hub_Key__c", key)) if r]


async def test_the_same_push_twice_makes_one_case_then_updates_it(
    hub: Hub, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    case = CaseWrite(subject="Router down", priority="urgent", status="open")
    first = await push_case(hub, "sf", "order-1042", case)
    again = await push_case(hub, "sf", "order-1042", case)
    changed = await push_case(hub, "sf", "order-1042", CaseWrite(status="solved"))
    assert first.created and not again.created and not changed.created
    assert first.external_id == again.external_id == changed.external_id
    [stored] = _cases_keyed(sf, "order-1042")
    assert (stored["Subject"], stored["Priority"], stored["Status"]) == (
        "Router down", "High", "Closed")  # fmt: skip
    clock.advance(300)
    await sync_connection(hub, "sf", streams=["Case"])
    snapshot = await store_snapshot(hub, "sf", "Case")
    assert snapshot[("case", first.external_id)][2]["status"] == "closed"


async def test_a_key_held_by_several_cases_is_an_error_and_writes_nothing(
    hub: Hub, sf: SalesforceSandbox, running: RunningSandbox
) -> None:
    for _ in range(2):  # Hub_Key__c is an External ID that is not unique: both are created
        await push_raw(running, "POST", "/sobjects/Case", {"Subject": "dup", "Hub_Key__c": "k"})
    with pytest.raises(VendorError, match="more than one Salesforce Case") as refused:
        await push_case(hub, "sf", "k", CaseWrite(subject="changed"))
    assert refused.value.status == 300
    assert [c["Subject"] for c in _cases_keyed(sf, "k")] == ["dup", "dup"]


async def test_a_contacts_mailing_address_is_replaced_and_the_next_sync_stores_it(
    hub: Hub, sf: SalesforceSandbox, clock: FakeClock
) -> None:
    contact = sf.org.tables["Contact"].sf_id(2)
    address = Address(street="1 Harbour Way", city="Bristol", postal_code="BS1", country="GB")
    await update_customer_address(hub, "sf", contact, address)
    clock.advance(300)  # past the safety margin
    await sync_connection(hub, "sf", streams=["Contact"])
    synced = (await store_snapshot(hub, "sf", "Contact"))[("contact", contact)][2]
    assert synced["addresses"] == [address.model_dump()]
    stored = sf.org.tables["Contact"].get(contact)
    assert stored is not None
    assert (stored["MailingStreet"], stored["MailingCity"], stored["MailingState"],
            stored["MailingPostalCode"], stored["MailingCountry"]) == (
        "1 Harbour Way", "Bristol", None, "BS1", "GB")  # fmt: skip
    with pytest.raises(VendorError, match="15 or 18"):
        await update_customer_address(hub, "sf", "not-an-id", address)


async def push_raw(running: RunningSandbox, method: str, path: str, body: Any) -> httpx.Response:
    """A request of another integration: its own session, straight to the org."""
    grant = {"grant_type": "client_credentials", "client_id": running.credentials["client_id"],
             "client_secret": running.credentials["client_secret"]}  # fmt: skip
    async with httpx.AsyncClient(base_url=running.base_url) as client:
        token = (await client.post("/services/oauth2/token", data=grant)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        return await client.request(
            method, f"/services/data/v59.0{path}", json=body, headers=headers
        )


async def test_hub_cases_push_creates_once_and_updates_after(
    hub_settings: Settings, sf: SalesforceSandbox
) -> None:
    """The command as an operator runs it, in this process (the org is served on this
    test's event loop; the command runs its own loop in a worker thread)."""
    push = ["--config", str(hub_settings.home / "hub.toml"), "cases", "push", "sf",
            "--key", "order-7", "--subject", "Router down"]  # fmt: skip
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, app, [*push, "--json"])
    again = await asyncio.to_thread(runner.invoke, app, push)
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    created = json.loads(first.stdout)
    assert created["created"] is True
    assert f"updated case {created['external_id']} in sf (key order-7)" in again.stdout
    assert len(_cases_keyed(sf, "order-7")) == 1


async def test_hub_cases_push_writes_tags_and_the_cases_id_elsewhere(
    hub_settings: Settings, sf: SalesforceSandbox
) -> None:
    push = ["--config", str(hub_settings.home / "hub.toml"), "cases", "push", "sf",
            "--key", "order-8", "--subject", "Router down", "--tag", "router", "--tag", "vip",
            "--external-id", "ORD-8"]  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, app, push)

    assert result.exit_code == 0, result.output
    [stored] = _cases_keyed(sf, "order-8")
    assert (stored["Hub_Tags__c"], stored["Hub_Reference__c"]) == ("router;vip", "ORD-8")


def _update_address(hub_settings: Settings, contact: str, stdin: str, *flags: str) -> Any:
    command = ["--config", str(hub_settings.home / "hub.toml"), *flags, "customers",
               "update-address", "sf", contact]  # fmt: skip
    return CliRunner().invoke(app, command, input=stdin)


async def test_hub_customers_update_address_reads_it_from_stdin_and_twice_changes_nothing_more(
    hub_settings: Settings, sf: SalesforceSandbox
) -> None:
    contact = sf.org.tables["Contact"].sf_id(3)
    address = {"street": "1 Harbour Way", "city": "Bristol", "postal_code": "BS1 4AB"}
    first = await asyncio.to_thread(_update_address, hub_settings, contact, json.dumps(address))
    stored = sf.org.tables["Contact"].get(contact)
    again = await asyncio.to_thread(
        _update_address, hub_settings, contact, json.dumps(address), "--json"
    )

    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert first.stdout.strip() == f"updated the address of {contact} in sf"
    assert json.loads(again.stdout) == {"external_id": contact, "updated": True}
    assert sf.org.tables["Contact"].get(contact) == stored  # the same end state
    assert stored is not None
    assert (stored["MailingStreet"], stored["MailingCity"], stored["MailingPostalCode"],
            stored["MailingCountry"]) == ("1 Harbour Way", "Bristol", "BS1 4AB", None)  # fmt: skip
    for value in address.values():
        assert value not in first.output + again.output


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('{"street": "1 Harbour Way", "town": "Bristol"}', "unknown address field(s) town"),
        ('["1 Harbour Way"]', "stdin must hold a JSON object"),
        ("1 Harbour Way", "stdin does not hold a JSON object"),
    ],
    ids=["unknown field", "not an object", "not JSON"],
)
def test_hub_customers_update_address_refuses_a_bad_address_before_any_call_naming_no_value(
    tmp_path: Path, stdin: str, message: str
) -> None:
    command = ["--config", str(tmp_path / "hub.toml"), "customers", "update-address", "sf",
               "003000000000001AAA"]  # fmt: skip
    result = CliRunner().invoke(app, command, input=stdin)

    assert result.exit_code == 2  # a usage error: no hub opened, nothing sent
    assert message in result.output
    assert "Harbour" not in result.output
