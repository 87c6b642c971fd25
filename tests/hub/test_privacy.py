"""Nothing personal or secret leaves the vault: not in the database (rows, SQLite file and WAL),
not in the DEBUG logs of a real `hub sync`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.services import secrets
from hub.services.sandboxes import connect_sandbox
from hub.store.schema import metadata
from hub.sync import sync_connection
from hub.testing import MemorySource
from hub.vault import normalise_phone
from tests.support import run_hub

GENERATE = {"people": 60, "cases": 90, "seed": 3}
TOKEN = "memory-token-5f1e9c"  # made up for the tests
OPERATOR_EMAIL = "operator.person@acme.example"


def _personal_values(source: MemorySource) -> set[str]:
    """Every name, email and phone of the source's people, as served and normalised."""
    found = {
        value
        for person in source.latest("people").values()
        for value in (person["name"], person["email"], person["phone"])
        if isinstance(value, str)
    }
    normalised = {value.lower() for value in found}
    for value in found:
        with contextlib.suppress(ValueError):
            normalised.add(normalise_phone(value))
    return found | normalised


async def _connect(hub: Hub, name: str) -> MemorySource:
    """A connection to a generated source whose token is a secret and whose config is personal."""
    await secrets.set_secret(hub, f"{name}-token", TOKEN)
    config: dict[str, Any] = {
        "generate": GENERATE,
        "page_size": 20,
        "token": f"secret:{name}-token",
        "email": OPERATOR_EMAIL,
    }
    await connect_sandbox(hub, name, "memory", config)
    return MemorySource.generated(**GENERATE)


async def _database_text(hub: Hub) -> str:
    """Every row of every table, as text (and the SQLite files' bytes)."""
    parts: list[str] = []
    async with hub.engine.connect() as conn:
        for table in metadata.sorted_tables:
            parts += [repr(tuple(row)) for row in await conn.execute(sa.select(table))]
    url = hub.settings.resolved_database_url
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        for suffix in ("", "-wal"):
            if os.path.exists(path + suffix):
                with open(path + suffix, "rb") as f:
                    parts.append(f.read().decode("utf-8", errors="replace"))
    return "\n".join(parts)


async def test_database_holds_none_of_the_source_names_emails_phones_or_token_in_clear(
    hub: Hub, memory_plugin: None
) -> None:
    source = await _connect(hub, "mem")
    results = await sync_connection(hub, "mem")
    personal = _personal_values(source)
    assert sum(r.counters.records_written for r in results) > 100
    assert len(personal) > 150  # names, emails and phones, as served and normalised
    # The operator's email is connection config; it is sealed all the same, as is the token.
    text = await _database_text(hub)
    leaked = sum(1 for v in [*personal, OPERATOR_EMAIL, TOKEN] if v in text)
    assert leaked == 0  # a count: a failure must not show them


def _run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(settings.home / "hub.toml")
    return run_hub("--config", config, *args, module="hub.testing", timeout=300)


@pytest.mark.slow
async def test_debug_logs_of_a_sync_contain_no_token_and_no_personal_value(
    hub: Hub, hub_settings: Settings, memory_plugin: None
) -> None:
    source = await _connect(hub, "mem")
    out = await asyncio.to_thread(_run_cli, hub_settings, "--verbose", "sync", "mem")
    assert out.returncode == 0, out.stderr[-2000:]
    logs = out.stdout + out.stderr
    assert "DEBUG" in logs and "read mem/people from position" in logs  # DEBUG was on
    leaked = sum(1 for v in [*_personal_values(source), OPERATOR_EMAIL, TOKEN] if v in logs)
    assert leaked == 0
