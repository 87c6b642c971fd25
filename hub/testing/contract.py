"""The connector contract: the guarantees every connector owes the hub, as a pytest suite a
connector package runs against its own sandbox over loopback with a few lines::

    from hub.testing.contract import ConnectorContract

    class TestAcmeContract(ConnectorContract):
        connector = "acme"
        sandbox_options = {"records": 120, "seed": 3}

Each ``test_`` method is one guarantee, checked through the hub's own path: connections are
added as a user adds them (credentials into the secret store), and syncs run the real engine
against the sandbox the connector's ``sandbox()`` builds, served on a loopback port. The suite
brings its own fixtures (a SQLite file, and a PostgreSQL schema when ``HUB_TEST_DATABASE_URL``
is set), so a package needs nothing of the hub's own tests. The class variables and the two
``*_connection_config`` methods are the knobs; docs/testing-kit.md describes them.

Failure messages name streams, counts and record keys, never record contents or credentials.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import pytest_asyncio
import sqlalchemy as sa

from hub.config import Settings
from hub.connector import Connector, Page, personal_fields, secret_fields
from hub.errors import AuthError, VendorError
from hub.log import configure_logging
from hub.plugins import connector_class
from hub.run import StreamResult
from hub.runtime import Hub
from hub.sandbox.app import SandboxApp, build_sandbox
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services import connections
from hub.services.sandboxes import connect_sandbox
from hub.store.runs import RunCounters
from hub.store.schema import quarantine, sync_runs
from hub.sync import sync_connection
from hub.testing.fixtures import DATABASES, hub_home, temporary_database
from hub.testing.store import Snapshot, open_quarantine, personal_values, store_snapshot
from hub.testing.traffic import Traffic

__all__ = ["FAST_RETRIES", "SHARED_FAULTS", "ConnectorContract", "ServedSandbox"]

# The shared faults: every kind the sandbox kit injects, at modest rates.
SHARED_FAULTS = "429=0.05,500=0.02,reset=0.01,slow=0.02,truncate=0.01,expire=0.01"
# Retries within a test's patience: the faults are transient, so attempts matter, not time.
FAST_RETRIES = {"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_attempts": 12}
_AUTHORIZATION_IN_LOG = re.compile(r"(?i)authorization['\"]?\s*[:=]\s*['\"]?(basic|bearer)\s+\w")


@dataclass(frozen=True)
class ServedSandbox:
    """A sandbox app and where it listens."""

    app: SandboxApp
    running: RunningSandbox


class ConnectorContract:
    """Subclass as ``Test<Name>Contract`` and set :attr:`connector`; the rest is optional."""

    pytestmark = [pytest.mark.asyncio]

    connector: ClassVar[str]
    """Name of the installed connector under test (its ``Connector.name``)."""
    sandbox_options: ClassVar[dict[str, Any]] = {"records": 100, "seed": 1}
    """Keyword arguments of :func:`hub.sandbox.build_sandbox`: small, and without vendor quotas
    (a sandbox's ``relaxed_limits``, say) so the suite measures the connector, not waits."""
    streams: ClassVar[tuple[str, ...] | None] = None
    """Streams to check; None means every stream the connector declares."""
    page_size_field: ClassVar[str | None] = "page_size"
    """Config field for records per request (None when the connector has none)."""
    page_size: ClassVar[int] = 10
    """Small pages, so every stream has page boundaries to resume from."""
    config_overrides: ClassVar[dict[str, Any]] = {}
    """Set on every connection config the suite adds, after the sandbox's own values."""
    mutations: ClassVar[int] = 6
    """How many records the incremental check asks the sandbox to change."""
    shared_faults: ClassVar[str] = SHARED_FAULTS
    retry_after_faults: ClassVar[str] = "429=0.2"
    """Faults of the Retry-After check: enough 429s that some surely come."""
    expire_faults: ClassVar[str] = "expire=0.05"
    """Faults of the token check: access tokens the sandbox declares expired."""

    # -- knobs -----------------------------------------------------------------------------

    def sandbox_connection_config(self, sandbox: ServedSandbox) -> dict[str, Any]:
        """The connection config (secret values in clear) for the sandbox's plainest
        credentials; by default the sandbox's own ``connection_config``."""
        return dict(
            sandbox.app.connection_config(sandbox.running.base_url, sandbox.running.ca_file)
        )

    def oauth_connection_config(self, sandbox: ServedSandbox) -> dict[str, Any] | None:
        """A config that authenticates with expiring OAuth tokens, or None when the connector
        has none. By default the sandbox's ``oauth_connection_config(base_url, ca_file)``;
        the token checks skip when it gives none."""
        config = sandbox.app.oauth_connection_config(
            sandbox.running.base_url, sandbox.running.ca_file
        )
        return None if config is None else dict(config)

    # -- fixtures --------------------------------------------------------------------------

    @pytest.fixture(params=DATABASES)
    def contract_database_url(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[str]:
        """An empty database: a SQLite file, and a PostgreSQL schema when configured."""
        if request.param == "postgres":
            request.applymarker(pytest.mark.postgres)
        with temporary_database(str(request.param), tmp_path) as url:
            yield url

    @pytest.fixture
    def contract_settings(
        self, tmp_path: Path, contract_database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> Settings:
        monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
        monkeypatch.delenv("HUB_CONFIG", raising=False)
        return hub_home(tmp_path, contract_database_url)

    @pytest_asyncio.fixture
    async def contract_hub(self, contract_settings: Settings) -> AsyncIterator[Hub]:
        async with Hub.open(contract_settings, create=True) as opened:
            yield opened

    # -- the contract ----------------------------------------------------------------------

    async def test_check_accepts_the_sandbox_credentials_and_refuses_altered_ones(
        self, contract_hub: Hub
    ) -> None:
        hub = contract_hub
        model = connector_class(self.connector).config_model
        async with self.serve() as sandbox:
            configs = {"plain": self.connection_config(sandbox)}
            oauth = self.oauth_config(sandbox)
            if oauth is not None:
                configs["oauth"] = oauth
            altered = 0
            for label, config in configs.items():
                await self.connect(hub, f"good-{label}", config)
                await connections.test_connection(hub, f"good-{label}")
                for field in sorted(f for f in secret_fields(model) if config.get(f) is not None):
                    name = f"bad-{label}-{field}"
                    await self.connect(hub, name, {**config, field: _altered(str(config[field]))})
                    with pytest.raises(AuthError):
                        await connections.test_connection(hub, name)
                    altered += 1
        assert altered, f"{self.connector}'s sandbox config has no secret field to alter"

    async def test_full_read_stores_every_stream_and_its_counters_add_up(
        self, contract_hub: Hub
    ) -> None:
        hub = contract_hub
        async with self.serve() as sandbox:
            await self.connect(hub, "full", self.connection_config(sandbox))
            results = await self.sync_ok(hub, "full")
        for result in results:
            c, stream = result.counters, result.stream
            assert c.pages >= 1 and c.records_read >= 1, f"{stream}: the sandbox served no records"
            assert await _stored_counters(hub, result.run_id) == c, (
                f"{stream}: the run's committed counters differ from what the run reported"
            )
            stored = await store_snapshot(hub, "full", stream)
            assert len(stored) == c.records_written + c.records_deleted, (
                f"{stream}: {len(stored)} records stored, but the run counted "
                f"{c.records_written} written and {c.records_deleted} deleted"
            )
            held = await _quarantine_rows(hub, "full", stream)
            assert len(held) == c.records_quarantined, (
                f"{stream}: {len(held)} quarantine entries, {c.records_quarantined} counted"
            )

    async def test_incremental_read_after_a_change_writes_exactly_the_changed_records(
        self, contract_hub: Hub
    ) -> None:
        hub = contract_hub
        async with self.serve() as sandbox:
            await self.connect(hub, "inc", self.connection_config(sandbox))
            await self.sync_ok(hub, "inc")
            before = await store_snapshot(hub, "inc")
            mutated = sandbox.app.mutate(self.mutations)
            results = await self.sync_ok(hub, "inc")
            after = await store_snapshot(hub, "inc")
        assert mutated, "the sandbox's mutate() changed nothing"
        changed = {key for key, value in after.items() if before.get(key) != value}
        written = sum(r.counters.records_written + r.counters.records_deleted for r in results)
        assert written == len(changed), (
            f"the incremental run wrote {written} records; {len(changed)} changed in the store"
        )
        missed = [m for m in mutated if not any(_names(m, key) for key in changed)]
        assert not missed, f"changed in the sandbox but not in the store: {missed}"
        extra = sorted(k for k in changed if not any(_names(m, k) for m in mutated))
        assert not extra, f"changed in the store but not in the sandbox: {extra[:10]}"

    async def test_resuming_from_every_page_boundary_gives_the_uninterrupted_store(
        self, contract_hub: Hub
    ) -> None:
        hub = contract_hub
        boundaries = 0
        async with self.serve() as sandbox:
            config = self.connection_config(sandbox)
            for i, stream in enumerate(self.stream_names()):
                await self.connect(hub, f"ref-{i}", config)
                [whole] = await self.sync_ok(hub, f"ref-{i}", [stream])
                expected = await _outcome(hub, f"ref-{i}")
                for k in range(1, whole.counters.pages):
                    name = f"cut-{i}-{k}"
                    await self.connect(hub, name, config)
                    async with hub.connection(name) as connector:
                        with _fail_after(connector, k):
                            [cut] = await sync_connection(
                                hub, name, streams=[stream], raise_errors=False
                            )
                    assert cut.status == "failed" and cut.counters.pages == k, (
                        f"{stream}: a read failing on page {k + 1} committed "
                        f"{cut.counters.pages} pages ({cut.status})"
                    )
                    await self.sync_ok(hub, name, [stream])
                    difference = _difference(expected, await _outcome(hub, name))
                    assert not difference, f"{stream} resumed after page {k}: {difference}"
                    boundaries += 1
        assert boundaries, f"no stream had two pages at page size {self.page_size}: nothing resumed"

    async def test_shared_faults_leave_the_store_of_a_fault_free_run(
        self, contract_hub: Hub, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hub = contract_hub
        Traffic().skip_pauses(monkeypatch)
        async with self.serve() as clean, self.serve(faults=self.shared_faults) as faulty:
            await self.connect(hub, "clean", self.token_config(clean))
            await self.connect(hub, "faulty", self.token_config(faulty))
            await self.sync_ok(hub, "clean")
            await self.sync_ok(hub, "faulty")
        assert faulty.app.stats.faults, "the sandbox injected no fault"
        difference = _difference(
            await _outcome(hub, "clean", clean.running.base_url),
            await _outcome(hub, "faulty", faulty.running.base_url),
        )
        assert not difference, f"faults {faulty.app.stats.faults} changed the store: {difference}"

    async def test_retry_after_is_honoured(
        self, contract_hub: Hub, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hub = contract_hub
        traffic = Traffic()
        traffic.skip_pauses(monkeypatch)
        async with self.serve(faults=self.retry_after_faults) as sandbox:
            await self.connect(hub, "limited", self.connection_config(sandbox))
            async with hub.connection("limited") as connector:
                traffic.watch(connector.client)
                await self.sync_ok(hub, "limited")
        asked = [e for e in traffic.exchanges if e.status == 429 and e.retry_after is not None]
        assert asked, "no 429 with Retry-After reached the client; the sandbox must send one"
        assert traffic.unhonoured_retry_afters() == []

    async def test_each_expired_token_is_refreshed_exactly_once(
        self, contract_hub: Hub, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hub = contract_hub
        traffic = Traffic()
        traffic.skip_pauses(monkeypatch)
        async with self.serve(faults=self.expire_faults) as sandbox:
            config = self.oauth_config(sandbox)
            if config is None:
                pytest.skip(f"{self.connector}'s sandbox offers no OAuth connection config")
            await self.connect(hub, "oauth", config)
            async with hub.connection("oauth") as connector:
                traffic.watch(connector.client)
                await self.sync_ok(hub, "oauth")
        expired = sandbox.app.stats.faults.get("expire", 0)
        assert expired, "the sandbox declared no token expired (are the requests bearer ones?)"
        tokens = traffic.bearer_tokens()
        assert len(tokens) == expired + 1, (
            f"{expired} expiries should give {expired + 1} tokens; the client used {len(tokens)}"
        )

    async def test_debug_logs_of_a_full_sync_hold_no_credential_or_personal_value(
        self, contract_hub: Hub
    ) -> None:
        hub = contract_hub
        model = connector_class(self.connector).config_model
        traffic, buffer = Traffic(), io.StringIO()
        watched: dict[str, str] = {}  # value -> what it is (the message names only the kind)
        async with self.serve() as sandbox:
            configs = {"plain": self.connection_config(sandbox)}
            oauth = self.oauth_config(sandbox)
            if oauth is not None:
                configs["oauth"] = oauth
            for name, config in configs.items():
                for field in secret_fields(model) | personal_fields(model):
                    if isinstance(config.get(field), str):
                        watched[config[field]] = f"config field {field}"
                await self.connect(hub, name, config)
                async with hub.connection(name) as connector:
                    traffic.watch(connector.client)
                    with _debug_logging(buffer):
                        await self.sync_ok(hub, name)
        logs = buffer.getvalue()
        assert "DEBUG" in logs, "DEBUG logging was not on during the sync"
        watched.update(dict.fromkeys(traffic.authorizations(), "an Authorization value"))
        for name in configs:
            found = _identifying(personal_values(await store_snapshot(hub, name)))
            watched.update(dict.fromkeys(found, "a personal value of a stored record"))
        assert len(watched) > len(configs), "found no credential or personal value to look for"
        lowered = logs.lower()
        leaked = sorted({kind for value, kind in watched.items() if value.lower() in lowered})
        assert not leaked, f"the DEBUG log holds {', '.join(leaked)}"
        assert not _AUTHORIZATION_IN_LOG.search(logs), "the DEBUG log holds an Authorization header"

    async def test_every_record_maps_or_lands_in_the_quarantine_with_a_reason(
        self, contract_hub: Hub
    ) -> None:
        hub = contract_hub
        async with self.serve() as sandbox:
            await self.connect(hub, "mapped", self.connection_config(sandbox))
            results = await self.sync_ok(hub, "mapped")
        for result in results:
            c = result.counters
            accounted = (
                c.records_written
                + c.records_unchanged
                + c.records_deleted
                + c.records_quarantined
                + c.records_erased
            )
            assert c.records_read == accounted, (
                f"{result.stream}: {c.records_read} records read, {accounted} written, unchanged, "
                f"deleted, quarantined or erased ({c})"
            )
        held = await _quarantine_rows(hub, "mapped")
        without_reason = [(stream, key) for stream, key, error in held if not error.strip()]
        assert not without_reason, f"quarantined without a reason: {without_reason[:10]}"

    # -- building blocks -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self, faults: str | None = None) -> AsyncIterator[ServedSandbox]:
        """The connector's sandbox with :attr:`sandbox_options` (and ``faults``), served on a
        loopback port for the block."""
        options = {"records": 100, "seed": 1, **self.sandbox_options}
        app = build_sandbox(self.connector, faults=faults, **options)
        async with serve_in_background(app) as running:
            yield ServedSandbox(app, running)

    def connection_config(self, sandbox: ServedSandbox) -> dict[str, Any]:
        """The plain config, tuned for tests (small pages, fast retries, the overrides)."""
        return self._tuned(self.sandbox_connection_config(sandbox))

    def oauth_config(self, sandbox: ServedSandbox) -> dict[str, Any] | None:
        """The OAuth config tuned for tests, or None."""
        config = self.oauth_connection_config(sandbox)
        return None if config is None else self._tuned(config)

    def token_config(self, sandbox: ServedSandbox) -> dict[str, Any]:
        """The OAuth config when there is one (so ``expire`` faults bite), else the plain."""
        return self.oauth_config(sandbox) or self.connection_config(sandbox)

    def _tuned(self, config: dict[str, Any]) -> dict[str, Any]:
        tuned = dict(config)
        if self.page_size_field is not None:
            tuned[self.page_size_field] = self.page_size
        tuned["http"] = {**FAST_RETRIES, **(tuned.get("http") or {})}
        tuned.update(self.config_overrides)
        return tuned

    def stream_names(self) -> tuple[str, ...]:
        declared = tuple(s.name for s in connector_class(self.connector).streams)
        return self.streams if self.streams is not None else declared

    async def connect(self, hub: Hub, name: str, config: dict[str, Any]) -> None:
        """Add connection ``name`` as a user does: secrets stored, config validated."""
        await connect_sandbox(hub, name, self.connector, config)

    async def sync_ok(
        self, hub: Hub, name: str, streams: Sequence[str] | None = None
    ) -> list[StreamResult]:
        """Sync ``streams`` (default: the suite's) of ``name``; every one must succeed."""
        results = await sync_connection(
            hub, name, streams=list(streams or self.stream_names()), raise_errors=False
        )
        failed = [f"{r.stream}: {r.error}" for r in results if r.status != "succeeded"]
        assert not failed, f"sync of {name} failed: {'; '.join(failed)}"
        return results


def _altered(value: str) -> str:
    """The same credential with its last character changed: well-formed, and wrong."""
    if not value:
        return "x"
    return value[:-1] + ("y" if value[-1] == "x" else "x")


def _names(mutated: str, key: tuple[str, str]) -> bool:
    """Whether a ``mutate()`` id (``external_id`` or ``object_type/external_id``) is ``key``."""
    object_type, external_id = key
    return mutated in (external_id, f"{object_type}/{external_id}")


def _identifying(values: set[str]) -> set[str]:
    """Values that single someone out: long enough, and not a placeholder such as 0000000."""
    return {v for v in values if len(v) >= 8 and len(set(v) - set("+0 -().")) > 1}


# The SQLite driver logs every statement and its result rows at DEBUG (sealed values only:
# the store's own privacy tests cover it); redacting that megabyte would cost the check most
# of its time and tell nothing about the connector.
_QUIETED_LOGGERS = ("aiosqlite",)


@contextlib.contextmanager
def _debug_logging(stream: io.StringIO) -> Iterator[None]:
    """The hub's own DEBUG logging (redaction included) into ``stream`` alone, then the
    logging set-up as it was (the test runner's capture handlers are set aside meanwhile)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quieted = {name: logging.getLogger(name).level for name in _QUIETED_LOGGERS}
    root.handlers.clear()
    handler = configure_logging("DEBUG", stream=stream)
    for name in quieted:
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in quieted.items():
            logging.getLogger(name).setLevel(was)


@contextlib.contextmanager
def _fail_after(connector: Connector, pages: int) -> Iterator[None]:
    """Make ``connector.read`` yield ``pages`` pages, then fail fetching the next one."""
    original = connector.read

    async def read(stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        async with contextlib.aclosing(original(stream, state)) as source:  # type: ignore[type-var]
            served = 0
            async for page in source:
                if served == pages:
                    raise VendorError(f"the contract suite failed page {pages + 1}", stream=stream)
                served += 1
                yield page

    setattr(connector, "read", read)  # noqa: B010 - an instance's method replaced for the block
    try:
        yield
    finally:
        delattr(connector, "read")


Outcome = tuple[Snapshot, list[tuple[str, str, str | None, str]]]


async def _outcome(hub: Hub, connection: str, base_url: str | None = None) -> Outcome:
    """What a connection's syncs left: its records and its open quarantine entries.

    With ``base_url``, the sandbox's address in vendor records (self links) reads
    ``<sandbox>``, so the stores of two sandboxes on different ports compare equal.
    """
    snapshot = await store_snapshot(hub, connection)
    if base_url is not None:
        snapshot = {
            key: (kind, deleted, data, _without(base_url, raw))
            for key, (kind, deleted, data, raw) in snapshot.items()
        }
    return snapshot, await open_quarantine(hub, connection)


def _without(base_url: str, raw: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(raw, sort_keys=True).replace(base_url, "<sandbox>")
    return dict(json.loads(text))


def _difference(expected: Outcome, actual: Outcome) -> str:
    """How two outcomes differ, by record key and count only (no contents); "" if equal."""
    (want, want_held), (got, got_held) = expected, actual
    parts = []
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    for label, keys in (("missing", missing), ("unexpected", extra), ("different", differ)):
        if keys:
            parts.append(f"{len(keys)} {label} records, e.g. {keys[:5]}")
    if want_held != got_held:
        parts.append(f"open quarantine entries {len(want_held)} vs {len(got_held)}")
    return "; ".join(parts)


async def _stored_counters(hub: Hub, run_id: int) -> RunCounters:
    async with hub.engine.connect() as conn:
        row = (await conn.execute(sa.select(sync_runs).where(sync_runs.c.id == run_id))).one()
    return RunCounters.of_run(row)


async def _quarantine_rows(
    hub: Hub, connection: str, stream: str | None = None
) -> list[tuple[str, str, str]]:
    """Every quarantine entry (open or resolved) as (stream, object_type/external_id, error)."""
    query = sa.select(
        quarantine.c.stream, quarantine.c.object_type, quarantine.c.external_id, quarantine.c.error
    ).where(quarantine.c.connection == connection)
    if stream is not None:
        query = query.where(quarantine.c.stream == stream)
    async with hub.engine.connect() as conn:
        return [(s, f"{t}/{e}", err or "") for s, t, e, err in await conn.execute(query)]
