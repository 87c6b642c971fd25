"""Retention periods in hub.toml: readable units, calendar arithmetic, errors that name the
key."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.config import load_settings
from hub.errors import ConfigError
from hub.retention import Period, RetentionSettings, parse_period
from tests.hub.retention.seed import TYPICAL_PERIODS

RETENTION_DOC = Path(__file__).parents[3] / "docs" / "retention.md"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HUB_CONFIG", "HUB_RETENTION"):
        monkeypatch.delenv(key, raising=False)


def _config(tmp_path: Path, retention: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'database_url = "sqlite:///x.db"\n\n[retention]\n{retention}\n')
    return path


def test_the_defaults_keep_business_records_and_age_out_the_hub_s_own_data() -> None:
    policy = RetentionSettings()
    assert policy.interactions is None  # forever: the period is the operator's legal decision
    assert policy.closed_cases is None
    assert str(policy.raw_payloads) == "30 days"
    assert str(policy.quarantine) == "90 days"
    assert str(policy.run_history) == "1 year"
    assert str(policy.sent_messages) == "90 days"


def test_the_typical_periods_of_the_docs_are_a_table_an_operator_can_paste(
    tmp_path: Path,
) -> None:
    [example] = re.findall(r"```toml\n\[retention\]\n(.*?)```", RETENTION_DOC.read_text(), re.S)
    policy = load_settings(_config(tmp_path, example)).retention
    assert policy.interactions == Period(2, "years")
    assert policy.closed_cases == Period(7, "years")
    assert policy == RetentionSettings.model_validate(TYPICAL_PERIODS)  # what the tests set


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("30 days", Period(30, "days")),
        ("30d", Period(30, "days")),
        ("1 day", Period(1, "days")),
        ("12 weeks", Period(12, "weeks")),
        ("6mo", Period(6, "months")),
        ("2y", Period(2, "years")),
        (" 7 Years ", Period(7, "years")),
        ("forever", None),
        ("FOREVER", None),
    ],
)
def test_periods_read_as_a_number_and_a_unit_or_forever(text: str, period: Period | None) -> None:
    assert parse_period(text) == period


def test_months_and_years_are_calendar_ones() -> None:
    leap_day = datetime(2028, 2, 29, 9, 30, tzinfo=UTC)
    assert Period(1, "years").cutoff(leap_day) == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert Period(7, "years").cutoff(leap_day) == datetime(2021, 2, 28, 9, 30, tzinfo=UTC)
    end_of_march = datetime(2026, 3, 31, tzinfo=UTC)
    assert Period(1, "months").cutoff(end_of_march) == datetime(2026, 2, 28, tzinfo=UTC)
    assert Period(14, "months").cutoff(end_of_march) == datetime(2025, 1, 31, tzinfo=UTC)
    assert Period(30, "days").cutoff(end_of_march) == datetime(2026, 3, 1, tzinfo=UTC)


def test_hub_toml_sets_each_period_and_forever(tmp_path: Path) -> None:
    path = _config(tmp_path, 'interactions = "18 months"\nraw_payloads = "forever"')
    policy = load_settings(path).retention
    assert policy.interactions == Period(18, "months")
    assert policy.raw_payloads is None
    assert policy.closed_cases is None  # the rest keep their defaults
    assert policy.quarantine == Period(90, "days")


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ('interactions = "2 yrs"', "retention.interactions: '2 yrs' is not a retention period"),
        ('quarantine = "90"', "retention.quarantine: '90' is not a retention period"),
        ("closed_cases = 7", "retention.closed_cases: 7 is not a retention period"),
        ('raw_payloads = "0 days"', "retention.raw_payloads: '0 days': a retention period is"),
        ('interaction = "1 year"', "retention.interaction: Extra inputs are not permitted"),
        ("batch_size = 0", "retention.batch_size: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_period_is_an_error_naming_the_key_and_the_file(
    tmp_path: Path, line: str, named: str
) -> None:
    path = _config(tmp_path, line)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert named in str(caught.value)
    assert str(path) in str(caught.value)


def test_the_environment_overrides_the_table_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_RETENTION", '{"interactions": "1 year"}')
    policy = load_settings(_config(tmp_path, 'interactions = "5 years"')).retention
    assert policy.interactions == Period(1, "years")


def test_a_bad_period_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_RETENTION", '{"interactions": "soon"}')
    with pytest.raises(ConfigError, match="HUB_RETENTION: 'soon' is not a retention period"):
        load_settings(_config(tmp_path, ""))
