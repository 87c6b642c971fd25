"""``hub connections``: configured vendor connections."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.base import assignments, console, group, report, say, when, with_hub
from hub.errors import ConfigError

connections_app = group("connections", "Configured vendor connections.")


@connections_app.command("add")
def connections_add(
    name: Annotated[str, typer.Argument(help="Connection name, e.g. zd.")],
    connector: Annotated[str, typer.Option(help="Installed connector (see hub connector list).")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Config KEY=VALUE (repeatable; see hub connector show). A personal field "
            "given as - (--set email=-) is read from a prompt or stdin, keeping it off argv.",
        ),
    ] = None,
) -> None:
    """Add a connection; its fields are the connector's (hub connector show NAME), and
    credentials must be secret:NAME references. Personal fields (an agent's email) given as
    - are read from a prompt, or one line each from stdin, so they stay out of the process
    list and the shell's history.

    Example: printf '%s\n' "$AGENT_EMAIL" | hub connections add zd --connector zendesk
    --set base_url=https://acme.zendesk.com --set email=- --set token=secret:zd-token
    """
    from hub.services import connections

    config = assignments(set_, flag="--set")
    read = connections.read_from_terminal
    with_hub(lambda hub: connections.add_connection(hub, name, connector, config, read=read))
    report(
        {"connection": name, "connector": connector, "added": True},
        lambda: say(f"connection {name} added; check it with: hub connections test {name}"),
    )


@connections_app.command("list")
def connections_list() -> None:
    """List connections with the state of their last runs. Example: hub connections list"""
    from hub.services import connections

    rows = with_hub(connections.list_connections)
    report(rows, lambda: _print_connections(rows))


def _print_connections(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("name", "connector", "base url", "last run", "status")
    for r in rows:
        table.add_row(
            r["name"], r["connector"], r["base_url"], when(r["last_run"]), r["last_status"] or "-"
        )
    console().print(table)


@connections_app.command("test")
def connections_test(name: str) -> None:
    """Verify a connection's credentials with one call. Example: hub connections test zd"""
    from hub.services import connections

    with_hub(lambda hub: connections.test_connection(hub, name))
    report(
        {"connection": name, "ok": True},
        lambda: say(f"ok: {name} answered and accepted the credentials"),
    )


@connections_app.command("remove")
def connections_remove(name: str) -> None:
    """Remove a connection (its synced records stay). Example: hub connections remove zd"""
    from hub.services import connections

    if not with_hub(lambda hub: connections.remove_connection(hub, name)):
        raise ConfigError(f"no connection named {name!r}; see hub connections list")
    report({"connection": name, "removed": True}, lambda: say(f"connection {name} removed"))
