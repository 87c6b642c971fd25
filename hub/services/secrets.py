"""Connector credentials, stored encrypted and referenced from configs as ``secret:NAME``."""

from __future__ import annotations

from datetime import datetime

from hub.audit import authorize, record_action
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.vault import list_secrets as vault_list_secrets
from hub.vault import remove_secret as vault_remove_secret
from hub.vault import set_secret as vault_set_secret
from hub.vault.rotation import KeyringStale


async def set_secret(hub: Hub, name: str, value: str) -> None:
    """Store or replace a secret; connections using it rebuild their connector on next use.

    An empty or whitespace-only value is refused: it is always a slip (an empty pipe, a
    stray newline), never a credential.
    """
    if not value.strip():
        raise ConfigError(f"secret {name}: the value is empty; nothing stored")
    await authorize(
        hub, "secrets.manage", action="secret.set", target_type="secret", target_id=name
    )
    try:
        async with hub.engine.begin() as conn:
            await vault_set_secret(conn, hub.keyring, name, value)
            await record_action(hub, conn, "secret.set", target_type="secret", target_id=name)
    except KeyringStale:  # another process rotated the data key: seal with the new one
        await hub.reload_keyring()
        async with hub.engine.begin() as conn:
            await vault_set_secret(conn, hub.keyring, name, value)
            await record_action(hub, conn, "secret.set", target_type="secret", target_id=name)


async def list_secrets(hub: Hub) -> list[tuple[str, datetime]]:
    """(name, last updated) of every secret; values are never read."""
    await authorize(hub, "secrets.manage", action="secret.list")
    async with hub.engine.connect() as conn:
        return await vault_list_secrets(conn)


async def remove_secret(hub: Hub, name: str) -> bool:
    await authorize(
        hub, "secrets.manage", action="secret.remove", target_type="secret", target_id=name
    )
    async with hub.engine.begin() as conn:
        removed = await vault_remove_secret(conn, name)
        await record_action(
            hub,
            conn,
            "secret.remove",
            target_type="secret",
            target_id=name,
            outcome="success" if removed else "failure",
        )
        return removed
