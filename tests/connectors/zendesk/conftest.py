"""Fixtures of the Zendesk tests: a sandbox on a loopback port wired to a hub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.runtime import Hub
from tests.connectors.zendesk.support import UNLIMITED, zendesk_config


@pytest.fixture
def sandbox_options() -> dict[str, object]:
    """Options for the test sandbox; override in a module to change size or faults."""
    return {"records": 240, "seed": 11}


@pytest.fixture
async def zendesk(
    hub: Hub, sandbox_options: dict[str, object]
) -> AsyncIterator[tuple[object, object]]:
    """A Zendesk sandbox on a loopback port and a connection "zd" to it (pages of 50)."""
    from connectors.zendesk.sandbox import ZendeskSandbox
    from hub.sandbox.server import serve_in_background
    from hub.services.sandboxes import connect_sandbox

    app = ZendeskSandbox(
        incremental_per_minute=UNLIMITED, rate_limit_per_minute=UNLIMITED, **sandbox_options
    )
    async with serve_in_background(app) as running:
        await connect_sandbox(hub, "zd", "zendesk", zendesk_config(app, running, page_size=50))
        yield app, running
