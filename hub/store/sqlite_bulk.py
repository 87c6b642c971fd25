"""SQLite bulk writes for the page upsert: one driver-level executemany per statement.

Why: an executemany through SQLAlchemy's Core statements runs every row's parameters through
its per-row machinery (``construct_params``, post-compile expansion, a bind processor call
per value) in Python on the event loop: about a tenth of a SQLite sync's CPU. Here each
value is converted by the very bind processor SQLAlchemy would use (so the stored text is
the same), once per distinct timestamp, and the rows go to sqlite3's ``executemany`` as
tuples.

Everything runs on the caller's connection, in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.schema import records

Processor = Callable[[Any], Any] | None


def _processors(conn: AsyncConnection, table: sa.Table, columns: Sequence[str]) -> list[Processor]:
    # The processor SQLAlchemy's own execution applies to each bound value of the column.
    return [table.c[c].type._cached_bind_processor(conn.dialect) for c in columns]


def _converted(
    rows: Iterable[Sequence[Any]], processors: Sequence[Processor]
) -> list[tuple[Any, ...]]:
    # Column by column: most columns have no processor and pass through as they are, and
    # zip transposes in C, where a call per value cost a twentieth of a sync's CPU.
    columns = list(zip(*rows, strict=True))
    if columns and len(columns) != len(processors):
        raise ValueError(f"rows of {len(columns)} values for {len(processors)} columns")
    converted = [
        values if process is None else _convert_column(process, values)
        for process, values in zip(processors, columns, strict=False)
    ]
    return list(zip(*converted, strict=True))


def _convert_column(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    memo: dict[Any, Any] = {}  # a page's rows share their timestamps (now): convert once
    out = []
    for value in values:
        if value is None:
            found = None
        elif isinstance(value, (dict, list)):  # unhashable, and rarely repeated
            found = process(value)
        else:
            found = memo.get(value)
            if found is None:
                found = memo[value] = process(value)
        out.append(found)
    return out


async def insert_rows(
    conn: AsyncConnection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table`` with one executemany."""
    values = _converted(rows, _processors(conn, table, columns))
    if not values:
        return
    # Names come from the table's own columns, never from input.
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    await conn.exec_driver_sql(statement, values)


async def insert_records(
    conn: AsyncConnection, connection: str, rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], int]:
    """Insert new ``records`` rows of ``connection`` (dicts of column values, as the upsert
    builds them); their ids by (object_type, external_id).

    sqlite3's executemany returns no rows, so the ids are read back after the insert: the
    rows above the largest id before it, which are the new ones (the insert holds the write
    lock from then on; any row another writer added first is not among our keys).
    """
    if not rows:
        return {}
    columns = list(rows[0])
    before = await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(records.c.id), 0)))
    await insert_rows(conn, records, columns, ([r[c] for c in columns] for r in rows))
    ours = {(r["object_type"], r["external_id"]) for r in rows}
    # By id alone, a range of the rowid: with "connection = ?" too, SQLite picks the unique
    # index on (connection, ...) and walks every record of the connection, for every page.
    added = await conn.execute(
        sa.select(
            records.c.id, records.c.connection, records.c.object_type, records.c.external_id
        ).where(records.c.id > before)
    )
    return {(t, e): rid for rid, c, t, e in added if c == connection and (t, e) in ours}


async def update_records(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Update ``records`` rows by ``_id`` (every row of one call sets the same columns)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "_id"]
    values = _converted(
        ([*(r[c] for c in columns), r["_id"]] for r in rows),
        [*_processors(conn, records, columns), None],
    )
    statement = (
        f"UPDATE records SET {', '.join(f'{c} = ?' for c in columns)} "  # noqa: S608
        "WHERE id = ?"
    )
    await conn.exec_driver_sql(statement, values)
