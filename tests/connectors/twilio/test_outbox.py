"""The exactly-once SMS outbox against the Twilio sandbox: a message exists when its cause
commits, is sent once, and neither a sender killed between the request and the commit nor a
5xx after Twilio accepted it ends with a second text to the customer."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.twilio.sandbox import TwilioSandbox
from hub.cli import app
from hub.config import Settings
from hub.connector import OutboundMessage
from hub.errors import ConfigError
from hub.housekeeping import housekeeping_jobs
from hub.runtime import Hub
from hub.sandbox.faults import ASGIApp, Receive, Scope, Send
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services import outbox
from hub.services.sandboxes import connect_sandbox
from tests.connectors.twilio.conftest import FAST_HTTP
from tests.support import hub_env

CUSTOMER = "+15005550006"
MESSAGE = OutboundMessage(to=CUSTOMER, body="Your case 42 was updated.")


class AcceptingThenFailing(TwilioSandbox):
    """The sandbox, except that the first message sent is not answered: Twilio accepts it and
    answers 500 (``after_accept="500"``) or holds the answer back until ``release`` is set
    (``"hold"``, as when the sender dies before it reads the answer); or Twilio answers 500
    without accepting it (``"reject"``)."""

    def __init__(self, *, after_accept: str, **options: Any) -> None:
        super().__init__(**options)
        self.after_accept: str | None = after_accept
        self.accepted = asyncio.Event()
        self.release = asyncio.Event()

    @property
    def app(self) -> ASGIApp:
        """The served app: the sandbox's, behind the first accepted message's fate."""
        return self._answer_first_send

    async def _answer_first_send(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = super().app
        sending = scope["type"] == "http" and scope["method"] == "POST"
        if not (sending and scope["path"].endswith("/Messages.json")) or self.after_accept is None:
            await inner(scope, receive, send)
            return
        mode, self.after_accept = self.after_accept, None
        answered: list[Any] = []

        async def swallow(message: Any) -> None:
            answered.append(message)

        if mode != "reject":
            await inner(scope, receive, swallow)  # Twilio has the message now
            self.accepted.set()
        if mode == "hold":
            await self.release.wait()
            return
        body = b'{"code": 20500, "message": "Internal Server Error", "status": 500}'
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def flaky(hub: Hub, request: pytest.FixtureRequest) -> AsyncIterator[AcceptingThenFailing]:
    """``request.param``: the first send's fate, or (fate, seconds before lists show it)."""
    fate, lag = request.param if isinstance(request.param, tuple) else (request.param, 0.0)
    app = AcceptingThenFailing(
        after_accept=fate, records=10, seed=4, relaxed_limits=True, list_lag_seconds=lag
    )
    async with serve_in_background(app) as running:
        await _connect(hub, app, running)
        yield app
        app.release.set()


async def _connect(hub: Hub, app: TwilioSandbox, running: RunningSandbox) -> None:
    config = app.connection_config(running.base_url, running.ca_file)
    await connect_sandbox(hub, "tw", "twilio", {**config, "http": FAST_HTTP})


def texts_to_customer(app: TwilioSandbox) -> int:
    return sum(1 for m in app.account.created if m.record["to"] == CUSTOMER)


async def test_a_message_exists_only_once_the_transaction_that_causes_it_commits(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    with pytest.raises(RuntimeError):
        async with hub.engine.begin() as conn:
            await outbox.enqueue(conn, hub.keyring, connection="tw", key="k1", message=MESSAGE)
            raise RuntimeError("the case update failed")  # rolls the enqueue back with it
    assert await outbox.list_entries(hub) == []

    async with hub.engine.begin() as conn:
        first = await outbox.enqueue(conn, hub.keyring, connection="tw", key="k1", message=MESSAGE)
    again = await outbox.enqueue_message(hub, "tw", "k1", MESSAGE)
    [entry] = await outbox.list_entries(hub)
    assert first == again == entry["id"] and entry["status"] == "pending"


async def test_each_entry_is_sent_once_and_a_second_run_sends_nothing(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, _ = twilio
    for key in ("case-1", "case-2"):
        await outbox.enqueue_message(hub, "tw", key, MESSAGE)
    first = await outbox.deliver(hub, "tw")
    second = await outbox.deliver(hub, "tw")

    assert [d.status for d in first] == ["sent", "sent"] and second == []
    assert texts_to_customer(app) == 2
    sids = {m.record["sid"] for m in app.account.created}
    assert {e["external_id"] for e in await outbox.list_entries(hub)} == sids


async def test_a_number_twilio_refuses_fails_the_entry_and_is_never_resent(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, _ = twilio
    await outbox.enqueue_message(hub, "tw", "bad", OutboundMessage(to="12", body="x"))
    [done] = await outbox.deliver(hub, "tw")
    assert await outbox.deliver(hub, "tw") == []
    assert done.status == "failed" and done.error == "VendorError 400 21211"
    assert app.account.created == []


@pytest.mark.parametrize("flaky", ["500"], indirect=True)
async def test_a_5xx_after_twilio_accepted_the_message_ends_with_exactly_one_text(
    hub: Hub, flaky: AcceptingThenFailing
) -> None:
    await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
    [failed] = await outbox.deliver(hub, "tw")
    [settled] = await outbox.deliver(hub, "tw")

    assert failed.status == "checking" and failed.error == "ConnectorError 500 20500"
    assert settled.status == "sent" and settled.reconciled
    assert texts_to_customer(flaky) == 1
    assert settled.external_id == flaky.account.created[0].record["sid"]


@pytest.mark.parametrize("flaky", [("500", 0.5)], indirect=True)
async def test_a_message_twilio_lists_late_is_found_by_a_later_look_up_not_sent_again(
    hub: Hub, flaky: AcceptingThenFailing
) -> None:
    rechecks = outbox.Rechecks(interval=timedelta(seconds=0.2), limit=10)
    await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
    [failed] = await outbox.deliver(hub, "tw", rechecks=rechecks)
    [unseen] = await outbox.deliver(hub, "tw", rechecks=rechecks)  # not listed yet
    assert await outbox.deliver(hub, "tw", rechecks=rechecks) == []  # next look-up not due
    [entry] = await outbox.list_entries(hub)
    assert (failed.status, unseen.status, entry["checks"]) == ("checking", "checking", 1)

    await asyncio.sleep(0.6)  # Twilio lists it by now
    [settled] = await outbox.deliver(hub, "tw", rechecks=rechecks)
    assert settled.status == "sent" and settled.reconciled
    assert texts_to_customer(flaky) == 1


@pytest.mark.parametrize("flaky", ["reject"], indirect=True)
async def test_a_message_never_listed_is_held_unconfirmed_until_an_operator_resends_it(
    hub: Hub, flaky: AcceptingThenFailing
) -> None:
    rechecks = outbox.Rechecks(interval=timedelta(0), limit=2)
    await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
    runs = [await outbox.deliver(hub, "tw", rechecks=rechecks) for _ in range(4)]
    assert [[d.status for d in run] for run in runs] == [
        ["checking"], ["checking"], ["unconfirmed"], []]  # fmt: skip
    [entry] = await outbox.list_entries(hub)
    assert entry["status"] == "unconfirmed" and entry["checks"] == 2
    assert "not found at the vendor after 2 look-up(s)" in entry["error"]
    assert texts_to_customer(flaky) == 0  # never resent by the worker

    await outbox.resend_unconfirmed(hub, entry["id"])
    with pytest.raises(ConfigError, match="is not unconfirmed"):
        await outbox.resend_unconfirmed(hub, entry["id"])
    [sent] = await outbox.deliver(hub, "tw", rechecks=rechecks)
    assert sent.status == "sent" and not sent.reconciled
    assert texts_to_customer(flaky) == 1


@pytest.mark.parametrize("flaky", ["reject"], indirect=True)
async def test_hub_outbox_list_shows_an_unconfirmed_entry_and_resend_releases_it_once(
    hub: Hub, hub_settings: Settings, flaky: AcceptingThenFailing
) -> None:
    """The commands in this process (the sandbox is served on this test's event loop; each
    command runs its own loop in a worker thread)."""
    entry = await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
    for _ in range(2):  # the 500, then one look-up that finds nothing
        await outbox.deliver(hub, "tw", rechecks=outbox.Rechecks(timedelta(0), limit=1))
    config = ["--config", str(hub_settings.home / "hub.toml"), "outbox"]
    runner = CliRunner()

    def hub_command(*args: str) -> Any:
        return asyncio.to_thread(runner.invoke, app, [*config, *args], env={"COLUMNS": "200"})

    listed = await hub_command("list")
    resent = await hub_command("resend", str(entry))
    again = await hub_command("resend", str(entry))

    assert listed.exit_code == 0 and "unconfirmed" in listed.stdout, listed.output
    assert resent.exit_code == 0 and f"outbox entry {entry} is due again" in resent.stdout
    assert again.exit_code == 1 and "is not unconfirmed" in again.output
    [sent] = await outbox.deliver(hub, "tw")
    assert sent.status == "sent" and texts_to_customer(flaky) == 1


async def test_a_rate_limited_send_stays_pending_since_twilio_processed_nothing(
    hub: Hub,
) -> None:
    app = TwilioSandbox(records=10, seed=4, relaxed_limits=True, faults="429=1.0")
    async with serve_in_background(app) as running:
        config = app.connection_config(running.base_url, running.ca_file)
        http = {**FAST_HTTP, "max_attempts": 2}  # two 429s are enough to give up
        await connect_sandbox(hub, "tw", "twilio", {**config, "http": http})
        await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
        [limited] = await outbox.deliver(hub, "tw")
    assert limited.status == "pending" and limited.error == "RateLimited 429 20429"
    [entry] = await outbox.list_entries(hub)
    assert entry["status"] == "pending" and entry["checks"] == 0  # no look-up will be needed
    assert texts_to_customer(app) == 0


@pytest.mark.parametrize("flaky", ["hold"], indirect=True)
async def test_a_sender_killed_between_the_request_and_the_commit_texts_exactly_once(
    hub: Hub, hub_settings: Settings, flaky: AcceptingThenFailing
) -> None:
    await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.cli", "--config", str(hub_settings.home / "hub.toml"),
        "outbox", "deliver", "tw", "--lease-seconds", "0.5",
        env=hub_env(), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.wait_for(flaky.accepted.wait(), timeout=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        flaky.release.set()
    assert worker.returncode == -signal.SIGKILL
    [entry] = await outbox.list_entries(hub)
    assert entry["status"] == "sending" and entry["external_id"] is None  # died uncommitted

    await asyncio.sleep(0.6)  # the dead worker's lease runs out
    [settled] = await outbox.deliver(hub, "tw")
    assert settled.status == "sent" and settled.reconciled
    assert texts_to_customer(flaky) == 1
    assert await outbox.deliver(hub, "tw") == []


async def test_the_outbox_commands_record_and_list_without_showing_the_message(
    hub: Hub, hub_settings: Settings, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    if hub_settings.database_url.startswith("postgresql"):
        pytest.skip("the commands are the same on both databases; the services are tested on both")
    app, _ = twilio
    config = str(hub_settings.home / "hub.toml")

    async def hub_command(*args: str, stdin: bytes = b"") -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub.cli", "--config", config, *args, env=hub_env(),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await process.communicate(stdin)
        return process.returncode or 0, out.decode()

    body = "Ihre Rückerstattung für Fall 42 ist unterwegs."
    sent = await hub_command(
        "outbox", "send", "tw", "--key", "case-42", "--to", "-", "--body", "-",
        stdin=f"{CUSTOMER}\n{body}".encode(),
    )  # fmt: skip
    await outbox.deliver(hub, "tw")  # `hub outbox deliver` runs in the crash test above
    listed = await hub_command("outbox", "list", "--json")

    assert sent[0] == listed[0] == 0, (sent, listed)
    [message] = [m.record for m in app.account.created]
    assert message["body"] == body and message["to"] == CUSTOMER
    assert '"status": "sent"' in listed[1] and message["sid"] in listed[1]
    for _, output in (sent, listed):
        assert body not in output and CUSTOMER not in output


async def test_a_connection_without_a_sender_stops_the_run_and_leaves_the_entry_due(
    hub: Hub,
) -> None:
    app = TwilioSandbox(records=10, seed=4, relaxed_limits=True)
    async with serve_in_background(app) as running:
        config = app.connection_config(running.base_url, running.ca_file)
        del config["sender"]
        await connect_sandbox(hub, "tw", "twilio", {**config, "http": FAST_HTTP})
        await outbox.enqueue_message(hub, "tw", "case-42", MESSAGE)
        with pytest.raises(ConfigError, match="has no sender: set `sender`"):
            await outbox.deliver(hub, "tw")
    [entry] = await outbox.list_entries(hub)
    assert (entry["status"], entry["error"]) == ("pending", "ConfigError")
    assert app.account.created == []


async def test_the_schedulers_outbox_job_delivers_every_due_entry_once(
    hub: Hub, twilio: tuple[TwilioSandbox, RunningSandbox]
) -> None:
    app, _ = twilio
    for key in ("case-1", "case-2"):
        await outbox.enqueue_message(hub, "tw", key, MESSAGE)
    deliver = next(job.run for job in housekeeping_jobs() if job.name == "outbox-deliver")

    await deliver(hub)
    await deliver(hub)

    assert texts_to_customer(app) == 2
    assert {e["status"] for e in await outbox.list_entries(hub)} == {"sent"}
