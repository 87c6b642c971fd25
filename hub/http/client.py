"""The one client of a connection: base URL, timeout, TLS verification, User-Agent,
credentials and a rate-limited transport."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from importlib import metadata

import httpx

from hub.http.limiter import RateLimitedTransport, SlidingWindowLimiter
from hub.http.settings import HttpSettings, RateLimit

log = logging.getLogger("hub.http")  # one logger name for the whole package


def _user_agent() -> str:
    try:
        return f"hub/{metadata.version('hub')}"
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "hub/0+unknown"


USER_AGENT = _user_agent()


def _ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    # httpx 0.28 deprecates verify=<path>; a context built from the CA bundle is the new way.
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


def create_client(
    base_url: str,
    *,
    auth: httpx.Auth | None,
    settings: HttpSettings,
    limits: Sequence[RateLimit] = (),
    verify: bool | str = True,
    connection: str = "",
) -> httpx.AsyncClient:
    """Build the one client of a connection: base URL, timeout, TLS verification, User-Agent,
    credentials, and a transport that rate-limits every attempt and never retries on its own
    (:func:`~hub.http.request_json` owns the retries)."""
    transport = RateLimitedTransport(
        httpx.AsyncHTTPTransport(verify=_ssl_verify(verify), retries=0),
        SlidingWindowLimiter(limits),
    )
    log.debug("HTTP client for connection %s with %d rate limit(s)", connection, len(limits))
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=settings.timeout_seconds,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        # Proxies from the environment would get transports of their own, bypassing the limiter.
        trust_env=False,
    )
