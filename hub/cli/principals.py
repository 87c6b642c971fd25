"""``hub principals``: who may act on the hub, with which role."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.base import console, group, report, say, when, with_hub
from hub.errors import ConfigError

principals_app = group("principals", "People and services that act on the hub, with a role.")


@principals_app.command("add")
def principals_add(
    name: Annotated[str, typer.Argument(help="Principal name, e.g. ana or crm-bot.")],
    role: Annotated[str, typer.Option(help="admin, integrator, agent or auditor.")],
) -> None:
    """Add a principal; its token is printed once (stored only as a hash).

    Example: hub principals add ana --role agent
    """
    from hub.services import principals

    token = with_hub(lambda hub: principals.add(hub, name, role))
    report(
        {"principal": name, "role": role, "token": token},
        lambda: say(f"principal {name} added as {role}; token (shown once): {token}"),
    )


@principals_app.command("list")
def principals_list() -> None:
    """List principals and their roles (never tokens). Example: hub principals list"""
    from hub.services import principals

    rows = with_hub(principals.list_all)
    report(rows, lambda: _print(rows))


def _print(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("name", "role", "created", "revoked")
    for r in rows:
        table.add_row(r["name"], r["role"], when(r["created_at"]), when(r["revoked_at"]))
    console().print(table)


@principals_app.command("revoke")
def principals_revoke(name: str) -> None:
    """Revoke a principal's token. Example: hub principals revoke ana"""
    from hub.services import principals

    if not with_hub(lambda hub: principals.revoke(hub, name)):
        raise ConfigError(f"no active principal named {name!r}; see hub principals list")
    report({"principal": name, "revoked": True}, lambda: say(f"principal {name} revoked"))
