"""What a connection may configure about its HTTP traffic: timeouts, deadlines, body size,
retry budget, rate limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class HttpSettings(BaseModel):
    """Per-connection HTTP behaviour; every field can be set in a connection's config."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=30.0, gt=0, description="Per read, connect, write.")
    # A per-read timeout never fires on a vendor that trickles its body a few bytes at a
    # time; this bounds one attempt as a whole, so a run cannot hang on it.
    request_deadline_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Whole attempt (connect, headers and body together); a slower one is "
        "abandoned and retried.",
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Largest response body read, checked while it arrives (default 32 MiB).",
    )
    max_attempts: int = Field(default=8, ge=1, description="Tries of one request, in all.")
    max_total_seconds: float = Field(
        default=300.0, gt=0, description="Budget for the waits between a request's tries."
    )
    backoff_base_seconds: float = Field(
        default=0.5, ge=0, description="First backoff step (full jitter, doubling)."
    )
    backoff_max_seconds: float = Field(default=30.0, ge=0, description="Longest backoff step.")
    min_retry_after_seconds: float = Field(
        default=0.05, ge=0, description="Floor under a vendor's Retry-After."
    )


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` for URL paths starting with ``path_prefix``,
    a path as the vendor documents it: relative to the host, whatever path the connection's
    base URL has (``/api/v2/`` also limits ``https://gateway/tenant/api/v2/...``)."""

    path_prefix: str
    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError(
                f"rate limit for {self.path_prefix!r} must allow >= 1 request per > 0 s"
            )


@dataclass(frozen=True)
class QuotaHeaders:
    """Where a vendor's answers say how much of its rate limit is left and when it resets.

    Either ``remaining`` (requests left) or ``used`` and ``allowed`` name the headers of the
    count; ``reset`` names the header of the seconds until the window resets. When an answer
    says nothing is left, the connection's next requests wait for the reset (at most
    ``max_wait_seconds``) instead of spending a request on a 429.
    """

    reset: str
    remaining: str | None = None
    used: str | None = None
    allowed: str | None = None
    max_wait_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.remaining is None and (self.used is None or self.allowed is None):
            raise ValueError("quota headers need `remaining`, or `used` and `allowed`")

    def wait(self, headers: Mapping[str, str]) -> float | None:
        """Seconds to hold the next request when ``headers`` say the quota is spent."""
        if self.remaining is not None:
            left = _number(headers.get(self.remaining))
        else:
            used = _number(headers.get(self.used or ""))
            allowed = _number(headers.get(self.allowed or ""))
            left = None if used is None or allowed is None else allowed - used
        reset = _number(headers.get(self.reset))
        if left is None or left > 0 or reset is None:
            return None
        return min(max(reset, 0.0), self.max_wait_seconds)


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None
