"""The one HTTP client factory: retries, Retry-After, client-side rate limits, auth refresh.

Every connector talks to its vendor through a client built by :func:`create_client` and sends
its requests through :func:`request_json`, so the retry policy, the rate limiter, the request
count and the credential refresh live here once. Redaction of log output lives in
:mod:`hub.log`.

Modules, in the order a request meets them: ``settings`` (what a connection configures),
``client`` (building the client), ``auth`` (credentials), ``grants`` and ``oauth`` (OAuth 2.0
bearer credentials), ``limiter`` (client-side rate limits), ``counter`` (requests sent),
``request`` (sending with retries), ``body`` (one attempt within its deadline and body
size limit), ``outcome`` (what an attempt's result means),
``notices`` (telling a progress display or `hub run` about retries and rate-limit waits
while they happen) and
``vendor`` (error codes, as the connector describes them, and ``Retry-After``). All log as
``hub.http``.
"""

from hub.http.auth import RefreshingAuth, StaticBearer
from hub.http.client import (
    USER_AGENT,
    ClientOptions,
    create_client,
    request_counter,
    requests_sent,
)
from hub.http.counter import CountingTransport, RequestCounter
from hub.http.grants import (
    JWT_BEARER_GRANT_TYPE,
    AccessTokenOnly,
    ClientAuth,
    ClientCredentialsGrant,
    Grant,
    JwtBearerGrant,
    OAuthClient,
    RefreshTokenGrant,
)
from hub.http.limiter import Clock, RateLimitedTransport, Sleep, SlidingWindowLimiter
from hub.http.notices import (
    LimitWait,
    LimitWaitListener,
    RetryListener,
    RetryNotice,
    limit_wait_listener,
    retry_listener,
)
from hub.http.oauth import CredentialSaver, OAuth2, TokenEncoding, TokenHook, TokenResponse
from hub.http.outcome import BodyError
from hub.http.request import request_json
from hub.http.server_clock import ServerClock
from hub.http.settings import HttpSettings, QuotaHeaders, RateLimit
from hub.http.vendor import GENERIC_ERRORS, VendorErrors, generic_error_code, parse_retry_after

__all__ = [
    "GENERIC_ERRORS",
    "JWT_BEARER_GRANT_TYPE",
    "USER_AGENT",
    "AccessTokenOnly",
    "BodyError",
    "ClientAuth",
    "ClientCredentialsGrant",
    "ClientOptions",
    "Clock",
    "CountingTransport",
    "CredentialSaver",
    "Grant",
    "HttpSettings",
    "JwtBearerGrant",
    "LimitWait",
    "LimitWaitListener",
    "OAuth2",
    "OAuthClient",
    "QuotaHeaders",
    "RateLimit",
    "RateLimitedTransport",
    "RefreshTokenGrant",
    "RefreshingAuth",
    "RequestCounter",
    "RetryListener",
    "RetryNotice",
    "ServerClock",
    "Sleep",
    "SlidingWindowLimiter",
    "StaticBearer",
    "TokenEncoding",
    "TokenHook",
    "TokenResponse",
    "VendorErrors",
    "create_client",
    "generic_error_code",
    "limit_wait_listener",
    "parse_retry_after",
    "request_counter",
    "request_json",
    "requests_sent",
    "retry_listener",
]
