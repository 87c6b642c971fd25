"""``hub customers``: finding customers by blind index."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.base import console, group, report, when, with_hub

customers_app = group("customers", "Find customers (answers from blind indexes).")


def _email_address(value: str | None) -> str | None:
    """A usage error (exit 2) for what is not an email address; syntax only, no DNS."""
    if value is None:
        return None
    from hub.vault import normalise_email

    try:
        normalise_email(value)
    except ValueError:
        raise typer.BadParameter(f"{value.strip()!r} is not an email address") from None
    return value


@customers_app.command("find")
def customers_find(
    email: Annotated[
        str | None, typer.Option(help="Email address to look up.", callback=_email_address)
    ] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number to look up.")] = None,
    region: Annotated[str | None, typer.Option(help="Default region for phones without +.")] = None,
) -> None:
    """Records with this email or phone, found by blind index without decrypting anything.

    Example: hub customers find --email ana@example.com
    """
    if (email is None) == (phone is None):
        raise typer.BadParameter("give exactly one of --email or --phone")
    from hub.services.customers import find_customers

    rows = with_hub(lambda hub: find_customers(hub, email=email, phone=phone, region=region))
    report(rows, lambda: _print_records(rows))


def _print_records(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("record", "kind", "connection", "object", "external id", "source updated")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            r["connection"],
            r["object_type"],
            r["external_id"],
            when(r["source_updated_at"]),
        )
    console().print(table)
    console().print(f"{len(rows)} record(s); personal fields stay sealed", highlight=False)
