"""Principals (people and services) with a role and an API token stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import ConfigError
from hub.store.schema import principals

ROLES = ("admin", "integrator", "agent", "auditor")
TOKEN_PREFIX = "hubp_"  # noqa: S105 - a prefix that makes a leaked token recognisable


def token_hash(token: str) -> str:
    """Tokens are 256 random bits: a plain SHA-256 is enough (no dictionary to attack)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def add_principal(conn: AsyncConnection, name: str, role: str, now: datetime) -> str:
    """Store a new principal and return its token (shown once, stored only as a hash)."""
    if role not in ROLES:
        raise ConfigError(f"--role: {role!r} is not a role; use one of {', '.join(ROLES)}")
    if not name or name.startswith("os:") or len(name) > 200:
        raise ConfigError(f"principal name {name!r}: 1-200 characters, not starting with os:")
    if await find_principal(conn, name) is not None:
        raise ConfigError(f"principal {name} exists; revoke it first or choose another name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        sa.insert(principals).values(
            name=name, role=role, token_hash=token_hash(token), created_at=now
        )
    )
    return token


async def find_principal(conn: AsyncConnection, name: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(principals).where(principals.c.name == name))).first()
    return None if row is None else dict(row._mapping)


async def principal_by_token(conn: AsyncConnection, token: str) -> dict[str, Any] | None:
    query = sa.select(principals).where(principals.c.token_hash == token_hash(token))
    row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def list_principals(conn: AsyncConnection) -> list[dict[str, Any]]:
    query = sa.select(
        principals.c.name, principals.c.role, principals.c.created_at, principals.c.revoked_at
    ).order_by(principals.c.name)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def revoke_principal(conn: AsyncConnection, name: str, now: datetime) -> bool:
    """Revoke ``name``'s token; False if there is no such active principal."""
    done = await conn.execute(
        sa.update(principals)
        .where(principals.c.name == name, principals.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(done.rowcount)
