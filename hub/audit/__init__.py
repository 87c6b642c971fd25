"""The tamper-evident audit trail: entries, the one role check, checkpoints and proofs.

What other parts of the hub call:

- :func:`authorize` before an action (records a denial), then :func:`record` in the action's
  own transaction (fail closed: no action without its entry);
- :func:`actor_of` for who is acting, :func:`customer_pseudonym` for whose data;
- :func:`checkpoint_if_due` from the scheduler, every minute.

See docs/audit.md for the entry format and the verification algorithm.
"""

from __future__ import annotations

from hub.audit.access import (
    PERMISSIONS,
    actor_of,
    authenticate,
    authorize,
    local_admin,
    record_action,
)
from hub.audit.entry import Actor, AuditEntry, customer_pseudonym
from hub.audit.trail import Head, head, record

__all__ = [
    "PERMISSIONS",
    "Actor",
    "AuditEntry",
    "Head",
    "actor_of",
    "authenticate",
    "authorize",
    "customer_pseudonym",
    "head",
    "local_admin",
    "record",
    "record_action",
]
