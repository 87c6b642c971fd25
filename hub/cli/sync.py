"""``hub sync``: sync connections now."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.base import app, console, print_json, state, with_hub


@app.command()
def sync(
    connection: Annotated[str | None, typer.Argument(help="Connection (default: all).")] = None,
    stream: Annotated[list[str] | None, typer.Option("--stream", help="Only this stream.")] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Forget cursors; read everything again.")
    ] = False,
) -> None:
    """Sync connections now, page by page, resuming from the last committed cursor.

    Example: hub sync zd --stream tickets
    """
    from hub.progress import SyncProgress, summary
    from hub.services.syncing import sync as sync_service

    progress = None if state.json else SyncProgress(console())
    try:
        results = with_hub(
            lambda hub: sync_service(
                hub, connection, streams=stream, full_refresh=full_refresh, progress=progress
            )
        )
    finally:
        if progress is not None:
            progress.stop()
    if state.json:
        print_json([r.as_dict() for r in results])
    else:
        console().print(summary(results))
    if any(r.status != "succeeded" for r in results):
        raise typer.Exit(1)
