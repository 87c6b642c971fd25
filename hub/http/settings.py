"""What a connection may configure about its HTTP traffic: timeouts, retry budget, rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class HttpSettings(BaseModel):
    """Per-connection HTTP behaviour; every field can be set in a connection's config."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    max_total_seconds: float = Field(default=300.0, gt=0)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=30.0, ge=0)
    min_retry_after_seconds: float = Field(default=0.05, ge=0)


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
