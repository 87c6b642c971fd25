"""What an audit entry says: who (principal, role), what (action, resource, field names),
when, from where, why (purpose), the outcome, and whose data (a keyed pseudonym).

Never a personal value or a secret: callers pass field *names*, a customer only through
:func:`customer_pseudonym`, counts and statuses in ``detail``. Free text (a purpose) is passed
through the log redactor, so an email or phone written into a purpose is masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from hub.log import redact
from hub.vault import Keyring
from hub.vault.cipher import length_prefixed
from hub.vault.mac import hmac_sha256

Outcome = Literal["success", "denied", "failure"]
_PSEUDONYM_LABEL = "hub.audit.subject.v1"


@dataclass(frozen=True)
class Actor:
    """Who acts, as the role check and the trail see it; ``source`` is where from."""

    principal: str
    role: str
    source: str


@dataclass(frozen=True)
class AuditEntry:
    """One action to record; ``record`` adds its number, time and leaf hash."""

    actor: Actor
    action: str  # noun.verb: customer.reveal, connection.add, audit.export, ...
    outcome: Outcome = "success"
    target_type: str | None = None
    target_id: str | None = None
    customer: str | None = None  # from customer_pseudonym, never an id in clear
    fields: Sequence[str] = ()
    purpose: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def customer_pseudonym(
    keyring: Keyring, connection: str, object_type: str, external_id: str
) -> str:
    """A stable keyed pseudonym of one source record: an auditor can follow one customer
    through the trail, and only a holder of the hub's "subject" key can tell who it is. That
    key is never rotated (hub.vault.subjects), so index-key rotations leave pseudonyms as
    they were."""
    message = length_prefixed(_PSEUDONYM_LABEL, connection, object_type, external_id)
    return hmac_sha256(keyring.primary("subject"), message)[:32]


def iso(at: datetime) -> str:
    """The trail's one timestamp form: UTC, microseconds, ``Z``; sorts as it reads."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_values(entry: AuditEntry, seq: int, at: str) -> dict[str, Any]:
    """The entry as the trail stores it (and as offline_verify.canonical hashes it)."""
    return {
        "seq": seq,
        "at": at,
        "principal": entry.actor.principal,
        "role": entry.actor.role,
        "action": entry.action,
        "outcome": entry.outcome,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "customer": entry.customer,
        "fields": list(entry.fields),
        "purpose": None if entry.purpose is None else redact(entry.purpose),
        "source": entry.actor.source,
        "detail": dict(entry.detail),
    }


def row_to_entry(row: Any) -> dict[str, Any]:
    """A stored ``audit_entries`` row as the entry dict that is hashed and exported."""
    entry = dict(row)
    entry["fields"] = json.loads(entry["fields"])
    entry["detail"] = json.loads(entry["detail"])
    return entry


def entry_to_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(entry)
    row["fields"] = canonical_json(list(entry["fields"]))
    row["detail"] = canonical_json(dict(entry["detail"]))
    return row
