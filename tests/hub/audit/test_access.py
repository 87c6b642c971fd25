"""The one role check and what it records: reveals need a role that may reveal and a
purpose; denials and failed authentications are on the trail; searches, syncs and
configuration changes are recorded without a personal value."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa

from hub.audit import authenticate
from hub.errors import AccessDenied
from hub.runtime import Hub
from hub.services import principals
from hub.services.audit import TrailFilter, export_trail, list_trail
from hub.services.customers import find_customers, show_customer
from hub.services.secrets import set_secret
from hub.services.syncing import sync
from hub.store.schema import records
from hub.testing import MemorySource


async def act_as(hub: Hub, role: str) -> str:
    """Add a principal with ``role`` and make it the one acting through ``hub``."""
    hub.actor = None  # the local admin adds it
    name = f"{role}-1"
    await principals.add(hub, name, role)
    hub.actor = await authenticate(hub, name=name, token=None)
    return name


async def trail(hub: Hub, **where: Any) -> list[dict[str, Any]]:
    """The trail as the local admin sees it, oldest first."""
    actor, hub.actor = hub.actor, None
    try:
        return list(reversed(await list_trail(hub, TrailFilter(**where), limit=1000)))
    finally:
        hub.actor = actor


async def a_customer(hub: Hub) -> int:
    await sync(hub, "mem")
    async with hub.engine.connect() as conn:
        query = sa.select(records.c.id).where(records.c.kind == "customer").order_by(records.c.id)
        return int(await conn.scalar(query.limit(1)) or 0)


async def test_an_auditor_reveal_is_denied_recorded_and_reveals_nothing(
    hub: Hub, memory: MemorySource
) -> None:
    record_id = await a_customer(hub)
    await act_as(hub, "auditor")
    with pytest.raises(AccessDenied, match="role auditor may not customers reveal"):
        await show_customer(hub, record_id, reveal=["emails"], purpose="curious")
    [denied] = await trail(hub, action="customer.reveal")
    assert denied["outcome"] == "denied" and denied["principal"] == "auditor-1"
    assert denied["fields"] == ["emails"] and denied["customer"]
    assert denied["target_id"] == str(record_id)


async def test_a_reveal_without_a_purpose_is_denied_even_for_an_agent(
    hub: Hub, memory: MemorySource
) -> None:
    record_id = await a_customer(hub)
    await act_as(hub, "agent")
    with pytest.raises(AccessDenied, match="needs a purpose"):
        await show_customer(hub, record_id, reveal=["emails"], purpose="  ")
    [denied] = await trail(hub, action="customer.reveal", outcome="denied")
    assert denied["role"] == "agent"


async def test_an_agent_reveal_returns_the_values_and_records_fields_and_purpose_only(
    hub: Hub, memory: MemorySource
) -> None:
    record_id = await a_customer(hub)
    await act_as(hub, "agent")
    shown = await show_customer(hub, record_id, reveal=["emails"], purpose="ticket 4711")
    [email] = shown["revealed"]["emails"]
    assert email.endswith("@example.com")
    [entry] = await trail(hub, action="customer.reveal")
    assert entry["outcome"] == "success" and entry["purpose"] == "ticket 4711"
    assert entry["fields"] == ["emails"]
    assert email not in json.dumps(entry)
    # The same customer is found by its record id as by its pseudonym.
    assert await trail(hub, customer=str(record_id)) == [entry]


async def test_show_without_reveal_lists_the_personal_fields_and_keeps_them_sealed(
    hub: Hub, memory: MemorySource
) -> None:
    record_id = await a_customer(hub)
    shown = await show_customer(hub, record_id)
    assert shown["personal_fields"] == ["display_name", "emails", "phones"]
    assert shown["revealed"] == {} and shown["source"]["connection"] == "mem"
    [entry] = await trail(hub, action="customer.show")
    assert entry["fields"] == ["display_name", "emails", "phones"]


async def test_a_search_is_recorded_with_its_count_and_never_its_value(
    hub: Hub, memory: MemorySource
) -> None:
    await a_customer(hub)
    await act_as(hub, "agent")
    found = await find_customers(hub, email="person3@example.com", phone=None)
    [entry] = await trail(hub, action="customer.find")
    assert entry["detail"] == {"matches": len(found)} and len(found) == 1
    assert "person3" not in json.dumps(entry)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("integrator", True), ("agent", False), ("auditor", False), ("admin", True)],
)
async def test_only_admins_and_integrators_manage_secrets(
    hub: Hub, role: str, allowed: bool
) -> None:
    await act_as(hub, role)
    if allowed:
        await set_secret(hub, "zd-token", "t0ken-value")
    else:
        with pytest.raises(AccessDenied):
            await set_secret(hub, "zd-token", "t0ken-value")
    [entry] = await trail(hub, action="secret.set")
    assert entry["outcome"] == ("success" if allowed else "denied")
    assert "t0ken-value" not in json.dumps(entry)


async def test_an_integrator_cannot_manage_principals(hub: Hub) -> None:
    await act_as(hub, "integrator")
    with pytest.raises(AccessDenied):
        await principals.add(hub, "mallory", "admin")
    [entry] = await trail(hub, action="principal.add", outcome="denied")
    assert entry["target_id"] == "mallory"


async def test_failed_authentications_are_recorded(hub: Hub) -> None:
    token = await principals.add(hub, "ana", "agent")
    assert (await authenticate(hub, name=None, token=token)).principal == "ana"
    with pytest.raises(AccessDenied, match="unknown token"):
        await authenticate(hub, name=None, token="hubp_not-a-real-one")
    await principals.revoke(hub, "ana")
    with pytest.raises(AccessDenied, match="revoked"):
        await authenticate(hub, name=None, token=token)
    failures = await trail(hub, action="auth.failed")
    assert [f["outcome"] for f in failures] == ["denied", "denied"]
    assert token not in json.dumps(failures)


async def test_a_sync_run_records_its_start_and_its_end_with_counts(
    hub: Hub, memory: MemorySource
) -> None:
    await sync(hub, "mem", streams=["people"])
    start = await trail(hub, action="sync.start")
    end = await trail(hub, action="sync.end")
    assert start[0]["target_id"] == "mem/people"
    assert end[0]["detail"]["status"] == "succeeded"
    assert end[0]["detail"]["records_written"] == 40


async def test_the_export_holds_every_entry_with_its_leaf_hash(hub: Hub) -> None:
    await set_secret(hub, "a", "value-a")
    out = io.StringIO()
    count = await export_trail(hub, "jsonl", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) == 2  # the secret, then the export itself
    assert [e["action"] for e in lines] == ["secret.set", "audit.export"]
    assert all(len(e["leaf_hash"]) == 64 for e in lines)
