"""Adding connections through the one validated path, with the connector's own fields."""

from __future__ import annotations

import pytest

from hub.config import parse_assignments
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services import connections
from hub.services.connections import config_fields


def test_settings_nest_on_dots_and_read_json_values() -> None:
    parsed = parse_assignments(
        ["source=a", "page_size=10", "http.timeout_seconds=2.5", "http.max_attempts=3"]
    )
    assert parsed == {
        "source": "a",
        "page_size": 10,
        "http": {"timeout_seconds": 2.5, "max_attempts": 3},
    }


def test_a_setting_without_equals_sign_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="'page_size': expected KEY=VALUE"):
        parse_assignments(["page_size"])


def test_connector_fields_say_which_take_a_secret_and_which_are_sealed(memory_plugin: None) -> None:
    fields = {f.name: f for f in config_fields("memory")}
    assert fields["token"].secret and not fields["token"].personal
    assert fields["email"].personal and not fields["email"].secret
    assert fields["page_size"].type == "int" and fields["page_size"].default == 50
    assert "http.timeout_seconds" in fields  # nested settings are listed flat


async def test_a_literal_credential_is_refused_and_nothing_is_stored(
    hub: Hub, memory_plugin: None
) -> None:
    with pytest.raises(ConfigError, match="token must be a secret reference"):
        await connections.add_connection(hub, "mem", "memory", {"token": "plain-value"})
    assert await connections.list_connections(hub) == []


async def test_an_invalid_config_is_refused_naming_the_field(hub: Hub, memory_plugin: None) -> None:
    with pytest.raises(ConfigError, match="page_size"):
        await connections.add_connection(hub, "mem", "memory", {"page_size": 0})
    assert await connections.list_connections(hub) == []
