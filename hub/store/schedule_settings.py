"""Stored schedule settings: how often `hub run` syncs a connection, or one of its streams.

A connection without a row syncs each stream at the connector's default interval. A row for
stream ``"*"`` applies to every stream of the connection; a row for one stream beats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.schema import stream_schedules

EVERY_STREAM = "*"


@dataclass(frozen=True)
class ScheduleSetting:
    """One stored row: an interval or a cron expression, and optionally a drift target."""

    connection: str
    stream: str
    every_seconds: float | None = None
    cron: str | None = None
    drift_seconds: float | None = None


async def load_settings(conn: AsyncConnection) -> list[ScheduleSetting]:
    rows = await conn.execute(sa.select(stream_schedules).order_by(*stream_schedules.primary_key))
    return [
        ScheduleSetting(r.connection, r.stream, r.every_seconds, r.cron, r.drift_seconds)
        for r in rows
    ]


async def save_setting(conn: AsyncConnection, setting: ScheduleSetting, now: datetime) -> None:
    """Insert or replace the row of ``setting``'s connection and stream."""
    await delete_setting(conn, setting.connection, setting.stream)
    await conn.execute(
        sa.insert(stream_schedules).values(
            connection=setting.connection,
            stream=setting.stream,
            every_seconds=setting.every_seconds,
            cron=setting.cron,
            drift_seconds=setting.drift_seconds,
            updated_at=now,
        )
    )


async def delete_setting(conn: AsyncConnection, connection: str, stream: str) -> bool:
    """Forget a row; True when there was one."""
    result = await conn.execute(
        sa.delete(stream_schedules).where(
            stream_schedules.c.connection == connection, stream_schedules.c.stream == stream
        )
    )
    return bool(result.rowcount)
