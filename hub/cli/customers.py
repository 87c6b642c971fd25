"""``hub customers``: finding customers by blind index, showing one (audited reveals), and
updating their address in the source system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.base import console, group, report, say, when, with_hub

if TYPE_CHECKING:
    from hub.models import Address

customers_app = group(
    "customers", "Find customers (answers from blind indexes) and update their addresses."
)


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


ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country")


@customers_app.command("update-address")
def customers_update_address(
    connection: Annotated[str, typer.Argument(help="The connection holding the customer.")],
    external_id: Annotated[str, typer.Argument(help="The customer's id in that system.")],
) -> None:
    """Replace a customer's postal address in its source system (a Salesforce Contact's
    mailing address). The address is personal data, so it is never taken from argv: it is
    read from stdin as a JSON object with any of street, city, region, postal_code and
    country (a field left out is cleared), or prompted for on a terminal. Sending the same
    address again changes nothing more.

    Example: hub customers update-address sf 003000000000001AAA < address.json
    """
    from hub.services.cases import update_customer_address

    address = _address_from_stdin()
    result = with_hub(lambda hub: update_customer_address(hub, connection, external_id, address))
    report(
        {"external_id": result.external_id, "updated": True},
        lambda: say(f"updated the address of {result.external_id} in {connection}"),
    )


def _address_from_stdin() -> Address:
    """The address from a JSON object on stdin, or field by field from a terminal's prompt;
    a usage error names what is wrong, never the values."""
    import json
    import sys

    from hub.models import Address

    if sys.stdin.isatty():
        values = {name: typer.prompt(name, default="", show_default=False) or None
                  for name in ADDRESS_FIELDS}  # fmt: skip
        return Address(**values)
    try:
        given = json.loads(sys.stdin.read())
    except ValueError:
        raise typer.BadParameter("stdin does not hold a JSON object (the address)") from None
    if not isinstance(given, dict):
        raise typer.BadParameter('stdin must hold a JSON object such as {"city": ...}')
    unknown = sorted(set(given) - set(ADDRESS_FIELDS))
    if unknown:
        raise typer.BadParameter(
            f"unknown address field(s) {', '.join(unknown)}; use {', '.join(ADDRESS_FIELDS)}"
        )
    wrong = sorted(name for name, value in given.items() if not isinstance(value, str | None))
    if wrong:
        raise typer.BadParameter(f"address field(s) {', '.join(wrong)} must be text or null")
    return Address(**given)


@customers_app.command("show")
def customers_show(
    record: Annotated[int, typer.Argument(help="The record id (from hub customers find).")],
    reveal: Annotated[
        str | None, typer.Option(help="Personal fields to reveal, comma-separated: emails,phones.")
    ] = None,
    purpose: Annotated[
        str | None, typer.Option(help="Why you reveal them (required; recorded on the trail).")
    ] = None,
) -> None:
    """Which personal fields a record holds and where it comes from; with --reveal and
    --purpose, their values, once the reveal is on the audit trail.

    Example: hub customers show 12 --reveal emails --purpose "ticket 4711: verify caller"
    """
    from hub.services.customers import show_customer

    fields = [f.strip() for f in (reveal or "").split(",") if f.strip()]
    shown = with_hub(lambda hub: show_customer(hub, record, reveal=fields, purpose=purpose))
    report(shown, lambda: _print_customer(shown))


def _print_customer(shown: dict[str, Any]) -> None:
    from rich.table import Table

    source = shown["source"]
    console().print(
        f"record {shown['id']} ({shown['kind']}) from {source['connection']} "
        f"{source['object_type']} {source['external_id']}",
        highlight=False,
        markup=False,
    )
    table = Table("field", "value")
    for name, value in sorted(shown["fields"].items()):
        table.add_row(name, str(value))
    for name in shown["personal_fields"]:
        revealed = shown["revealed"]
        table.add_row(name, str(revealed[name]) if name in revealed else "(sealed)")
    console().print(table)


@customers_app.command("forget")
def customers_forget(
    record: Annotated[int, typer.Argument(help="The customer record id (hub customers find).")],
    reason: Annotated[
        str, typer.Option(help="Why (an erasure request's id, say); recorded on the trail.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer for good (crypto-shredding): destroy their key, so every sealed field,
    payload and quarantined copy of their records becomes unreadable, and delete their
    blind-index rows. A later sync does not bring them back. Admins only; audited.

    Example: hub customers forget 12 --reason "DSR-4711 erasure request"
    """
    from hub.services.erasure import forget_customer

    if not yes and not typer.confirm(
        f"Forget the customer of record {record}? This cannot be undone", default=False
    ):
        raise typer.Abort()
    done = with_hub(lambda hub: forget_customer(hub, record, reason=reason))
    report(_forget_json(done), lambda: _print_forget(done))


def _forget_json(done: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(done)


def _print_forget(done: Any) -> None:
    source = f"{done.connection} {done.object_type} {done.external_id}"
    if done.already:
        say(f"record {done.record_id}: this customer was already forgotten on "
            f"{done.erased_at:%Y-%m-%d %H:%M} UTC; nothing changed")  # fmt: skip
        return
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(done.shredded.items()))
    say(f"forgot the customer of record {done.record_id}; records shredded: {kinds}; "
        f"blind-index rows deleted: {done.index_rows_deleted}; "
        f"quarantine entries removed: {done.quarantine_removed}; texts to their "
        f"phones cancelled: {done.texts_cancelled}, "
        f"sent ones stripped: {done.texts_stripped}")  # fmt: skip
    say(f"propagate the erasure to the source system: {source}")
    for other in done.others:
        say(f"  also matches by {other.matched}: record {other.id} ({other.kind}) in "
            f"{other.connection}; forget it too if it is the same person")  # fmt: skip
