"""What one attempt's outcome means: the decoded body, a reason to try again, or the error the
caller gets, including the one raised when the retries run out."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from hub.errors import AuthError, ConnectorError, QuotaSpent, RateLimited, Unreachable, VendorError
from hub.http.settings import HttpSettings
from hub.http.vendor import VendorErrors
from hub.log import redact

BodyError = Callable[[httpx.Response, Any], "str | None"]

_RETRY_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Call:
    """What a request is about, as it may appear in messages: no query string, redacted."""

    method: str
    path: str
    connection: str
    stream: str | None
    # False for a POST/PATCH neither carrying an Idempotency-Key nor marked retry-safe: once
    # it may have reached the vendor it is not sent again (a retried timeout could create a
    # second case or message).
    replay_safe: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def where(self) -> dict[str, Any]:
        return {"connection": self.connection or None, "stream": self.stream}


class Retryable(Exception):
    """One attempt failed in a way worth another try.

    ``unreachable`` says why nothing answered at ``address`` (refused, unknown host): worth one
    more try at most, since a service that is not there rarely appears within seconds.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        vendor_code: str | None = None,
        retry_after: float | None = None,
        unreachable: str | None = None,
        address: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.vendor_code = vendor_code
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.address = address


_UNKNOWN_HOST_CODES = frozenset(
    code for code in (getattr(socket, n, None) for n in ("EAI_NONAME", "EAI_NODATA")) if code
)


def unreachable_reason(error: BaseException) -> str | None:
    """Why nothing answered, when ``error`` (an httpx.ConnectError) was caused by a refused
    connection or a failed host name lookup; None for any other cause (TLS, a reset, ...).

    httpx wraps httpcore's error, which wraps the OSError (or, when every address of a host
    refused, an OSError raised from them), so the chain of causes is walked.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, socket.gaierror):
            if exc.errno in _UNKNOWN_HOST_CODES:
                return "unknown host"
            return f"host name lookup failed: {exc.strerror}"
        if isinstance(exc, BaseExceptionGroup):
            pending += exc.exceptions
        pending += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    return None


def judge(
    response: httpx.Response, call: Call, body_error: BodyError | None, errors: VendorErrors
) -> Any:
    """The decoded body of a good response; otherwise raise what the status calls for.
    A code in ``errors.quota_codes`` means an allowance spent for long: QuotaSpent at once."""
    status = response.status_code
    if (status == 408 or status >= 500) and not call.replay_safe:
        raise not_replayed(call, str(status), status=status, code=errors.response_code(response))
    if status in _RETRY_STATUSES or status >= 500:
        raise Retryable(
            str(status),
            status=status,
            vendor_code=errors.response_code(response),
            retry_after=errors.retry_after(response),
        )
    if status == 401:
        code = errors.response_code(response)
        detail = errors.detail_text(response)
        raise AuthError(
            f"{call} answered 401: credentials refused{_shown(detail)}",
            status=401,
            vendor_code=code,
            vendor_detail=detail,
            **call.where(),
        )
    if not response.is_success:
        code = errors.response_code(response)
        detail = errors.detail_text(response)
        error = QuotaSpent if code in errors.quota_codes else VendorError
        shown = f" {code}" if code else ""
        raise error(
            f"{call} answered {status}{shown}{_shown(detail)}",
            status=status,
            vendor_code=code,
            vendor_detail=detail,
            **call.where(),
        )
    body = _decode(response, call)
    problem = body_error(response, body) if body_error is not None else None
    if problem is not None:
        raise VendorError(
            f"{call} answered {status} with an error body: {redact(problem)}",
            status=status,
            vendor_code=errors.code(body),
            **call.where(),
        )
    return body


def _shown(detail: str | None) -> str:
    return f": {detail}" if detail else ""


def _decode(response: httpx.Response, call: Call) -> Any:
    if not response.content:
        return None
    if _is_html(response):
        # Whatever the body parses as, a JSON API does not answer HTML: a proxy, a captive
        # portal or a single sign-on page did, and its page is no vendor data.
        raise ConnectorError(
            f"{call} answered {response.status_code} with an HTML page (Content-Type "
            "text/html) instead of JSON: a proxy or a login page answered, not the vendor's "
            "API; check the connection's base_url and any proxy in between",
            **call.where(),
        )
    try:
        return response.json()
    except ValueError as exc:  # e.g. a body truncated by a proxy behind a 2xx status
        if not call.replay_safe:
            raise not_replayed(call, "an undecodable body") from exc
        raise Retryable(f"undecodable JSON body with status {response.status_code}") from exc


def _is_html(response: httpx.Response) -> bool:
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def not_replayed(
    call: Call, what: str, *, status: int | None = None, code: str | None = None
) -> ConnectorError:
    """The error for a write that failed after it may have reached the vendor (with the
    answer's status and vendor code when there was an answer)."""
    return ConnectorError(
        f"{call} failed with {what} after it may have reached the vendor; not retried because "
        "it has no Idempotency-Key and is not marked retry_safe, so sending it again could "
        "apply it twice",
        status=status,
        vendor_code=code,
        **call.where(),
    )


def give_up(
    failure: Retryable, call: Call, attempts: int, settings: HttpSettings, elapsed: float
) -> NoReturn:
    """Raise the error that ends a request whose retries ran out."""
    where = call.where()
    cause = failure.__cause__
    if failure.unreachable is not None:
        raise Unreachable(failure.address, failure.unreachable, **where) from cause
    why = f"{call} gave up after {attempts} attempt(s)"
    if attempts < settings.max_attempts:
        why += f" within the {settings.max_total_seconds:g} s budget"
        remaining = settings.max_total_seconds - elapsed
        if failure.retry_after is not None and failure.retry_after > remaining:
            why += f" (Retry-After {failure.retry_after:g} s, {max(remaining, 0):.0f} s left)"
    if failure.status is None:
        raise ConnectorError(f"{why}; last error: {failure.reason}", **where) from cause
    shown = f" {failure.vendor_code}" if failure.vendor_code else ""
    error = RateLimited if failure.status == 429 or failure.retry_after is not None else VendorError
    raise error(
        f"{why}; last answer: {failure.status}{shown}",
        status=failure.status,
        vendor_code=failure.vendor_code,
        **where,
    ) from cause
