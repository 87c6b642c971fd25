"""Retention periods by data type: the ``[retention]`` table of hub.toml.

A period is a whole number and a calendar unit (``"30 days"``, ``"2y"``, ``"6 months"``) or
``"forever"``. Months and years are calendar ones: "7 years" before 2033-03-01 is 2026-03-01,
never a day early, as a legal hold expects.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

Unit = Literal["days", "weeks", "months", "years"]
FOREVER = "forever"

_UNITS: dict[str, Unit] = {
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
}  # fmt: skip
_PERIOD = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Period:
    """How long a data type is kept, counted back from now in calendar units."""

    count: int
    unit: Unit

    def cutoff(self, now: datetime) -> datetime:
        """The instant before which an item is past this period at ``now``."""
        if self.unit == "days":
            return now - timedelta(days=self.count)
        if self.unit == "weeks":
            return now - timedelta(weeks=self.count)
        return _months_before(now, self.count * (12 if self.unit == "years" else 1))

    def __str__(self) -> str:
        unit = self.unit if self.count != 1 else self.unit.removesuffix("s")
        return f"{self.count} {unit}"


def _months_before(now: datetime, months: int) -> datetime:
    """``now`` moved back whole calendar months; a day the month lacks becomes its last."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def parse_period(value: object) -> Period | None:
    """A period from hub.toml text; None for ``"forever"``. ValueError says what to write."""
    if value is None or isinstance(value, Period):
        return value
    hint = 'write a whole number and a unit (days, weeks, months, years), e.g. "30 days" or '
    hint += '"2y", or "forever"'
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a retention period: {hint}")
    text = value.strip().lower()
    if text == FOREVER:
        return None
    match = _PERIOD.match(text)
    unit = _UNITS.get(match.group(2)) if match else None
    if match is None or unit is None:
        raise ValueError(f"{value!r} is not a retention period: {hint}")
    count = int(match.group(1))
    if count < 1:
        raise ValueError(f"{value!r}: a retention period is at least 1 {unit[:-1]}; {hint}")
    return Period(count, unit)


AUDIT_TRAIL_MINIMUM = Period(12, "months")


def at_least_12_months(period: Period) -> bool:
    """Whether ``period`` is never shorter than 12 calendar months (which can be 366 days)."""
    if period.unit in ("months", "years"):
        return period.count * (12 if period.unit == "years" else 1) >= 12
    return period.count * (7 if period.unit == "weeks" else 1) >= 366


def describe_period(period: Period | None) -> str:
    return FOREVER if period is None else str(period)


RetentionPeriod = Annotated[
    Period | None, BeforeValidator(parse_period), PlainSerializer(describe_period)
]


class RetentionSettings(BaseModel):
    """How long each data type is kept; see docs/retention.md for what each purge does.

    Interactions and closed cases are business records whose retention is the operator's
    legal decision, so the hub keeps them forever unless hub.toml sets a period. The other
    periods count from the hub's own write, sight or sending, never from the vendor's dates.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_payloads: RetentionPeriod = Field(
        default=Period(30, "days"),
        description="Sealed vendor payloads (records.raw), counted from the hub's last write "
        "of the record; stripped, the canonical record stays.",
    )
    interactions: RetentionPeriod = Field(
        default=None,
        description="Interaction records, counted from their end (else start); deleted. "
        "Kept forever unless set: the period is a legal decision (typically 2 years).",
    )
    closed_cases: RetentionPeriod = Field(
        default=None,
        description="Cases whose status is closed, counted from their last update; deleted. "
        "Kept forever unless set: the period is a legal decision (typically 7 years).",
    )
    quarantine: RetentionPeriod = Field(
        default=Period(90, "days"),
        description="Quarantine entries, counted from when the record was last seen; deleted.",
    )
    run_history: RetentionPeriod = Field(
        default=Period(1, "years"),
        description="Finished sync and replay runs, counted from their end; deleted.",
    )
    sent_messages: RetentionPeriod = Field(
        default=Period(90, "days"),
        description="Messages the outbox sent (sealed recipient and text), counted from "
        "their sending; stripped, the key, state and vendor id stay, so none is sent twice.",
    )
    batch_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Rows one purge transaction examines at most: a killed purge loses one.",
    )
    audit_trail: RetentionPeriod = Field(
        default=AUDIT_TRAIL_MINIMUM,
        description="Audit entries, counted from their time; pruned only up to a signed "
        "checkpoint, keeping every checkpoint and the subtree roots later proofs need "
        "(docs/audit.md). Never less than 12 months.",
    )

    archive_before_prune: bool = Field(
        default=True,
        description="Prune only audit entries an archive covers (`hub audit export --before "
        "DATE -o FILE`, recorded on the trail); false prunes without one (docs/audit.md).",
    )

    @field_validator("audit_trail")
    @classmethod
    def _audit_trail_at_least_a_year(cls, period: Period | None) -> Period | None:
        if period is not None and not at_least_12_months(period):
            raise ValueError(
                f'"{period}" is shorter than the audit trail\'s minimum of 12 months: write '
                '"12 months" or longer (or "forever")'
            )
        return period
