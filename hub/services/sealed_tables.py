"""Where the vault's sealed values live, and how to walk them: six tables read in
primary-key order, in batches, each row with the tokens it holds. The rewrap job and the
census both walk them this way (:mod:`hub.services.rewrap`, :mod:`hub.services.census`).

A new table or column that holds tokens must be added here (and a resealer in the rewrap):
values the census does not see would keep an old key referenced without saying so, and
retiring it would make them unreadable. A test scans the whole store for tokens outside
these places.

``subject_keys.wrapped`` holds customers' keys as v1 tokens under a data key, so a data-key
rotation rewraps them like any other value. The v2 tokens those keys seal (a customer's
record fields and payloads) name a subject key, not a data key: a rotation leaves them as
they are, and the census counts them apart."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.models import model_for
from hub.store.schema import connections, outbox, quarantine, records, secrets, subject_keys
from hub.vault import record_row

TARGETS = ("secrets", "connections", "outbox", "subject_keys", "quarantine", "records")

Batch = Callable[[AsyncConnection, str | None, int], Awaitable[list[Any]]]
"""Rows of one table after a position (None: from the start), at most n of them."""


@dataclass(frozen=True)
class SealedValue:
    """One sealed value where it lives: enough to open and reseal it."""

    column: str
    row: str
    token: str


def last_key(target: str, batch: Sequence[Any]) -> str:
    last = batch[-1]
    return str(last.name if target in ("secrets", "connections") else last.id)


def _after_int(after: str | None) -> int:
    return int(after) if after is not None else 0


async def _secrets_batch(conn: AsyncConnection, after: str | None, n: int) -> list[Any]:
    c = secrets.c
    query = sa.select(c.name, c.sealed).order_by(c.name).limit(n)
    if after is not None:
        query = query.where(c.name > after)
    return list(await conn.execute(query))


async def _connections_batch(conn: AsyncConnection, after: str | None, n: int) -> list[Any]:
    c = connections.c
    query = sa.select(c.name, c.config, sa.cast(c.config, sa.Text).label("text"))
    query = query.order_by(c.name).limit(n)
    if after is not None:
        query = query.where(c.name > after)
    return list(await conn.execute(query))


def _by_id(table: sa.Table, *columns: str) -> Batch:
    """Batches of ``table`` by id after the last one done, with these columns."""

    async def batch(conn: AsyncConnection, after: str | None, n: int) -> list[Any]:
        c = table.c
        query = sa.select(c.id, *(c[name] for name in columns))
        query = query.where(c.id > _after_int(after)).order_by(c.id).limit(n)
        return list(await conn.execute(query))

    return batch


async def records_batch(conn: AsyncConnection, after: str | None, n: int) -> list[Any]:
    c = records.c
    query = sa.select(
        c.id, c.connection, c.object_type, c.external_id, c.kind, c.data, c.raw, c.hash_key_id
    ).where(c.id > _after_int(after), c.deleted.is_(False), c.raw.is_not(None))
    return list(await conn.execute(query.order_by(c.id).limit(n)))


def record_tokens(r: Any) -> list[SealedValue]:
    row = record_row(r.connection, r.object_type, r.external_id)
    found = [SealedValue("raw", row, r.raw)]
    for name, column in _pii_columns(r.kind):
        value = r.data.get(name)
        if isinstance(value, str):
            found.append(SealedValue(column, row, value))
    return found


@functools.cache
def _pii_columns(kind: str) -> tuple[tuple[str, str], ...]:
    """(field, column) of each personal field of a canonical kind: asked once per kind."""
    return tuple((name, f"data.{name}") for name in model_for(kind).pii_fields())


TABLE = {
    "secrets": secrets,
    "connections": connections,
    "outbox": outbox,
    "subject_keys": subject_keys,
    "quarantine": quarantine,
    "records": records,
}
BATCH: dict[str, Batch] = {
    "secrets": _secrets_batch,
    "connections": _connections_batch,
    "outbox": _by_id(outbox, "connection", "idempotency_key", "message"),
    "subject_keys": _by_id(subject_keys, "subject_hash", "wrapped"),
    "quarantine": _by_id(quarantine, "connection", "object_type", "external_id", "raw"),
    "records": records_batch,
}
