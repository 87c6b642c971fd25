"""When a stored item's retention clock starts, and which period governs a record.

A record's dates are its canonical fields as stored (clear: they are never personal data).
The purge and the sync both ask here, so an item the purge deletes is the item a sync would
refuse to store again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.retention.policy import Period, RetentionSettings

INTERACTION_DATES = ("ended_at", "started_at")  # the end if known, else the start
CASE_DATES = ("updated_at",)  # a closed case changes no more: its last update is its closing
CLOSED = "closed"


def parse_instant(value: object) -> datetime | None:
    """An ISO 8601 timestamp as stored in a record's data, timezone-aware (naive is UTC)."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def governing_period(
    kind: str, data: Mapping[str, Any], policy: RetentionSettings
) -> tuple[str, Period | None] | None:
    """The retention key and period that delete a record of ``kind``, if any does."""
    if kind == "interaction":
        return "interactions", policy.interactions
    if kind == "case" and data.get("status") == CLOSED:
        return "closed_cases", policy.closed_cases
    return None


def record_clock_start(
    kind: str,
    data: Mapping[str, Any],
    source_updated_at: datetime | None,
    stored_at: datetime,
) -> datetime:
    """When a record's retention period starts: its own date (an interaction's end or
    start, a case's last update), else the source's last update, else when the hub stored
    it."""
    for name in INTERACTION_DATES if kind == "interaction" else CASE_DATES:
        instant = parse_instant(data.get(name))
        if instant is not None:
            return instant
    return source_updated_at or stored_at


def record_expired(
    kind: str,
    data: Mapping[str, Any],
    source_updated_at: datetime | None,
    *,
    stored_at: datetime,
    policy: RetentionSettings,
    now: datetime,
) -> bool:
    """Whether a record is past its retention period at ``now`` (one exactly at the cutoff
    is not)."""
    governing = governing_period(kind, data, policy)
    if governing is None or governing[1] is None:
        return False
    start = record_clock_start(kind, data, source_updated_at, stored_at)
    return start < governing[1].cutoff(now)
