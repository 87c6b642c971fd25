"""A connector whose vendor is a Python object: for engine tests that are about the hub, not
about HTTP or any vendor.

A :class:`MemorySource` holds streams as change logs; the :class:`MemoryConnector` reads them
from a position, one page at a time, and can be told to fail at a given page. A source is
either registered under a name by a test (and changed while the test runs) or generated from
``generate = {people, cases, seed, ...}`` in the connection's config, so a subprocess (a crash
test, a CLI test) rebuilds the same data and behaviour. Register the plugin with
``hub.plugins.register_plugin(memory)`` (or run ``python -m hub.testing``, the CLI with it
registered); it is not an entry point, so users never see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub.connector import Connector, ConnectorConfig, EmailAddress, Page, Stream
from hub.errors import AuthError, ConfigError, VendorError
from hub.models import Pii
from hub.plugins import hookimpl

log = logging.getLogger(__name__)

MAPPINGS_DIR = Path(__file__).parent / "mappings"
STREAMS = ("people", "cases")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_STATUSES = ("new", "open", "pending", "solved", "closed")
INVALID_EVERY = 25  # every 25th generated case has a status no mapping knows: quarantined


@dataclass
class Change:
    """One entry of a stream's change log: a record's new version, or its deletion by id."""

    record: dict[str, Any] | None
    deleted_id: str | None = None


@dataclass
class MemorySource:
    """The "vendor": per stream, a log of changes read in order from a position."""

    logs: dict[str, list[Change]] = field(default_factory=lambda: {s: [] for s in STREAMS})
    token: str | None = None  # when set, check() and read() require it
    fail_at_page: int | None = None  # raise VendorError when this page (0-based) is read
    page_delay_seconds: float = 0.0
    pages_read: int = 0
    clock: int = 0  # seconds after 2024-01-01 of the next change

    def put(self, stream: str, record: dict[str, Any]) -> dict[str, Any]:
        """Add or change a record; it is read again after the current end of the log."""
        record = {**record, "updated_at": self._tick()}
        self.logs[stream].append(Change(record))
        return record

    def delete(self, stream: str, record_id: str) -> None:
        """Report a record deleted by id alone (as a deleted-records endpoint does)."""
        self.logs[stream].append(Change(None, deleted_id=record_id))

    def latest(self, stream: str) -> dict[str, dict[str, Any]]:
        """The current version of every record of ``stream`` by id (what a sync must store)."""
        current: dict[str, dict[str, Any]] = {}
        for change in self.logs[stream]:
            if change.record is not None:
                current[str(change.record["id"])] = change.record
        return current

    def _tick(self) -> str:
        self.clock += 1
        return (_EPOCH + timedelta(seconds=self.clock)).isoformat().replace("+00:00", "Z")

    @classmethod
    def generated(cls, *, people: int, cases: int, seed: int = 0) -> MemorySource:
        """A deterministic source: ``people`` people with a name, an email and a phone each,
        and ``cases`` cases (every ``INVALID_EVERY``-th with an unknown status)."""
        source = cls()
        for i in range(people):
            n = i + seed * 100_000
            source.put(
                "people",
                {
                    "id": f"p{i}",
                    "name": f"Person {n}",
                    "email": f"person{n}@example.com",
                    "phone": f"+1 (415) 555-{n % 10_000:04d}",
                    "tags": ["generated"],
                    "deleted": False,
                },
            )
        for i in range(cases):
            status = "bogus" if i % INVALID_EVERY == INVALID_EVERY - 1 else _STATUSES[i % 5]
            source.put(
                "cases",
                {
                    "id": f"c{i}",
                    "subject": f"Case {i}",
                    "status": status,
                    "person_id": f"p{i % max(people, 1)}",
                    "tags": [],
                },
            )
        return source


_SOURCES: dict[str, MemorySource] = {}


def register_source(name: str, source: MemorySource) -> MemorySource:
    """Make ``source`` readable by connections whose config says ``source = name``."""
    _SOURCES[name] = source
    return source


class Generate(BaseModel):
    """A source built from the config alone, the same in every process that reads it."""

    model_config = ConfigDict(extra="forbid")

    people: int = Field(default=100, ge=0)
    cases: int = Field(default=300, ge=0)
    seed: int = 0
    page_delay_seconds: float = Field(default=0.0, ge=0, description="Wait before each page.")
    fail_at_page: int | None = Field(default=None, ge=0, description="Fail reading this page.")


class MemoryConfig(ConnectorConfig):
    """Where the records come from and how they are paged."""

    base_url: str = "memory://"
    source: str | None = Field(default=None, description="Name of a registered MemorySource.")
    generate: Generate | None = Field(default=None, description="Or generate one.")
    page_size: int = Field(default=50, ge=1, description="Records per page.")
    token: SecretStr | None = Field(default=None, description="Credential the source wants.")
    email: Annotated[EmailAddress | None, Pii()] = Field(
        default=None, description="A personal field."
    )


class MemoryConnector(Connector):
    """Reads a :class:`MemorySource`; no network."""

    name: ClassVar[str] = "memory"
    title: ClassVar[str] = "In-process test source"
    config_model: ClassVar[type[MemoryConfig]] = MemoryConfig
    streams: ClassVar[tuple[Stream, ...]] = (
        Stream("people", "person", "People (customers).", "position"),
        Stream("cases", "case", "Cases, some invalid.", "position"),
    )
    config: MemoryConfig

    def __init__(self, config: MemoryConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.config = config
        self.closed = False
        self._source: MemorySource | None = None

    @property
    def source(self) -> MemorySource:
        if self._source is None:
            self._source = self._find_source()
        return self._source

    def _find_source(self) -> MemorySource:
        if self.config.source is not None:
            if self.config.source not in _SOURCES:
                raise ConfigError(f"no memory source {self.config.source!r} is registered")
            return _SOURCES[self.config.source]
        g = self.config.generate or Generate()
        source = MemorySource.generated(people=g.people, cases=g.cases, seed=g.seed)
        source.page_delay_seconds, source.fail_at_page = g.page_delay_seconds, g.fail_at_page
        return source

    def auth(self) -> httpx.Auth:
        return httpx.Auth()  # no HTTP

    async def check(self) -> None:
        self._authenticate()

    def _authenticate(self) -> None:
        wanted = self.source.token
        given = self.config.token.get_secret_value() if self.config.token else None
        if wanted is not None and given != wanted:
            raise AuthError("the memory source refused the token", connection=self.connection)

    async def read(self, stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        """Pages of the stream's change log after ``state["position"]``."""
        self.stream(stream)
        self._authenticate()
        source = self.source
        position = int((state or {}).get("position", 0))
        changes = source.logs[stream]
        while True:
            if source.fail_at_page is not None and source.pages_read >= source.fail_at_page:
                raise VendorError("the memory source failed on purpose", stream=stream)
            if source.page_delay_seconds:
                await asyncio.sleep(source.page_delay_seconds)
            chunk = changes[position : position + self.config.page_size]
            # As an HTTP client logs each request: a DEBUG line per page, ids and counts only.
            log.debug("read %s/%s from position %d: %d change(s)",
                      self.connection, stream, position, len(chunk))  # fmt: skip
            position += len(chunk)
            source.pages_read += 1
            yield Page(
                records=[c.record for c in chunk if c.record is not None],
                state={"position": position},
                requests=0,
                deleted_ids=[c.deleted_id for c in chunk if c.deleted_id is not None],
            )
            if position >= len(changes):
                return

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()


@hookimpl
def hub_register_connectors() -> list[type[Connector]]:
    return [MemoryConnector]


@hookimpl
def hub_mapping_paths() -> list[str]:
    return [str(MAPPINGS_DIR)]
