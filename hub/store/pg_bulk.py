"""PostgreSQL bulk writes for the page upsert: COPY, then one statement, instead of
multi-row INSERTs.

Why: SQLAlchemy sends an executemany INSERT to psycopg as batches of ``INSERT ... VALUES
(...), (...), ...`` with thousands of parameters; psycopg caches the parsing of a statement
only up to 4 KB and 50 parameters, so it parses every batch again in Python, which was about a
fifth of a PostgreSQL sync's CPU. COPY sends the rows as data: nothing to parse.

Everything runs on the caller's connection, in its transaction: a page still commits or rolls
back whole with its cursor and counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg import AsyncConnection as PgConnection
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.json_columns import dumps

# Per database session, emptied at every commit (and by us after each use, for a caller that
# writes twice in one transaction). Its name differs from every hub table: temporary tables
# come first on the search path.
_STAGING = "hub_records_staging"
_UPDATED = (
    "stream",
    "data",
    "raw",
    "content_hash",
    "hash_key_id",
    "mapping_version",
    "source_updated_at",
    "deleted",
    "updated_at",
)
_INSERTED = ("connection", "object_type", "external_id", "kind", *_UPDATED, "created_at")
# Built once from the constants above, never from input.
_CREATE_STAGING = sa.text(
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS AS "  # noqa: S608
    f"SELECT id, kind, {', '.join(_UPDATED)} FROM records WITH NO DATA"
)
_UPDATE_FROM_STAGING = sa.text(
    "UPDATE records AS r SET kind = COALESCE(s.kind, r.kind), "  # noqa: S608 - constants
    + ", ".join(f"{c} = s.{c}" for c in _UPDATED)
    + f" FROM {_STAGING} AS s WHERE r.id = s.id"
)
_EMPTY_STAGING = sa.text(f"DELETE FROM {_STAGING}")  # noqa: S608 - a constant name


async def _driver(conn: AsyncConnection) -> PgConnection[Any]:
    raw = await conn.get_raw_connection()
    driver: PgConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def copy_rows(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY ``rows`` (tuples in ``columns`` order) into ``table``."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    async with (await _driver(conn)).cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)


def _cell(column: str, values: dict[str, Any]) -> Any:
    value = values.get(column)
    # The text SQLAlchemy's JSON type writes (the engine's json_serializer); COPY takes it.
    return dumps(value) if column == "data" else value


async def insert_records(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new ``records`` rows (dicts of column values, as the upsert builds them)."""
    await copy_rows(conn, "records", _INSERTED, ([_cell(c, r) for c in _INSERTED] for r in rows))


async def update_records(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Update ``records`` rows by ``_id`` in one statement. A row without ``kind`` (a
    tombstone of a stored record) keeps the kind it had."""
    await conn.execute(_CREATE_STAGING)
    columns = ("id", "kind", *_UPDATED)
    await copy_rows(
        conn,
        _STAGING,
        columns,
        ([r["_id"], r.get("kind"), *(_cell(c, r) for c in _UPDATED)] for r in rows),
    )
    await conn.execute(_UPDATE_FROM_STAGING)
    await conn.execute(_EMPTY_STAGING)
