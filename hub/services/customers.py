"""Finding customers by blind index, and showing one: candidates come from digests computed
from the query, and each is confirmed by opening its sealed value, so a moved or forged index
row, or an HMAC collision, never reaches the caller (see docs/security.md).

Both are audited: a search records how it searched and how many it found, never the value;
a reveal records the fields and the purpose before any plaintext leaves the vault."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from hub.audit import AuditEntry, authorize, customer_pseudonym, record_action
from hub.audit.access import actor_of, refusal
from hub.errors import AccessDenied, ConfigError, VaultError
from hub.models import BlindIndexKind, model_for
from hub.runtime import Hub
from hub.store.records import find_by_blind_index
from hub.vault import (
    blind_index,
    indexed_values,
    normalise_email,
    normalise_phone,
    record_row,
    unseal_data,
)
from hub.vault.data_key import Erased
from hub.vault.subjects import load_subject_keys, subject_key_ids

log = logging.getLogger(__name__)


async def find_customers(
    hub: Hub, *, email: str | None, phone: str | None, region: str | None = None
) -> list[dict[str, Any]]:
    """Records whose sealed email or phone, normalised, is the one asked for."""
    kind: BlindIndexKind = "email" if email is not None else "phone"
    try:
        value = (
            normalise_email(email) if email is not None else normalise_phone(phone or "", region)
        )
    except ValueError as exc:
        raise ConfigError(f"--{kind}: not a valid {kind} address ({exc})") from None
    await authorize(hub, "customers.find", action="customer.find", fields=(kind,))
    digests = [blind_index(kind, value, key) for key in hub.keyring.index_keys()]
    async with hub.engine.begin() as conn:
        rows = await find_by_blind_index(conn, kind, digests)
        found = [dict(r._mapping) for r in rows]
        await load_subject_keys(conn, hub.keyring, [r["data"] for r in found])
        held = [_without_data(r) for r in found if _holds(hub, r, kind, value)]
        await record_action(
            hub, conn, "customer.find", fields=(kind,), detail={"matches": len(held)}
        )
    return held


def _holds(hub: Hub, record: dict[str, Any], kind: BlindIndexKind, value: str) -> bool:
    """Whether the candidate's own sealed values include ``value``."""
    row = record_row(record["connection"], record["object_type"], record["external_id"])
    try:
        held = indexed_values(record["kind"], record["data"], hub.keyring, index=kind, row=row)
    except Erased:
        return False  # a forgotten customer's: their index rows went with them
    except VaultError as exc:
        log.warning("record %s skipped by the lookup: %s (run `hub check`)", record["id"], exc)
        return False
    return value in held


def _without_data(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "data"}


async def show_customer(
    hub: Hub, record_id: int, *, reveal: Sequence[str] = (), purpose: str | None = None
) -> dict[str, Any]:
    """A record's source, its readable fields and which personal fields it holds; with
    ``reveal``, those personal fields' values, once the reveal and its purpose are recorded
    (the record is read in the transaction that records the access, and the values are
    opened only after it commits: no record, no values). Concurrent calls share that
    transaction (:mod:`hub.audit.reads`)."""
    actor = actor_of(hub)
    fields = sorted(set(reveal))
    action, permission = (
        ("customer.reveal", "customers.reveal") if reveal else ("customer.show", "customers.show")
    )
    reason = refusal(actor, permission, purpose)

    def entry_for(row: Any) -> AuditEntry:
        _check_showable(row, record_id, fields)
        _refuse_if_forgotten(hub, row)
        subject = customer_pseudonym(hub.keyring, row.connection, row.object_type, row.external_id)
        entry = AuditEntry(
            actor, action, "success", "record", str(record_id), subject, tuple(fields), purpose
        )
        if reason:
            return replace(entry, outcome="denied", detail={"reason": reason})
        return replace(entry, fields=tuple(fields or _personal_fields(row)))

    read = await hub.audited_reads.read(record_id, entry_for)
    if reason:
        raise AccessDenied(f"{actor.principal}: {reason}; the attempt is recorded")
    row = read.row
    shown = _shown(row)
    if fields:
        key = record_row(row.connection, row.object_type, row.external_id)
        chosen = {f: row.data.get(f) for f in fields}
        shown["revealed"] = unseal_data(row.kind, chosen, hub.keyring, row=key)
    return shown


class CustomerForgotten(ConfigError):
    """The record belongs to a customer forgotten by `hub customers forget` (exit code 1)."""


def _refuse_if_forgotten(hub: Hub, row: Any) -> None:
    """CustomerForgotten if the record's values are under an erased customer key (the batch
    that read the row loaded its subject keys, see hub.runtime)."""
    for key_id in sorted(subject_key_ids([row.data, row.raw])):
        try:
            hub.keyring.subject_key(key_id)
        except Erased as exc:
            date = f"{exc.erased_at:%Y-%m-%d %H:%M} UTC" if exc.erased_at else "an earlier date"
            raise CustomerForgotten(
                f"record {row.id} ({row.kind}) belongs to a customer forgotten on {date}: "
                "its personal fields and vendor payload are erased"
            ) from None
        except VaultError:
            continue  # damaged: reported when its values are opened


def _check_showable(row: Any, record_id: int, reveal: Sequence[str]) -> None:
    if row is None:
        raise ConfigError(f"no record {record_id}; find one with `hub customers find`")
    if row.deleted:
        raise ConfigError(f"record {record_id} was deleted at its source; nothing to show")
    pii = model_for(row.kind).pii_fields()
    unknown = sorted(set(reveal) - set(pii))
    if unknown:
        raise ConfigError(
            f"--reveal: {', '.join(unknown)} is not a personal field of {row.kind} "
            f"(those are {', '.join(sorted(pii))})"
        )


def _personal_fields(row: Any) -> list[str]:
    """The personal fields of ``row`` that hold a value."""
    pii = model_for(row.kind).pii_fields()
    return sorted(n for n in pii if row.data.get(n) not in (None, "", [], {}))


def _shown(row: Any) -> dict[str, Any]:
    """What `customers show` tells without revealing: source, readable fields, which
    personal fields hold a value."""
    pii = model_for(row.kind).pii_fields()
    return {
        "id": row.id,
        "kind": row.kind,
        "source": {
            "connection": row.connection,
            "object_type": row.object_type,
            "external_id": row.external_id,
        },
        "fields": {k: v for k, v in row.data.items() if k not in pii},
        "personal_fields": _personal_fields(row),
        "revealed": {},
    }
