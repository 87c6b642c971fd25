"""The outbox table's queries: write an entry, claim a due one under a lease, settle it.

Claims are conditional updates (the row's ``attempts`` as a version), so two workers on
SQLite or PostgreSQL never hold one entry at once; a claim whose lease ran out may be taken
over, which is why a worker settles an entry only while its claim still stands.

States: ``pending`` (to send; no attempt can have reached the vendor), ``sending`` (claimed;
a request may be in flight), ``checking`` (an attempt may have reached the vendor: look it up
at ``due_at``, never resend), ``unconfirmed`` (not found after the bounded look-ups: held for
an operator), ``sent`` and ``failed``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.once import insert_once
from hub.store.schema import outbox

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
CHECKING, UNCONFIRMED = "checking", "unconfirmed"
CANCELLED = "cancelled"  # never to be sent: its recipient was forgotten (hub customers forget)


@dataclass(frozen=True)
class Claim:
    """A claimed entry, and whether an earlier attempt may have reached the vendor (it was
    ``checking``, or ``sending`` under a lease that ran out: its worker died mid-send)."""

    entry: sa.Row[Any]
    uncertain: bool


async def insert_entry(
    conn: AsyncConnection, *, connection: str, key: str, sealed: str, now: datetime
) -> tuple[int, bool]:
    """The entry of ``key`` and whether it was written now (False: it already existed)."""
    return await insert_once(
        conn, outbox, {"connection": connection, "idempotency_key": key},
        {"message": sealed, "status": PENDING, "attempts": 0, "created_at": now},
    )  # fmt: skip


async def claim_due(
    conn: AsyncConnection,
    connection: str,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    skip: Collection[int] = (),
) -> Claim | None:
    """Claim the oldest due entry not in ``skip``: pending, checking whose ``due_at`` has
    come, or sending under a lapsed lease; None when there is none. A claim counts as an
    attempt."""
    while True:
        not_waiting = sa.or_(outbox.c.due_at.is_(None), outbox.c.due_at <= now)
        due = sa.or_(
            sa.and_(outbox.c.status.in_([PENDING, CHECKING]), not_waiting),
            sa.and_(outbox.c.status == SENDING, outbox.c.claimed_until < now),
        )
        query = sa.select(outbox).where(outbox.c.connection == connection, due)
        if skip:
            query = query.where(outbox.c.id.not_in(list(skip)))
        row = (await conn.execute(query.order_by(outbox.c.id).limit(1))).first()
        if row is None:
            return None
        taken = await conn.execute(
            outbox.update()
            .where(outbox.c.id == row.id, outbox.c.attempts == row.attempts)
            .values(
                status=SENDING,
                attempts=row.attempts + 1,
                claimed_by=worker,
                claimed_until=now + lease,
            )
        )
        if taken.rowcount == 1:
            claimed = (await conn.execute(sa.select(outbox).where(outbox.c.id == row.id))).one()
            return Claim(claimed, uncertain=row.status != PENDING)


async def settle(conn: AsyncConnection, entry: sa.Row[Any], *, worker: str, **values: Any) -> bool:
    """Write ``values`` to a claimed entry if the claim still stands; False when another
    worker took it over meanwhile (it will reconcile with the vendor itself)."""
    result = await conn.execute(
        outbox.update()
        .where(
            outbox.c.id == entry.id,
            outbox.c.attempts == entry.attempts,
            outbox.c.claimed_by == worker,
        )
        .values(claimed_by=None, claimed_until=None, **values)
    )
    return result.rowcount == 1


async def release_unconfirmed(conn: AsyncConnection, entry: int) -> bool:
    """Make an ``unconfirmed`` entry due to be sent again; False when it is not unconfirmed."""
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.id == entry, outbox.c.status == UNCONFIRMED)
        .values(status=PENDING, checks=0, due_at=None, error=None)
    )
    return result.rowcount == 1


async def sent_ids(conn: AsyncConnection, connection: str, since: datetime) -> frozenset[str]:
    """Vendor ids of the connection's entries sent since ``since``: a reconcile must not
    take one of them for another entry's message."""
    query = sa.select(outbox.c.external_id).where(
        outbox.c.connection == connection,
        outbox.c.status == SENT,
        outbox.c.sent_at >= since,
        outbox.c.external_id.is_not(None),
    )
    return frozenset(str(v) for v in (await conn.execute(query)).scalars())


async def entries(conn: AsyncConnection, connection: str | None, limit: int) -> list[sa.Row[Any]]:
    query = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if connection is not None:
        query = query.where(outbox.c.connection == connection)
    return list(await conn.execute(query))


async def connections_with_work(conn: AsyncConnection) -> list[str]:
    """The connections that have entries a worker may still deliver or look up."""
    query = (
        sa.select(outbox.c.connection)
        .where(outbox.c.status.in_([PENDING, CHECKING, SENDING]))
        .distinct()
        .order_by(outbox.c.connection)
    )
    return list((await conn.scalars(query)).all())
