"""``hub bench``: throughput and memory figures."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.base import group, print_json, run

bench_app = group("bench", "Throughput and memory figures as JSON.")


@bench_app.command("sync")
def bench_sync(
    connector: Annotated[str, typer.Option(help="Connector whose sandbox to use.")],
    records: Annotated[int, typer.Option(help="Records in the sandbox.")] = 100_000,
    seed: Annotated[int, typer.Option()] = 7,
    database_url: Annotated[
        str | None, typer.Option(help="Bench against this database (default: temp SQLite).")
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="Log level of the engine phase's sync (DEBUG costs most).")
    ] = "WARNING",
    phases: Annotated[
        str, typer.Option(help="Comma-separated phases to run: fetch (with decode), engine.")
    ] = "fetch,engine",
) -> None:
    """Engine throughput, CPU per record and peak memory against a bare fetch and a bare
    decode of the same requests, as JSON (always).

    Example: hub bench sync --connector zendesk --records 100000 --log-level DEBUG

    Memory at a large size, engine only: hub bench sync --connector zendesk --records 1000000
    --phases engine
    """
    from hub.bench import bench_sync as do_bench

    print_json(
        run(
            lambda: do_bench(
                connector,
                records=records,
                seed=seed,
                database_url=database_url,
                log_level=log_level,
                phases=[p.strip() for p in phases.split(",") if p.strip()],
            )
        )
    )
