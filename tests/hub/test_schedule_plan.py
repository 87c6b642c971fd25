"""Which schedules `hub run` plans: stored settings over the connector's per-stream defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.salesforce.connector import SalesforceConnector
from hub.connector import Stream
from hub.errors import ConfigError
from hub.schedule_plan import cron_period, parse_duration, plan_connection
from hub.scheduler import backoff_delay
from hub.store.schedule_settings import EVERY_STREAM, ScheduleSetting

STREAMS = (
    Stream("people", "person", "People.", "position"),
    Stream("cases", "case", "Cases.", "position", default_interval=timedelta(minutes=2)),
)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("15", 15)]
)
def test_durations_read_as_operators_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5 minutes", "m5", "0s", "-5m", ""])
def test_a_duration_that_is_not_one_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(ConfigError, match="every"):
        parse_duration(text)


def test_streams_default_to_the_connectors_interval_and_three_intervals_of_drift() -> None:
    plans = {p.stream: p for p in plan_connection("zd", STREAMS, [])}
    assert plans["people"].every == timedelta(minutes=15)
    assert plans["cases"].every == timedelta(minutes=2)
    assert plans["cases"].drift == timedelta(minutes=6)
    assert plans["cases"].id == "sync:zd/cases"


def test_a_streams_own_setting_beats_the_connections_which_beats_the_default() -> None:
    settings = [
        ScheduleSetting("zd", EVERY_STREAM, every_seconds=60),
        ScheduleSetting("zd", "cases", cron="*/10 * * * *", drift_seconds=900),
        ScheduleSetting("other", EVERY_STREAM, every_seconds=5),
    ]
    plans = {p.stream: p for p in plan_connection("zd", STREAMS, settings)}
    assert (plans["people"].every, plans["people"].drift) == (
        timedelta(minutes=1),
        timedelta(minutes=3),
    )
    assert (plans["cases"].cron, plans["cases"].drift) == ("*/10 * * * *", timedelta(minutes=15))
    assert plans["cases"].spec != plans["people"].spec


def test_entitlements_and_contracts_sync_every_5_minutes_with_a_15_minute_drift_target() -> None:
    plans = {p.stream: p for p in plan_connection("sf", SalesforceConnector.streams, [])}
    for stream in ("Entitlement", "ServiceContract"):
        assert plans[stream].every == timedelta(minutes=5)
        assert plans[stream].drift == timedelta(minutes=15)
    assert plans["Case"].every == timedelta(minutes=15)


def test_a_cron_schedules_default_drift_is_three_of_its_periods() -> None:
    now = datetime(2026, 12, 2, 9, 1, tzinfo=UTC)
    assert cron_period("*/10 * * * *", now) == timedelta(minutes=10)


def test_a_failing_stream_backs_off_doubling_up_to_the_cap() -> None:
    interval, cap = timedelta(minutes=1), timedelta(minutes=10)
    pauses = [backoff_delay(n, interval, cap) for n in range(1, 7)]
    assert pauses == [timedelta(minutes=m) for m in (0, 1, 3, 7, 10, 10)]
