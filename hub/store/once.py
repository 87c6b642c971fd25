"""Rows written once per natural key (an outbox entry, a case push), safely when two
writers race to write the same one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_once(
    conn: AsyncConnection, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[int, bool]:
    """The id of ``table``'s row whose columns equal ``key`` and whether it was written now:
    read first, else inserted with ``values``. On PostgreSQL a writer that inserted the same
    key in the meantime (the unique constraint refuses ours) wins and its row is returned,
    under a savepoint so that the caller's transaction stays usable."""
    match = sa.select(table.c.id).where(*(table.c[name] == value for name, value in key.items()))
    found = (await conn.execute(match)).scalar_one_or_none()
    if found is not None:
        return int(found), False
    insert = table.insert().values(**key, **values)
    if conn.dialect.name == "sqlite":
        # SQLite has one writer at a time: a racing writer that read before ours committed
        # fails ("database is locked") rather than writing the key twice. And no savepoint:
        # the driver opens no transaction before the first write, so a SAVEPOINT would open
        # one that its RELEASE commits, outside the caller's transaction (a test caught it).
        result = await conn.execute(insert)
    else:
        try:
            async with conn.begin_nested():
                result = await conn.execute(insert)
        except sa.exc.IntegrityError:
            return int((await conn.execute(match)).scalar_one()), False
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0]), True
