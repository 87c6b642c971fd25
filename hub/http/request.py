"""One JSON request with retries: full-jitter backoff or ``Retry-After``, within the attempt
and time budget of :class:`~hub.http.HttpSettings`, never resending an unsafe write, and only
once more to an address where nothing answers."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from hub.errors import ConnectorError
from hub.http.body import DeadlinePassed, send_bounded
from hub.http.notices import RetryNotice, notify_retry
from hub.http.outcome import (
    BodyError,
    Call,
    Retryable,
    give_up,
    judge,
    not_replayed,
    unreachable_reason,
)
from hub.http.settings import HttpSettings
from hub.http.vendor import GENERIC_ERRORS, VendorErrors
from hub.log import redact

log = logging.getLogger("hub.http")  # one logger name for the whole package

_TRANSIENT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,  # dropped connection, truncated body
    httpx.DecodingError,  # truncated compressed body
)
_RETRY_AFTER_JITTER = 0.1  # up to 10 % on top of what the vendor asked
# Failures that happen before a request reaches the vendor: safe to retry for any method.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_REPLAY_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A refused connection or an unknown host is a wrong URL or a service not started: one short
# retry covers a service that is just coming up; more would only keep the operator waiting.
_UNREACHABLE_ATTEMPTS = 2
_UNREACHABLE_PAUSE_MAX = 0.5


def _unreachable(state: RetryCallState) -> Retryable | None:
    failure = state.outcome.exception() if state.outcome else None
    if isinstance(failure, Retryable) and failure.unreachable is not None:
        return failure
    return None


class _StopWhenUnreachableTwice(stop_base):
    def __call__(self, retry_state: RetryCallState) -> bool:
        return (
            _unreachable(retry_state) is not None
            and retry_state.attempt_number >= _UNREACHABLE_ATTEMPTS
        )


def _path_of(client: httpx.AsyncClient, url: str) -> str:
    target = httpx.URL(url)
    if target.is_relative_url:  # httpx appends relative URLs to the base URL's path
        return redact(client.base_url.path + target.path.lstrip("/"))
    return redact(target.path)


def _origin(url: httpx.URL) -> str:
    """Scheme, host and port: where a connection was attempted, without path or query."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def _attempted_url(exc: httpx.RequestError, client: httpx.AsyncClient) -> httpx.URL:
    try:
        return exc.request.url
    except RuntimeError:  # an error raised without its request (a mocked transport)
        return client.base_url


def _tell_listener(settings: HttpSettings) -> Callable[[RetryCallState], None]:
    def tell(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        if not isinstance(failure, Retryable):
            return
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = failure.unreachable or failure.reason
        notify_retry(RetryNotice(state.attempt_number + 1, settings.max_attempts, wait, reason))

    return tell


def _pause_before_retry(settings: HttpSettings) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(
        multiplier=settings.backoff_base_seconds, max=settings.backoff_max_seconds
    )

    def pause(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, Retryable) and failure.retry_after is not None:
            asked = max(failure.retry_after, settings.min_retry_after_seconds)
            return asked + random.uniform(0, _RETRY_AFTER_JITTER * asked)
        if _unreachable(state) is not None:
            return min(float(backoff(state)), _UNREACHABLE_PAUSE_MAX)
        return float(backoff(state))

    return pause


async def _pause(seconds: float) -> None:
    """The sleep between attempts; one module-level name so tests can count pauses."""
    await asyncio.sleep(seconds)


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    settings: HttpSettings,
    body_error: BodyError | None = None,
    vendor_errors: VendorErrors = GENERIC_ERRORS,
    retry_safe: bool = False,
    connection: str = "",
    stream: str | None = None,
    **kwargs: Any,
) -> tuple[httpx.Response, Any]:
    """Send one request and return the response with its decoded JSON body (None if empty).

    Each attempt, connect to last body byte, must finish within
    ``settings.request_deadline_seconds`` and its body may not exceed
    ``settings.max_body_bytes`` (a ConnectorError naming the path and the limit, at once);
    a JSON API answering ``text/html`` is a ConnectorError too (a proxy or a login page).
    Transport errors, attempts past their deadline, undecodable bodies, 408, 429 and 5xx are
    retried with full-jitter exponential backoff, or after ``Retry-After`` when the vendor
    sends one, within ``settings.max_attempts`` and ``settings.max_total_seconds``; the
    listener of :func:`~hub.http.retry_listener` hears of each retry. A refused connection or
    an unknown host is tried once more after a short pause, then raises Unreachable (a wrong
    URL or a service not started, which more tries would not mend). Other errors raise at once:
    AuthError for a 401 (after the auth's one refresh), VendorError for other 4xx and for an
    error body that ``body_error`` recognises; ``vendor_errors`` reads the codes in error bodies.

    A POST or PATCH that may have reached the vendor is not resent unless it carries an
    ``Idempotency-Key`` header or the caller marks it ``retry_safe`` (an upsert by external
    id, say): sending it twice must not apply it twice. ``kwargs`` go to
    :meth:`httpx.AsyncClient.request`.
    """
    headers = httpx.Headers(kwargs.get("headers") or {})
    replay_safe = (
        retry_safe or method.upper() in _REPLAY_SAFE_METHODS or "idempotency-key" in headers
    )
    call = Call(method.upper(), _path_of(client, url), connection, stream, replay_safe)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.max_attempts)
        # Stops *before* a pause that would end past the budget, instead of sleeping past it.
        | stop_before_delay(settings.max_total_seconds)
        | _StopWhenUnreachableTwice(),
        wait=_pause_before_retry(settings),
        before_sleep=_tell_listener(settings),
        retry=retry_if_exception_type(Retryable),
        sleep=_pause,
        reraise=True,
    )
    started = time.monotonic()
    attempts = 0
    try:
        async for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                response = await _send(client, call, url, attempts, settings, kwargs)
                return response, judge(response, call, body_error, vendor_errors)
    except Retryable as failure:
        give_up(failure, call, attempts, settings, time.monotonic() - started)
    raise AssertionError("unreachable: tenacity re-raises the last failure")


async def _send(
    client: httpx.AsyncClient,
    call: Call,
    url: str,
    attempt: int,
    settings: HttpSettings,
    kwargs: dict[str, Any],
) -> httpx.Response:
    try:
        response = await send_bounded(client, call, url, settings, kwargs)
    except DeadlinePassed as exc:
        log.debug("%s %s -> deadline passed (attempt %d)", call.method, call.path, attempt)
        if not call.replay_safe:
            raise not_replayed(call, "no answer within its deadline") from None
        raise Retryable(str(exc)) from None
    except _TRANSIENT_ERRORS as exc:
        log.debug("%s %s -> %s (attempt %d)", call.method, call.path, type(exc).__name__, attempt)
        if not call.replay_safe and not isinstance(exc, _NOT_SENT_ERRORS):
            raise not_replayed(call, type(exc).__name__) from exc
        if isinstance(exc, httpx.ConnectError) and (why := unreachable_reason(exc)) is not None:
            address = _origin(_attempted_url(exc, client))
            raise Retryable(type(exc).__name__, unreachable=why, address=address) from exc
        raise Retryable(type(exc).__name__) from exc
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{call} failed: {type(exc).__name__}", **call.where()) from exc
    log.debug("%s %s -> %d (attempt %d)", call.method, call.path, response.status_code, attempt)
    return response
