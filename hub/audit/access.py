"""The one role check: who may do what, and who is acting.

Every service that touches personal data, configuration or the trail calls
:func:`authorize` first; a refusal is recorded (outcome ``denied``) in a transaction of its
own, so it stays on the trail although the action does not happen. The CLI, the scheduler and
the HTTP API all go through here.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit.entry import Actor, AuditEntry, Outcome
from hub.audit.principals import find_principal, principal_by_token
from hub.audit.trail import record
from hub.errors import AccessDenied

if TYPE_CHECKING:
    from hub.runtime import Hub

ALL_ROLES = frozenset({"admin", "integrator", "agent", "auditor"})
_INTEGRATION = frozenset({"admin", "integrator"})
# What each permission allows; an admin may do everything, and is audited like everybody.
PERMISSIONS: dict[str, frozenset[str]] = {
    "connections.read": frozenset({"admin", "integrator", "auditor"}),
    "connections.manage": _INTEGRATION,
    "secrets.manage": _INTEGRATION,
    "mappings.manage": _INTEGRATION,
    "sync.run": _INTEGRATION,
    "quarantine.replay": _INTEGRATION,
    "customers.find": frozenset({"admin", "agent"}),
    "customers.show": frozenset({"admin", "agent", "auditor"}),
    "customers.reveal": frozenset({"admin", "agent"}),  # and only with a purpose
    "customers.forget": frozenset({"admin"}),
    # Writes to the source systems an agent's tools make: a case, a customer's address, a text.
    "cases.write": frozenset({"admin", "integrator", "agent"}),
    "customers.update": frozenset({"admin", "agent"}),
    "messages.send": frozenset({"admin", "integrator", "agent"}),
    "keys.manage": frozenset({"admin"}),
    "retention.run": frozenset({"admin"}),  # deletes data: the scheduler and admins only
    "principals.read": frozenset({"admin", "auditor"}),
    "principals.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "auditor"}),
    "audit.export": frozenset({"admin", "auditor"}),
    "audit.checkpoint": frozenset({"admin", "auditor"}),
}
NEEDS_PURPOSE = frozenset({"customers.reveal"})


def local_source() -> str:
    """Where a CLI invocation comes from: the OS user and the machine."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


def local_admin() -> Actor:
    """The embedded default: the local OS user, as admin."""
    return Actor(f"os:{getpass.getuser()}", "admin", local_source())


def actor_of(hub: Hub) -> Actor:
    """Who is acting through ``hub``: the principal the adapter authenticated, else the
    local OS user as admin."""
    return hub.actor if hub.actor is not None else local_admin()


def refusal(actor: Actor, permission: str, purpose: str | None = None) -> str:
    """Why ``actor`` may not use ``permission`` ("" when it may): its role lacks it, or a
    purpose is needed and missing."""
    allowed = PERMISSIONS.get(permission)
    if allowed is None:
        raise KeyError(f"unknown permission {permission!r}")  # a bug in the caller
    if actor.role not in allowed:
        return f"role {actor.role} may not {permission.replace('.', ' ')}"
    if permission in NEEDS_PURPOSE and not (purpose or "").strip():
        return "revealing personal data needs a purpose (--purpose TEXT)"
    return ""


async def authorize(
    hub: Hub,
    permission: str,
    *,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    customer: str | None = None,
    fields: Sequence[str] = (),
    purpose: str | None = None,
) -> Actor:
    """The acting principal, if its role grants ``permission`` (and a purpose is stated
    where one is needed); otherwise the attempt is recorded as denied and AccessDenied
    raised."""
    actor = actor_of(hub)
    reason = refusal(actor, permission, purpose)
    if reason:
        denied = AuditEntry(
            actor,
            action,
            "denied",
            target_type,
            target_id,
            customer,
            tuple(fields),
            purpose,
            {"reason": reason},
        )
        await deny(hub, denied)
    return actor


async def deny(hub: Hub, denied: AuditEntry) -> NoReturn:
    """Record a refused attempt in a transaction of its own, then raise AccessDenied."""
    async with hub.engine.begin() as conn:
        await record(conn, denied)
    reason = denied.detail.get("reason", "not allowed")
    raise AccessDenied(f"{denied.actor.principal}: {reason}; the attempt is recorded")


async def authenticate(hub: Hub, *, name: str | None, token: str | None) -> Actor:
    """The principal named by ``--as`` and/or a token (``HUB_PRINCIPAL_TOKEN``), or the local
    OS user as admin when neither is given. An unknown, revoked or mismatched principal is an
    authentication failure: recorded, then AccessDenied."""
    source = local_source()
    if name is None and token is None:
        return local_admin()
    async with hub.engine.connect() as conn:
        found = (
            await principal_by_token(conn, token)
            if token is not None
            else await find_principal(conn, name or "")
        )
    problem = ""
    if found is None:
        problem = "unknown token" if token is not None else f"no principal named {name}"
    elif found["revoked_at"] is not None:
        problem = f"principal {found['name']} is revoked"
    elif name is not None and found["name"] != name:
        problem = f"the token is not {name}'s"
    if not problem:
        assert found is not None
        return Actor(str(found["name"]), str(found["role"]), source)
    failed = AuditEntry(
        Actor(name or "unknown", "none", source),
        "auth.failed",
        "denied",
        "principal",
        name,
        detail={"reason": problem},
    )
    async with hub.engine.begin() as conn:
        await record(conn, failed)
    raise AccessDenied(f"authentication failed: {problem}; the attempt is recorded")


async def record_action(
    hub: Hub,
    conn: AsyncConnection,
    action: str,
    *,
    outcome: Outcome = "success",
    target_type: str | None = None,
    target_id: str | None = None,
    customer: str | None = None,
    fields: Sequence[str] = (),
    purpose: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Record what the acting principal did, in ``conn``'s transaction (fail closed)."""
    entry = AuditEntry(
        actor_of(hub),
        action,
        outcome,
        target_type,
        target_id,
        customer,
        tuple(fields),
        purpose,
        dict(detail or {}),
    )
    return await record(conn, entry)
