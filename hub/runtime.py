"""An open hub: settings, the database engine, the keyring, connectors and mappings.

Every command and service works through one :class:`Hub`, so there is one place that knows
how configuration, keys and stored connections become a working connector. Personal fields of
a connection's config are sealed here before they are stored and opened here before use.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config import Settings
from hub.connector import Connector, CredentialSaver, personal_fields
from hub.errors import ConfigError, VaultError
from hub.mapping import Mapping, find_mapping
from hub.plugins import connector_class, plugin_mapping_paths
from hub.store.connections import get_connection
from hub.store.engine import open_engine
from hub.vault import (
    Keyring,
    load_master_key,
    open_value,
    parse_token,
    referenced_secret,
    resolve_secret_refs,
    seal_value,
    set_secret,
)

log = logging.getLogger(__name__)

CONNECTIONS_TABLE = "connections"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Hub:
    """The hub's working parts for one process."""

    def __init__(self, settings: Settings, engine: AsyncEngine, keyring: Keyring) -> None:
        self.settings = settings
        self.engine = engine
        self.keyring = keyring
        self._mappings: dict[str, Mapping] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Hub]:
        """Open the database (migrating it), load the keys, and close everything after."""
        master_key = load_master_key(settings.resolved_key_file)
        engine = await open_engine(settings.resolved_database_url)
        try:
            async with engine.connect() as conn:
                keyring = await Keyring.load(conn, master_key)
            yield cls(settings, engine, keyring)
        finally:
            await engine.dispose()

    def mapping(self, connector: str) -> Mapping:
        """The mapping file for ``connector``: operators' folders first, then plugins'."""
        if connector not in self._mappings:
            dirs = [*self.settings.resolved_mapping_dirs, *map(Path, plugin_mapping_paths())]
            self._mappings[connector] = find_mapping(connector, dirs)
        return self._mappings[connector]

    async def connector(
        self, connection: str, *, client: httpx.AsyncClient | None = None
    ) -> Connector:
        """A ready connector for a stored connection, its personal fields opened and its
        ``secret:`` references resolved."""
        async with self.engine.connect() as conn:
            name, stored = await get_connection(conn, connection)
            opened = open_personal_config(name, connection, stored, self.keyring)
            config = await resolve_secret_refs(conn, self.keyring, opened)
        saver = self._credential_saver(connection, stored)
        return build_connector(name, connection, config, client=client, save_credential=saver)

    def _credential_saver(self, connection: str, stored: dict[str, Any]) -> CredentialSaver:
        """Where a rotated credential goes: back into the secret its config field refers to."""

        async def save(field: str, value: str) -> None:
            secret = referenced_secret(stored.get(field))
            if secret is None:
                log.warning(
                    "connection %s: the vendor rotated %s, which is not a secret: reference; "
                    "the new value lives only in this process",
                    connection,
                    field,
                )
                return
            async with self.engine.begin() as conn:
                await set_secret(conn, self.keyring, secret, value)

        return save


def build_connector(
    connector: str,
    connection: str,
    config: dict[str, Any],
    *,
    client: httpx.AsyncClient | None = None,
    save_credential: CredentialSaver | None = None,
) -> Connector:
    """Validate ``config`` against the connector's model and build the connector."""
    cls = connector_class(connector)
    try:
        parsed = cls.config_model.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(config)'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigError(f"connection {connection!r} ({connector}): {problems}") from None
    return cls(parsed, connection=connection, client=client, save_credential=save_credential)


def seal_personal_config(
    connector: str, connection: str, config: dict[str, Any], keyring: Keyring
) -> dict[str, Any]:
    """A copy of ``config`` as it is stored: each personal field's value sealed for this
    connection. ``secret:NAME`` references stay as they are: they hold nothing personal."""
    sealed = dict(config)
    for field in _sealable_fields(connector, config):
        sealed[field] = seal_value(config[field], keyring, **_context(connection, field))
    return sealed


def open_personal_config(
    connector: str, connection: str, stored: dict[str, Any], keyring: Keyring
) -> dict[str, Any]:
    """A copy of a stored config with its personal fields opened. ConfigError names a field
    stored in clear (by a hub older than this check); VaultError, a token that does not open."""
    opened = dict(stored)
    for field in _sealable_fields(connector, stored):
        if not _is_sealed(stored[field]):
            raise ConfigError(
                f"connection {connection}: config field {field} is not sealed; "
                "remove and re-add the connection"
            )
        opened[field] = open_value(stored[field], keyring, **_context(connection, field))
    return opened


def _sealable_fields(connector: str, config: dict[str, Any]) -> list[str]:
    """The personal fields of ``connector`` that hold a value other than a secret reference."""
    fields = personal_fields(connector_class(connector).config_model)
    return [
        field
        for field in sorted(fields)
        if config.get(field) is not None and referenced_secret(config[field]) is None
    ]


def _context(connection: str, field: str) -> dict[str, str]:
    """Where a personal config value is bound: a token moved to another connection or field
    does not open."""
    return {"table": CONNECTIONS_TABLE, "column": f"config.{field}", "row": connection}


def _is_sealed(value: Any) -> bool:
    try:
        parse_token(value)
    except VaultError:
        return False
    return True
