"""What a connector is: a config model, the streams it offers, ``check``, ``read`` and writes.

A connector instance serves one *connection* (a configured account of a vendor). It owns one
``httpx.AsyncClient`` built by :mod:`hub.http`, shared by all its streams, so the client-side
rate limiter and the credential refresh are shared too. Tests may pass their own client (wired
to a sandbox or to respx) instead.
"""

from __future__ import annotations

import abc
import ipaddress
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self, get_args
from urllib.parse import urlsplit

import httpx
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from hub.errors import UnknownStream
from hub.http import (
    GENERIC_ERRORS,
    HttpSettings,
    QuotaHeaders,
    RateLimit,
    VendorErrors,
    create_client,
    request_json,
    requests_sent,
)
from hub.http import CredentialSaver as CredentialSaver  # connectors import it from here
from hub.models import Address, Pii

if TYPE_CHECKING:
    from hub.paging import RestStream

log = logging.getLogger(__name__)


def _email_address(value: str) -> str:
    """``value`` stripped, if it is an email address: syntax only, no DNS, and special-use
    domains (``.test``, ``.example``) allowed, as test and staging accounts use them."""
    try:
        validate_email(
            value.strip(),
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=True,
        )
    except EmailNotValidError:
        raise ValueError("not a valid email address") from None
    return value.strip()


# A config field that holds an email address (a login, say): checked as one, kept as given.
EmailAddress = Annotated[str, AfterValidator(_email_address)]


class ConnectorConfig(BaseModel):
    """Base of a connector's config model.

    Credential fields are typed ``pydantic.SecretStr`` so they never print. In stored
    configuration they are written as ``secret:NAME`` references, resolved by the hub from the
    encrypted secret store just before the connector is built. Personal fields (a login email,
    say) are annotated with :class:`hub.models.Pii`; the hub stores them sealed.
    """

    # Input values stay out of validation errors: they may be credentials.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str
    verify_tls: bool | str = Field(
        default=True, description="True, False, or the path of a CA bundle (for sandboxes)."
    )
    allow_insecure: bool = Field(
        default=False,
        description="Allow plain http or verify_tls=false to a host other than loopback "
        "(credentials then travel unprotected); every run warns.",
    )
    http: HttpSettings = Field(default_factory=HttpSettings)

    @model_validator(mode="after")
    def _transport_is_protected(self) -> Self:
        problem = insecure_transport(self.base_url, self.verify_tls)
        if problem is not None and not self.allow_insecure:
            raise ValueError(
                f"{problem}, so credentials and records would travel unprotected; use "
                "https with verify_tls on, or set allow_insecure=true to accept the risk"
            )
        return self

    def insecure_transport(self) -> str | None:
        """What is unprotected about this connection's transport, or None (see
        :func:`insecure_transport`)."""
        return insecure_transport(self.base_url, self.verify_tls)


def insecure_transport(base_url: str, verify_tls: bool | str) -> str | None:
    """Why traffic to ``base_url`` is unprotected: plain http, or TLS not verified, to a host
    other than loopback (a sandbox on this machine never leaves it). None when protected."""
    url = urlsplit(base_url)
    if _is_loopback(url.hostname or ""):
        return None
    if url.scheme == "http":
        return f"base_url uses plain http to {url.hostname}"
    if verify_tls is False:
        return f"verify_tls is false for {url.hostname}"
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: only "localhost" is known to stay on this machine
        return False


def secret_fields(model: type[ConnectorConfig]) -> set[str]:
    """Config fields typed as secrets: they may only hold secret:NAME references."""
    return {
        name
        for name, info in model.model_fields.items()
        if info.annotation is SecretStr or SecretStr in get_args(info.annotation)
    }


def personal_fields(model: type[ConnectorConfig]) -> set[str]:
    """Config fields marked ``Pii``: the hub seals their values before storing a connection."""
    return {
        name
        for name, info in model.model_fields.items()
        if any(isinstance(meta, Pii) for meta in info.metadata)
    }


@dataclass(frozen=True)
class Stream:
    """One kind of record a connector reads incrementally."""

    name: str
    object_type: str  # vendor object type stored in provenance, e.g. "ticket"
    description: str
    cursor_field: str  # what the cursor tracks, for docs and `hub connector list`
    default_interval: timedelta = timedelta(minutes=15)
    # How far the stored copy may fall behind the source before `hub status` calls the stream
    # late; None: three intervals (two missed fires are noise, three are a problem).
    drift_target: timedelta | None = None

    def drift(self, interval: timedelta) -> timedelta:
        """The drift target of this stream when it syncs every ``interval``."""
        return self.drift_target if self.drift_target is not None else 3 * interval


@dataclass
class Page:
    """One page of raw vendor records and the stream state to resume *after* it.

    The sync engine commits ``records`` and ``state`` in one transaction, so ``state`` must
    be enough to continue exactly after this page on a fresh process.
    """

    records: list[dict[str, Any]]
    state: dict[str, Any]
    requests: int = 1  # HTTP requests it took, for counters and benchmarks
    extras: dict[str, Any] = field(default_factory=dict)
    # Records the vendor reports deleted by id alone (a deleted-records endpoint): the engine
    # stores them as tombstones of the stream's object type.
    deleted_ids: list[str] = field(default_factory=list)


class CaseWrite(BaseModel):
    """A case to create or the fields of a case to update in a source system."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    requester_email: str | None = None
    requester_name: str | None = None
    tags: list[str] | None = None
    external_id: str | None = None


class OutboundMessage(BaseModel):
    """A text message to a customer, sent through a messaging connector (an SMS, say).

    ``to`` and ``body`` are personal data: the hub keeps them sealed in its outbox.
    """

    model_config = ConfigDict(extra="forbid")

    to: str
    body: str
    sender: str | None = None  # the connection's default sender when None


class WriteResult(BaseModel):
    """What a write-back did: the vendor id, and whether it was a replay of an earlier call."""

    external_id: str
    created: bool
    replayed: bool = False
    record: dict[str, Any] = Field(default_factory=dict, repr=False)


class Connector(abc.ABC):
    """Base class of every connector. Subclasses set the class variables and implement
    :meth:`auth`, :meth:`check` and :meth:`read`; write-back methods are optional."""

    name: ClassVar[str]
    title: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    streams: ClassVar[tuple[Stream, ...]]
    # How the vendor's error bodies carry their codes, and which codes mean a spent quota.
    vendor_errors: ClassVar[VendorErrors] = GENERIC_ERRORS

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        connection: str,
        client: httpx.AsyncClient | None = None,
        save_credential: CredentialSaver | None = None,
    ) -> None:
        self.config = config
        self.connection = connection
        self._client = client
        self.save_credential = save_credential

    # -- what a subclass provides ------------------------------------------------------

    @abc.abstractmethod
    def auth(self) -> httpx.Auth:
        """The httpx auth flow for this connection (it may refresh on 401)."""

    def rate_limits(self) -> list[RateLimit]:
        """Client-side limits to stay under the vendor's advertised rate."""
        return []

    def quota_headers(self) -> QuotaHeaders | None:
        """Where the vendor's answers report its rate limit, so the client waits for the
        reset when they say it is spent (None: the vendor's headers are not read)."""
        return None

    def body_error(self, response: httpx.Response, body: Any) -> str | None:
        """Return a message when a 2xx response's body is really an error, else None."""
        return None

    @abc.abstractmethod
    async def check(self) -> None:
        """Verify the credentials with one cheap call; raise AuthError/ConnectorError."""

    async def read(self, stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        """Yield pages of raw records of ``stream`` after ``state`` (None = from the start).

        By default the stream is read by :func:`hub.paging.read_stream` from the declaration
        :meth:`reading` returns; a connector whose API fits no declaration overrides this.
        """
        from hub.paging import read_stream

        async for page in read_stream(self, stream, self.reading(self.stream(stream).name), state):
            yield page

    def reading(self, stream: str) -> RestStream:
        """How ``stream`` is read, as a :class:`hub.paging.RestStream` declaration."""
        raise NotImplementedError(f"{self.name} declares no reading for stream {stream!r}")

    async def create_case(self, case: CaseWrite, *, idempotency_key: str) -> WriteResult:
        """Create a case idempotently: the same key twice creates one case."""
        raise NotImplementedError(f"{self.name} does not support creating cases")

    async def update_case(self, external_id: str, changes: CaseWrite) -> WriteResult:
        """Update fields of an existing case."""
        raise NotImplementedError(f"{self.name} does not support updating cases")

    async def send_message(self, message: OutboundMessage) -> WriteResult:
        """Send ``message`` once. Vendors without an idempotency key may deliver a request
        whose answer was lost: the outbox (:mod:`hub.services.outbox`) calls
        :meth:`find_sent_message` before sending again, never this twice blindly."""
        raise NotImplementedError(f"{self.name} does not support sending messages")

    async def find_sent_message(
        self, message: OutboundMessage, *, since: datetime, exclude: frozenset[str]
    ) -> str | None:
        """The vendor id of ``message`` if it was already sent at or after ``since`` (an id
        in ``exclude`` belongs to another send), else None."""
        raise NotImplementedError(f"{self.name} does not support finding sent messages")

    async def update_customer_address(self, external_id: str, address: Address) -> WriteResult:
        """Replace the postal address of a customer record in the source system."""
        raise NotImplementedError(f"{self.name} does not support updating customer addresses")

    # -- shared machinery --------------------------------------------------------------

    def stream(self, name: str) -> Stream:
        for s in self.streams:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.streams)
        raise UnknownStream(f"{self.name} has no stream {name!r}; streams: {known}")

    @property
    def client(self) -> httpx.AsyncClient:
        """The connection's one HTTP client, built on first use."""
        if self._client is None:
            self._client = create_client(
                self.config.base_url,
                auth=self.auth(),
                settings=self.config.http,
                limits=self.rate_limits(),
                quota=self.quota_headers(),
                verify=self.config.verify_tls,
                connection=self.connection,
            )
        return self._client

    def warn_if_insecure(self) -> None:
        """Log a warning when the connection's transport is unprotected (which its config
        allows only with ``allow_insecure``); called at the start of every run."""
        problem = self.config.insecure_transport()
        if problem is not None:
            log.warning(
                "connection %s: %s (allow_insecure is set): credentials and records travel "
                "unprotected",
                self.connection,
                problem,
            )

    async def request_json(
        self, method: str, url: str, *, retry_safe: bool = False, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        """One JSON request through the retrying machinery of :mod:`hub.http`.

        Mark a POST or PATCH ``retry_safe`` when sending it twice cannot apply it twice (an
        upsert by external id, say); one with an ``Idempotency-Key`` header is retried anyway.
        """
        return await request_json(
            self.client,
            method,
            url,
            settings=self.config.http,
            body_error=self.body_error,
            vendor_errors=self.vendor_errors,
            retry_safe=retry_safe,
            connection=self.connection,
            **kwargs,
        )

    @property
    def requests_sent(self) -> int:
        """HTTP requests this connection has put on the wire so far: every attempt, auth
        resend and token call. Read it before and after a page for the page's true count.
        ValueError when the connector was handed a client not built by hub.http."""
        return 0 if self._client is None else requests_sent(self._client)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
