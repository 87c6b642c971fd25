"""Where the master key comes from: ``HUB_MASTER_KEY``, a key-provider plugin, or the key
file, tried in that order; the first that is configured is used, and every error names the
sources tried, never a key.

A key provider is how a cloud KMS or HashiCorp Vault's transit engine holds the master key:
the hub keeps only a ciphertext of it (or nothing), and the provider asks the service to
decrypt it at start. A provider is any object with a ``name`` and a ``master_key()`` method
returning the 32 bytes, registered by a plugin's ``hub_key_providers`` hook and chosen with
``master_key_provider = "NAME"`` in hub.toml (see docs/security.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from hub.errors import VaultError
from hub.vault.data_key import KEY_BYTES
from hub.vault.master_key import ENV_VAR, load_master_key


@runtime_checkable
class KeyProvider(Protocol):
    """A source of the master key outside the hub (KMS, Vault transit, an HSM)."""

    name: str

    def master_key(self) -> bytes:
        """The 32-byte master key; VaultError (a reason, never key material) if unavailable."""
        ...


@dataclass(frozen=True)
class MasterKey:
    """The master key and where it came from (said in errors; never the key)."""

    key: bytes
    source: str
    tried: tuple[str, ...]

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r})"


def find_master_key(
    key_file: Path,
    *,
    provider: str | None = None,
    providers: Mapping[str, KeyProvider] | None = None,
    env: Mapping[str, str] = os.environ,
) -> MasterKey:
    """The master key from the first configured source; VaultError listing what was tried."""
    tried: list[str] = []
    if ENV_VAR in env:
        return MasterKey(load_master_key(key_file, env), f"the environment variable {ENV_VAR}", ())
    tried.append(f"{ENV_VAR} (not set)")
    if provider is not None:
        source = f"key provider {provider!r}"
        found = (providers or {}).get(provider)
        if found is None:
            installed = ", ".join(sorted(providers or {})) or "none"
            raise VaultError(
                f"the master key is missing: tried {tried[0]}, {source} (not installed; "
                f"installed providers: {installed})"
            )
        try:
            key = found.master_key()
        except VaultError as exc:
            raise VaultError(
                f"the master key is missing: tried {tried[0]}, {source} ({exc})"
            ) from None
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise VaultError(f"{source} returned something that is not a {KEY_BYTES}-byte key")
        return MasterKey(key, source, tuple(tried))
    return MasterKey(load_master_key(key_file, {}), f"the master key file {key_file}", tuple(tried))


def installed_providers() -> dict[str, KeyProvider]:
    """Key providers registered by plugins, by name."""
    from hub.plugins import key_providers

    return key_providers()
