"""A Zendesk sync as the engine reports it."""

from __future__ import annotations

from hub.runtime import Hub
from hub.sync import sync_connection


async def test_run_counters_report_every_request_the_sandbox_answered(
    hub: Hub, zendesk: tuple[object, object]
) -> None:
    app, _ = zendesk
    before = app.stats.requests  # type: ignore[attr-defined]
    results = await sync_connection(hub, "zd")
    answered = app.stats.requests - before  # type: ignore[attr-defined]
    assert sum(r.counters.requests for r in results) == answered
    assert all(r.counters.requests >= r.counters.pages for r in results)
