"""Sandboxes as a hub uses them: a connection to a running sandbox, added the way a user
adds one (credentials into the secret store, then the validated `connections add` path)."""

from __future__ import annotations

from typing import Any

from hub.connector import secret_fields
from hub.plugins import connector_class
from hub.runtime import Hub
from hub.services.connections import add_connection, remove_connection
from hub.services.secrets import set_secret


async def connect_sandbox(hub: Hub, name: str, connector: str, config: dict[str, Any]) -> None:
    """(Re)create connection ``name`` from a sandbox's ``connection_config``: each credential
    is stored as secret ``<name>-<field>`` and referenced, personal fields are sealed."""
    config = dict(config)
    for field in sorted(secret_fields(connector_class(connector).config_model)):
        if config.get(field) is not None:
            secret = f"{name}-{field}"
            await set_secret(hub, secret, str(config[field]))
            config[field] = f"secret:{secret}"
    await remove_connection(hub, name)
    await add_connection(hub, name, connector, config)
