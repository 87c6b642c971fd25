"""A sync through an unreliable vendor ends with exactly the store of a reliable one."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.runtime import Hub
from hub.sandbox.server import serve_in_background
from hub.services.sandboxes import connect_sandbox
from hub.sync import sync_connection
from tests.connectors.zendesk.support import UNLIMITED
from tests.support import store_snapshot

FAULTS = "429=0.05,500=0.02,reset=0.01,slow=0.02,truncate=0.01,expire=0.01"
FAST_RETRIES = {"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_attempts": 12}


def _oauth_config(app: ZendeskSandbox, base_url: str) -> dict[str, Any]:
    # OAuth client credentials, so "expire" faults exercise the token refresh as well.
    return {
        "base_url": base_url,
        "oauth_client_id": app.credentials["oauth_client_id"],
        "oauth_client_secret": app.credentials["oauth_client_secret"],
        "page_size": 5,
        "incremental_requests_per_minute": UNLIMITED,
        "requests_per_minute": UNLIMITED,
        "http": FAST_RETRIES,
    }


@pytest.mark.slow
async def test_faulty_vendor_gives_exactly_the_store_of_a_fault_free_one(hub: Hub) -> None:
    options: dict[str, Any] = {"records": 400, "seed": 23, "relaxed_limits": True}
    clean, faulty = ZendeskSandbox(**options), ZendeskSandbox(faults=FAULTS, **options)
    async with serve_in_background(clean) as c, serve_in_background(faulty) as f:
        await connect_sandbox(hub, "clean", "zendesk", _oauth_config(clean, c.base_url))
        await connect_sandbox(hub, "faulty", "zendesk", _oauth_config(faulty, f.base_url))
        await sync_connection(hub, "clean")
        results = await sync_connection(hub, "faulty")

    assert all(r.status == "succeeded" for r in results)
    injected = faulty.stats.faults
    assert {"429", "500", "reset", "truncate", "expire"} <= set(injected), injected
    snapshot = await store_snapshot(hub)
    by_connection: dict[str, dict[Any, Any]] = {"clean": {}, "faulty": {}}
    for (connection, object_type, external_id), value in snapshot.items():
        by_connection[connection][(object_type, external_id)] = value
    assert len(by_connection["clean"]) > 500
    assert by_connection["faulty"] == by_connection["clean"]
