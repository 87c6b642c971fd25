"""``hub retention``: purge what is past its retention period, and show what is due."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.base import console, group, report, say, state, when, with_hub

if TYPE_CHECKING:
    from hub.services.retention import RetentionRun, RetentionStatus

retention_app = group("retention", "Retention periods by data type: purge and status.")


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what is due per data type; change nothing.")
    ] = False,
) -> None:
    """Purge every data type past its period ([retention] in hub.toml), in batches; a purge
    cut short is finished by running it again.

    Example: hub retention run --dry-run
    """
    from hub.services.retention import run_retention

    def tell(data_type: str, purged: int) -> None:
        if not state.json and console().is_terminal:  # a progress line, for people only
            console().print(f"{data_type}: {purged} so far", highlight=False, end="\r")

    outcome = with_hub(lambda hub: run_retention(hub, dry_run=dry_run, on_batch=tell))
    report(_run_json(outcome), lambda: _print_run(outcome))


def _run_json(outcome: RetentionRun) -> dict[str, Any]:
    return {
        "dry_run": outcome.dry_run,
        "now": outcome.now,
        "types": [asdict(t) for t in outcome.types],
        "total": outcome.total,
    }


def _print_run(outcome: RetentionRun) -> None:
    from rich.table import Table

    verb = "due" if outcome.dry_run else "purged"
    table = Table("data type", "policy", "action", "cutoff", verb)
    for t in outcome.types:
        table.add_row(t.data_type, t.policy, t.action, when(t.cutoff), str(t.count))
    console().print(table)
    if outcome.dry_run:
        say(f"dry run: {outcome.total} due, nothing changed; `hub retention run` purges them")
    else:
        say(f"purged {outcome.total}")


@retention_app.command("status")
def retention_status() -> None:
    """Per data type: its policy, how many items are due now and the age of the oldest.

    Example: hub retention status --json
    """
    from hub.services.retention import retention_status as status

    rows = with_hub(status)
    report([asdict(r) for r in rows], lambda: _print_status(rows))


def _print_status(rows: list[RetentionStatus]) -> None:
    from rich.table import Table

    table = Table("data type", "policy", "action", "due now", "oldest", "oldest age")
    for r in rows:
        age = f"{r.oldest_age_days:.0f} days" if r.oldest_age_days is not None else "-"
        table.add_row(r.data_type, r.policy, r.action, str(r.due), when(r.oldest_at), age)
    console().print(table)
