"""Principals: add (a token shown once), list, revoke; only an admin manages them, and every
change is on the trail."""

from __future__ import annotations

from typing import Any

from hub.audit import authorize, record_action
from hub.audit.principals import add_principal, list_principals, revoke_principal
from hub.runtime import Hub, utcnow


async def add(hub: Hub, name: str, role: str) -> str:
    """Create principal ``name`` with ``role``; returns its token, which is stored only as a
    hash and cannot be shown again."""
    await authorize(
        hub, "principals.manage", action="principal.add", target_type="principal", target_id=name
    )
    async with hub.engine.begin() as conn:
        token = await add_principal(conn, name, role, utcnow())
        await record_action(
            hub,
            conn,
            "principal.add",
            target_type="principal",
            target_id=name,
            detail={"role": role},
        )
    return token


async def list_all(hub: Hub) -> list[dict[str, Any]]:
    await authorize(hub, "principals.read", action="principal.list")
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "principal.list")
        return await list_principals(conn)


async def revoke(hub: Hub, name: str) -> bool:
    """Revoke ``name``'s token; False when there is no such active principal."""
    await authorize(
        hub,
        "principals.manage",
        action="principal.revoke",
        target_type="principal",
        target_id=name,
    )
    async with hub.engine.begin() as conn:
        revoked = await revoke_principal(conn, name, utcnow())
        await record_action(
            hub,
            conn,
            "principal.revoke",
            target_type="principal",
            target_id=name,
            outcome="success" if revoked else "failure",
        )
    return revoked
