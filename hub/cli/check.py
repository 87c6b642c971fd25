"""``hub check``: open every sealed value, index row and wrapped key, and report what fails."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from hub.cli.base import app, console, report, run, settings, table_progress

if TYPE_CHECKING:
    from hub.services.check import CheckReport


@app.command()
def check() -> None:
    """Open every sealed value, blind-index row and wrapped data key in the store, and report
    each that does not open or no longer matches, by table, row and reason (exit code 1).

    Example: hub check
    """
    from hub.runtime import Hub
    from hub.services.check import check_store

    with table_progress() as tell:

        async def go() -> CheckReport:
            # Damaged keys are what the check reports, so they must not stop the hub opening.
            async with Hub.open(settings(), allow_damaged_keys=True) as hub:
                return await check_store(hub, progress=tell)

        outcome = run(go)
    report(
        {
            "checked": outcome.checked,
            "erased": outcome.erased,
            "failures": [asdict(f) for f in outcome.failures],
        },
        lambda: _print_check(outcome),
    )
    if not outcome.ok:
        raise typer.Exit(1)


def _print_check(outcome: CheckReport) -> None:
    from rich.table import Table

    rows = sum(outcome.checked.values())
    erased = sum(outcome.erased.values())
    shredded = (f"; {erased} of them hold forgotten customers' values, erased on purpose"
                if erased else "")  # fmt: skip
    if outcome.ok:
        console().print(
            f"[green]ok[/green]: {rows} rows checked, every sealed value opens{shredded}"
        )
        return
    table = Table("table", "row", "column", "reason")
    for f in outcome.failures:
        table.add_row(f.table, f.row, f.column, f.reason)
    console().print(table)
    stored = [f for f in outcome.failures if f.table != "files"]
    repair = ("; a full refresh (hub sync --full-refresh) rewrites damaged records from the "
              "vendor") if stored else "; each reason says how to fix it"  # fmt: skip
    console().print(
        f"{len(outcome.failures)} problem(s) in {rows} rows checked{repair}", highlight=False
    )
