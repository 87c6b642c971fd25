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
        str,
        typer.Option(
            help="Comma-separated phases to run: fetch (with decode), engine, saved (the "
            "engine fed from pages read beforehand, with no sandbox running)."
        ),
    ] = "fetch,engine",
    refresh_changed_percent: Annotated[
        float | None,
        typer.Option(
            help="Also time two full refreshes: nothing changed, then this % of tickets changed."
        ),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            help="sync_workers for the engine phase: 0 (map and seal in process), N, or auto "
            "(default: the setting's default)."
        ),
    ] = None,
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
                refresh_changed_percent=refresh_changed_percent,
                workers=None if workers is None else _workers(workers),
            )
        )
    )


def _workers(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise typer.BadParameter("--workers takes 0, a number of workers, or auto")
    return count


@bench_app.command("retention")
def bench_retention(
    records: Annotated[int, typer.Option(help="Rows past their period, per data type.")] = 100_000,
    batch_size: Annotated[int, typer.Option(help="Rows one purge transaction examines.")] = 1000,
    database_url: Annotated[
        str | None, typer.Option(help="Bench against this database (default: temp SQLite).")
    ] = None,
) -> None:
    """Purge rate (rows/s) of payload stripping and interaction deletion, as JSON (always).

    Example: hub bench retention --records 100000
    """
    from hub.retention.bench import bench_retention as do_bench

    print_json(
        run(
            lambda: do_bench(
                records_per_type=records, batch_size=batch_size, database_url=database_url
            )
        )
    )


@bench_app.command("audit")
def bench_audit(
    reveals: Annotated[int, typer.Option(help="Audited reveals to time.")] = 5_000,
    verify_entries: Annotated[
        int, typer.Option(help="Entries to append in bulk, then verify (1000000 for the doc).")
    ] = 100_000,
    database_url: Annotated[
        str | None, typer.Option(help="An empty database to bench on (default: temp SQLite).")
    ] = None,
    prune_entries: Annotated[
        int, typer.Option(help="Old entries to append (checkpoint every 1,000), then prune.")
    ] = 0,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Tasks revealing at once, after the sequential run.")
    ] = 64,
) -> None:
    """Audited reveals per second (one after another, then --concurrency tasks at once),
    the time to verify a trail and prove an entry in it, and (--prune-entries) to prune old
    entries for retention.

    Example: hub bench audit --reveals 5000 --verify-entries 1000000
    """
    from hub.bench_audit import bench_audit as do_bench

    print_json(
        run(
            lambda: do_bench(
                reveals=reveals,
                verify_entries=verify_entries,
                database_url=database_url,
                prune_entries=prune_entries,
                concurrency=concurrency,
            )
        )
    )


DatabaseOption = Annotated[
    str | None,
    typer.Option(help="PostgreSQL server URL (a schema is created and dropped); default SQLite."),
]


@bench_app.command("run-idle")
def bench_run_idle(
    schedules: Annotated[int, typer.Option(help="Schedules (two per memory connection).")] = 1000,
    seconds: Annotated[float, typer.Option(help="How long to measure, once all fired.")] = 60,
    database_url: DatabaseOption = None,
) -> None:
    """CPU and memory of one `hub run` node holding idle schedules, as JSON.

    Example: hub bench run-idle --schedules 1000 --seconds 60
    """
    from hub.bench_run import bench_idle

    print_json(
        run(lambda: bench_idle(schedules=schedules, seconds=seconds, database_url=database_url))
    )


@bench_app.command("run-takeover")
def bench_run_takeover(
    database_url: Annotated[str, typer.Option(help="PostgreSQL server URL.")],
    kills: Annotated[int, typer.Option(help="Nodes killed, one after another.")] = 10,
) -> None:
    """Seconds until a SIGKILLed node's running stream runs on the other node, as JSON.

    Example: hub bench run-takeover --database-url postgresql://postgres@127.0.0.1/test
    """
    from hub.bench_run import bench_takeover

    print_json(run(lambda: bench_takeover(kills=kills, database_url=database_url)))


@bench_app.command("run-scale")
def bench_run_scale(
    database_url: Annotated[str, typer.Option(help="PostgreSQL server URL.")],
    nodes: Annotated[int, typer.Option(help="`hub run` nodes.")] = 1,
    connections: Annotated[int, typer.Option(help="Slow Zendesk sandboxes.")] = 4,
    records: Annotated[int, typer.Option(help="Records in each sandbox.")] = 300,
    slots: Annotated[int, typer.Option(help="max_concurrent_syncs of each node.")] = 4,
    source: Annotated[
        str, typer.Option(help="zendesk (slow sandboxes) or memory (0.3 s a page).")
    ] = "zendesk",
) -> None:
    """Seconds to sync slow sandboxes with one node or several, as JSON (latency bound).

    Example: hub bench run-scale --database-url postgresql://postgres@127.0.0.1/test --nodes 2
    """
    from hub.bench_run import bench_scale

    print_json(
        run(
            lambda: bench_scale(
                nodes=nodes,
                connections=connections,
                records=records,
                slots=slots,
                database_url=database_url,
                source=source,
            )
        )
    )


@bench_app.command("rewrap")
def bench_rewrap(
    connector: Annotated[str, typer.Option(help="Connector whose sandbox fills the store.")],
    records: Annotated[int, typer.Option(help="Records in the sandbox.")] = 5_000,
    seed: Annotated[int, typer.Option()] = 7,
    database_url: Annotated[
        str | None, typer.Option(help="Bench against this empty database (default: temp SQLite).")
    ] = None,
) -> None:
    """The rewrap job's tokens/s, and a sync's records/s beside a rewrap vs alone, as JSON.

    Example: hub bench rewrap --connector zendesk --records 5000
    """
    from hub.bench_rewrap import bench_rewrap as do_bench

    print_json(
        run(lambda: do_bench(connector, records=records, seed=seed, database_url=database_url))
    )
