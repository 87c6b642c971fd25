"""An open hub: settings, the database engine, the keyring, mappings, and one runtime per
connection.

Every command and service works through one :class:`Hub`. Per connection the hub holds one
connector instance, and with it one HTTP client, one rate limiter and one credential state,
shared by every stream, write-back, scheduler job and API request of that connection in this
process: built on first use, rebuilt when the connection's stored config or one of its secrets
changes, and closed with the hub.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.audit.entry import Actor
from hub.audit.reads import AuditedReads
from hub.config import Settings
from hub.connection_config import build_connector, open_personal_config
from hub.connector import Connector, CredentialSaver
from hub.errors import VaultError
from hub.gc_tuning import tune_for_sync
from hub.mapping import Mapping, find_mapping
from hub.plugins import plugin_mapping_paths
from hub.store.connections import get_connection
from hub.store.engine import open_engine
from hub.store.schema import secrets
from hub.sync_workers import SyncWorkers, worker_count
from hub.vault import Keyring, referenced_secret, resolve_secret_refs, set_secret
from hub.vault.key_sources import MasterKey, find_master_key, installed_providers
from hub.vault.rotation import KeyringStale
from hub.vault.subjects import load_subject_keys
from hub.vault.wrapping import KeyDoesNotOpen

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ConnectionRuntime:
    """One connection's live connector (client, limiter, credentials) and who is using it."""

    name: str
    connector: Connector
    # One cell, of the stored config and its secrets as last built or saved by the connector
    # itself (a rotated refresh token is not a change that should rebuild it).
    _fingerprint: list[str]
    users: int = 0
    retired: bool = False  # replaced after a config change; closed when its last user leaves

    @property
    def fingerprint(self) -> str:
        return self._fingerprint[0]


class Hub:
    """The hub's working parts for one process."""

    def __init__(self, settings: Settings, engine: AsyncEngine, keyring: Keyring) -> None:
        self.settings = settings
        self.engine = engine
        self.keyring = keyring
        # Who acts through this hub (hub.audit.access); None: the local OS user as admin.
        self.actor: Actor | None = None
        # Concurrent audited record reads (reveals) commit their entries in one batch.
        self.audited_reads = AuditedReads(engine, before_entries=self._load_subject_keys)
        self._mappings: dict[str, Mapping] = {}
        self._runtimes: dict[str, ConnectionRuntime] = {}
        self._retired: list[ConnectionRuntime] = []
        self._building = asyncio.Lock()
        # Kept to reload the keyring after another process rotates a key (set by open()).
        self._master_key: bytes | None = None
        self._sync_workers: SyncWorkers | None = None

    async def _load_subject_keys(self, conn: AsyncConnection, rows: Sequence[Any]) -> None:
        """The customer keys of these records' tokens, into the keyring (one select)."""
        await load_subject_keys(conn, self.keyring, [(r.data, r.raw) for r in rows])

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings, *, create: bool = False, allow_damaged_keys: bool = False
    ) -> AsyncIterator[Hub]:
        """Open the database (migrating it), load the keys, and close everything after.

        The database must have been initialised unless ``create`` (``hub init``, test
        fixtures) asks for a new one; see :func:`hub.store.engine.open_engine`. A damaged
        data key is an error unless ``allow_damaged_keys`` (`hub check`, which reports it):
        then the keys that open are loaded, and no key is created.
        """
        tune_for_sync()  # this process syncs, or serves what syncs
        engine = await open_engine(settings.resolved_database_url, create=create)
        try:
            found = master_key_of(settings)
            master_key = found.key
            async with engine.connect() as conn:
                try:
                    keyring = await Keyring.load(
                        conn,
                        master_key,
                        create=not allow_damaged_keys,
                        allow_damaged=allow_damaged_keys,
                    )
                except KeyDoesNotOpen as exc:
                    raise wrong_master_key(exc, found, settings.resolved_key_file) from None
            hub = cls(settings, engine, keyring)
            hub._master_key = master_key
            try:
                yield hub
            finally:
                try:
                    await hub.close_connections()
                finally:
                    await hub.close_sync_workers()
        finally:
            await engine.dispose()

    @property
    def master_key(self) -> bytes:
        """The master key this hub opened its keyring with (never logged or shown)."""
        if self._master_key is None:
            raise RuntimeError("this hub was not opened with Hub.open()")
        return self._master_key

    def use_master_key(self, master_key: bytes) -> None:
        """The master key after a rotation (the data keys are now wrapped by it)."""
        self._master_key = master_key

    async def reload_keyring(self) -> Keyring:
        """Read the data keys again (after a rotation, here or in another process); seals
        counted but not yet written carry over to the new keyring."""
        async with self.engine.connect() as conn:
            fresh = await Keyring.load(conn, self.master_key, create=False)
        fresh.add_seals(self.keyring.take_seals())
        self.keyring = fresh
        return fresh

    def mapping(self, connector: str) -> Mapping:
        """The mapping file for ``connector``: operators' folders first, then plugins'."""
        if connector not in self._mappings:
            self._mappings[connector] = find_mapping(connector, self.mapping_dirs())
        return self._mappings[connector]

    def mapping_dirs(self) -> list[Path]:
        """Where mapping files are looked for, in order: operators' folders, then plugins'."""
        return [*self.settings.resolved_mapping_dirs, *map(Path, plugin_mapping_paths())]

    @property
    def sync_workers(self) -> SyncWorkers | None:
        """The worker processes that map and seal pages for every sync of this hub (none
        with ``sync_workers = 0``); their processes start at the first large page."""
        count = worker_count(self.settings.sync_workers)
        if count == 0:
            return None
        if self._sync_workers is None:
            self._sync_workers = SyncWorkers(
                count, min_records=self.settings.sync_worker_min_records
            )
        return self._sync_workers

    async def close_sync_workers(self) -> None:
        """Stop the sync's worker processes (the hub is closing)."""
        workers, self._sync_workers = self._sync_workers, None
        if workers is not None:
            await workers.close()

    # -- per-connection runtimes -----------------------------------------------------------

    @asynccontextmanager
    async def connection(self, name: str) -> AsyncIterator[Connector]:
        """The connection's one connector, with its personal fields opened and ``secret:``
        references resolved; shared by everyone in this process using the connection.

        A connector replaced after a config or secret change is closed once its last user
        leaves, so a running sync keeps its client to the end.
        """
        runtime = await self._runtime(name)
        runtime.users += 1
        try:
            yield runtime.connector
        finally:
            runtime.users -= 1
            if runtime.retired and runtime.users == 0:
                await self._close(runtime)

    async def close_connections(self) -> None:
        """Close every connection's client (the hub is closing)."""
        runtimes = [*self._runtimes.values(), *self._retired]
        self._runtimes.clear()
        for runtime in runtimes:
            await self._close(runtime)

    async def _runtime(self, name: str) -> ConnectionRuntime:
        async with self._building:  # two first uses at once build one connector
            async with self.engine.connect() as conn:
                connector_name, stored = await get_connection(conn, name)
                fingerprint = await _fingerprint(conn, connector_name, stored)
                current = self._runtimes.get(name)
                if current is not None and current.fingerprint == fingerprint:
                    return current
                opened = open_personal_config(connector_name, name, stored, self.keyring)
                config = await resolve_secret_refs(conn, self.keyring, opened)
            fingerprints: list[str] = [fingerprint]  # the saver moves it on after a rotation
            connector = build_connector(
                connector_name,
                name,
                config,
                save_credential=self._saver(name, stored, fingerprints),
            )
            runtime = ConnectionRuntime(name, connector, fingerprints)
            if current is not None:
                log.info("connection %s changed; its connector is rebuilt", name)
                await self._retire(current)
            self._runtimes[name] = runtime
            return runtime

    async def _retire(self, runtime: ConnectionRuntime) -> None:
        runtime.retired = True
        if runtime.users == 0:
            await runtime.connector.aclose()
        else:
            self._retired.append(runtime)

    async def _close(self, runtime: ConnectionRuntime) -> None:
        if runtime in self._retired:
            self._retired.remove(runtime)
        await runtime.connector.aclose()

    def _saver(self, name: str, stored: dict[str, Any], fingerprints: list[str]) -> CredentialSaver:
        """Where a rotated credential goes: back into the secret its config field refers to.

        The runtime's fingerprint follows, so its own save does not look like a change that
        would rebuild the connector (and throw away the credential it just obtained).
        """

        async def save(field: str, value: str) -> None:
            secret = referenced_secret(stored.get(field))
            if secret is None:
                log.warning(
                    "connection %s: the vendor rotated %s, which is not a secret: reference; "
                    "the new value lives only in this process",
                    name,
                    field,
                )
                return
            try:
                await store(secret, value)
            except KeyringStale:  # another process rotated the data key: seal with the new one
                await self.reload_keyring()
                await store(secret, value)

        async def store(secret: str, value: str) -> None:
            async with self.engine.begin() as conn:
                await set_secret(conn, self.keyring, secret, value)
                connector_name, now_stored = await get_connection(conn, name)
                fingerprints[0] = await _fingerprint(conn, connector_name, now_stored)

        return save


async def _fingerprint(conn: AsyncConnection, connector: str, stored: dict[str, Any]) -> str:
    """A digest of a connection's stored config and the sealed values of its secrets: it
    changes when either does (a secret's sealed value changes whenever it is set)."""
    names = sorted(_secret_names(stored))
    sealed: dict[str, str] = {}
    if names:
        rows = await conn.execute(
            sa.select(secrets.c.name, secrets.c.sealed).where(secrets.c.name.in_(names))
        )
        sealed = {n: s for n, s in rows}
    text = json.dumps([connector, stored, sealed], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _secret_names(value: Any) -> set[str]:
    name = referenced_secret(value)
    if name is not None:
        return {name}
    if isinstance(value, dict):
        return set().union(*(_secret_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_secret_names(v) for v in value))
    return set()


def master_key_of(settings: Settings) -> MasterKey:
    """The master key from ``HUB_MASTER_KEY``, the configured key provider or the key file."""
    provider = settings.master_key_provider
    return find_master_key(
        settings.resolved_key_file,
        provider=provider,
        providers=installed_providers() if provider is not None else None,
    )


def wrong_master_key(exc: KeyDoesNotOpen, found: MasterKey, key_file: Path) -> VaultError:
    """A master key that opens no data key: say where it came from and what else was tried
    (and a master key rotation that stopped before its new key file was moved in place)."""
    tried = "; sources tried before it: " + ", ".join(found.tried) if found.tried else ""
    staged = key_file.with_name(key_file.name + ".new")
    hint = (
        f"; {staged} exists: a master key rotation stopped before moving it over {key_file}, "
        "and that new key is probably the one"
        if staged.exists()
        else "; restore the key this database was created with"
    )
    return VaultError(
        f"the master key from {found.source} does not open data key {exc.key_id}{tried}{hint}"
    )
