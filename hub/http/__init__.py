"""The one HTTP client factory: retries, Retry-After, client-side rate limits, auth refresh.

Every connector talks to its vendor through a client built by :func:`create_client` and sends
its requests through :func:`request_json`, so the retry policy, the rate limiter and the
credential refresh live here once. Redaction of log output lives in :mod:`hub.log`.

Modules, in the order a request meets them: ``settings`` (what a connection configures),
``client`` (building the client), ``auth`` (credentials), ``limiter`` (client-side rate
limits), ``request`` (sending with retries), ``outcome`` (what an attempt's result means) and
``vendor`` (error codes and ``Retry-After`` in a vendor's answer). All log as ``hub.http``.
"""

from hub.http.auth import RefreshingAuth, StaticBearer
from hub.http.client import USER_AGENT, create_client
from hub.http.limiter import Clock, RateLimitedTransport, Sleep, SlidingWindowLimiter
from hub.http.outcome import BodyError
from hub.http.request import request_json
from hub.http.settings import HttpSettings, RateLimit
from hub.http.vendor import parse_retry_after, vendor_error_code

__all__ = [
    "USER_AGENT",
    "BodyError",
    "Clock",
    "HttpSettings",
    "RateLimit",
    "RateLimitedTransport",
    "RefreshingAuth",
    "Sleep",
    "SlidingWindowLimiter",
    "StaticBearer",
    "create_client",
    "parse_retry_after",
    "request_json",
    "vendor_error_code",
]
