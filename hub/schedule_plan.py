"""What `hub run` should schedule: one plan per (connection, stream), from the stored
settings (hub.store.schedule_settings) over the connector's per-stream defaults.

A plan is compared with the scheduler's schedules by its ``spec`` text, so a connection whose
settings did not change keeps its schedule (and its next fire time) across reconciliations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.abc import Trigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hub.connector import Stream
from hub.errors import ConfigError
from hub.plugins import connector_class
from hub.store.schedule_settings import EVERY_STREAM, ScheduleSetting

SYNC_PREFIX = "sync:"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str, *, what: str = "every") -> timedelta:
    """``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` (or plain seconds) as a timedelta."""
    spec = text.strip().lower().replace(" ", "")
    try:
        seconds = float(spec)
    except ValueError:
        parts = _DURATION.findall(spec)
        if not parts or "".join(n + u for n, u in parts) != spec:
            raise ConfigError(
                f"{what} {text!r}: not a duration; write it like 90s, 5m, 1h30m or 2d"
            ) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ConfigError(f"{what} {text!r}: must be longer than zero")
    return timedelta(seconds=seconds)


def cron_trigger(expression: str) -> CronTrigger:
    """A crontab expression (5 fields, UTC) as a trigger; ConfigError naming it if invalid."""
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cron {expression!r}: {exc}") from None


def cron_period(expression: str, now: datetime | None = None) -> timedelta:
    """The time between the next two fires of a cron expression (for its default drift)."""
    trigger = CronTrigger.from_crontab(expression, timezone=UTC, start_time=now)
    first, second = trigger.next(), trigger.next()
    assert first is not None and second is not None
    return second - first


@dataclass(frozen=True)
class StreamPlan:
    """How one stream of one connection is to be synced."""

    connection: str
    stream: str
    every: timedelta | None  # an interval, or
    cron: str | None  # a cron expression
    drift: timedelta  # how far behind the source the stream may fall

    @property
    def id(self) -> str:
        """The schedule's id in the scheduler's data store."""
        return f"{SYNC_PREFIX}{self.connection}/{self.stream}"

    @property
    def spec(self) -> str:
        """What the schedule does, as text: a changed spec replaces the schedule."""
        when = f"cron {self.cron}" if self.cron else f"every {self.every_seconds:g}s"
        return f"{when}; drift {self.drift.total_seconds():g}s"

    @property
    def every_seconds(self) -> float:
        return self.every.total_seconds() if self.every is not None else 0.0

    def trigger(self) -> Trigger:
        if self.cron is not None:
            return cron_trigger(self.cron)
        assert self.every is not None
        return IntervalTrigger(seconds=self.every.total_seconds())


def plan_connection(
    connection: str, streams: Iterable[Stream], settings: Sequence[ScheduleSetting]
) -> list[StreamPlan]:
    """The plans of one connection: each stream's own setting, else the connection's, else the
    connector's default interval; the drift target likewise, else the stream's own."""
    own = {s.stream: s for s in settings if s.connection == connection}
    plans = []
    for stream in streams:
        setting = own.get(stream.name) or own.get(EVERY_STREAM)
        every: timedelta | None = stream.default_interval
        cron: str | None = None
        if setting is not None and setting.cron:
            every, cron = None, setting.cron
        elif setting is not None and setting.every_seconds:
            every = timedelta(seconds=setting.every_seconds)
        period = cron_period(cron) if cron else every
        assert period is not None
        drift = stream.drift(period)
        if setting is not None and setting.drift_seconds:
            drift = timedelta(seconds=setting.drift_seconds)
        plans.append(StreamPlan(connection, stream.name, every, cron, drift))
    return plans


def plan_all(
    connections: Iterable[tuple[str, str]], settings: Sequence[ScheduleSetting]
) -> list[StreamPlan]:
    """Plans for every (connection name, connector name); a connection whose connector is not
    installed is skipped (`hub status` and `hub connections list` name it)."""
    plans: list[StreamPlan] = []
    for name, connector in connections:
        try:
            streams = connector_class(connector).streams
        except ConfigError:
            continue
        plans += plan_connection(name, streams, settings)
    return plans
