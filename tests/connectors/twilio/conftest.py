"""Fixtures of the Twilio tests: a sandbox on a loopback port wired to a hub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.twilio.sandbox import TwilioSandbox
from hub.runtime import Hub
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services.sandboxes import connect_sandbox

FAST_HTTP = {"max_attempts": 6, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05}


@pytest.fixture
def sandbox_options() -> dict[str, object]:
    """Options for the test sandbox; override in a module to change size or faults."""
    return {"records": 80, "seed": 7, "relaxed_limits": True}


@pytest.fixture
async def twilio(
    hub: Hub, sandbox_options: dict[str, object]
) -> AsyncIterator[tuple[TwilioSandbox, RunningSandbox]]:
    """A Twilio sandbox on a loopback port and a connection "tw" to it (pages of 20)."""
    app = TwilioSandbox(**sandbox_options)  # type: ignore[arg-type]
    async with serve_in_background(app) as running:
        config = app.connection_config(running.base_url, running.ca_file)
        await connect_sandbox(hub, "tw", "twilio", {**config, "page_size": 20, "http": FAST_HTTP})
        yield app, running
