"""``hub connections test`` against each OAuth vendor's sandbox over loopback: a wrong secret
and an unknown client id are each refused with the token endpoint's own reason, so the
operator knows which one to fix, and the message shows no secret."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.genesys.sandbox import GenesysSandbox
from connectors.salesforce.sandbox import SalesforceSandbox
from connectors.zendesk.sandbox import ZendeskSandbox
from hub.cli import app
from hub.config import Settings
from hub.runtime import Hub
from hub.sandbox.app import SandboxApp
from hub.sandbox.server import serve_in_background
from hub.services.sandboxes import connect_sandbox
from tests.hub.cli.support import one_line_error

WRONG_SECRET = "not-the-secret-7f3a"  # made up for the tests
UNKNOWN_CLIENT_ID = "no-such-client"


@dataclass(frozen=True)
class Vendor:
    """A connector whose credentials come from an OAuth token endpoint, and what its
    sandbox's endpoint says to a wrong secret and to an unknown client."""

    connector: str
    sandbox: Callable[[], SandboxApp]
    config: Callable[[Any, str, str | None], dict[str, Any]]
    client_id_field: str
    secret_field: str
    wrong_secret_reason: str
    unknown_client_reason: str


VENDORS = [
    Vendor(
        "zendesk",
        lambda: ZendeskSandbox(records=5, seed=1),
        lambda sandbox, url, ca: sandbox.oauth_connection_config(url, ca),
        "oauth_client_id",
        "oauth_client_secret",
        "(401 invalid_client: Client authentication failed.)",
        "(401 invalid_client: Client authentication failed: no such client.)",
    ),
    Vendor(
        "salesforce",
        lambda: SalesforceSandbox(records=5, seed=1, relaxed_limits=True),
        lambda sandbox, url, ca: sandbox.connection_config(url, ca),
        "client_id",
        "client_secret",
        "(400 invalid_client: Client authentication failed.)",
        "(400 invalid_client: Client authentication failed: no such client.)",
    ),
    Vendor(
        "genesys",
        lambda: GenesysSandbox(records=5, seed=1, relaxed_limits=True),
        lambda sandbox, url, ca: sandbox.connection_config(url, ca),
        "client_id",
        "client_secret",
        "(400 invalid_client: authentication failed)",
        "(400 invalid_client: client not found)",
    ),
]


def _test_connection(settings: Settings, name: str) -> str:
    """``hub connections test NAME`` in this process; the one line it printed on failure."""
    command = ["--config", str(settings.home / "hub.toml"), "connections", "test", name]
    return one_line_error(CliRunner().invoke(app, command))


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.connector)
async def test_a_wrong_secret_and_an_unknown_client_are_refused_with_the_vendors_reason(
    hub: Hub, hub_settings: Settings, vendor: Vendor
) -> None:
    sandbox = vendor.sandbox()
    async with serve_in_background(sandbox) as running:
        config = vendor.config(sandbox, running.base_url, running.ca_file)
        real_secret = config[vendor.secret_field]
        await connect_sandbox(hub, "wrong", vendor.connector,
                              {**config, vendor.secret_field: WRONG_SECRET})  # fmt: skip
        await connect_sandbox(hub, "stranger", vendor.connector,
                              {**config, vendor.client_id_field: UNKNOWN_CLIENT_ID})  # fmt: skip
        # The sandbox is served on this test's event loop; the command runs its own loop.
        wrong = await asyncio.to_thread(_test_connection, hub_settings, "wrong")
        stranger = await asyncio.to_thread(_test_connection, hub_settings, "stranger")

    grant = "the token endpoint refused the client_credentials grant"
    assert f"{grant} {vendor.wrong_secret_reason}" in wrong
    assert f"{grant} {vendor.unknown_client_reason}" in stranger
    for line in (wrong, stranger):
        assert WRONG_SECRET not in line and real_secret not in line
