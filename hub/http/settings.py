"""What a connection may configure about its HTTP traffic: timeouts, retry budget, rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class HttpSettings(BaseModel):
    """Per-connection HTTP behaviour; every field can be set in a connection's config."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=30.0, gt=0, description="Per read, connect, write.")
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
    """At most ``requests`` per ``per_seconds`` for URL paths starting with ``path_prefix``."""

    path_prefix: str
    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError(
                f"rate limit for {self.path_prefix!r} must allow >= 1 request per > 0 s"
            )
