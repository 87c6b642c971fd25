"""What each ``hub`` command does, as plain async functions (the CLI only prints)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.config import CONFIG_FILE_NAME, Settings, load_settings, write_default_config
from hub.connector import secret_fields
from hub.errors import ConfigError
from hub.models import BlindIndexKind
from hub.plugins import connector_class
from hub.replay import ReplayResult, replay_quarantine
from hub.runtime import Hub, build_connector, seal_personal_config, utcnow
from hub.store import connections as conns
from hub.store import quarantine as q
from hub.store.records import find_by_blind_index
from hub.store.runs import recent_runs
from hub.sync import (
    QUARANTINE_TABLE,
    ProgressCallback,
    StreamResult,
    quarantine_row_key,
    sync_connection,
)
from hub.vault import (
    blind_index,
    create_master_key,
    normalise_email,
    normalise_phone,
    open_value,
    referenced_secret,
    resolve_secret_refs,
)
from hub.vault import (
    list_secrets as vault_list_secrets,
)
from hub.vault import (
    remove_secret as vault_remove_secret,
)
from hub.vault import (
    set_secret as vault_set_secret,
)


async def initialise(directory: Path, *, explicit_config: Path | None = None) -> list[str]:
    """Create (or complete) a hub in ``directory``: config, master key, migrated database."""
    directory.mkdir(parents=True, exist_ok=True)
    path = explicit_config or directory / CONFIG_FILE_NAME
    done: list[str] = []
    if not path.exists():
        write_default_config(path)
        done.append(f"wrote {path}")
    settings = load_settings(path)
    key_file = settings.resolved_key_file
    if not key_file.exists() and "HUB_MASTER_KEY" not in os.environ:
        create_master_key(key_file)
        done.append(f"created master key {key_file} (mode 0600; back it up, never commit it)")
    async with Hub.open(settings):
        pass
    done.append(f"database ready at {settings.resolved_database_url.split('://', 1)[0]}://…")
    return done


async def add_connection(
    settings: Settings, name: str, connector: str, config: dict[str, Any]
) -> None:
    for field in secret_fields(connector_class(connector).config_model):
        value = config.get(field)
        if value is not None and referenced_secret(value) is None:
            raise ConfigError(
                f"{field} must be a secret reference: store the value with "
                f"`hub secrets set NAME` and pass {field}=secret:NAME"
            )
    async with Hub.open(settings) as hub:
        async with hub.engine.connect() as conn:
            resolved = await resolve_secret_refs(conn, hub.keyring, config)
        build_connector(connector, name, resolved)  # validates before anything is stored
        stored = seal_personal_config(connector, name, config, hub.keyring)
        async with hub.engine.begin() as conn:
            await conns.add_connection(conn, name, connector, stored, utcnow())


async def list_connections(settings: Settings) -> list[dict[str, Any]]:
    async with Hub.open(settings) as hub, hub.engine.connect() as conn:
        rows = await conns.list_connections(conn)
        out = []
        for r in rows:
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


async def test_connection(settings: Settings, name: str) -> None:
    async with Hub.open(settings) as hub:
        connector = await hub.connector(name)
        async with connector:
            await connector.check()


async def remove_connection(settings: Settings, name: str) -> bool:
    async with Hub.open(settings) as hub, hub.engine.begin() as conn:
        return await conns.remove_connection(conn, name)


async def set_secret(settings: Settings, name: str, value: str) -> None:
    async with Hub.open(settings) as hub, hub.engine.begin() as conn:
        await vault_set_secret(conn, hub.keyring, name, value)


async def list_secrets(settings: Settings) -> list[tuple[str, datetime]]:
    async with Hub.open(settings) as hub, hub.engine.connect() as conn:
        return await vault_list_secrets(conn)


async def remove_secret(settings: Settings, name: str) -> bool:
    async with Hub.open(settings) as hub, hub.engine.begin() as conn:
        return await vault_remove_secret(conn, name)


async def sync(
    settings: Settings,
    connection: str | None,
    *,
    streams: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: ProgressCallback | None = None,
) -> list[StreamResult]:
    """Sync one connection, or every configured one."""
    async with Hub.open(settings) as hub:
        if connection is None:
            async with hub.engine.connect() as conn:
                names = [r.name for r in await conns.list_connections(conn)]
            if not names:
                raise ConfigError("no connections configured; add one with `hub connections add`")
        else:
            names = [connection]
        results: list[StreamResult] = []
        for name in names:
            # Failures are in the results (the CLI shows them in its table and exits 1).
            results += await sync_connection(
                hub,
                name,
                streams=streams,
                full_refresh=full_refresh,
                progress=progress,
                raise_errors=False,
            )
        return results


def _entry_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "connection": row.connection,
        "stream": row.stream,
        "object_type": row.object_type,
        "external_id": row.external_id,
        "mapping_version": row.mapping_version,
        "error": row.error,
        "created_at": row.created_at,
    }


async def list_quarantine(
    settings: Settings, connection: str | None, limit: int
) -> list[dict[str, Any]]:
    async with Hub.open(settings) as hub, hub.engine.connect() as conn:
        return [_entry_dict(r) for r in await q.list_open(conn, connection, limit)]


async def show_quarantine(settings: Settings, entry_id: int) -> dict[str, Any]:
    """An entry with the field names of its payload; the values stay sealed."""

    async with Hub.open(settings) as hub:
        async with hub.engine.connect() as conn:
            row = await q.get_entry(conn, entry_id)
        if row is None:
            raise ConfigError(f"no quarantine entry {entry_id}; see `hub quarantine list`")
        raw = open_value(
            row.raw,
            hub.keyring,
            table=QUARANTINE_TABLE,
            column="raw",
            row=quarantine_row_key(row.connection, row.object_type, row.external_id),
        )
        return {
            **_entry_dict(row),
            "resolved_at": row.resolved_at,
            "payload_fields": sorted(raw) if isinstance(raw, dict) else [],
        }


async def replay(
    settings: Settings, connection: str | None, entry_ids: Sequence[int] | None
) -> ReplayResult:
    async with Hub.open(settings) as hub:
        return await replay_quarantine(hub, connection=connection, entry_ids=entry_ids)


async def find_customers(
    settings: Settings, *, email: str | None, phone: str | None, region: str | None = None
) -> list[dict[str, Any]]:
    """Records whose blind index matches: computed from the query, nothing decrypted."""
    kind: BlindIndexKind = "email" if email is not None else "phone"
    try:
        value = (
            normalise_email(email) if email is not None else normalise_phone(phone or "", region)
        )
    except ValueError as exc:
        raise ConfigError(f"--{kind}: not a valid {kind} address ({exc})") from None
    async with Hub.open(settings) as hub, hub.engine.connect() as conn:
        digests = [blind_index(kind, value, key) for key in hub.keyring.index_keys()]
        rows = await find_by_blind_index(conn, kind, digests)
        return [dict(r._mapping) for r in rows]
