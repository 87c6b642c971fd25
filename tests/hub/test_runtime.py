"""An open hub builds connectors from stored connections: personal config fields are sealed at
rest and opened only for the connection they belong to."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.connection_config import open_personal_config, seal_personal_config
from hub.errors import ConfigError, VaultError
from hub.runtime import Hub, utcnow
from hub.services import connections as connection_service
from hub.services import secrets as secret_service
from hub.store.connections import add_connection
from hub.store.schema import connections
from hub.testing.memory import MemoryConfig
from hub.vault import set_secret

OPERATOR_EMAIL = "operator.person@acme.example"
TOKEN_CONFIG: dict[str, Any] = {
    "generate": {"people": 1, "cases": 0},
    "email": OPERATOR_EMAIL,
    "token": "secret:mem-token",
}


async def _stored_row_text(hub: Hub, name: str) -> str:
    async with hub.engine.connect() as conn:
        row = (await conn.execute(sa.select(connections).where(connections.c.name == name))).one()
    return repr(tuple(row))


async def test_connection_email_is_sealed_at_rest_and_opened_for_the_connector(
    hub: Hub, memory_plugin: None
) -> None:
    await secret_service.set_secret(hub, "mem-token", "not-a-real-token")
    await connection_service.add_connection(hub, "mem", "memory", dict(TOKEN_CONFIG))

    assert OPERATOR_EMAIL not in await _stored_row_text(hub, "mem")
    async with hub.connection("mem") as connector:
        assert isinstance(connector.config, MemoryConfig)
        assert connector.config.email == OPERATOR_EMAIL


async def test_connection_with_a_personal_field_stored_in_clear_is_refused_naming_the_field(
    hub: Hub, memory_plugin: None
) -> None:
    async with hub.engine.begin() as conn:
        await set_secret(conn, hub.keyring, "mem-token", "not-a-real-token")
        await add_connection(conn, "mem", "memory", dict(TOKEN_CONFIG), now=utcnow())

    with pytest.raises(ConfigError, match="connection mem: config field email is not sealed") as e:
        async with hub.connection("mem"):
            pass
    assert OPERATOR_EMAIL not in str(e.value)


def test_a_secret_reference_in_a_personal_field_is_stored_as_a_reference(
    hub: Hub, memory_plugin: None
) -> None:
    config = {**TOKEN_CONFIG, "email": "secret:mem-email"}

    stored = seal_personal_config("memory", "mem", config, hub.keyring)

    assert stored == config
    assert open_personal_config("memory", "mem", stored, hub.keyring) == config


def test_a_sealed_personal_field_opens_only_for_the_connection_it_was_sealed_for(
    hub: Hub, memory_plugin: None
) -> None:
    stored = seal_personal_config("memory", "mem", TOKEN_CONFIG, hub.keyring)

    with pytest.raises(VaultError, match=r"connections\.config\.email"):
        open_personal_config("memory", "other", stored, hub.keyring)
