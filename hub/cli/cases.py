"""``hub cases``: cases written back to source systems, idempotently."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.base import group, report, say, with_hub

cases_app = group("cases", "Cases written back to source systems.")


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
) -> None:
    """Create a case in the source system, or update the one this key created before.

    Example: hub cases push sf --key order-1042 --subject "Router down" --tag router
    """
    from hub.connector import CaseWrite
    from hub.services.cases import push_case

    case = CaseWrite(subject=subject, description=description, status=status, priority=priority,
                     tags=tag, external_id=external_id)  # fmt: skip
    result = with_hub(lambda hub: push_case(hub, connection, key, case))
    verb = "created" if result.created else "updated"
    outcome = {"external_id": result.external_id, "created": result.created}
    report(
        {**outcome, "replayed": result.replayed},
        lambda: say(f"{verb} case {result.external_id} in {connection} (key {key})"),
    )
