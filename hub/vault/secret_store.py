"""Connector credentials, sealed in the ``secrets`` table and referenced as ``secret:NAME``.

Each value is sealed with AAD (table "secrets", column "sealed", row NAME), so a sealed value
copied under another name does not open. Functions run in the caller's transaction; the caller
commits. Listing returns names and dates only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import ConfigError, VaultError
from hub.store.schema import secrets
from hub.vault.keyring import Keyring
from hub.vault.rotation import confirm_primaries
from hub.vault.sealing import open_value, seal_value

REFERENCE_PREFIX = "secret:"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


async def set_secret(conn: AsyncConnection, keyring: Keyring, name: str, value: str) -> None:
    """Store or replace the secret ``name``."""
    _check_name(name)
    sealed = _seal(keyring, name, value)
    await confirm_primaries(conn, keyring)  # never written under a key rotated meanwhile
    now = datetime.now(UTC)
    updated = await conn.execute(
        secrets.update().where(secrets.c.name == name).values(sealed=sealed, updated_at=now)
    )
    if updated.rowcount == 0:
        await conn.execute(secrets.insert().values(name=name, sealed=sealed, updated_at=now))


async def get_secret(conn: AsyncConnection, keyring: Keyring, name: str) -> str:
    """The value of secret ``name``; ConfigError telling how to set it when it is missing."""
    query = sa.select(secrets.c.sealed).where(secrets.c.name == name)
    sealed = (await conn.execute(query)).scalar_one_or_none()
    if sealed is None:
        raise ConfigError(f"secret {name} is not set; run `hub secrets set {name}`")
    value = open_value(sealed, keyring, table="secrets", column="sealed", row=name)
    if not isinstance(value, str):
        raise VaultError(f"secret {name} does not hold a string")
    return value


async def list_secrets(conn: AsyncConnection) -> list[tuple[str, datetime]]:
    """(name, last updated) of every secret, by name; values are not read."""
    query = sa.select(secrets.c.name, secrets.c.updated_at).order_by(secrets.c.name)
    return [(name, updated) for name, updated in await conn.execute(query)]


async def remove_secret(conn: AsyncConnection, name: str) -> bool:
    """Delete secret ``name``; False if there was none."""
    deleted = await conn.execute(secrets.delete().where(secrets.c.name == name))
    return deleted.rowcount > 0


async def resolve_secret_refs(
    conn: AsyncConnection, keyring: Keyring, config: dict[str, Any]
) -> dict[str, Any]:
    """A copy of ``config`` with every ``"secret:NAME"`` string, at any depth, replaced by the
    secret's value. ConfigError names the first secret that is not set."""
    cache: dict[str, str] = {}
    return {key: await _resolve(conn, keyring, value, cache) for key, value in config.items()}


def referenced_secret(value: Any) -> str | None:
    """The secret name in a ``"secret:NAME"`` config value, or None for anything else."""
    if isinstance(value, str) and value.startswith(REFERENCE_PREFIX):
        return value[len(REFERENCE_PREFIX) :]
    return None


async def _resolve(
    conn: AsyncConnection, keyring: Keyring, value: Any, cache: dict[str, str]
) -> Any:
    name = referenced_secret(value)
    if name is not None:
        if name not in cache:
            cache[name] = await get_secret(conn, keyring, name)
        return cache[name]
    if isinstance(value, dict):
        return {k: await _resolve(conn, keyring, v, cache) for k, v in value.items()}
    if isinstance(value, list):
        return [await _resolve(conn, keyring, v, cache) for v in value]
    return value


def _seal(keyring: Keyring, name: str, value: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"secret {name} must be a string")
    return seal_value(value, keyring, table="secrets", column="sealed", row=name)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"invalid secret name {name!r}: use 1-200 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
