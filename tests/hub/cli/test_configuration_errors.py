"""Configuration slips: one line naming the key and where it was set, the valid values, and
the hub untouched, so the corrected command works at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.config import load_settings
from tests.hub.cli.support import HubCli, ok_json, one_line_error

LEVELS = "DEBUG, INFO, WARNING, ERROR, CRITICAL"


def _set_log_level(value: str) -> None:
    config = Path("hub.toml")
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("log_level")]
    config.write_text("\n".join([*lines, f'log_level = "{value}"']) + "\n")


def test_log_levels_are_case_insensitive_and_a_bad_one_lists_the_valid_ones(
    hub_cli: HubCli,
) -> None:
    assert hub_cli("init").exit_code == 0
    _set_log_level("info")
    assert ok_json(hub_cli("connections", "list", "--json")) == []
    _set_log_level("chatty")
    line = one_line_error(hub_cli("connections", "list"))
    assert f"{Path('hub.toml').resolve()}: invalid configuration: log_level:" in line
    assert f"'chatty' is not a log level; use one of {LEVELS}" in line
    _set_log_level("Debug")
    assert ok_json(hub_cli("connections", "list", "--json")) == []


@pytest.mark.parametrize(
    ("value", "folders"),
    [
        ("mappings", ["mappings"]),
        (f"mine{os.pathsep}shared", ["mine", "shared"]),
        ('["mine", "shared"]', ["mine", "shared"]),
    ],
)
def test_hub_mapping_dirs_is_a_path_a_path_list_or_json(
    hub_cli: HubCli, monkeypatch: pytest.MonkeyPatch, value: str, folders: list[str]
) -> None:
    assert hub_cli("init").exit_code == 0
    assert ok_json(hub_cli("connections", "list", "--json", env={"HUB_MAPPING_DIRS": value})) == []
    monkeypatch.setenv("HUB_MAPPING_DIRS", value)
    assert load_settings().resolved_mapping_dirs == [Path(f).resolve() for f in folders]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("HUB_LOG_LEVEL", "loud", f"'loud' is not a log level; use one of {LEVELS}"),
        ("HUB_MAPPING_DIRS", '["unclosed"', "not a valid JSON list of folders"),
        ("HUB_SYNC_LEASE_SECONDS", "0", "greater than or equal to 1"),
    ],
)
def test_an_environment_variables_error_names_the_variable_not_hub_toml(
    hub_cli: HubCli, variable: str, value: str, says: str
) -> None:
    assert hub_cli("init").exit_code == 0
    line = one_line_error(hub_cli("connections", "list", env={variable: value}))
    assert f"environment variable {variable}: " in line and says in line
    assert "hub.toml" not in line
    assert ok_json(hub_cli("connections", "list", "--json")) == []
