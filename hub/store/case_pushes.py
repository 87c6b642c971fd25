"""The case_pushes table's queries: record a distinct case push once, read a key's pushes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.once import insert_once
from hub.store.schema import case_pushes


async def record_push(
    conn: AsyncConnection,
    *,
    connection: str,
    key: str,
    revision: str,
    external_id: str,
    created: bool,
    now: datetime,
) -> tuple[int, bool]:
    """The push of (connection, key, revision) and whether it was recorded now (False: the
    same push was recorded before, so whatever it caused exists already)."""
    return await insert_once(
        conn, case_pushes,
        {"connection": connection, "idempotency_key": key, "revision": revision},
        {"external_id": external_id, "created": created, "pushed_at": now},
    )  # fmt: skip


async def pushes_of(conn: AsyncConnection, connection: str, key: str) -> list[sa.Row[Any]]:
    """The recorded pushes of ``key`` to ``connection``, oldest first."""
    query = (
        sa.select(case_pushes)
        .where(case_pushes.c.connection == connection, case_pushes.c.idempotency_key == key)
        .order_by(case_pushes.c.id)
    )
    return list(await conn.execute(query))
