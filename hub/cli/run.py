"""``hub run``: the scheduler service (embedded on SQLite, clustered on PostgreSQL)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.base import app, print_json, say, settings, state

if TYPE_CHECKING:
    from hub.scheduler import SchedulerService


@app.command(name="run")
def run_command(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port", help="Serve /metrics and /health on this port (default: config)."
        ),
    ] = None,
) -> None:
    """Run the schedules: every stream of every connection at its interval, and the hub's
    housekeeping. Several nodes on one PostgreSQL share the work. The first SIGTERM or
    Ctrl-C lets running syncs commit their current page, then stops; a second stops at once.

    Example: hub run --metrics-port 9464
    """
    from hub.runtime import Hub
    from hub.scheduler import SchedulerService
    from hub.services.running import run_service

    def ready(service: SchedulerService) -> None:
        started = {"node": service.identity, "schedules": len(service.plans)}
        if state.json:
            print_json({"event": "started", **started})
        else:
            say(f"hub run: node {service.identity} running {len(service.plans)} stream(s)")

    async def go() -> None:
        async with Hub.open(settings()) as hub:
            service = SchedulerService(hub)
            with _graceful_signals(service):
                await run_service(hub, service, metrics_port=metrics_port, on_ready=ready)

    import asyncio  # here: `hub --help` loads no event loop machinery

    asyncio.run(go())
    if state.json:
        print_json({"event": "stopped"})
    else:
        say("hub run: stopped; every running sync committed its last page")


@contextlib.contextmanager
def _graceful_signals(service: SchedulerService) -> Iterator[None]:
    """First SIGTERM/SIGINT: stop after the current pages. Second: cancel everything now
    (a page's transaction then rolls back; committed pages stay)."""
    import asyncio

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def stop(signum: int) -> None:
        if not service.stopping.is_set():
            service.stopping.set()
            return
        state.terminated = signum == signal.SIGTERM
        task.cancel()

    handled = (signal.SIGTERM, signal.SIGINT)
    for signum in handled:
        loop.add_signal_handler(signum, stop, signum)
    try:
        yield
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
