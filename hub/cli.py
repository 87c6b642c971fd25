"""The ``hub`` command: noun groups with verbs (typer + rich).

Exit codes: 0 success, 1 failure (one line saying what and what to do), 2 usage error.
``--json`` gives machine-readable output; ``--verbose`` adds tracebacks for failures.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hub.errors import HubError
from hub.log import configure_logging

# The engine, the database layer and pydantic load inside the commands that use them, so
# `hub --help` and usage errors answer at once.
if TYPE_CHECKING:
    from hub.config import Settings
    from hub.runtime import Hub

T = TypeVar("T")

app = typer.Typer(
    name="hub",
    help="Unified customer-service integration hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
connections_app = typer.Typer(help="Configured vendor connections.", no_args_is_help=True)
secrets_app = typer.Typer(help="Encrypted connector credentials.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Vendor records that did not fit the model.", no_args_is_help=True
)
customers_app = typer.Typer(
    help="Find customers (answers from blind indexes).", no_args_is_help=True
)
connector_app = typer.Typer(help="Installed connector plugins.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Vendor API emulators.", no_args_is_help=True)
bench_app = typer.Typer(help="Throughput and memory figures as JSON.", no_args_is_help=True)
for sub, name in (
    (connections_app, "connections"),
    (secrets_app, "secrets"),
    (quarantine_app, "quarantine"),
    (customers_app, "customers"),
    (connector_app, "connector"),
    (sandbox_app, "sandbox"),
    (bench_app, "bench"),
):
    app.add_typer(sub, name=name)

# Rich assumes 80 columns when output is not a terminal; summaries need more to stay legible.
console = Console() if sys.stdout.isatty() else Console(width=120)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)


class _State:
    config: Path | None = None
    verbose: bool = False


state = _State()

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def main(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="hub.toml to use (default: HUB_CONFIG, ./hub.toml)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Details and tracebacks.")
    ] = False,
) -> None:
    """Unified customer-service integration hub. Example: hub sync zd --stream tickets"""
    state.config = config
    state.verbose = verbose


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; hub errors become one line on stderr and exit code 1."""
    try:
        import asyncio

        return asyncio.run(coro_fn())
    except HubError as exc:
        if state.verbose:
            err_console.print_exception()
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted; committed pages are kept, the next run resumes from them")
        raise typer.Exit(130) from None


def settings() -> Settings:
    from hub.config import load_settings

    s = load_settings(state.config)
    configure_logging(s.log_level if not state.verbose else "DEBUG")
    return s


def with_hub(service: Callable[[Hub], Awaitable[T]]) -> T:
    """Open the configured hub, run one service on it, close it; errors as :func:`run`."""

    from hub.runtime import Hub

    async def go() -> T:
        async with Hub.open(settings()) as hub:
            return await service(hub)

    return run(go)


def _assignments(items: list[str] | None, *, flag: str) -> dict[str, Any]:
    from hub.config import parse_assignments

    return parse_assignments(items or [], flag=flag)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, indent=2) + "\n")


# -- init ---------------------------------------------------------------------------------


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

    for line in run(go):
        console.print(line, highlight=False)


# -- demo ---------------------------------------------------------------------------------


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder of the demo hub.")] = Path(
        "hub-demo"
    ),
    records: Annotated[int, typer.Option(help="Tickets per sandbox.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox data.")] = 7,
) -> None:
    """Start the sandboxes, sync every connector into an embedded hub, twice.

    Example: hub demo --dir ./hub-demo --records 2000
    """
    from hub.demo import run_demo

    run(lambda: run_demo(directory, records=records, seed=seed, console=console))


# -- sandbox ------------------------------------------------------------------------------


@sandbox_app.command("serve")
def sandbox_serve(
    vendor: Annotated[str, typer.Argument(help="Connector name, e.g. zendesk.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free one).")] = 0,
    records: Annotated[int, typer.Option(help="Size of the generated data.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of data and faults.")] = 7,
    faults: Annotated[
        str | None,
        typer.Option(help="e.g. 429=0.05,500=0.02,reset=0.01,slow=0.02,truncate=0.01,expire=0.01"),
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a self-signed CA.")] = False,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Sandbox option KEY=VALUE (repeatable).")
    ] = None,
) -> None:
    """Serve a vendor emulator on 127.0.0.1 until interrupted; first stdout line is JSON.

    Example: hub sandbox serve zendesk --port 8101 --records 5000 --seed 7
    """
    from hub.sandbox.app import build_sandbox
    from hub.sandbox.server import serve_forever

    try:
        sandbox = build_sandbox(
            vendor,
            records=records,
            seed=seed,
            faults=faults,
            **_assignments(option, flag="--option"),
        )
    except (ValueError, TypeError, HubError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    serve_forever(sandbox, port=port, tls=tls)  # blocks until SIGINT/SIGTERM


# -- secrets ------------------------------------------------------------------------------


@secrets_app.command("set")
def secrets_set(name: Annotated[str, typer.Argument(help="Secret name, e.g. zd-token.")]) -> None:
    """Store a credential encrypted; the value is read from a prompt or stdin, never argv.

    Example: printf %s "$TOKEN" | hub secrets set zd-token
    """
    if sys.stdin.isatty():
        value = typer.prompt(f"value of {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read().rstrip("\r\n")
    from hub.services import secrets

    with_hub(lambda hub: secrets.set_secret(hub, name, value))
    console.print(
        f"secret {name} stored (encrypted); refer to it as secret:{name}", highlight=False
    )


@secrets_app.command("list")
def secrets_list(as_json: JsonOption = False) -> None:
    """List secret names (never values). Example: hub secrets list"""
    from hub.services import secrets

    rows = with_hub(secrets.list_secrets)
    if as_json:
        _print_json([{"name": n, "updated_at": t} for n, t in rows])
        return
    table = Table("name", "updated")
    for n, t in rows:
        table.add_row(n, _when(t))
    console.print(table)


@secrets_app.command("remove")
def secrets_remove(name: str) -> None:
    """Delete a secret. Example: hub secrets remove zd-token"""
    from hub.services import secrets

    if not with_hub(lambda hub: secrets.remove_secret(hub, name)):
        err_console.print(f"error: no secret named {name!r}")
        raise typer.Exit(1)
    console.print(f"secret {name} removed")


# -- connections --------------------------------------------------------------------------


@connections_app.command("add")
def connections_add(
    name: Annotated[str, typer.Argument(help="Connection name, e.g. zd.")],
    connector: Annotated[str, typer.Option(help="Installed connector (see hub connector list).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Config KEY=VALUE (repeatable; see hub connector show)."),
    ] = None,
) -> None:
    """Add a connection; its fields are the connector's (hub connector show NAME), and
    credentials must be secret:NAME references.

    Example: hub connections add zd --connector zendesk --set base_url=https://acme.zendesk.com
    --set email=ops@acme.com --set token=secret:zd-token
    """
    from hub.services import connections

    config = _assignments(set_, flag="--set")
    with_hub(lambda hub: connections.add_connection(hub, name, connector, config))
    console.print(f"connection {name} added; check it with: hub connections test {name}")


@connections_app.command("list")
def connections_list(as_json: JsonOption = False) -> None:
    """List connections with the state of their last runs. Example: hub connections list"""
    from hub.services import connections

    rows = with_hub(connections.list_connections)
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "connector", "base url", "last run", "status")
    for r in rows:
        table.add_row(
            r["name"], r["connector"], r["base_url"], _when(r["last_run"]), r["last_status"] or "-"
        )
    console.print(table)


@connections_app.command("test")
def connections_test(name: str) -> None:
    """Verify a connection's credentials with one call. Example: hub connections test zd"""
    from hub.services import connections

    with_hub(lambda hub: connections.test_connection(hub, name))
    console.print(f"[green]ok[/green]: {name} answered and accepted the credentials")


@connections_app.command("remove")
def connections_remove(name: str) -> None:
    """Remove a connection (its synced records stay). Example: hub connections remove zd"""
    from hub.services import connections

    if not with_hub(lambda hub: connections.remove_connection(hub, name)):
        err_console.print(f"error: no connection named {name!r}")
        raise typer.Exit(1)
    console.print(f"connection {name} removed")


# -- sync ---------------------------------------------------------------------------------


@app.command()
def sync(
    connection: Annotated[str | None, typer.Argument(help="Connection (default: all).")] = None,
    stream: Annotated[list[str] | None, typer.Option("--stream", help="Only this stream.")] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Forget cursors; read everything again.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync connections now, page by page, resuming from the last committed cursor.

    Example: hub sync zd --stream tickets
    """
    from hub.progress import SyncProgress, summary_table

    progress = None if as_json else SyncProgress(console)

    from hub.services.syncing import sync as sync_service

    try:
        results = with_hub(
            lambda hub: sync_service(
                hub, connection, streams=stream, full_refresh=full_refresh, progress=progress
            )
        )
    finally:
        if progress is not None:
            progress.stop()
    if as_json:
        _print_json([{**asdict(r.counters), **_result_head(r)} for r in results])
    else:
        console.print(summary_table(results))
    if any(r.status != "succeeded" for r in results):
        raise typer.Exit(1)


def _result_head(r: Any) -> dict[str, Any]:
    return {
        "connection": r.connection,
        "stream": r.stream,
        "status": r.status,
        "error": r.error,
        "seconds": round(r.seconds, 3),
    }


# -- connector ----------------------------------------------------------------------------


@connector_app.command("list")
def connector_list(as_json: JsonOption = False) -> None:
    """Installed connector plugins and their streams. Example: hub connector list"""
    from hub.plugins import connectors

    found = connectors()
    rows: list[dict[str, Any]] = [
        {
            "name": cls.name,
            "title": cls.title,
            "module": cls.__module__,
            "streams": [s.name for s in cls.streams],
        }
        for cls in found.values()
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "title", "streams", "module")
    for r in rows:
        table.add_row(r["name"], r["title"], ", ".join(r["streams"]), r["module"])
    console.print(table)


@connector_app.command("show")
def connector_show(
    name: Annotated[str, typer.Argument(help="Connector name, e.g. zendesk.")],
    as_json: JsonOption = False,
) -> None:
    """The connector's streams and the config fields a connection sets with --set.

    Example: hub connector show zendesk
    """
    from hub.plugins import connector_class
    from hub.services.connections import config_fields

    try:
        cls = connector_class(name)
    except HubError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    fields = [asdict(f) for f in config_fields(name)]
    streams = [
        {"name": s.name, "object_type": s.object_type, "cursor": s.cursor_field,
         "description": s.description}
        for s in cls.streams
    ]  # fmt: skip
    if as_json:
        _print_json({"name": cls.name, "title": cls.title, "streams": streams, "fields": fields})
        return
    console.print(f"[bold]{cls.title}[/bold] ({cls.name})", highlight=False)
    table = Table("field", "type", "required", "default", "secret", "personal", "description")
    for f in fields:
        table.add_row(
            f["name"],
            f["type"],
            "yes" if f["required"] else "",
            "" if f["default"] is None else str(f["default"]),
            "secret:NAME" if f["secret"] else "",
            "sealed" if f["personal"] else "",
            f["description"],
        )
    console.print(table)
    stream_table = Table("stream", "object", "cursor", "description")
    for st in streams:
        stream_table.add_row(st["name"], st["object_type"], st["cursor"], st["description"])
    console.print(stream_table)


@connector_app.command("new")
def connector_new(
    name: Annotated[str, typer.Argument(help="Connector name: lower case, e.g. acme_crm.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder to create the package folder NAME in.")
    ] = Path("."),
) -> None:
    """Scaffold an installable connector package (config, stream, mapping, sandbox, tests).

    Example: hub connector new acme --dir ~/src
    """
    from hub.services.scaffold import new_connector

    try:
        package = new_connector(name, directory)
    except HubError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"wrote {package.distribution} in {package.root}:", highlight=False, markup=False)
    for file in package.files:
        console.print(f"  {file}", highlight=False, markup=False)
    console.print(
        f"next: pip install -e '{package.root}[dev]', then `python -m pytest` in it, and "
        f"`hub sandbox serve {package.name}`; its README.md says what to change first",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


# -- quarantine ---------------------------------------------------------------------------


@quarantine_app.command("list")
def quarantine_list(
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Open quarantine entries. Example: hub quarantine list --connection zd"""
    from hub.services import quarantine

    rows = with_hub(lambda hub: quarantine.list_entries(hub, connection, limit))
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "connection", "stream", "external id", "mapping", "error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["connection"],
            r["stream"],
            r["external_id"] or "-",
            r["mapping_version"],
            r["error"],
        )
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(entry_id: int, as_json: JsonOption = False) -> None:
    """One entry: the error and the payload's field names (values stay sealed).

    Example: hub quarantine show 12
    """
    from hub.services import quarantine

    entry = with_hub(lambda hub: quarantine.show_entry(hub, entry_id))
    if as_json:
        _print_json(entry)
        return
    for key, value in entry.items():
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


@quarantine_app.command("replay")
def quarantine_replay(
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    entry_id: Annotated[list[int] | None, typer.Option("--id", help="Only these entries.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Map open entries again with the current mapping; valid ones move into the store.
    An entry that cannot be replayed is reported by id and the others go on; the exit code
    is then 1.

    Example: hub quarantine replay --connection zd
    """
    from hub.services import quarantine

    result = with_hub(lambda hub: quarantine.replay(hub, connection, entry_id))
    if as_json:
        _print_json(asdict(result))
    else:
        console.print(
            f"moved {result.moved}, superseded by newer data {result.superseded}, "
            f"still invalid {result.still_invalid}"
        )
        for busy in result.busy:
            err_console.print(f"busy: {busy}; its entries stay open, replay again later")
        for failure in result.failed:
            err_console.print(
                f"failed: entry {failure.entry_id}: {failure.reason}; it stays open",
                highlight=False,
                markup=False,
            )
    if not result.complete:
        raise typer.Exit(1)


# -- check --------------------------------------------------------------------------------


@app.command()
def check(as_json: JsonOption = False) -> None:
    """Open every sealed value, blind-index row and wrapped data key in the store, and report
    each that does not open or no longer matches, by table, row and reason (exit code 1).

    Example: hub check
    """
    from rich.progress import Progress

    from hub.runtime import Hub
    from hub.services.check import check_store

    bars = None if as_json else Progress(console=err_console, transient=True)
    tasks: dict[str, Any] = {}

    def tell(table: str, done: int, total: int) -> None:
        if bars is None:
            return
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=total)
        bars.update(tasks[table], completed=done, total=total)

    async def go() -> Any:
        async with Hub.open(settings(), allow_damaged_keys=True) as hub:
            return await check_store(hub, progress=tell)

    if bars is not None:
        bars.start()
    try:
        report = run(go)
    finally:
        if bars is not None:
            bars.stop()
    if as_json:
        _print_json({"checked": report.checked, "failures": [asdict(f) for f in report.failures]})
    else:
        _print_check(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_check(report: Any) -> None:
    rows = sum(report.checked.values())
    if report.ok:
        console.print(f"[green]ok[/green]: {rows} rows checked, every sealed value opens")
        return
    table = Table("table", "row", "column", "reason")
    for f in report.failures:
        table.add_row(f.table, f.row, f.column, f.reason)
    console.print(table)
    console.print(
        f"{len(report.failures)} problem(s) in {rows} rows checked; a full refresh "
        "(hub sync --full-refresh) rewrites damaged records from the vendor",
        highlight=False,
    )


# -- customers ----------------------------------------------------------------------------


@customers_app.command("find")
def customers_find(
    email: Annotated[str | None, typer.Option(help="Email address to look up.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number to look up.")] = None,
    region: Annotated[str | None, typer.Option(help="Default region for phones without +.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Records with this email or phone, found by blind index without decrypting anything.

    Example: hub customers find --email ana@example.com
    """
    if (email is None) == (phone is None):
        raise typer.BadParameter("give exactly one of --email or --phone")
    from hub.services.customers import find_customers

    rows = with_hub(lambda hub: find_customers(hub, email=email, phone=phone, region=region))
    if as_json:
        _print_json(rows)
        return
    table = Table("record", "kind", "connection", "object", "external id", "source updated")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            r["connection"],
            r["object_type"],
            r["external_id"],
            _when(r["source_updated_at"]),
        )
    console.print(table)
    console.print(f"{len(rows)} record(s); personal fields stay sealed")


# -- bench --------------------------------------------------------------------------------


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
) -> None:
    """Engine throughput and peak memory vs a bare-fetch baseline, as JSON.

    Example: hub bench sync --connector zendesk --records 100000 --log-level DEBUG
    """
    from hub.bench import bench_sync as do_bench

    _print_json(
        run(
            lambda: do_bench(
                connector,
                records=records,
                seed=seed,
                database_url=database_url,
                log_level=log_level,
            )
        )
    )


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


if __name__ == "__main__":  # `python -m hub.cli`, as the tests and `hub bench` run it
    app()
