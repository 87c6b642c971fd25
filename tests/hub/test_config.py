"""Configuration: where hub.toml is found, what overrides it, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_settings, write_default_config
from hub.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HUB_CONFIG", "HUB_DATABASE_URL", "HUB_LOG_LEVEL"):
        monkeypatch.delenv(key, raising=False)


def test_config_is_found_from_hub_config_and_relative_paths_start_at_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_default_config(tmp_path / "hub.toml")
    monkeypatch.setenv("HUB_CONFIG", str(tmp_path / "hub.toml"))
    monkeypatch.chdir("/")
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'hub.db'}"
    assert settings.resolved_key_file == tmp_path / "secrets" / "master.key"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_default_config(tmp_path / "hub.toml", {"log_level": "INFO"})
    monkeypatch.setenv("HUB_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://hub@db.internal/hub")
    settings = load_settings(tmp_path / "hub.toml")
    assert settings.log_level == "DEBUG"
    assert settings.resolved_database_url == "postgresql://hub@db.internal/hub"


def test_unknown_key_is_an_error_naming_the_key_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('database_ulr = "sqlite:///x.db"\n')
    with pytest.raises(ConfigError, match=r"hub\.toml.*database_ulr"):
        load_settings(tmp_path / "hub.toml")


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hub init"):
        load_settings(tmp_path / "hub.toml")


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text("database_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path / "hub.toml")
