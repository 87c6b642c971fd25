"""The outbox: messages to customers sent exactly once through connectors that take no
idempotency key (Twilio's Messages API is one: a request whose answer is lost may still
have texted the customer).

- :func:`enqueue` records a message under an idempotency key *in the caller's transaction*,
  so it exists exactly when the change that causes it commits (a case update, say). The
  same key again is the same entry.
- :func:`deliver` is the worker. It claims due entries under a lease, sends each through the
  connection's connector and records the vendor's id. An entry whose earlier attempt may
  have reached the vendor (the worker died between the request and the commit, or the vendor
  answered 5xx or nothing after accepting it) is never sent again by the worker: it is
  ``checking``, and the connector looks for it among the messages already sent
  (``find_sent_message``), at most :class:`Rechecks` ``limit`` times, since a vendor's list
  may show an accepted message late. Found, it is sent; still not found, it is
  ``unconfirmed`` and held for an operator (:func:`resend_unconfirmed`). A refusal that
  resending cannot cure (an invalid number) fails the entry; one that processed nothing
  (unreachable, rate limited, credentials) leaves it due. So a crash or retry at any point
  neither sends twice nor loses the message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import authorize, record_action
from hub.connector import Connector, OutboundMessage
from hub.errors import AuthError, ConfigError, ConnectorError, RateLimited, Unreachable
from hub.plugins import connector_class
from hub.runtime import Hub
from hub.store import outbox as store
from hub.store.connections import get_connection
from hub.vault import Keyring, open_value, seal_value
from hub.vault.rotation import confirm_primaries

# How far before an entry was written a reconcile looks for its message (clock skew
# between the hub and the vendor).
RECONCILE_SKEW = timedelta(minutes=5)
# Refusals a later send may get past (credentials fixed, rate limit over): the entry stays due.
# Any other 4xx fails it; a 408 or 5xx may have been processed, so it is looked up instead.
_CURABLE = frozenset({401, 403, 429})


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did to an entry (ids and codes only, never the message)."""

    entry_id: int
    key: str
    # sent | failed | pending (left due) | checking (may have been sent: looked up later) |
    # unconfirmed (not found after the look-ups) | lost (taken over by another worker)
    status: str
    external_id: str | None = None
    reconciled: bool = False  # found already sent at the vendor: not sent again
    error: str | None = None


def message_row(connection: str, key: str) -> str:
    """The AAD row of an outbox entry's sealed message."""
    return f"{connection}/{key}"


def seal_message(keyring: Keyring, connection: str, key: str, message: OutboundMessage) -> str:
    """The message sealed for the outbox row of (connection, key)."""
    return seal_value(
        message.model_dump(mode="json"), keyring, table="outbox", column="message",
        row=message_row(connection, key),
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


@dataclass(frozen=True)
class Notification:
    """A message to a customer that an action of the hub causes (a case update, say),
    sent through the messaging connection ``connection``."""

    connection: str
    message: OutboundMessage


async def check_notification(hub: Hub, notification: Notification) -> None:
    """Fail, naming the connection, unless ``notification`` can be delivered: its connection
    exists and its connector sends messages. Called before the action, which then need not
    be undone."""
    async with hub.engine.connect() as conn:
        connector, _ = await get_connection(conn, notification.connection)
    if connector_class(connector).send_message is Connector.send_message:
        raise ConfigError(
            f"connection {notification.connection!r} ({connector}) sends no messages: "
            "notify through a messaging connection such as Twilio"
        )


async def notify(
    conn: AsyncConnection,
    keyring: Keyring,
    notification: Notification,
    *,
    cause: str,
    now: datetime | None = None,
) -> int:
    """Record ``notification`` in the open transaction ``conn`` of the action it tells about,
    so it commits with that action's record or not at all; ``cause`` names the action once
    (``case-push/17``), so the same action recorded again notifies once. The entry's id."""
    return await enqueue(
        conn, keyring, connection=notification.connection, key=f"notify/{cause}",
        message=notification.message, now=now,
    )  # fmt: skip


async def enqueue_message(hub: Hub, connection: str, key: str, message: OutboundMessage) -> int:
    """:func:`enqueue` in a transaction of its own (``hub outbox send``), with its audit
    entry."""
    await authorize(hub, "messages.send", action="message.enqueue", target_type="connection",
                    target_id=connection)  # fmt: skip
    async with hub.engine.begin() as conn:
        await get_connection(conn, connection)  # an unknown connection fails, naming it
        entry = await enqueue(conn, hub.keyring, connection=connection, key=key, message=message)
        await record_action(hub, conn, "message.enqueue", target_type="outbox_entry",
                            target_id=str(entry), fields=("to", "body"))  # fmt: skip
        return entry


@dataclass(frozen=True)
class Rechecks:
    """How long an uncertain send is looked for at the vendor before the hub stops guessing.

    A vendor's message list may show an accepted message late; resending one it does not
    show *yet* would text the customer twice. So an uncertain entry is looked up at most
    ``limit`` times, ``interval`` apart, and never resent by the worker: not found by then,
    it is ``unconfirmed`` and waits for an operator (``hub outbox resend``).
    """

    interval: timedelta = timedelta(seconds=30)
    limit: int = 10


async def deliver(
    hub: Hub,
    connection: str,
    *,
    lease_seconds: float = 60.0,
    limit: int = 100,
    worker: str | None = None,
    rechecks: Rechecks = Rechecks(),  # frozen: one shared default is safe
) -> list[Delivery]:
    """Deliver up to ``limit`` due entries of ``connection``, each at most once in this run."""
    worker = worker or f"outbox-{uuid.uuid4().hex}"
    lease = timedelta(seconds=lease_seconds)
    done: list[Delivery] = []
    async with hub.connection(connection) as connector:
        while len(done) < limit:
            async with hub.engine.begin() as conn:
                claim = await store.claim_due(
                    conn, connection, worker=worker, now=datetime.now(UTC), lease=lease,
                    skip=[d.entry_id for d in done],
                )  # fmt: skip
            if claim is None:
                break
            attempt = _Attempt(hub, connector, claim.entry, worker, rechecks)
            done.append(await (attempt.look_up() if claim.uncertain else attempt.send()))
    return done


@dataclass(frozen=True)
class _Attempt:
    """One claimed entry's turn: a send, or a look-up when an earlier send may have landed."""

    hub: Hub
    connector: Connector
    entry: sa.Row[Any]
    worker: str
    rechecks: Rechecks

    def message(self) -> OutboundMessage:
        entry = self.entry
        return OutboundMessage.model_validate(
            open_value(entry.message, self.hub.keyring, table="outbox", column="message",
                       row=message_row(entry.connection, entry.idempotency_key))
        )  # fmt: skip

    async def send(self) -> Delivery:
        try:
            result = await self.connector.send_message(self.message())
        except ConfigError:
            # Refused before any request (no sender configured): due again once it is fixed,
            # and the run stops with the message that says what to fix.
            await self.settle(store.PENDING, error="ConfigError")
            raise
        except (Unreachable, RateLimited, AuthError) as error:
            # Nothing was processed: the vendor was not reached, or refused before acting.
            return await self.settle(store.PENDING, error=_reason(error))
        except ConnectorError as error:
            if error.status is not None and 400 <= error.status < 500 and error.status != 408:
                final = store.PENDING if error.status in _CURABLE else store.FAILED
                return await self.settle(final, error=_reason(error))
            # A 5xx, a timeout or a lost answer: the vendor may have the message. Look first.
            return await self.settle(store.CHECKING, error=_reason(error), due_at=_now())
        return await self.settle(store.SENT, external_id=result.external_id)

    async def look_up(self) -> Delivery:
        """Find the message an earlier attempt may have sent; count the look-up if absent."""
        connection = self.entry.connection
        since = self.entry.created_at - RECONCILE_SKEW
        try:
            async with self.hub.engine.connect() as conn:
                exclude = await store.sent_ids(conn, connection, since)
            found = await self.connector.find_sent_message(
                self.message(), since=since, exclude=exclude
            )
        except ConnectorError as error:  # the look-up failed: try it again, uncounted
            due = _now() + self.rechecks.interval
            return await self.settle(store.CHECKING, error=_reason(error), due_at=due)
        if found is not None:
            return await self.settle(store.SENT, external_id=found, reconciled=True)
        checks = self.entry.checks + 1
        if checks >= self.rechecks.limit:
            note = f"not found at the vendor after {checks} look-up(s); never resent by itself"
            return await self.settle(store.UNCONFIRMED, error=note, checks=checks, due_at=None)
        due = _now() + self.rechecks.interval
        note = f"not found at the vendor yet ({checks} of {self.rechecks.limit} look-ups)"
        return await self.settle(store.CHECKING, error=note, checks=checks, due_at=due)

    async def settle(
        self,
        status: str,
        *,
        external_id: str | None = None,
        reconciled: bool = False,
        error: str | None = None,
        **values: Any,
    ) -> Delivery:
        values.update(status=status, error=error)
        if status == store.SENT:
            values.update(external_id=external_id, sent_at=_now(), due_at=None)
        async with self.hub.engine.begin() as conn:
            kept = await store.settle(conn, self.entry, worker=self.worker, **values)
        entry = self.entry
        return Delivery(
            entry.id, entry.idempotency_key, status if kept else "lost", external_id, reconciled,
            error,
        )  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _reason(error: ConnectorError) -> str:
    """The error as the outbox keeps it: its type, status and vendor code, never its text."""
    return f"{type(error).__name__} {error.status or ''} {error.vendor_code or ''}".strip()


async def resend_unconfirmed(hub: Hub, entry: int) -> None:
    """Let the worker send an ``unconfirmed`` entry again: an operator's decision, taken once
    they know the customer did not get the message (the vendor never showed it)."""
    async with hub.engine.begin() as conn:
        if not await store.release_unconfirmed(conn, entry):
            raise ConfigError(f"outbox entry {entry} is not unconfirmed: nothing to resend")


async def list_entries(
    hub: Hub, connection: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Outbox entries, newest first: keys, states and vendor ids (the messages stay sealed)."""
    async with hub.engine.connect() as conn:
        rows = await store.entries(conn, connection, limit)
    fields = ("id", "connection", "idempotency_key", "status", "attempts", "checks", "due_at",
              "external_id", "error", "created_at", "sent_at")  # fmt: skip
    return [{name: getattr(row, name) for name in fields} for row in rows]
