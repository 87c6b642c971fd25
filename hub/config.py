"""The hub's configuration: ``hub.toml``, overridable by ``HUB_*`` environment variables.

Where the file is: ``--config`` on the command line, else ``HUB_CONFIG``, else ``./hub.toml``.
Relative paths in it are relative to the file's folder, so a hub directory can be moved whole.
"""

from __future__ import annotations

import json
import os
import tomllib
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from hub.errors import ConfigError
from hub.retention.policy import RetentionSettings

CONFIG_FILE_NAME = "hub.toml"
ENV_PREFIX = "HUB_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_config_file: ContextVar[Path | None] = ContextVar("hub_config_file", default=None)


class Settings(BaseSettings):
    """Every setting, with its default. Keys in hub.toml are the field names."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    home: Path = Field(
        default=Path("."), description="Folder relative paths start from: the config file's."
    )
    database_url: str = Field(
        default="sqlite:///data/hub.db",
        description="sqlite:///relative/or/absolute.db or postgresql://user@host/db",
    )
    key_file: Path = Field(default=Path("secrets/master.key"), description="Master key file.")
    # NoDecode: HUB_MAPPING_DIRS is read by _folders (a path, a path list or JSON), not as JSON.
    mapping_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("mappings")],
        description="Folders searched first for <connector>.yaml (operators' edited copies); "
        f"in HUB_MAPPING_DIRS one path, paths separated by {os.pathsep!r}, or a JSON list.",
    )
    log_level: str = Field(
        default="WARNING", description="DEBUG, INFO, WARNING, ERROR or CRITICAL, in any case."
    )
    sync_lease_seconds: float = Field(
        default=60,
        ge=1,
        description="How long a run holds its stream without renewing it; a run whose "
        "machine died frees the stream after this long.",
    )

    stream_run_deadline_seconds: float = Field(
        default=6 * 3600,
        gt=0,
        description="Longest a run of one stream may read; past it the run fails, keeping "
        "the pages committed so far, and the next run resumes after them.",
    )
    sync_workers: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        default="auto",
        description="Worker processes that map and seal pages beside the sync (shared by "
        "every stream of one hub process): 0 maps and seals in the syncing process itself; N "
        'starts N workers (forked from a server process, at the first large page); "auto" '
        "is what the measurements justify, today none (docs/performance.md, "
        '"The pipeline (issue 15, fourth part)"). Records, cursors and counters still commit page '
        "by page, in order, in the syncing process.",
    )
    sync_worker_min_records: int = Field(
        default=200,
        ge=1,
        description="Pages with fewer records than this are mapped and sealed in process: "
        "the round trip to a worker costs more than it takes off.",
    )
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings,
        description="How long each data type is kept: the [retention] table (docs/retention.md).",
    )

    audit_key_file: Path = Field(
        default=Path("secrets/audit-signing.key"),
        description="Ed25519 key that signs audit checkpoints; never stored in the database.",
    )

    # -- `hub run` (see docs/operations.md) ----------------------------------------------
    scheduler_lease_seconds: float = Field(
        default=5,
        ge=1,
        description="How long a `hub run` node holds a schedule or a job it took without "
        "renewing it: a dead node's jobs pass to another node after this long.",
    )
    schedule_poll_seconds: float = Field(
        default=3,
        gt=0,
        description="How often `hub run` compares its schedules with the connections (an "
        "added, changed or removed connection is scheduled within this long).",
    )
    backoff_cap_seconds: float = Field(
        default=3600,
        gt=0,
        description="Longest pause of a failing stream's schedule: each failure in a row "
        "doubles the pause, up to this.",
    )
    max_concurrent_syncs: int = Field(
        default=50, ge=1, description="Streams one `hub run` node syncs at once."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of `hub run`'s /metrics (Prometheus) and /health; unset: none.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address /metrics and /health listen on."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json for one JSON object per log line."
    )

    data_key_max_age_days: float = Field(
        default=90,
        gt=0,
        description="Age at which `hub keys rotate` replaces the primary data key.",
    )
    data_key_max_seals: int = Field(
        default=2**32,
        ge=1,
        description="Seals after which the primary data key is replaced (AES-GCM with "
        "random nonces: NIST SP 800-38D's 2^32).",
    )
    master_key_provider: str | None = Field(
        default=None,
        description="Name of a key-provider plugin (KMS, Vault transit) that gives the master "
        "key; HUB_MASTER_KEY still wins; the key file is then not used.",
    )
    rewrap_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Rows the rewrap job reseals per transaction: a kill loses at most one.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        level = value.strip().upper() if isinstance(value, str) else value
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("mapping_dirs", mode="before")
    @classmethod
    def _folders(cls, value: object) -> object:
        return folder_list(value) if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; explicit arguments beat both.
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file.get()),
        )

    def path(self, p: Path) -> Path:
        """``p`` resolved against the hub's home folder."""
        return p if p.is_absolute() else (self.home / p).resolve()

    @property
    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            file = Path(self.database_url[len(prefix) :])
            return prefix + str(self.path(file))
        return self.database_url

    @property
    def sync_lease(self) -> timedelta:
        return timedelta(seconds=self.sync_lease_seconds)

    @property
    def resolved_key_file(self) -> Path:
        return self.path(self.key_file)

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.path(self.audit_key_file)

    @property
    def resolved_mapping_dirs(self) -> list[Path]:
        return [self.path(d) for d in self.mapping_dirs]


def folder_list(text: str) -> list[str]:
    """Folders written as text: a JSON list (``["a", "b"]``), or paths separated by the OS
    path separator (``a:b`` on POSIX), or one path."""
    text = text.strip()
    if text.startswith("["):
        try:
            folders = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a valid JSON list of folders: {exc}") from None
        if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
            raise ValueError("a JSON list of folders must hold only strings")
        return folders
    return [part.strip() for part in text.split(os.pathsep) if part.strip()]


def config_path(explicit: Path | None = None) -> Path:
    """Where the configuration file is (it may not exist yet)."""
    if explicit is not None:
        return explicit
    env = os.environ.get("HUB_CONFIG")
    return Path(env) if env else Path.cwd() / CONFIG_FILE_NAME


def load_settings(explicit: Path | None = None, *, must_exist: bool = True) -> Settings:
    """Read hub.toml (and the environment) into validated settings."""
    path = config_path(explicit).resolve()
    if must_exist and not path.is_file():
        raise ConfigError(
            f"no configuration at {path}; run `hub init` there, or pass --config / set HUB_CONFIG"
        )
    if path.is_file():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    token = _config_file.set(path if path.is_file() else None)
    try:
        settings = Settings(home=path.parent)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        raise ConfigError(f"{path} or its {ENV_PREFIX}* environment variables: {exc}") from None
    finally:
        _config_file.reset(token)
    return settings


def write_default_config(path: Path, values: dict[str, Any] | None = None) -> None:
    """Write a commented hub.toml with the defaults (and ``values`` overriding them)."""
    merged: dict[str, Any] = {
        "database_url": "sqlite:///data/hub.db",
        "key_file": "secrets/master.key",
        "mapping_dirs": ["mappings"],
        "log_level": "WARNING",
        **(values or {}),
    }
    lines = ["# hub configuration; every key can be overridden by HUB_<KEY> in the environment."]
    for key, value in merged.items():
        lines.append(f"{key} = {_toml_value(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _describe(exc: ValidationError, path: Path) -> str:
    """Each problem where it is: the environment variable that set the key (the environment
    beats the file), else the key in the file."""
    in_file, in_env = [], []
    for err in exc.errors(include_input=False, include_url=False):
        key = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        variable = _env_variable(str(err["loc"][0])) if err["loc"] else None
        if variable is not None:
            in_env.append(f"environment variable {variable}: {message}")
        else:
            in_file.append(f"{key}: {message}")
    problems = in_env + (
        [f"{path}: invalid configuration: " + "; ".join(in_file)] if in_file else []
    )
    return "; ".join(problems)


def _env_variable(key: str) -> str | None:
    """The environment variable that sets ``key``, if one is set (names ignore case, as
    pydantic-settings reads them)."""
    wanted = (ENV_PREFIX + key).upper()
    return next((name for name in os.environ if name.upper() == wanted), None)


def parse_assignments(items: list[str], *, flag: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` pairs (dotted keys nest: ``http.timeout_seconds=10``) as a config dict.

    A value that reads as JSON (``true``, ``50``, ``["a"]``) is taken as such, anything else
    as text; the connector's config model then validates the whole.
    """
    config: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        *parents, leaf = key.strip().split(".")
        target = config
        for part in parents:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{flag} {key}: {part} is set as a value and as a group")
            target = child
        target[leaf] = _value(value)
    return config


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
