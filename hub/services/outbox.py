"""The outbox: messages to customers sent exactly once through connectors that take no
idempotency key (Twilio's Messages API is one: a request whose answer is lost may still
have texted the customer).

- :func:`enqueue` records a message under an idempotency key *in the caller's transaction*,
  so it exists exactly when the change that causes it commits (a case update, say). The
  same key again is the same entry.
- :func:`deliver` is the worker. It claims due entries under a lease, sends each through the
  connection's connector and records the vendor's id. An entry whose earlier attempt may
  have reached the vendor (the worker died between the request and the commit, or the vendor
  answered 5xx after accepting it) is reconciled first: the connector looks for it among the
  messages already sent (``find_sent_message``) and only a message not found is sent again.
  A refusal that resending cannot cure (an invalid number) fails the entry; anything else
  leaves it due for the next run. So a crash or retry at any point neither sends twice nor
  loses the message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.connector import Connector, OutboundMessage
from hub.errors import ConnectorError
from hub.runtime import Hub
from hub.store import outbox as store
from hub.store.connections import get_connection
from hub.vault import Keyring, open_value, seal_value
from hub.vault.rotation import confirm_primaries

# How far before an entry was written a reconcile looks for its message (clock skew
# between the hub and the vendor).
RECONCILE_SKEW = timedelta(minutes=5)
# Refusals a resend cannot cure. 401/403 (credentials), 408 and 429 leave the entry due.
_CURABLE = frozenset({401, 403, 408, 429})


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did to an entry (ids and codes only, never the message)."""

    entry_id: int
    key: str
    status: str  # sent | failed | pending (left due) | lost (taken over by another worker)
    external_id: str | None = None
    reconciled: bool = False  # found already sent at the vendor: not sent again
    error: str | None = None


def _row(connection: str, key: str) -> str:
    return f"{connection}/{key}"


def seal_message(keyring: Keyring, connection: str, key: str, message: OutboundMessage) -> str:
    """The message sealed for the outbox row of (connection, key)."""
    return seal_value(
        message.model_dump(mode="json"), keyring, table="outbox", column="message",
        row=_row(connection, key),
    )  # fmt: skip


async def enqueue(
    conn: AsyncConnection,
    keyring: Keyring,
    *,
    connection: str,
    key: str,
    message: OutboundMessage,
    now: datetime | None = None,
) -> int:
    """Record ``message`` for ``connection`` under ``key`` in the open transaction ``conn``;
    the entry's id. A key already recorded keeps its first message."""
    if not key or len(key) > 200:
        raise ValueError("an outbox idempotency key must be 1 to 200 characters")
    sealed = seal_message(keyring, connection, key, message)
    await confirm_primaries(conn, keyring)  # counts the seal; never under a rotated key
    entry, _ = await store.insert_entry(
        conn, connection=connection, key=key, sealed=sealed, now=now or datetime.now(UTC)
    )
    return entry


async def enqueue_message(hub: Hub, connection: str, key: str, message: OutboundMessage) -> int:
    """:func:`enqueue` in a transaction of its own (``hub outbox send``)."""
    async with hub.engine.begin() as conn:
        await get_connection(conn, connection)  # an unknown connection fails, naming it
        return await enqueue(conn, hub.keyring, connection=connection, key=key, message=message)


async def deliver(
    hub: Hub,
    connection: str,
    *,
    lease_seconds: float = 60.0,
    limit: int = 100,
    worker: str | None = None,
) -> list[Delivery]:
    """Deliver up to ``limit`` due entries of ``connection``, each at most once in this run."""
    worker = worker or f"outbox-{uuid.uuid4().hex}"
    lease = timedelta(seconds=lease_seconds)
    done: list[Delivery] = []
    async with hub.connection(connection) as connector:
        while len(done) < limit:
            async with hub.engine.begin() as conn:
                entry = await store.claim_due(
                    conn, connection, worker=worker, now=datetime.now(UTC), lease=lease,
                    skip=[d.entry_id for d in done],
                )  # fmt: skip
            if entry is None:
                break
            done.append(await _deliver_one(hub, connector, entry, worker))
    return done


async def _deliver_one(hub: Hub, connector: Connector, entry: sa.Row[Any], worker: str) -> Delivery:
    connection, key = entry.connection, entry.idempotency_key
    message = OutboundMessage.model_validate(
        open_value(entry.message, hub.keyring, table="outbox", column="message",
                   row=_row(connection, key))
    )  # fmt: skip
    try:
        if entry.attempts > 1:  # an earlier attempt may have reached the vendor
            since = entry.created_at - RECONCILE_SKEW
            async with hub.engine.connect() as conn:
                exclude = await store.sent_ids(conn, connection, since)
            found = await connector.find_sent_message(message, since=since, exclude=exclude)
            if found is not None:
                return await _settle(hub, entry, worker, store.SENT, found, reconciled=True)
        result = await connector.send_message(message)
    except ConnectorError as error:
        reason = f"{type(error).__name__} {error.status or ''} {error.vendor_code or ''}".strip()
        refused = error.status is not None and 400 <= error.status < 500
        status = store.FAILED if refused and error.status not in _CURABLE else store.PENDING
        return await _settle(hub, entry, worker, status, None, error=reason)
    return await _settle(hub, entry, worker, store.SENT, result.external_id)


async def _settle(
    hub: Hub,
    entry: sa.Row[Any],
    worker: str,
    status: str,
    external_id: str | None,
    *,
    reconciled: bool = False,
    error: str | None = None,
) -> Delivery:
    values: dict[str, Any] = {"status": status, "error": error}
    if status == store.SENT:
        values.update(external_id=external_id, sent_at=datetime.now(UTC))
    async with hub.engine.begin() as conn:
        kept = await store.settle(conn, entry, worker=worker, **values)
    return Delivery(
        entry.id, entry.idempotency_key, status if kept else "lost", external_id, reconciled,
        error,
    )  # fmt: skip


async def list_entries(
    hub: Hub, connection: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Outbox entries, newest first: keys, states and vendor ids (the messages stay sealed)."""
    async with hub.engine.connect() as conn:
        rows = await store.entries(conn, connection, limit)
    fields = ("id", "connection", "idempotency_key", "status", "attempts", "external_id",
              "error", "created_at", "sent_at")  # fmt: skip
    return [{name: getattr(row, name) for name in fields} for row in rows]
