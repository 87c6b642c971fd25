"""A stored connection's config as the hub keeps it and as a connector gets it.

Personal fields of a connection's config are sealed before they are stored and opened before
use; the whole config is validated against the connector's model before anything is built.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from hub.connector import Connector, CredentialSaver, personal_fields
from hub.errors import ConfigError, VaultError
from hub.plugins import connector_class
from hub.vault import Keyring, open_value, parse_token, referenced_secret, seal_value

CONNECTIONS_TABLE = "connections"


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
        context = _context(connection, field)
        sealed[field] = seal_value(
            config[field],
            keyring,
            table=context["table"],
            column=context["column"],
            row=context["row"],
        )
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
