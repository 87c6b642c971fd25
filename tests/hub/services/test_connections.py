"""Adding connections through the one validated path, with the connector's own fields."""

from __future__ import annotations

import pytest

from hub.config import parse_assignments
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services import connections
from hub.services.connections import config_fields
from hub.store.connections import get_connection


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


async def test_a_personal_field_given_as_dash_is_read_and_stored_sealed(
    hub: Hub, memory_plugin: None
) -> None:
    asked: list[str] = []

    def typed(field: str) -> str:
        asked.append(field)
        return "ops@example.com\n"

    await connections.add_connection(
        hub, "mem", "memory", {"email": "-", "page_size": 5}, read=typed
    )

    assert asked == ["email"]
    async with hub.engine.connect() as conn:
        _, stored = await get_connection(conn, "mem")
    assert "ops@example.com" not in str(stored)
    async with hub.connection("mem") as connector:
        assert connector.config.email == "ops@example.com"  # type: ignore[attr-defined]


async def test_dash_for_a_field_that_is_not_personal_is_refused_and_nothing_is_stored(
    hub: Hub, memory_plugin: None
) -> None:
    with pytest.raises(
        ConfigError, match=r"source=- .* only personal fields take \(memory: email\)"
    ):
        await connections.add_connection(
            hub, "mem", "memory", {"source": "-"}, read=lambda field: "x"
        )
    with pytest.raises(ConfigError, match="email=-: no value was given"):
        await connections.add_connection(
            hub, "mem", "memory", {"email": "-"}, read=lambda field: "\n"
        )
    assert await connections.list_connections(hub) == []


@pytest.mark.parametrize("name", ["", "hub:housekeeping", "a/b", "zen desk", "-zd", "x" * 101])
async def test_a_connection_name_that_could_pass_for_something_else_is_refused(
    hub: Hub, memory_plugin: None, name: str
) -> None:
    with pytest.raises(ConfigError, match="use 1-100 letters, digits"):
        await connections.add_connection(hub, name, "memory", {})
    assert await connections.list_connections(hub) == []
