"""The trail of a full demo run (four sandboxes over loopback HTTP, two syncs, then an agent's
search and reveal) holds none of the sandboxes' emails, phone numbers, names or tokens."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import CONFIG_FILE_NAME, load_settings
from hub.demo import run_demo
from hub.models import model_for
from hub.runtime import Hub
from hub.services.audit import export_trail
from hub.services.customers import find_customers, show_customer
from hub.store.schema import records, secrets
from hub.vault import get_secret, record_row, unseal_data
from hub.vault.subjects import load_subject_keys


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def _personal_values(hub: Hub) -> tuple[set[str], set[str]]:
    """Every personal value the demo synced, and every secret it stored, opened."""
    personal: set[str] = set()
    async with hub.engine.connect() as conn:
        stored = list(await conn.execute(sa.select(records).where(records.c.deleted.is_(False))))
        await load_subject_keys(conn, hub.keyring, [row.data for row in stored])
        for row in stored:
            key = record_row(row.connection, row.object_type, row.external_id)
            opened = unseal_data(row.kind, row.data, hub.keyring, row=key)
            for name in model_for(row.kind).pii_fields():
                personal.update(_strings(opened.get(name)))
        names = [n for (n,) in await conn.execute(sa.select(secrets.c.name))]
        tokens = {await get_secret(conn, hub.keyring, n) for n in names}
    return personal, tokens


async def _an_email(hub: Hub) -> tuple[int, str]:
    async with hub.engine.connect() as conn:
        stored = list(await conn.execute(sa.select(records).where(records.c.kind == "customer")))
        await load_subject_keys(conn, hub.keyring, [row.data for row in stored])
        for row in stored:
            key = record_row(row.connection, row.object_type, row.external_id)
            emails = unseal_data(row.kind, row.data, hub.keyring, row=key).get("emails")
            if emails:
                return int(row.id), str(emails[0])
    raise AssertionError("the demo synced no customer with an email")


@pytest.mark.slow
async def test_a_demo_runs_trail_holds_no_personal_value_or_token(tmp_path: Path) -> None:
    outcome = await run_demo(tmp_path / "demo", records=30, seed=3, console=None)
    assert not outcome.failed
    async with Hub.open(load_settings(tmp_path / "demo" / CONFIG_FILE_NAME)) as hub:
        record_id, email = await _an_email(hub)
        assert await find_customers(hub, email=email, phone=None)
        await show_customer(hub, record_id, reveal=["emails", "phones"], purpose="ticket 9")
        personal, tokens = await _personal_values(hub)
        out = io.StringIO()
        await export_trail(hub, "jsonl", out)
    trail = out.getvalue()
    actions = {json.loads(line)["action"] for line in trail.splitlines()}
    assert {
        "connection.add",
        "secret.set",
        "sync.start",
        "sync.end",
        "customer.find",
        "customer.reveal",
    } <= actions
    assert len(personal) > 50 and tokens
    leaked = sorted(v for v in personal | tokens if len(v) >= 4 and v in trail)
    assert leaked == []
