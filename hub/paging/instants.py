"""Points in time as vendors write them (ISO-8601 or RFC 2822 strings, datetimes, epoch
seconds) and as requests need them (:func:`iso8601`, :func:`epoch_seconds`, :func:`utc_date`,
:func:`utc_day_start`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

Instant = datetime | str | int | float
"""What a connector may give as a time: an aware or naive (meaning UTC) datetime, an
ISO-8601 or RFC 2822 string, or Unix epoch seconds."""

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime; injectable so tests need no waiting."""

Render = Callable[[datetime], Any]
"""Turns a bound into the value a vendor expects in a query parameter or body."""


def utc_now() -> datetime:
    """The default :data:`Clock`."""
    return datetime.now(UTC)


def to_instant(value: object) -> datetime | None:
    """``value`` as an aware UTC datetime, or None when it is not a time."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            # Some APIs write RFC 2822 dates (``Fri, 24 May 2019 17:44:46 +0000``).
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
        return to_instant(parsed)
    return None


def require_instant(value: Instant, what: str) -> datetime:
    """:func:`to_instant` for a value a connector declared: not a time is a clear error."""
    instant = to_instant(value)
    if instant is None:
        raise ValueError(
            f"{what} must be a datetime, an ISO-8601 or RFC 2822 string or epoch seconds"
        )
    return instant


def iso8601(instant: datetime) -> str:
    """``2024-01-02T03:04:05Z``: UTC with a ``Z``, microseconds only when there are some."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_date(instant: datetime) -> str:
    """``2024-01-02``: the UTC day, for filters that take a date (a lower bound floors to it)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d")


def utc_day_start(instant: datetime) -> str:
    """``2024-01-02T00:00:00Z``: the start of the UTC day, for filters that want a timestamp
    but filter by day."""
    return f"{utc_date(instant)}T00:00:00Z"


def epoch_seconds(instant: datetime) -> int:
    """Whole Unix seconds, rounded down (a lower bound must not skip the second it is in)."""
    return int(instant.timestamp() // 1)


@dataclass(frozen=True)
class Bounds:
    """The time range a run reads: ``[lower, upper)``; None means unbounded on that side."""

    lower: datetime | None = None
    upper: datetime | None = None
