"""Creating a hub: config file, master key, migrated database."""

from __future__ import annotations

import os
from pathlib import Path

from hub.config import CONFIG_FILE_NAME, load_settings, write_default_config
from hub.runtime import Hub
from hub.vault import create_master_key


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
