"""The request pipeline of a vendor API emulator: auth, vendor limits, handler, errors, headers.

Every vendor endpoint goes through the same steps, in this order:

1. authentication: the sandbox's check answers None or the vendor's 401/403;
2. rate limits: each :class:`Limit` the endpoint counts against takes one request, and a spent
   one answers with the vendor's 429 (the limits before it stay counted, as vendors do);
3. the handler, which raises :class:`VendorApiError` for an error answer;
4. the vendor's rendering of that error;
5. response headers computed from the limit decisions (``X-Rate-Limit-Remaining`` and kin).

Fault injection is not a step: it wraps the whole app, outermost (see :mod:`hub.sandbox.faults`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.limits import LimitDecision, RequestLimiter

Handler = Callable[[Request], Awaitable[Response]]
Authenticator = Callable[[Request], Response | None]
Decisions = Mapping[str, LimitDecision]


class VendorApiError(Exception):
    """An error answer a handler raises; the sandbox's renderer gives it the vendor's shape."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


ErrorRenderer = Callable[[VendorApiError], Response]
HeaderSource = Callable[[Decisions], Mapping[str, str]]


def plain_error_body(error: VendorApiError) -> Response:
    """``{"code", "message", "details"?}``: a neutral default for sandboxes without one."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return JSONResponse(body, status_code=error.status)


def no_headers(decisions: Decisions) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class Limit:
    """A vendor rate limit an endpoint counts against, and the 429 the vendor sends when spent.

    ``refuse`` gets the refusing decision and the decisions of the limits taken before it.
    """

    name: str
    limiter: RequestLimiter
    refuse: Callable[[LimitDecision, Decisions], Response]


@dataclass(frozen=True)
class RequestPipeline:
    """One vendor's configuration of the steps; :meth:`wrap` applies them to a handler."""

    authenticate: Authenticator
    render_error: ErrorRenderer = plain_error_body
    limits: Sequence[Limit] = ()  # counted on every endpoint, in this order
    headers: HeaderSource = no_headers  # added to handler answers, errors included

    def wrap(self, handler: Handler, *, extra_limits: Sequence[Limit] = ()) -> Handler:
        """``handler`` behind auth, the pipeline's limits and then ``extra_limits``."""
        limits = (*self.limits, *extra_limits)

        async def endpoint(request: Request) -> Response:
            refused = self.authenticate(request)
            if refused is not None:
                return refused
            decisions: dict[str, LimitDecision] = {}
            for limit in limits:
                decision = limit.limiter.take()
                if not decision.allowed:
                    return limit.refuse(decision, decisions)
                decisions[limit.name] = decision
            try:
                response = await handler(request)
            except VendorApiError as error:
                response = self.render_error(error)
            for name, value in self.headers(decisions).items():
                response.headers[name] = value
            return response

        return endpoint
