"""``hub quarantine``: vendor records that did not fit the model."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from hub.cli.base import console, err_console, group, report, say, state, with_hub

quarantine_app = group("quarantine", "Vendor records that did not fit the model.")


@quarantine_app.command("list")
def quarantine_list(
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """Open quarantine entries. Example: hub quarantine list --connection zd"""
    from hub.services import quarantine

    rows = with_hub(lambda hub: quarantine.list_entries(hub, connection, limit))
    report(rows, lambda: _print_entries(rows))


def _print_entries(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("id", "connection", "stream", "external id", "mapping", "error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["connection"],
            r["stream"],
            r["external_id"] or "-",
            r["mapping_version"],
            r["error"],
        )
    console().print(table)


@quarantine_app.command("show")
def quarantine_show(entry_id: int) -> None:
    """One entry: the error and the payload's field names (values stay sealed).

    Example: hub quarantine show 12
    """
    from hub.services import quarantine

    entry = with_hub(lambda hub: quarantine.show_entry(hub, entry_id))
    report(entry, lambda: say("\n".join(f"{key}: {value}" for key, value in entry.items())))


@quarantine_app.command("replay")
def quarantine_replay(
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    entry_id: Annotated[list[int] | None, typer.Option("--id", help="Only these entries.")] = None,
) -> None:
    """Map open entries again with the current mapping; valid ones move into the store.
    An entry that cannot be replayed is reported by id and the others go on; the exit code
    is then 1.

    Example: hub quarantine replay --connection zd
    """
    from hub.services import quarantine

    result = with_hub(lambda hub: quarantine.replay(hub, connection, entry_id))
    report(
        asdict(result),
        lambda: say(
            f"moved {result.moved}, superseded by newer data {result.superseded}, "
            f"still invalid {result.still_invalid}"
            + (f", dropped (customer forgotten) {result.erased}" if result.erased else "")
        ),
    )
    if not state.json:
        for busy in result.busy:
            err_console().print(
                f"busy: {busy}; its entries stay open, replay again later", highlight=False
            )
        for failure in result.failed:
            err_console().print(
                f"failed: entry {failure.entry_id}: {failure.reason}; it stays open",
                highlight=False,
                markup=False,
            )
    if not result.complete:
        raise typer.Exit(1)
