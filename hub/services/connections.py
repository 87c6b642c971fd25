"""Connections: add (validated, credentials as secret references, personal fields sealed),
list, test, remove; and what a connector's config takes."""

from __future__ import annotations

import getpass
import re
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from hub.audit import authorize, record_action
from hub.connection_config import build_connector, seal_personal_config
from hub.connector import personal_fields, secret_fields
from hub.errors import ConfigError
from hub.plugins import connector_class
from hub.runtime import Hub, utcnow
from hub.store import connections as store
from hub.store.runs import recent_runs
from hub.vault import referenced_secret, resolve_secret_refs
from hub.vault.rotation import confirm_primaries


@dataclass(frozen=True)
class ConfigField:
    """One field of a connector's config model, as `hub connector show` lists it."""

    name: str  # dotted for nested settings, e.g. http.timeout_seconds
    type: str
    required: bool
    default: Any
    secret: bool  # only a secret:NAME reference is accepted
    personal: bool  # stored sealed
    description: str


def config_fields(connector: str) -> list[ConfigField]:
    """Every field a connection of ``connector`` can set, nested settings flattened."""
    model = connector_class(connector).config_model
    return _fields(model, "", secret_fields(model), personal_fields(model))


def _fields(
    model: type[BaseModel], prefix: str, secret: set[str], personal: set[str]
) -> list[ConfigField]:
    out: list[ConfigField] = []
    for name, info in model.model_fields.items():
        nested = _model_type(info.annotation)
        if nested is not None:
            out += _fields(nested, f"{prefix}{name}.", set(), set())
            continue
        default = None if info.default is PydanticUndefined else info.default
        out.append(
            ConfigField(
                name=prefix + name,
                type=_type_name(info.annotation),
                required=info.is_required(),
                default=None if name in secret else default,
                secret=name in secret,
                personal=name in personal,
                description=info.description or "",
            )
        )
    return out


def _model_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return "secret" if annotation.__name__ == "SecretStr" else annotation.__name__
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        optional = type(None) in typing.get_args(annotation)
        return " | ".join(parts) + (" (optional)" if optional else "")
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    return str(annotation).replace("typing.", "")


FROM_INPUT = "-"
"""The value of a personal config field to be read from a prompt or stdin, not argv."""

ValueReader = Callable[[str], str]
"""Reads the value of the named config field from wherever the caller's user types it."""


def read_from_terminal(field: str) -> str:
    """A prompt on a terminal (not echoed), else one line of stdin: a value typed or piped
    this way is in neither the process list nor the shell's history."""
    if sys.stdin.isatty():
        return getpass.getpass(f"{field}: ")
    return sys.stdin.readline().rstrip("\r\n")


def fill_from_input(connector: str, config: dict[str, Any], read: ValueReader) -> dict[str, Any]:
    """``config`` with each personal field given as ``-`` replaced by what ``read`` returns
    for it (one line of stdin per field, in the order given, when piped).

    ConfigError for ``-`` on a field that is not personal (credentials go through ``hub
    secrets set``; other fields are not private) and for an empty answer.
    """
    personal = personal_fields(connector_class(connector).config_model)
    filled = dict(config)
    for field, value in config.items():
        if value != FROM_INPUT:
            continue
        if field not in personal:
            accepted = ", ".join(sorted(personal)) or "none"
            raise ConfigError(
                f"{field}=- reads a value from a prompt or stdin, which only personal fields "
                f"take ({connector}: {accepted}); store credentials with `hub secrets set`"
            )
        typed = read(field).strip()
        if not typed:
            raise ConfigError(f"{field}=-: no value was given on the prompt or stdin")
        filled[field] = typed
    return filled


def _no_input(field: str) -> str:
    raise ConfigError(f"{field}=-: this caller has no prompt or stdin to read the value from")


# A connection's name appears in schedule ids, logs, metrics labels and sealed values' context:
# letters, digits, '.', '_' and '-' only, so no name can pass for another thing's.
CONNECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_connection_name(name: str) -> None:
    """ConfigError saying what a connection name may hold, when ``name`` does not."""
    if not CONNECTION_NAME.fullmatch(name):
        raise ConfigError(
            f"connection name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (for example zendesk-eu)"
        )


async def add_connection(
    hub: Hub,
    name: str,
    connector: str,
    config: dict[str, Any],
    *,
    read: ValueReader = _no_input,
) -> None:
    """Validate and store a connection; credentials must be ``secret:NAME`` references and
    personal fields are sealed. A personal field given as ``-`` is asked of ``read`` (see
    :func:`fill_from_input`). Nothing is stored when anything is wrong."""
    check_connection_name(name)
    await authorize(
        hub, "connections.manage", action="connection.add", target_type="connection", target_id=name
    )
    config = fill_from_input(connector, config, read)
    model = connector_class(connector).config_model
    for field in sorted(secret_fields(model)):
        value = config.get(field)
        if value is not None and referenced_secret(value) is None:
            raise ConfigError(
                f"{field} must be a secret reference: store the value with "
                f"`hub secrets set NAME` and pass {field}=secret:NAME"
            )
    async with hub.engine.connect() as conn:
        resolved = await resolve_secret_refs(conn, hub.keyring, config)
    await build_connector(connector, name, resolved).aclose()  # validates before storing
    keyring = hub.keyring
    stored = seal_personal_config(connector, name, config, keyring)
    async with hub.engine.begin() as conn:
        await confirm_primaries(conn, keyring)  # counts the seals; never under a rotated key
        await store.add_connection(conn, name, connector, stored, utcnow())
        await record_action(
            hub,
            conn,
            "connection.add",
            target_type="connection",
            target_id=name,
            fields=sorted(config),
            detail={"connector": connector},
        )


async def list_connections(hub: Hub) -> list[dict[str, Any]]:
    """Each connection with its connector, base URL and last run."""
    await authorize(hub, "connections.read", action="connection.list")
    async with hub.engine.connect() as conn:
        out = []
        for r in await store.list_connections(conn):
            runs = await recent_runs(conn, r.name, limit=1)
            out.append(
                {
                    "name": r.name,
                    "connector": r.connector,
                    "base_url": r.config.get("base_url", ""),
                    "last_run": runs[0].started_at if runs else None,
                    "last_status": runs[0].status if runs else None,
                }
            )
        return out


async def test_connection(hub: Hub, name: str) -> None:
    """One cheap call with the connection's credentials; raises when they are refused."""
    await authorize(
        hub,
        "connections.manage",
        action="connection.test",
        target_type="connection",
        target_id=name,
    )
    async with hub.connection(name) as connector:
        await connector.check()


async def remove_connection(hub: Hub, name: str) -> bool:
    """Forget a connection's config (its synced records stay)."""
    await authorize(
        hub,
        "connections.manage",
        action="connection.remove",
        target_type="connection",
        target_id=name,
    )
    async with hub.engine.begin() as conn:
        removed = await store.remove_connection(conn, name)
        await record_action(
            hub,
            conn,
            "connection.remove",
            target_type="connection",
            target_id=name,
            outcome="success" if removed else "failure",
        )
        return removed


async def connection_names(hub: Hub) -> list[str]:
    async with hub.engine.connect() as conn:
        return [r.name for r in await store.list_connections(conn)]
