"""``hub init`` and ``hub demo``: making a hub."""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.base import app, console, fail, print_json, report, run, say, state


@app.command()
def init(
    directory: Annotated[Path, typer.Option("--dir", help="Where the hub lives.")] = Path("."),
) -> None:
    """Create hub.toml, the data folder and the master key, and migrate the database.

    Example: hub init --dir /srv/hub
    """
    from hub.services.setup import initialise

    def go() -> Coroutine[Any, Any, list[str]]:
        return initialise(directory, explicit_config=state.config)

    done = run(go)
    report(
        {"directory": str(directory.resolve()), "done": done},
        lambda: say("\n".join(done)),
    )


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder of the demo hub.")] = Path(
        "hub-demo"
    ),
    records: Annotated[int, typer.Option(help="Tickets per sandbox.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox data.")] = 7,
) -> None:
    """Start the sandboxes, sync every connector into an embedded hub, twice; a folder that
    holds a hub already is reused (its records, keys and secrets stay).

    Example: hub demo --dir ./hub-demo --records 2000
    """
    from hub.demo import closing_words, run_demo
    from hub.log import configure_logging

    configure_logging("DEBUG" if state.verbose else "WARNING", library_level="WARNING")
    live = None if state.json else console()
    outcome = run(lambda: run_demo(directory, records=records, seed=seed, console=live))
    if live is None:
        print_json(outcome.as_dict())
    else:
        live.print(closing_words(outcome), highlight=False, soft_wrap=True)
    if outcome.failed or outcome.rewritten:
        fail(f"demo finished with {len(outcome.failed)} failed stream run(s)")
