"""The one client of a connection: base URL, timeout, TLS verification, User-Agent,
credentials, a rate-limited transport and the count of what it sent."""

from __future__ import annotations

import logging
import ssl
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata

import httpx

from hub.http.auth import RefreshingAuth
from hub.http.counter import CountingTransport, RequestCounter
from hub.http.decoding import ACCEPT_ENCODING
from hub.http.limiter import RateLimitedTransport, SlidingWindowLimiter
from hub.http.settings import HttpSettings, QuotaHeaders, RateLimit

log = logging.getLogger("hub.http")  # one logger name for the whole package


def _user_agent() -> str:
    try:
        return f"hub/{metadata.version('hub')}"
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "hub/0+unknown"


USER_AGENT = _user_agent()

# The counter of every client create_client built; weak, so a closed client can go.
_COUNTERS: weakref.WeakKeyDictionary[httpx.AsyncClient, RequestCounter] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class ClientOptions:
    """What a connection's client was built with, so that a companion client (the token
    endpoint's) gets the same TLS, timeout and retry settings and counts into the same
    :class:`RequestCounter`."""

    base_url: str
    settings: HttpSettings
    verify: bool | str
    connection: str
    counter: RequestCounter

    def companion(self) -> httpx.AsyncClient:
        """A client like the connection's, without its credentials or rate limits."""
        return create_client(
            self.base_url,
            auth=None,
            settings=self.settings,
            verify=self.verify,
            connection=self.connection,
            counter=self.counter,
        )


def _ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    # httpx 0.28 deprecates verify=<path>; a context built from the CA bundle is the new way.
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


def create_client(
    base_url: str,
    *,
    auth: httpx.Auth | None,
    settings: HttpSettings,
    limits: Sequence[RateLimit] = (),
    quota: QuotaHeaders | None = None,
    verify: bool | str = True,
    connection: str = "",
    counter: RequestCounter | None = None,
) -> httpx.AsyncClient:
    """Build the one client of a connection: base URL, timeout, TLS verification, User-Agent,
    credentials, and a transport that rate-limits and counts every attempt and never retries
    on its own (:func:`~hub.http.request_json` owns the retries).

    A :class:`~hub.http.RefreshingAuth` is bound to the client, so it can build its token
    client alike and move the client's base URL when a token response says so.
    """
    counter = counter if counter is not None else RequestCounter()
    wire = httpx.AsyncHTTPTransport(verify=_ssl_verify(verify), retries=0)
    limiter = SlidingWindowLimiter(limits, quota=quota)
    transport = RateLimitedTransport(CountingTransport(wire, counter), limiter)
    log.debug("HTTP client for connection %s with %d rate limit(s)", connection, len(limits))
    client = httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=settings.timeout_seconds,
        # Only encodings whose decoding hub.http.decoding can bound (no brotli or zstd bombs).
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        transport=transport,
        # Proxies from the environment would get transports of their own, bypassing the limiter.
        trust_env=False,
    )
    transport.base_path = _base_path_of(weakref.ref(client))
    _COUNTERS[client] = counter
    if isinstance(auth, RefreshingAuth):
        auth.bind(client, ClientOptions(base_url, settings, verify, connection, counter))
    return client


def _base_path_of(client: weakref.ref[httpx.AsyncClient]) -> Callable[[], str]:
    # Weak: the transport belongs to the client and must not keep it alive.
    def base_path() -> str:
        alive = client()
        return "/" if alive is None else alive.base_url.path

    return base_path


def request_counter(client: httpx.AsyncClient) -> RequestCounter:
    """The counter of a client built by :func:`create_client`; ValueError for any other."""
    try:
        return _COUNTERS[client]
    except KeyError:
        raise ValueError(
            "this client was not built by hub.http.create_client, so nothing counts its requests"
        ) from None


def requests_sent(client: httpx.AsyncClient) -> int:
    """How many requests ``client`` (and the token calls of its auth) have sent so far."""
    return request_counter(client).sent
