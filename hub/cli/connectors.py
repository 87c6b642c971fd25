"""``hub connector``: installed connector plugins, and scaffolding a new one."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.base import console, group, report, say

connector_app = group("connector", "Installed connector plugins.")


@connector_app.command("list")
def connector_list() -> None:
    """Installed connector plugins and their streams. Example: hub connector list"""
    from hub.plugins import connectors

    rows: list[dict[str, Any]] = [
        {
            "name": cls.name,
            "title": cls.title,
            "module": cls.__module__,
            "streams": [s.name for s in cls.streams],
        }
        for cls in connectors().values()
    ]
    report(rows, lambda: _print_connectors(rows))


def _print_connectors(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("name", "title", "streams", "module")
    for r in rows:
        table.add_row(r["name"], r["title"], ", ".join(r["streams"]), r["module"])
    console().print(table)


@connector_app.command("show")
def connector_show(
    name: Annotated[str, typer.Argument(help="Connector name, e.g. zendesk.")],
) -> None:
    """The connector's streams and the config fields a connection sets with --set.

    Example: hub connector show zendesk
    """
    from hub.plugins import connector_class
    from hub.services.connections import config_fields

    cls = connector_class(name)
    fields = [asdict(f) for f in config_fields(name)]
    streams = [
        {"name": s.name, "object_type": s.object_type, "cursor": s.cursor_field,
         "description": s.description}
        for s in cls.streams
    ]  # fmt: skip
    shown = {"name": cls.name, "title": cls.title, "streams": streams, "fields": fields}
    report(shown, lambda: _print_connector(shown))


def _print_connector(shown: dict[str, Any]) -> None:
    from rich.table import Table

    console().print(f"[bold]{shown['title']}[/bold] ({shown['name']})", highlight=False)
    table = Table("field", "type", "required", "default", "secret", "personal", "description")
    for f in shown["fields"]:
        table.add_row(
            f["name"],
            f["type"],
            "yes" if f["required"] else "",
            "" if f["default"] is None else str(f["default"]),
            "secret:NAME" if f["secret"] else "",
            "sealed" if f["personal"] else "",
            f["description"],
        )
    console().print(table)
    stream_table = Table("stream", "object", "cursor", "description")
    for st in shown["streams"]:
        stream_table.add_row(st["name"], st["object_type"], st["cursor"], st["description"])
    console().print(stream_table)


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

    package = new_connector(name, directory)
    next_steps = (
        f"next: pip install -e '{package.root}[dev]', then `python -m pytest` in it, and "
        f"`hub sandbox serve {package.name}`; its README.md says what to change first"
    )
    report(
        {
            "distribution": package.distribution,
            "root": str(package.root),
            "files": [str(f) for f in package.files],
            "next": next_steps,
        },
        lambda: say(
            "\n".join(
                [f"wrote {package.distribution} in {package.root}:"]
                + [f"  {file}" for file in package.files]
                + [next_steps]
            )
        ),
    )
