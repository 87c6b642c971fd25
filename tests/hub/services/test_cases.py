"""A case push that notifies the customer: the push is recorded in the hub and its text
enters the outbox in one transaction, so either both exist or neither does, and a push
repeated unchanged texts once (a Salesforce sandbox takes the cases, a Twilio one the texts)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.salesforce.sandbox import SalesforceSandbox
from connectors.twilio.sandbox import TwilioSandbox
from hub.cli import app
from hub.config import Settings
from hub.connector import CaseWrite, OutboundMessage
from hub.errors import ConfigError, StoreError
from hub.runtime import Hub
from hub.sandbox.server import serve_in_background
from hub.services import cases, outbox
from hub.services.outbox import Notification
from hub.store.case_pushes import pushes_of
from tests.connectors.twilio.conftest import FAST_HTTP

CUSTOMER = "+15005550006"
NOTICE = Notification("tw", OutboundMessage(to=CUSTOMER, body="Your case has been updated."))


@pytest.fixture
async def systems(hub: Hub) -> AsyncIterator[tuple[SalesforceSandbox, TwilioSandbox]]:
    """Connection "sf" (the cases) and "tw" (the texts) to their sandboxes."""
    from hub.services.sandboxes import connect_sandbox

    crm = SalesforceSandbox(records=10, seed=5, relaxed_limits=True)
    sms = TwilioSandbox(records=10, seed=4, relaxed_limits=True)
    async with serve_in_background(crm) as crm_at, serve_in_background(sms) as sms_at:
        await connect_sandbox(
            hub, "sf", "salesforce", crm.connection_config(crm_at.base_url, crm_at.ca_file)
        )
        tw = sms.connection_config(sms_at.base_url, sms_at.ca_file)
        await connect_sandbox(hub, "tw", "twilio", {**tw, "http": FAST_HTTP})  # fmt: skip
        yield crm, sms


def cases_keyed(crm: SalesforceSandbox, key: str) -> list[dict[str, Any]]:
    table = crm.org.tables["Case"]
    return [r for r in (table.get(i) for i in table.matching("Hub_Key__c", key)) if r]


def texts(sms: TwilioSandbox) -> int:
    return sum(1 for m in sms.account.created if m.record["to"] == CUSTOMER)


async def recorded(hub: Hub, key: str) -> tuple[int, int]:
    """(pushes of ``key`` recorded by the hub, outbox entries)."""
    async with hub.engine.connect() as conn:
        pushes = await pushes_of(conn, "sf", key)
    return len(pushes), len(await outbox.list_entries(hub))


async def test_each_distinct_push_texts_the_customer_once_however_often_it_is_repeated(
    hub: Hub, systems: tuple[SalesforceSandbox, TwilioSandbox]
) -> None:
    crm, sms = systems
    opened = CaseWrite(subject="Router down", status="open")
    first = await cases.push_case(hub, "sf", "order-1042", opened, notification=NOTICE)
    again = await cases.push_case(hub, "sf", "order-1042", opened, notification=NOTICE)
    solved = await cases.push_case(
        hub, "sf", "order-1042", CaseWrite(status="solved"), notification=NOTICE
    )
    quiet = await cases.push_case(hub, "sf", "order-1042", CaseWrite(priority="low"))

    assert first.notification_entry == again.notification_entry is not None
    assert solved.notification_entry not in (None, first.notification_entry)
    assert quiet.notification_entry is None
    assert await recorded(hub, "order-1042") == (3, 2)  # three distinct pushes, two texts
    assert len(cases_keyed(crm, "order-1042")) == 1
    assert [d.status for d in await outbox.deliver(hub, "tw")] == ["sent", "sent"]
    assert texts(sms) == 2


async def test_a_failure_recording_the_push_rolls_back_its_text_and_a_retry_texts_once(
    hub: Hub, systems: tuple[SalesforceSandbox, TwilioSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    crm, sms = systems
    real_notify = cases.notify

    async def notify_then_fail(*args: Any, **kwargs: Any) -> int:
        await real_notify(*args, **kwargs)  # the text is in the transaction now
        raise StoreError("the commit failed (injected)")

    monkeypatch.setattr(cases, "notify", notify_then_fail)
    case = CaseWrite(subject="Router down", status="solved")
    with pytest.raises(StoreError):
        await cases.push_case(hub, "sf", "order-7", case, notification=NOTICE)
    assert await recorded(hub, "order-7") == (0, 0)  # neither the push nor its text
    assert len(cases_keyed(crm, "order-7")) == 1  # Salesforce took the case

    monkeypatch.setattr(cases, "notify", real_notify)
    retried = await cases.push_case(hub, "sf", "order-7", case, notification=NOTICE)
    assert not retried.created  # the same case, found by its key
    assert await recorded(hub, "order-7") == (1, 1)
    await outbox.deliver(hub, "tw")
    assert len(cases_keyed(crm, "order-7")) == 1 and texts(sms) == 1


async def test_a_notice_through_a_connection_that_sends_no_messages_fails_before_the_case(
    hub: Hub, systems: tuple[SalesforceSandbox, TwilioSandbox]
) -> None:
    crm, _ = systems
    wrong = Notification("sf", NOTICE.message)
    with pytest.raises(ConfigError, match="'sf' \\(salesforce\\) sends no messages"):
        await cases.push_case(hub, "sf", "order-9", CaseWrite(subject="x"), notification=wrong)
    with pytest.raises(ConfigError, match="no connection named 'sms'"):
        missing = Notification("sms", NOTICE.message)
        await cases.push_case(hub, "sf", "order-9", CaseWrite(subject="x"), notification=missing)
    assert cases_keyed(crm, "order-9") == [] and await recorded(hub, "order-9") == (0, 0)


async def test_hub_cases_push_notify_reads_the_number_from_stdin_and_never_prints_it(
    hub: Hub, hub_settings: Settings, systems: tuple[SalesforceSandbox, TwilioSandbox]
) -> None:
    """The command as an operator runs it, in this process (the sandboxes are served on this
    test's event loop; the command runs its own loop in a worker thread)."""
    _, sms = systems
    push = ["--config", str(hub_settings.home / "hub.toml"), "cases", "push", "sf",
            "--key", "order-5", "--status", "solved"]  # fmt: skip
    runner = CliRunner()
    notify = ["--notify", "tw", "--notify-to", "-", "--json"]
    pushed = await asyncio.to_thread(runner.invoke, app, [*push, *notify], f"{CUSTOMER}\n")
    alone = await asyncio.to_thread(runner.invoke, app, [*push, "--notify-to", "-"])

    assert pushed.exit_code == 0, pushed.output
    entry = json.loads(pushed.stdout)["outbox_entry"]
    assert [e["id"] for e in await outbox.list_entries(hub)] == [entry]
    assert CUSTOMER not in pushed.output
    assert alone.exit_code == 1 and "--notify-to needs --notify CONNECTION" in alone.output
    await outbox.deliver(hub, "tw")
    [text] = [m.record for m in sms.account.created]
    assert (text["to"], text["body"]) == (CUSTOMER, "Your case has been updated.")
