"""``hub sandbox``: vendor API emulators."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.base import assignments, group

sandbox_app = group("sandbox", "Vendor API emulators.")


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
    """Serve a vendor emulator on 127.0.0.1 until interrupted (Ctrl-C or SIGTERM); the first
    stdout line is JSON (with --json or without).

    Example: hub sandbox serve zendesk --port 8101 --records 5000 --seed 7
    """
    from hub.errors import ConfigError
    from hub.sandbox.app import build_sandbox
    from hub.sandbox.server import serve_forever

    try:
        sandbox = build_sandbox(
            vendor,
            records=records,
            seed=seed,
            faults=faults,
            **assignments(option, flag="--option"),
        )
    except (ValueError, TypeError) as exc:  # bad options and faults, as the sandbox words them
        raise ConfigError(str(exc)) from None
    serve_forever(sandbox, port=port, tls=tls)  # blocks until SIGINT/SIGTERM
