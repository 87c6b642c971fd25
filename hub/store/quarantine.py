"""The quarantine: vendor records that did not fit the canonical model, kept sealed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.schema import quarantine


@dataclass(frozen=True)
class QuarantineRow:
    object_type: str
    external_id: str | None
    raw: str  # sealed vendor record
    error: str  # field names and reasons only


async def quarantine_records(
    conn: AsyncConnection,
    rows: Sequence[QuarantineRow],
    *,
    connection: str,
    stream: str,
    mapping_version: str,
    run_id: int | None,
    now: datetime,
) -> None:
    """Store invalid records. A record that already has an open entry keeps it (and its id):
    the entry takes the newest payload, error, mapping version, run and seen time.

    A record without an external id cannot be recognised when it comes back, so each sighting
    is an entry of its own.
    """
    latest: dict[tuple[str, str], QuarantineRow] = {}
    anonymous: list[QuarantineRow] = []
    for r in rows:
        if r.external_id is None:
            anonymous.append(r)
        else:
            latest[(r.object_type, r.external_id)] = r  # the same record twice: the last wins
    seen = {"stream": stream, "mapping_version": mapping_version, "run_id": run_id}
    open_ids, duplicates = await _open_entry_ids(conn, connection, list(latest))
    if duplicates:
        await conn.execute(
            sa.update(quarantine).where(quarantine.c.id.in_(duplicates)).values(resolved_at=now)
        )
    updates = [
        {"entry_id": open_ids[key], "new_raw": r.raw, "new_error": r.error}
        for key, r in latest.items()
        if key in open_ids
    ]
    if updates:
        await conn.execute(
            sa.update(quarantine)
            .where(quarantine.c.id == sa.bindparam("entry_id"))
            .values(
                raw=sa.bindparam("new_raw"),
                error=sa.bindparam("new_error"),
                last_seen_at=now,
                **seen,
            ),
            updates,
        )
    inserts = [r for key, r in latest.items() if key not in open_ids] + anonymous
    if inserts:
        await conn.execute(
            sa.insert(quarantine),
            [
                {
                    "connection": connection,
                    "object_type": r.object_type,
                    "external_id": r.external_id,
                    "raw": r.raw,
                    "error": r.error,
                    "created_at": now,
                    "last_seen_at": now,
                    **seen,
                }
                for r in inserts
            ],
        )


async def _open_entry_ids(
    conn: AsyncConnection, connection: str, keys: Sequence[tuple[str, str]]
) -> tuple[dict[tuple[str, str], int], list[int]]:
    """The open entry of each (object_type, external_id) key that has one, and the ids of
    surplus open entries for those keys (older hubs could leave several; the oldest is kept)."""
    by_type: dict[str, list[str]] = {}
    for object_type, external_id in keys:
        by_type.setdefault(object_type, []).append(external_id)
    found: dict[tuple[str, str], int] = {}
    duplicates: list[int] = []
    for object_type, ids in by_type.items():
        for start in range(0, len(ids), 500):
            query = (
                sa.select(quarantine.c.id, quarantine.c.external_id)
                .where(
                    quarantine.c.connection == connection,
                    quarantine.c.object_type == object_type,
                    quarantine.c.external_id.in_(ids[start : start + 500]),
                    quarantine.c.resolved_at.is_(None),
                )
                .order_by(quarantine.c.id)
            )
            for entry_id, external_id in await conn.execute(query):
                if (object_type, external_id) in found:
                    duplicates.append(entry_id)
                else:
                    found[(object_type, external_id)] = entry_id
    return found, duplicates


async def resolve_open(
    conn: AsyncConnection, connection: str, keys: Sequence[tuple[str, str]], now: datetime
) -> None:
    """Mark open entries for these (object_type, external_id) keys resolved."""
    by_type: dict[str, list[str]] = {}
    for object_type, external_id in keys:
        by_type.setdefault(object_type, []).append(external_id)
    for object_type, ids in by_type.items():
        for start in range(0, len(ids), 500):
            await conn.execute(
                sa.update(quarantine)
                .where(
                    quarantine.c.connection == connection,
                    quarantine.c.object_type == object_type,
                    quarantine.c.external_id.in_(ids[start : start + 500]),
                    quarantine.c.resolved_at.is_(None),
                )
                .values(resolved_at=now)
            )


def _open_query(connection: str | None) -> sa.Select[Any]:
    query = sa.select(quarantine).where(quarantine.c.resolved_at.is_(None))
    if connection is not None:
        query = query.where(quarantine.c.connection == connection)
    return query


async def list_open(
    conn: AsyncConnection, connection: str | None = None, limit: int | None = None
) -> list[sa.Row[Any]]:
    query = _open_query(connection).order_by(quarantine.c.id)
    if limit is not None:
        query = query.limit(limit)
    return list(await conn.execute(query))


async def count_open(conn: AsyncConnection, connection: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(_open_query(connection).subquery())
    return int(await conn.scalar(query) or 0)


async def get_entry(conn: AsyncConnection, entry_id: int) -> sa.Row[Any] | None:
    return (await conn.execute(sa.select(quarantine).where(quarantine.c.id == entry_id))).first()


async def mark_resolved(conn: AsyncConnection, entry_id: int, now: datetime) -> None:
    await conn.execute(
        sa.update(quarantine).where(quarantine.c.id == entry_id).values(resolved_at=now)
    )


async def record_failure(
    conn: AsyncConnection, entry_id: int, *, error: str, mapping_version: str
) -> None:
    """A replay failed again: keep the entry open with the newest reason."""
    await conn.execute(
        sa.update(quarantine)
        .where(quarantine.c.id == entry_id)
        .values(error=error, mapping_version=mapping_version)
    )
