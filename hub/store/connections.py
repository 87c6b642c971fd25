"""Configured connections: which connector, with which (non-secret) config."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import ConfigError
from hub.store.schema import connections


async def add_connection(
    conn: AsyncConnection, name: str, connector: str, config: dict[str, Any], now: datetime
) -> None:
    exists = await conn.scalar(sa.select(connections.c.name).where(connections.c.name == name))
    if exists:
        raise ConfigError(
            f"a connection named {name!r} exists; remove it first or pick another name"
        )
    await conn.execute(
        sa.insert(connections).values(name=name, connector=connector, config=config, created_at=now)
    )


async def get_connection(conn: AsyncConnection, name: str) -> tuple[str, dict[str, Any]]:
    """(connector name, stored config) of a connection."""
    row = (
        await conn.execute(
            sa.select(connections.c.connector, connections.c.config).where(
                connections.c.name == name
            )
        )
    ).first()
    if row is None:
        known = await list_connections(conn)
        names = ", ".join(r.name for r in known) or "none"
        raise ConfigError(f"no connection named {name!r}; configured: {names}")
    return row.connector, dict(row.config)


async def list_connections(conn: AsyncConnection) -> list[sa.Row[Any]]:
    return list(await conn.execute(sa.select(connections).order_by(connections.c.name)))


async def remove_connection(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(sa.delete(connections).where(connections.c.name == name))
    return result.rowcount > 0
