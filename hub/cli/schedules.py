"""``hub schedules list|set|unset`` and ``hub status``: what `hub run` does, and how late."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.base import app, console, group, report, say, when, with_hub

if TYPE_CHECKING:
    from hub.services.schedules import HousekeepingStatus, StreamStatus

schedules_app = group("schedules", "What `hub run` syncs, how often, and how each stream does.")

StreamOption = Annotated[
    str | None, typer.Option("--stream", help="One stream (default: every stream).")
]


@schedules_app.command("list")
def list_schedules() -> None:
    """Each stream's schedule, next and last run, last outcome and lag against its drift
    target; then each housekeeping job's interval, next and last run and last outcome.

    Example: hub schedules list --json
    """
    from hub.services.schedules import schedule_overview

    streams, chores = with_hub(schedule_overview)
    report(
        {"streams": [s.as_dict() for s in streams], "housekeeping": [c.as_dict() for c in chores]},
        lambda: _print_overview(streams, chores),
    )


@schedules_app.command("set")
def set_schedule(
    connection: Annotated[str, typer.Argument(help="Connection name.")],
    stream: StreamOption = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Interval: 90s, 5m, 1h30m, 1d.")
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="Crontab expression, UTC: '*/5 * * * *'.")
    ] = None,
    drift: Annotated[
        str | None,
        typer.Option(
            "--drift",
            help="Drift target: `hub status` fails past it (default: "
            "the stream's own, else three intervals).",
        ),
    ] = None,
) -> None:
    """Sync a connection (or one stream) at this interval or cron; running `hub run` nodes
    apply it within schedule_poll_seconds.

    Example: hub schedules set sf --stream Entitlement --every 5m --drift 15m
    """
    from hub.services.schedules import set_schedule as store

    saved = with_hub(
        lambda hub: store(hub, connection, stream, every=every, cron=cron, drift=drift)
    )
    report(
        {"connection": saved.connection, "stream": saved.stream, "every_seconds":
         saved.every_seconds, "cron": saved.cron, "drift_seconds": saved.drift_seconds},
        lambda: say(f"schedule of {connection}/{saved.stream} saved"),
    )  # fmt: skip


@schedules_app.command("unset")
def unset_schedule(
    connection: Annotated[str, typer.Argument(help="Connection name.")],
    stream: StreamOption = None,
) -> None:
    """Forget a stored schedule: back to the connection's, else the connector's default.

    Example: hub schedules unset sf --stream Entitlement
    """
    from hub.services.schedules import unset_schedule as forget

    removed = with_hub(lambda hub: forget(hub, connection, stream))
    report(
        {"removed": removed},
        lambda: say("schedule removed" if removed else "no stored schedule; nothing changed"),
    )


@app.command()
def status() -> None:
    """Which streams are late, failing or running, at a glance; exit code 1 when any stream
    is past its drift target (for monitoring scripts).

    Example: hub status --json
    """
    from hub.services.schedules import stream_statuses

    statuses = with_hub(stream_statuses)
    late = [s for s in statuses if s.late]
    summary = {
        "streams": len(statuses),
        "late": [f"{s.connection}/{s.stream}" for s in late],
        "failing": [f"{s.connection}/{s.stream}" for s in statuses if s.failures_in_a_row],
        "running": [f"{s.connection}/{s.stream}" for s in statuses if s.running],
    }
    report({**summary, "streams_detail": [s.as_dict() for s in statuses]},
           lambda: _print_status(summary))  # fmt: skip
    if late:
        raise typer.Exit(1)


def _print_status(summary: dict[str, object]) -> None:
    say(f"{summary['streams']} stream(s) scheduled")
    for key in ("late", "failing", "running"):
        names = summary[key]
        assert isinstance(names, list)
        say(f"{key}: {', '.join(names) if names else 'none'}")


def _seconds(value: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}s"


def _print_statuses(statuses: list[StreamStatus]) -> None:
    from rich.table import Table

    table = Table("stream", "schedule", "next run", "last run", "outcome", "lag", "drift", "state")
    for s in statuses:
        table.add_row(
            f"{s.connection}/{s.stream}",
            s.schedule,
            when(s.next_run),
            when(s.last_run),
            s.last_outcome or "-",
            _seconds(s.lag_seconds),
            _seconds(s.drift_target_seconds),
            s.state,
        )
    console().print(table)


def _print_overview(streams: list[StreamStatus], chores: list[HousekeepingStatus]) -> None:
    _print_statuses(streams)
    _print_housekeeping(chores)


def _print_housekeeping(chores: list[HousekeepingStatus]) -> None:
    from rich.table import Table

    table = Table("housekeeping job", "schedule", "next run", "last run", "outcome", "error")
    for c in chores:
        table.add_row(
            c.name,
            c.schedule,
            when(c.next_run),
            when(c.last_run),
            c.last_outcome or "-",
            c.last_error or "",
        )
    console().print(table)
