"""Signed checkpoints of the tree: on demand (``hub audit checkpoint``), and when due
(every minute or every 1,000 entries while the hub runs; at the end of a command that left
1,000 unsigned entries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit.entry import iso
from hub.audit.offline_verify import checkpoint_signed
from hub.audit.signing import Signer
from hub.audit.trail import HEAD_ID, Head, current_frontier, head, save_frontier
from hub.errors import AuditError
from hub.store.schema import audit_checkpoints, audit_head

EVERY_ENTRIES = 1_000
EVERY_SECONDS = 60


async def make_checkpoint(conn: AsyncConnection, signer: Signer) -> dict[str, Any]:
    """Sign the current head (in ``conn``'s transaction) unless a checkpoint of that size
    exists already; return the checkpoint of the current size."""
    # A no-op update takes the head's lock first, as appends do: the head cannot move
    # between reading it and storing its checkpoint, and two signers store one row.
    await conn.execute(
        sa.update(audit_head).where(audit_head.c.id == HEAD_ID).values(size=audit_head.c.size)
    )
    last = await latest_checkpoint(conn)
    if last is not None and not checkpoint_signed(last, signer.public_key):
        raise AuditError(
            f"the audit signing key (id {signer.key_id}) did not sign the stored checkpoints: "
            "restore the original audit_key_file from backup (or the checkpoints were forged)"
        )
    frontier = await current_frontier(conn)
    await save_frontier(conn, frontier)
    now = Head(frontier.size, frontier.root().hex())
    existing = await checkpoint_at(conn, now.size)
    if existing is not None:
        return existing
    at = iso(datetime.now(UTC))
    checkpoint = {
        "size": now.size,
        "root": now.root,
        "at": at,
        "signature": signer.sign(now.size, now.root, at),
    }
    await conn.execute(sa.insert(audit_checkpoints).values(**checkpoint))
    return checkpoint


async def checkpoint_at(conn: AsyncConnection, size: int) -> dict[str, Any] | None:
    row = (
        await conn.execute(sa.select(audit_checkpoints).where(audit_checkpoints.c.size == size))
    ).first()
    return None if row is None else dict(row._mapping)


async def all_checkpoints(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.size))
    return [dict(r._mapping) for r in rows]


async def latest_checkpoint(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def checkpoint_due(
    conn: AsyncConnection,
    *,
    every_entries: int = EVERY_ENTRIES,
    every_seconds: float | None = EVERY_SECONDS,
    now: datetime | None = None,
) -> bool:
    """Whether ``every_entries`` entries are unsigned, or (with ``every_seconds``) some
    entries are and the last checkpoint is that old."""
    size = (await head(conn)).size
    last = await latest_checkpoint(conn)
    signed = 0 if last is None else int(last["size"])
    if size - signed >= every_entries:
        return True
    if every_seconds is None or size == signed:
        return False
    if last is None:
        return True
    age = (now or datetime.now(UTC)) - datetime.fromisoformat(last["at"])
    return age >= timedelta(seconds=every_seconds)
