"""`hub customers forget`: erasure by crypto-shredding (docs/security.md, "Erasure").

In one transaction: the customer's records still holding v1 tokens (written before subject
keys existed) are resealed under the customer's key, their blind-index rows deleted, the
quarantine entries of the customer and of those records deleted, the customer's key
destroyed (the row stays as the tombstone) and the forget recorded on the audit trail.
Nothing is decrypted after the key is gone; no personal value is written anywhere, the audit
entry included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import AuditEntry, authorize, customer_pseudonym, record
from hub.audit.access import actor_of
from hub.errors import ConfigError, VaultError
from hub.models import model_for
from hub.runtime import Hub, utcnow
from hub.services.outbox import message_row
from hub.store import outbox as outbox_store
from hub.store.schema import blind_index, outbox, quarantine, records, subject_keys
from hub.vault import normalise_phone, open_value, record_row
from hub.vault.cipher import PREFIX, open_token, seal
from hub.vault.data_key import SubjectKey
from hub.vault.keyring import Forgotten, Keyring
from hub.vault.subjects import (
    ERASED_HASH,
    subject_hash,
    subject_identity,
    subject_keys_for,
)


@dataclass(frozen=True)
class OtherCopy:
    """A record of another subject whose blind index matches the forgotten customer's email
    or phone: maybe the same person elsewhere (reported, never erased by this forget)."""

    id: int
    connection: str
    kind: str
    matched: str  # "email" or "phone"


@dataclass
class ForgetReport:
    """What a forget did (or, ``already``, when it had been done)."""

    record_id: int
    connection: str
    object_type: str
    external_id: str
    erased_at: datetime
    already: bool = False
    shredded: dict[str, int] = field(default_factory=dict)  # records, by kind
    index_rows_deleted: int = 0
    quarantine_removed: int = 0
    texts_cancelled: int = 0  # outbox messages to their phones not sent yet: never will be
    texts_stripped: int = 0  # sent ones: message (recipient, body) deleted, the entry kept
    others: list[OtherCopy] = field(default_factory=list)


async def forget_customer(
    hub: Hub, record_id: int, *, reason: str, now: datetime | None = None
) -> ForgetReport:
    """Forget the customer of customer record ``record_id``; admins only (a denial is
    recorded). Forgetting again reports when it was done and changes nothing."""
    if not reason.strip():
        raise ConfigError("--reason: say why the customer is forgotten (a request id, say)")
    await authorize(
        hub, "customers.forget", action="customer.forget", target_type="record",
        target_id=str(record_id),
    )  # fmt: skip
    at = now or utcnow()
    async with hub.engine.begin() as conn:
        row = (await conn.execute(sa.select(records).where(records.c.id == record_id))).first()
        _check_forgettable(row, record_id)
        assert row is not None
        identity = subject_identity(row.connection, row.object_type, row.external_id)
        report = ForgetReport(record_id, row.connection, row.object_type, row.external_id, at)
        pseudonym = customer_pseudonym(
            hub.keyring, row.connection, row.object_type, row.external_id
        )
        stored = await _stored_key(conn, hub.keyring, identity)
        if stored is not None and stored[1] is None:
            report.already, report.erased_at = True, stored[2] or at
            return report
        key = (await subject_keys_for(conn, hub.keyring, [identity], now=at))[identity]
        if isinstance(key, Forgotten):  # forgotten by another process meanwhile
            report.already, report.erased_at = True, key.erased_at or at
            return report
        phones = _phones_of(hub.keyring, row)  # read while the key still exists
        owned = await _records_of(conn, row)
        report.others = await _other_copies(conn, [r.id for r in owned])
        for r in owned:
            await _shred(conn, hub.keyring, key, r)
            report.shredded[r.kind] = report.shredded.get(r.kind, 0) + 1
        ids = [r.id for r in owned]
        deleted = await conn.execute(blind_index.delete().where(blind_index.c.record_id.in_(ids)))
        report.index_rows_deleted = int(deleted.rowcount or 0)
        q = quarantine.c
        for object_type in sorted({r.object_type for r in owned}):
            external_ids = [r.external_id for r in owned if r.object_type == object_type]
            removed = await conn.execute(
                quarantine.delete().where(
                    q.connection == row.connection,
                    q.object_type == object_type,
                    q.external_id.in_(external_ids),
                )
            )
            report.quarantine_removed += int(removed.rowcount or 0)
        report.texts_cancelled, report.texts_stripped = await _forget_texts(
            conn, hub.keyring, phones
        )
        await conn.execute(
            subject_keys.update()
            .where(subject_keys.c.id == key.id)
            .values(wrapped=None, erased_at=at)
        )
        await record(
            conn,
            AuditEntry(
                actor_of(hub),
                "customer.forget",
                "success",
                "record",
                str(record_id),
                pseudonym,
                purpose=reason,  # operator text, masked by the trail's redactor
                detail={
                    "shredded": dict(sorted(report.shredded.items())),
                    "index_rows_deleted": report.index_rows_deleted,
                    "quarantine_removed": report.quarantine_removed,
                    "texts_cancelled": report.texts_cancelled,
                    "texts_stripped": report.texts_stripped,
                    "other_copies": len(report.others),
                },
            ),
        )
    hub.keyring.remember_subjects({key.id: Forgotten(at)})
    return report


def _phones_of(keyring: Keyring, customer: Any) -> set[str]:
    """The customer's phone numbers in E.164 (empty when none, or when they do not open)."""
    token = customer.data.get("phones")
    if not token:
        return set()
    row = record_row(customer.connection, customer.object_type, customer.external_id)
    try:
        phones = open_value(token, keyring, table="records", column="data.phones", row=row)
    except VaultError:
        return set()
    return {p for p in map(_e164, phones if isinstance(phones, list) else []) if p}


def _e164(value: Any) -> str | None:
    try:
        return normalise_phone(value) if isinstance(value, str) else None
    except ValueError:
        return None


# A message in flight (sending) or maybe sent (checking) is left to settle; every other
# entry to a forgotten number loses its message, and those not sent are never sent.
_NOT_SENT = (outbox_store.PENDING, outbox_store.FAILED, outbox_store.UNCONFIRMED)


async def _forget_texts(
    conn: AsyncConnection, keyring: Keyring, phones: set[str]
) -> tuple[int, int]:
    """Cancel the outbox messages to ``phones`` not sent yet and strip the sent ones (their
    sealed recipient and body are under the data key, not the customer's): (cancelled,
    stripped). A scan of the outbox's messages: forgetting is rare."""
    if not phones:
        return 0, 0
    o = outbox.c
    candidates = await conn.execute(
        sa.select(o.id, o.connection, o.idempotency_key, o.message, o.status).where(
            o.message.is_not(None), o.status.in_([*_NOT_SENT, outbox_store.SENT])
        )
    )
    cancelled = stripped = 0
    for entry in candidates:
        row = message_row(entry.connection, entry.idempotency_key)
        try:
            message = open_value(entry.message, keyring, table="outbox", column="message", row=row)
        except VaultError:
            continue  # hub check reports it; it cannot be sent either
        if not isinstance(message, dict) or _e164(message.get("to")) not in phones:
            continue
        sent = entry.status == outbox_store.SENT
        values: dict[str, Any] = {"message": None}
        if not sent:
            values.update(status=outbox_store.CANCELLED, error="recipient forgotten")
        await conn.execute(outbox.update().where(o.id == entry.id).values(**values))
        stripped, cancelled = stripped + sent, cancelled + (not sent)
    return cancelled, stripped


def _check_forgettable(row: Any, record_id: int) -> None:
    if row is None:
        raise ConfigError(f"no record {record_id}; find one with `hub customers find`")
    if row.kind != "customer":
        raise ConfigError(
            f"record {record_id} is {_article(row.kind)} {row.kind}, not a customer: forget "
            "takes the id of a customer record (`hub customers find`), and erases that "
            "customer's records with it"
        )


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


async def _stored_key(
    conn: AsyncConnection, keyring: Keyring, identity: str
) -> tuple[int, str | None, datetime | None] | None:
    c = subject_keys.c
    found = (
        await conn.execute(
            sa.select(c.id, c.wrapped, c.erased_at).where(
                c.subject_hash == subject_hash(keyring, identity)
            )
        )
    ).first()
    return None if found is None else (found.id, found.wrapped, found.erased_at)


async def _records_of(conn: AsyncConnection, customer: Any) -> list[Any]:
    """The customer record and every record of the same connection whose ``customer_ref``
    names it (a scan of the connection's records: forgetting is rare)."""
    c = records.c
    ref = f"{customer.object_type}/{customer.external_id}"
    query = sa.select(
        c.id, c.connection, c.object_type, c.external_id, c.kind, c.data, c.raw
    ).where(
        c.connection == customer.connection,
        sa.or_(c.id == customer.id, c.data["customer_ref"].as_string() == ref),
    )
    return list(await conn.execute(query.order_by(c.id)))


async def _other_copies(conn: AsyncConnection, ids: list[int]) -> list[OtherCopy]:
    """Records outside ``ids`` with an index row equal to one of theirs (the same email or
    phone under the same index key)."""
    if not ids:
        return []
    b = blind_index.c
    mine = sa.select(b.kind, b.key_id, b.digest).where(b.record_id.in_(ids)).subquery()
    query = (
        sa.select(records.c.id, records.c.connection, records.c.kind, b.kind)
        .join(records, records.c.id == b.record_id)
        .join(
            mine,
            sa.and_(mine.c.kind == b.kind, mine.c.key_id == b.key_id, mine.c.digest == b.digest),
        )
        .where(b.record_id.not_in(ids), records.c.deleted.is_(False))
    )
    seen: dict[int, OtherCopy] = {}
    for rid, connection, kind, matched in await conn.execute(query):
        seen.setdefault(rid, OtherCopy(rid, connection, kind, matched))
    return [seen[rid] for rid in sorted(seen)]


async def _shred(conn: AsyncConnection, keyring: Keyring, key: SubjectKey, r: Any) -> None:
    """Reseal the record's v1 tokens (written before subject keys) under the customer's key,
    so destroying that key shreds them too; mark its content hash erased."""
    row = record_row(r.connection, r.object_type, r.external_id)
    data = dict(r.data)
    for name in model_for(r.kind).pii_fields():
        data[name] = _under_subject(keyring, key, data.get(name), f"data.{name}", row)
    raw = _under_subject(keyring, key, r.raw, "raw", row)
    await conn.execute(
        records.update()
        .where(records.c.id == r.id)
        .values(data=data, raw=raw, content_hash=ERASED_HASH, hash_key_id=None)
    )


def _under_subject(keyring: Keyring, key: SubjectKey, value: Any, column: str, row: str) -> Any:
    if not (isinstance(value, str) and value.startswith(PREFIX)):
        return value  # empty, or already under the customer's key
    try:
        plaintext = open_token(value, keyring.get, table="records", column=column, row=row)
    except VaultError:
        return None  # does not open anyway (damaged, retired key): nothing left to keep
    return seal(plaintext, key, table="records", column=column, row=row)
