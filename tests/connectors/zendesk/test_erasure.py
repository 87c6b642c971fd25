"""Erasure against the Zendesk sandbox: a forgotten requester stays forgotten through a full
re-sync from a source that still holds them, their tickets included."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.runtime import Hub
from hub.services.customers import CustomerForgotten, find_customers, show_customer
from hub.services.erasure import forget_customer
from hub.store.schema import records
from hub.sync import sync_connection
from hub.vault import record_row, unseal_data
from hub.vault.subjects import load_subject_keys


async def _requester_with_tickets(hub: Hub) -> tuple[Any, list[int]]:
    """A customer record with an email and at least one ticket, and those tickets' ids."""
    async with hub.engine.connect() as conn:
        customers = list(await conn.execute(sa.select(records).where(records.c.kind == "customer")))
        cases = list(await conn.execute(sa.select(records).where(records.c.kind == "case")))
        await load_subject_keys(conn, hub.keyring, [r.data for r in customers])
    by_ref: dict[str, list[int]] = {}
    for case in cases:
        by_ref.setdefault(str(case.data.get("customer_ref")), []).append(case.id)
    for customer in customers:
        tickets = by_ref.get(f"user/{customer.external_id}", [])
        if tickets and customer.data.get("emails"):
            return customer, tickets
    raise AssertionError("the sandbox made no requester with an email and a ticket")


async def test_a_full_resync_does_not_bring_a_forgotten_requester_back(
    hub: Hub, zendesk: tuple[object, object]
) -> None:
    await sync_connection(hub, "zd")
    customer, tickets = await _requester_with_tickets(hub)
    row = record_row(customer.connection, customer.object_type, customer.external_id)
    [email, *_] = unseal_data("customer", dict(customer.data), hub.keyring, row=row)["emails"]

    done = await forget_customer(hub, customer.id, reason="DSR-9")
    assert done.shredded == {"case": len(tickets), "customer": 1}

    results = await sync_connection(hub, "zd", full_refresh=True)  # from scratch: state reset
    erased = {r.stream: r.counters.records_erased for r in results}
    assert erased["users"] == 1 and erased["tickets"] == len(tickets)
    assert all(r.counters.records_quarantined == 0 for r in results if r.stream == "users")
    with pytest.raises(CustomerForgotten):
        await show_customer(hub, customer.id, reveal=["emails"], purpose="check")
    found = {r["id"] for r in await find_customers(hub, email=email, phone=None)}
    assert customer.id not in found and not (found - {o.id for o in done.others})
    await sync_connection(hub, "zd")  # and incrementally, from the new cursor
    with pytest.raises(CustomerForgotten):
        await show_customer(hub, customer.id)
