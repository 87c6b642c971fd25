"""``hub outbox``: messages to customers (SMS), recorded once and sent exactly once."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated

import typer

from hub.cli.base import console, group, report, say, when, with_hub

outbox_app = group("outbox", "Messages to customers, sent exactly once (SMS).")


@outbox_app.command("send")
def outbox_send(
    connection: Annotated[str, typer.Argument(help="The messaging connection.")],
    key: Annotated[str, typer.Option(help="Idempotency key: the same key sends once.")],
    to: Annotated[
        str,
        typer.Option(
            help="Recipient, E.164 (or whatsapp:+...); - reads it from the first line of stdin, "
            "keeping the number off argv and the shell's history."
        ),
    ],
    body: Annotated[str, typer.Option(help="Message text; - reads it from (the rest of) stdin.")],
    sender: Annotated[str | None, typer.Option(help="Sender (default: the connection's).")] = None,
) -> None:
    """Record a message in the outbox; `hub outbox deliver` sends it.

    Example: printf '%s\n%s' "$PHONE" "$TEXT" | hub outbox send tw --key case-42 --to - --body -
    """
    from hub.connector import OutboundMessage
    from hub.services import outbox

    recipient = sys.stdin.readline().strip() if to == "-" else to
    text = sys.stdin.read().rstrip("\n") if body == "-" else body
    message = OutboundMessage(to=recipient, body=text, sender=sender)
    entry = with_hub(lambda hub: outbox.enqueue_message(hub, connection, key, message))
    report({"entry": entry, "key": key}, lambda: say(f"outbox entry {entry} (key {key})"))


@outbox_app.command("deliver")
def outbox_deliver(
    connection: Annotated[str, typer.Argument(help="The messaging connection.")],
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 100,
    lease_seconds: Annotated[
        float, typer.Option(help="How long a claim holds before another worker may take over.")
    ] = 60.0,
    recheck_seconds: Annotated[
        float, typer.Option(help="Wait between look-ups of a send that may have landed.")
    ] = 30.0,
    max_checks: Annotated[
        int, typer.Option(min=1, help="Look-ups before such a send is held as unconfirmed.")
    ] = 10,
) -> None:
    """Send the due entries; one that may have been sent already is looked up, never resent.

    Example: hub outbox deliver tw
    """
    from datetime import timedelta

    from hub.services import outbox

    rechecks = outbox.Rechecks(timedelta(seconds=recheck_seconds), max_checks)
    done = with_hub(
        lambda hub: outbox.deliver(
            hub, connection, limit=limit, lease_seconds=lease_seconds, rechecks=rechecks
        )
    )

    def table() -> None:
        from rich.table import Table

        t = Table("entry", "key", "status", "vendor id", "reconciled", "error")
        for d in done:
            t.add_row(str(d.entry_id), d.key, d.status, d.external_id or "-",
                      "yes" if d.reconciled else "", d.error or "")  # fmt: skip
        console().print(t)

    report([asdict(d) for d in done], table)


@outbox_app.command("list")
def outbox_list(
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """Outbox entries, newest first (messages stay sealed). Example: hub outbox list"""
    from hub.services import outbox

    rows = with_hub(lambda hub: outbox.list_entries(hub, connection, limit))

    def table() -> None:
        from rich.table import Table

        t = Table("entry", "connection", "key", "status", "attempts", "look-ups", "next look-up",
                  "vendor id", "error")  # fmt: skip
        for r in rows:
            t.add_row(str(r["id"]), r["connection"], r["idempotency_key"], r["status"],
                      str(r["attempts"]), str(r["checks"]), when(r["due_at"]),
                      r["external_id"] or "-", r["error"] or "")  # fmt: skip
        console().print(t)

    report(rows, table)


@outbox_app.command("resend")
def outbox_resend(
    entry: Annotated[int, typer.Argument(help="An unconfirmed entry (see `hub outbox list`).")],
) -> None:
    """Let `hub outbox deliver` send an unconfirmed entry again: only once you know the
    customer did not get it (the vendor never listed it, so a resend may text them twice).

    Example: hub outbox resend 17
    """
    from hub.services import outbox

    with_hub(lambda hub: outbox.resend_unconfirmed(hub, entry))
    report({"entry": entry, "status": "pending"}, lambda: say(f"outbox entry {entry} is due again"))
