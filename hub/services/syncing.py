"""Syncing connections now (the scheduler will call the same service)."""

from __future__ import annotations

from collections.abc import Sequence

from hub.audit import authorize
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services.connections import connection_names
from hub.sync import ProgressCallback, StreamResult, sync_connection


async def sync(
    hub: Hub,
    connection: str | None,
    *,
    streams: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: ProgressCallback | None = None,
) -> list[StreamResult]:
    """Sync one connection, or every configured one; failures are in the results."""
    await authorize(
        hub, "sync.run", action="sync.run", target_type="connection", target_id=connection
    )
    if connection is None:
        names = await connection_names(hub)
        if not names:
            raise ConfigError("no connections configured; add one with `hub connections add`")
    else:
        names = [connection]
    results: list[StreamResult] = []
    for name in names:
        results += await sync_connection(
            hub,
            name,
            streams=streams,
            full_refresh=full_refresh,
            progress=progress,
            raise_errors=False,
        )
    return results
