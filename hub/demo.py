"""``hub demo``: every shipped sandbox, synced twice into an embedded hub.

The first sync reads everything; the second shows that syncs are incremental (nothing is
re-written). The demo hub stays behind in its folder, a normal hub that every command can use.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console

from hub.config import load_settings
from hub.log import configure_logging
from hub.plugins import connectors, sandboxes
from hub.progress import SyncProgress, summary_table
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


async def _sync_all(hub: Hub, names: list[str], console: Console) -> list[StreamResult]:
    progress = SyncProgress(console)
    results: list[StreamResult] = []
    try:
        for name in names:
            results += await sync_connection(hub, name, progress=progress, raise_errors=False)
    finally:
        progress.stop()
    return results


async def run_demo(directory: Path, *, records: int, seed: int, console: Console) -> None:
    """Create the demo hub in ``directory``, start the sandboxes, sync twice, summarise."""
    directory = directory.resolve()
    for line in await initialise(directory):
        console.print(line, highlight=False)
    settings = load_settings(directory / "hub.toml")
    configure_logging(settings.log_level)
    apps = demo_sandboxes(records, seed)
    async with contextlib.AsyncExitStack() as stack, Hub.open(settings) as hub:
        names: list[str] = []
        serve_again: list[str] = []  # how to bring each sandbox back on the port stored
        for app in apps:
            # The sandbox's fixed port when free, so `hub sandbox serve VENDOR --port N` can
            # stand in after the demo.
            port = app.demo_port or 0
            running: RunningSandbox = await stack.enter_async_context(
                serve_in_background(app, port=port if port and _port_free(port) else 0)
            )
            console.print(f"sandbox {app.vendor} serving at {running.base_url}", highlight=False)
            serve_again.append(
                f"  hub sandbox serve {app.vendor} --port {urlsplit(running.base_url).port} "
                f"--records {records} --seed {seed} --option relaxed_limits=true"
            )
            await connect_sandbox(
                hub,
                app.vendor,
                app.vendor,
                app.connection_config(running.base_url, running.ca_file),
            )
            names.append(app.vendor)
        console.rule("first sync: everything")
        first = await _sync_all(hub, names, console)
        console.print(summary_table(first, "first sync"))
        console.rule("second sync: incremental")
        second = await _sync_all(hub, names, console)
        console.print(summary_table(second, "second sync"))
    rewritten = sum(r.counters.records_written for r in second)
    console.print(
        f"second sync re-wrote {rewritten} record(s): "
        + ("incremental, as it should be." if rewritten == 0 else "[red]expected none![/red]"),
        highlight=False,
    )
    console.print(
        f"\nThe demo hub is in {directory}. Try, from there:\n"
        "  hub connections list\n  hub quarantine list\n  hub customers find --email <address>\n"
        "To sync it again, serve its sandboxes (same seed, same data and credentials):\n"
        + "\n".join(serve_again)
        + "\nand, in another shell: hub sync",
        highlight=False,
        soft_wrap=True,
    )
    failed = [r for r in [*first, *second] if r.status != "succeeded"]
    if failed or rewritten:
        from hub.errors import HubError

        raise HubError(f"demo finished with {len(failed)} failed stream run(s)")
