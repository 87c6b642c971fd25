"""Fixtures of the Genesys Cloud tests: a sandbox on a loopback port wired to a hub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from connectors.genesys.sandbox import GenesysSandbox
from hub.runtime import Hub
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services.sandboxes import connect_sandbox

# Fast retries: the tests are about what is retried, not how long it takes.
FAST_HTTP = {"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_attempts": 12}
Served = tuple[GenesysSandbox, RunningSandbox]


async def connect(
    hub: Hub, name: str, app: GenesysSandbox, running: RunningSandbox, **overrides: Any
) -> None:
    """Connection ``name`` to the sandbox: small pages, fast retries, then ``overrides``."""
    config = app.connection_config(running.base_url, running.ca_file)
    config.update({"page_size": 10, "job_poll_seconds": 0.01, "http": FAST_HTTP, **overrides})
    await connect_sandbox(hub, name, "genesys", config)


@pytest.fixture
def serve_genesys() -> Callable[..., AbstractAsyncContextManager[Served]]:
    """``async with serve_genesys(records=..., **options) as (app, running)``."""

    @asynccontextmanager
    async def serve(records: int = 30, seed: int = 5, **options: Any) -> AsyncIterator[Served]:
        options.setdefault("relaxed_limits", True)
        app = GenesysSandbox(records=records, seed=seed, **options)
        async with serve_in_background(app) as running:
            yield app, running

    return serve
