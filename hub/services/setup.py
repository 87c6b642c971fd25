"""Creating a hub: config file, master key, migrated database.

This is the only place a hub database is created; every other command refuses one that does
not exist or was never initialised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hub.audit.signing import load_signer
from hub.config import CONFIG_FILE_NAME, Settings, load_settings, write_default_config
from hub.errors import VaultError
from hub.runtime import Hub
from hub.store.engine import display_url, open_engine
from hub.vault import create_master_key, holds_data_keys
from hub.vault.master_key import ENV_VAR as MASTER_KEY_VAR

DATABASE_URL_VAR = "HUB_DATABASE_URL"


async def initialise(directory: Path, *, explicit_config: Path | None = None) -> list[str]:
    """Create (or complete) a hub in ``directory``: config, master key, migrated database.

    A new hub.toml records ``HUB_DATABASE_URL`` when it is set, so later commands open the
    same database without it. A master key is created only for a database without data keys:
    for one that has them, only the original key will do.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = (explicit_config or directory / CONFIG_FILE_NAME).resolve()
    done: list[str] = []
    if not path.exists():
        write_default_config(path, _values_from_environment())
        done.append(f"wrote {path}")
    settings = load_settings(path)
    key_file = settings.resolved_key_file
    uses_file = MASTER_KEY_VAR not in os.environ and settings.master_key_provider is None
    if not key_file.exists() and uses_file:
        await _refuse_a_new_key_for_existing_data_keys(settings)
        create_master_key(key_file)
        done.append(f"created master key {key_file} (mode 0600; back it up, never commit it)")
    audit_key = settings.resolved_audit_key_file
    if not audit_key.exists():
        load_signer(audit_key)
        done.append(f"created audit signing key {audit_key} (mode 0600; keep it off the database)")
    async with Hub.open(settings, create=True):
        pass
    done.append(f"database ready at {display_url(settings.resolved_database_url)}")
    return done


def _values_from_environment() -> dict[str, Any]:
    url = os.environ.get(DATABASE_URL_VAR)
    return {"database_url": url} if url else {}


async def _refuse_a_new_key_for_existing_data_keys(settings: Settings) -> None:
    """VaultError if the database already holds data keys (a new master key opens none)."""
    url = settings.resolved_database_url
    engine = await open_engine(url, create=True)
    try:
        async with engine.connect() as conn:
            wrapped = await holds_data_keys(conn)
    finally:
        await engine.dispose()
    if wrapped:
        raise VaultError(
            f"the database at {display_url(url)} already holds data keys, but their master key "
            f"is missing (no file {settings.resolved_key_file}, {MASTER_KEY_VAR} not set); "
            "restore the original key from backup: `hub init` will not create a new one, "
            "which could open none of them"
        )
