"""No credential of any Zendesk auth form reaches the DEBUG logs of a real `hub sync`: not the
API token, not the OAuth client secret or issued tokens, not an Authorization value."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess

import pytest

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.config import Settings
from hub.runtime import Hub
from hub.sandbox.server import serve_in_background
from hub.services.sandboxes import connect_sandbox
from tests.connectors.zendesk.support import UNLIMITED, zendesk_config
from tests.support import run_hub


def _run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(settings.home / "hub.toml")
    return run_hub("--config", config, *args, module="hub.cli", timeout=300)


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
