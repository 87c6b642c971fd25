"""Fixtures of the Salesforce tests: a sandbox org on its own clock, served on a loopback
port, and a connection "sf" to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.salesforce.sandbox import SalesforceSandbox
from hub.runtime import Hub
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services.sandboxes import connect_sandbox
from hub.testing import FakeClock

# After every generated record's SystemModstamp (they end at 2026-06-01).
START = 1_790_000_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Options of the test org; override in a module to change size or limits."""
    return {"records": 30, "seed": 5, "relaxed_limits": True}


@pytest.fixture
def sandbox(clock: FakeClock, sandbox_options: dict[str, Any]) -> SalesforceSandbox:
    return SalesforceSandbox(clock=clock, **sandbox_options)


@pytest.fixture
async def running(sandbox: SalesforceSandbox) -> AsyncIterator[RunningSandbox]:
    async with serve_in_background(sandbox) as served:
        yield served


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"page_size": 10}


@pytest.fixture
async def sf(
    hub: Hub,
    sandbox: SalesforceSandbox,
    running: RunningSandbox,
    config_overrides: dict[str, Any],
) -> SalesforceSandbox:
    """The sandbox, with the hub's connection "sf" to it (client credentials)."""
    config = {**sandbox.connection_config(running.base_url, running.ca_file), **config_overrides}
    await connect_sandbox(hub, "sf", "salesforce", config)
    return sandbox
