"""``hub demo``: every shipped sandbox, synced twice into an embedded hub.

The first sync reads everything; the second shows that syncs are incremental (nothing is
re-written). The demo hub stays behind in its folder, a normal hub that every command can use.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from hub.config import CONFIG_FILE_NAME, load_settings
from hub.plugins import connectors, sandboxes
from hub.progress import SyncProgress, summary
from hub.runtime import Hub
from hub.sandbox.app import SandboxApp, build_sandbox
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services.sandboxes import connect_sandbox
from hub.services.setup import initialise
from hub.sync import StreamResult, sync_connection


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def demo_sandboxes(records: int, seed: int) -> list[SandboxApp]:
    """The sandbox of every installed connector that ships one, with demo-friendly limits."""
    installed = connectors()
    return [
        build_sandbox(vendor, records=records, seed=seed, relaxed_limits=True)
        for vendor in sorted(sandboxes())
        if vendor in installed
    ]


@dataclass
class DemoOutcome:
    """What a demo did: where its hub is, whether it was there already, both syncs."""

    directory: Path
    reused: bool  # the folder held a hub already: it was reused, nothing was replaced
    sandboxes: dict[str, str] = field(default_factory=dict)  # vendor -> base URL
    serve_again: list[str] = field(default_factory=list)  # how to bring each sandbox back
    first: list[StreamResult] = field(default_factory=list)
    second: list[StreamResult] = field(default_factory=list)

    @property
    def rewritten(self) -> int:
        """Records the second sync wrote again (0 when syncs are incremental)."""
        return sum(r.counters.records_written for r in self.second)

    @property
    def failed(self) -> list[StreamResult]:
        return [r for r in [*self.first, *self.second] if r.status != "succeeded"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "hub": "reused" if self.reused else "created",
            "sandboxes": self.sandboxes,
            "first_sync": [r.as_dict() for r in self.first],
            "second_sync": [r.as_dict() for r in self.second],
            "rewritten": self.rewritten,
        }


async def _sync_all(hub: Hub, names: list[str], console: Console | None) -> list[StreamResult]:
    progress = SyncProgress(console) if console is not None else None
    results: list[StreamResult] = []
    try:
        for name in names:
            results += await sync_connection(hub, name, progress=progress, raise_errors=False)
    finally:
        if progress is not None:
            progress.stop()
    return results


async def run_demo(
    directory: Path, *, records: int, seed: int, console: Console | None
) -> DemoOutcome:
    """Create the demo hub in ``directory`` (or reuse the one there), start the sandboxes,
    sync twice; ``console`` shows it live (None: silently, for --json)."""
    directory = directory.resolve()
    outcome = DemoOutcome(directory, reused=(directory / CONFIG_FILE_NAME).is_file())
    show = console.print if console is not None else _silent
    if outcome.reused:
        show(
            f"found a hub in {directory} ({CONFIG_FILE_NAME}); reusing it: its records, keys "
            "and secrets stay, its sandbox connections are set up again",
            highlight=False,
            soft_wrap=True,
        )
    for line in await initialise(directory):
        show(line, highlight=False)
    settings = load_settings(directory / CONFIG_FILE_NAME)
    apps = demo_sandboxes(records, seed)
    async with contextlib.AsyncExitStack() as stack, Hub.open(settings) as hub:
        for app in apps:
            # The sandbox's fixed port when free, so `hub sandbox serve VENDOR --port N` can
            # stand in after the demo.
            port = app.demo_port or 0
            running: RunningSandbox = await stack.enter_async_context(
                serve_in_background(app, port=port if port and _port_free(port) else 0)
            )
            show(f"sandbox {app.vendor} serving at {running.base_url}", highlight=False)
            outcome.sandboxes[app.vendor] = running.base_url
            outcome.serve_again.append(
                f"  hub sandbox serve {app.vendor} --port {urlsplit(running.base_url).port} "
                f"--records {records} --seed {seed} --option relaxed_limits=true"
            )
            await connect_sandbox(
                hub,
                app.vendor,
                app.vendor,
                app.connection_config(running.base_url, running.ca_file),
            )
        names = list(outcome.sandboxes)
        if console is not None:
            console.rule(
                "first sync: " + ("what changed since the last" if outcome.reused else "everything")
            )
        outcome.first = await _sync_all(hub, names, console)
        show(summary(outcome.first, "first sync"))
        if console is not None:
            console.rule("second sync: incremental")
        outcome.second = await _sync_all(hub, names, console)
        show(summary(outcome.second, "second sync"))
    return outcome


def _silent(*_: object, **__: object) -> None:
    """Prints nothing: the demo's live output when it reports as JSON."""


def closing_words(outcome: DemoOutcome) -> str:
    """What the demo showed and how to go on from its hub (rich markup)."""
    rewritten = outcome.rewritten
    return (
        f"second sync re-wrote {rewritten} record(s): "
        + ("incremental, as it should be." if rewritten == 0 else "[red]expected none![/red]")
        + f"\n\nThe demo hub is in {outcome.directory}. Try, from there:\n"
        "  hub connections list\n  hub quarantine list\n  hub customers find --email <address>\n"
        "To sync it again, serve its sandboxes (same seed, same data and credentials):\n"
        + "\n".join(outcome.serve_again)
        + "\nand, in another shell: hub sync"
    )
