"""``hub cases``: cases written back to source systems, idempotently."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.base import fail, group, report, say, with_hub

if TYPE_CHECKING:
    from hub.services.outbox import Notification

cases_app = group("cases", "Cases written back to source systems.")

DEFAULT_NOTICE = "Your case has been updated."


@cases_app.command("push")
def cases_push(
    connection: Annotated[str, typer.Argument(help="The connection to write to.")],
    key: Annotated[str, typer.Option(help="Idempotency key: the same key makes one case.")],
    subject: Annotated[str | None, typer.Option(help="Subject line.")] = None,
    description: Annotated[str | None, typer.Option(help="Description.")] = None,
    status: Annotated[str | None, typer.Option(help="new, open, pending, on_hold, ...")] = None,
    priority: Annotated[str | None, typer.Option(help="urgent, high, normal or low.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="A tag (repeat for several); replaces the case's.")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option(help="The case's id in another system (an order, a ticket).")
    ] = None,
    notify: Annotated[
        str | None,
        typer.Option(help="Text the customer through this messaging connection (the outbox)."),
    ] = None,
    notify_to: Annotated[
        str | None,
        typer.Option(help="The customer's number (E.164); - reads it from stdin's first line."),
    ] = None,
    notify_body: Annotated[
        str, typer.Option(help="The text; - reads it from (the rest of) stdin.")
    ] = DEFAULT_NOTICE,
) -> None:
    """Create a case in the source system, or update the one this key created before; with
    --notify, the text to the customer is recorded with the push and sent by `hub outbox
    deliver`, once.

    Example: hub cases push sf --key order-1042 --subject "Router down" --tag router

    Example: echo "$PHONE" | hub cases push sf --key k1 --status solved --notify tw --notify-to -
    """
    from hub.connector import CaseWrite
    from hub.services.cases import push_case

    notification = _notification(notify, notify_to, notify_body)
    case = CaseWrite(subject=subject, description=description, status=status, priority=priority,
                     tags=tag, external_id=external_id)  # fmt: skip
    pushed = with_hub(lambda hub: push_case(hub, connection, key, case, notification=notification))
    verb = "created" if pushed.created else "updated"
    outcome = {"external_id": pushed.external_id, "created": pushed.created}

    def for_people() -> None:
        say(f"{verb} case {pushed.external_id} in {connection} (key {key})")
        if pushed.notification_entry is not None:
            say(f"customer notice: outbox entry {pushed.notification_entry} ({notify})")

    report(
        {**outcome, "replayed": pushed.replayed, "outbox_entry": pushed.notification_entry},
        for_people,
    )


def _notification(connection: str | None, to: str | None, body: str) -> Notification | None:
    """The notice that --notify asks for, reading ``-`` values from stdin (a number kept off
    argv and the shell's history)."""
    from hub.connector import OutboundMessage
    from hub.services.outbox import Notification

    if connection is None:
        if to is not None:
            fail("--notify-to needs --notify CONNECTION: the messaging connection to send by")
        return None
    if to is None:
        fail("--notify needs --notify-to: the customer's number (or - to read it from stdin)")
    recipient = sys.stdin.readline().strip() if to == "-" else to
    text = sys.stdin.read().rstrip("\n") if body == "-" else body
    return Notification(connection, OutboundMessage(to=recipient, body=text))
