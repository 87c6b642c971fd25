"""``hub secrets``: encrypted connector credentials."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from hub.cli.base import console, group, report, say, when, with_hub
from hub.errors import ConfigError

secrets_app = group("secrets", "Encrypted connector credentials.")


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
    report(
        {"secret": name, "stored": True, "reference": f"secret:{name}"},
        lambda: say(f"secret {name} stored (encrypted); refer to it as secret:{name}"),
    )


@secrets_app.command("list")
def secrets_list() -> None:
    """List secret names (never values). Example: hub secrets list"""
    from hub.services import secrets

    rows = with_hub(secrets.list_secrets)
    report([{"name": n, "updated_at": t} for n, t in rows], lambda: _print_secrets(rows))


def _print_secrets(rows: list[tuple[str, datetime]]) -> None:
    from rich.table import Table

    table = Table("name", "updated")
    for n, t in rows:
        table.add_row(n, when(t))
    console().print(table)


@secrets_app.command("remove")
def secrets_remove(name: str) -> None:
    """Delete a secret. Example: hub secrets remove zd-token"""
    from hub.services import secrets

    if not with_hub(lambda hub: secrets.remove_secret(hub, name)):
        raise ConfigError(f"no secret named {name!r}; see hub secrets list")
    report({"secret": name, "removed": True}, lambda: say(f"secret {name} removed"))
