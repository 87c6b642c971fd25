"""Nothing personal or secret leaves the vault: not in the database, not in the logs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.config import Settings
from hub.connection_config import build_connector
from hub.runtime import Hub
from hub.sandbox.server import serve_in_background
from hub.services.sandboxes import connect_sandbox
from hub.store.schema import metadata
from hub.sync import sync_connection
from hub.vault import normalise_phone
from tests.support import UNLIMITED, zendesk_config


async def _personal_values(app: ZendeskSandbox, base_url: str) -> set[str]:
    """Every email, phone and user name the sandbox serves, as served and normalised."""
    connector = build_connector("zendesk", "probe", zendesk_config(app, _Running(base_url)))
    found: set[str] = set()
    async with connector:
        for stream in ("users", "tickets"):
            async for page in connector.read(stream, None):
                for record in page.records:
                    found |= _strings_in(record)
    normalised = set()
    for value in found:
        normalised.add(value.lower())
        with contextlib.suppress(ValueError):
            normalised.add(normalise_phone(value))
    # Placeholders like "0000000000" match any run of zeros; they identify nobody.
    return {v for v in found | normalised if len(v) >= 8 and len(set(v) - set("+0")) > 1}


class _Running:
    def __init__(self, base_url: str) -> None:
        self.base_url, self.ca_file = base_url, None


def _strings_in(record: dict[str, Any]) -> set[str]:
    """The personal values of a Zendesk user or ticket: emails, phones, end-user names."""
    source = (record.get("via") or {}).get("source") or {}
    values = {
        record.get("email"),
        record.get("phone"),
        (source.get("from") or {}).get("address"),
    }
    if record.get("role") == "end-user":
        values.add(record.get("name"))
    return {v for v in values if isinstance(v, str)}


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


async def test_database_holds_none_of_the_sandbox_emails_phones_or_names_in_clear(hub: Hub) -> None:
    app = ZendeskSandbox(records=200, seed=3, relaxed_limits=True)
    async with serve_in_background(app) as running:
        await connect_sandbox(hub, "zd", "zendesk", zendesk_config(app, running))
        results = await sync_connection(hub, "zd")
        personal = await _personal_values(app, running.base_url)
    assert sum(r.counters.records_written for r in results) > 300
    assert len(personal) > 100  # the probe really found personal data to look for
    # The agent's login is connection config the operator typed; it is sealed all the same.
    personal.add(app.credentials["email"])
    text = await _database_text(hub)
    leaked = sum(1 for v in personal if v in text)  # a count: a failure must not show them
    assert leaked == 0


def _run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_MASTER_KEY", "HUB_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "--config", str(settings.home / "hub.toml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
async def test_debug_logs_contain_no_token_and_no_authorization_value(
    hub: Hub, hub_settings: Settings
) -> None:
    app = ZendeskSandbox(records=60, seed=5, relaxed_limits=True)
    creds = app.credentials
    async with serve_in_background(app) as running:
        await connect_sandbox(hub, "api", "zendesk", zendesk_config(app, running))
        oauth = {
            "base_url": running.base_url,
            "oauth_client_id": creds["oauth_client_id"],
            "oauth_client_secret": creds["oauth_client_secret"],
            "incremental_requests_per_minute": UNLIMITED,
            "requests_per_minute": UNLIMITED,
        }
        await connect_sandbox(hub, "oauth", "zendesk", oauth)
        # The CLI runs in a child process; this loop keeps serving the sandbox meanwhile.
        out = await asyncio.to_thread(_run_cli, hub_settings, "--verbose", "sync")
        issued = list(app.auth.issuer._access)  # tokens the sandbox handed out
    assert out.returncode == 0, out.stderr[-2000:]
    logs = out.stdout + out.stderr
    assert "DEBUG" in logs and "/api/v2/incremental/" in logs  # DEBUG logging was on
    basic = base64.b64encode(f"{creds['email']}/token:{creds['api_token']}".encode()).decode()
    secrets = [creds["api_token"], creds["oauth_client_secret"], basic, *issued]
    assert issued, "the OAuth connection never got a token"
    assert [s for s in secrets if s in logs] == []
    assert not re.search(r"(?i)authorization['\"]?\s*[:=]\s*['\"]?(basic|bearer)\s+\w", logs)
