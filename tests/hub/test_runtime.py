"""An open hub builds connectors from stored connections and keeps rotated credentials."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.zendesk.config import ZendeskConfig
from connectors.zendesk.sandbox import ZendeskSandbox
from hub.config import Settings
from hub.connection_config import open_personal_config, seal_personal_config
from hub.errors import ConfigError, VaultError
from hub.runtime import Hub, utcnow
from hub.sandbox.server import serve_in_background
from hub.services import connections as connection_service
from hub.services import secrets as secret_service
from hub.store.connections import add_connection
from hub.store.schema import connections
from hub.vault import get_secret, set_secret
from tests.support import zendesk_oauth_tokens

AGENT_EMAIL = "agent.person@acme.example"
API_TOKEN_CONFIG: dict[str, Any] = {
    "base_url": "https://acme.zendesk.example",
    "email": AGENT_EMAIL,
    "token": "secret:zd-token",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_rotated_refresh_token_is_saved_so_the_next_process_can_still_refresh(
    hub: Hub, hub_settings: Settings
) -> None:
    clock = FakeClock()
    app = ZendeskSandbox(records=20, seed=2, clock=clock, token_ttl_seconds=600)
    creds = app.credentials
    async with serve_in_background(app) as running:
        issued = await zendesk_oauth_tokens(running.base_url, creds)
        async with hub.engine.begin() as conn:
            for name, value in (
                ("zd-access", issued["access_token"]),
                ("zd-refresh", issued["refresh_token"]),
                ("zd-client-secret", creds["oauth_client_secret"]),
            ):
                await set_secret(conn, hub.keyring, name, value)
            await add_connection(
                conn,
                "zd",
                "zendesk",
                {
                    "base_url": running.base_url,
                    "oauth_client_id": creds["oauth_client_id"],
                    "oauth_client_secret": "secret:zd-client-secret",
                    "access_token": "secret:zd-access",
                    "refresh_token": "secret:zd-refresh",
                },
                now=utcnow(),
            )

        clock.now += 3600  # the access token expired: the first call refreshes (and rotates)
        async with hub.connection("zd") as first_process:
            await first_process.check()
        async with hub.engine.connect() as conn:
            saved = await get_secret(conn, hub.keyring, "zd-refresh")
        assert saved != issued["refresh_token"]  # the spent one was replaced

        clock.now += 3600  # a new process starts from the saved token and can refresh again
        async with Hub.open(hub_settings) as next_hub, next_hub.connection("zd") as second:
            await second.check()


async def _stored_row_text(hub: Hub, name: str) -> str:
    async with hub.engine.connect() as conn:
        row = (await conn.execute(sa.select(connections).where(connections.c.name == name))).one()
    return repr(tuple(row))


async def test_connection_email_is_sealed_at_rest_and_opened_for_the_connector(
    hub: Hub, hub_settings: Settings
) -> None:
    await secret_service.set_secret(hub, "zd-token", "not-a-real-token")
    await connection_service.add_connection(hub, "zd", "zendesk", dict(API_TOKEN_CONFIG))

    assert AGENT_EMAIL not in await _stored_row_text(hub, "zd")
    async with hub.connection("zd") as connector:
        assert isinstance(connector.config, ZendeskConfig)
        assert connector.config.email == AGENT_EMAIL


async def test_connection_with_a_personal_field_stored_in_clear_is_refused_naming_the_field(
    hub: Hub,
) -> None:
    async with hub.engine.begin() as conn:
        await set_secret(conn, hub.keyring, "zd-token", "not-a-real-token")
        await add_connection(conn, "zd", "zendesk", dict(API_TOKEN_CONFIG), now=utcnow())

    with pytest.raises(ConfigError, match="connection zd: config field email is not sealed") as e:
        async with hub.connection("zd"):
            pass
    assert AGENT_EMAIL not in str(e.value)


def test_a_secret_reference_in_a_personal_field_is_stored_as_a_reference(hub: Hub) -> None:
    config = {**API_TOKEN_CONFIG, "email": "secret:zd-email"}

    stored = seal_personal_config("zendesk", "zd", config, hub.keyring)

    assert stored == config
    assert open_personal_config("zendesk", "zd", stored, hub.keyring) == config


def test_a_sealed_personal_field_opens_only_for_the_connection_it_was_sealed_for(
    hub: Hub,
) -> None:
    stored = seal_personal_config("zendesk", "zd", API_TOKEN_CONFIG, hub.keyring)

    with pytest.raises(VaultError, match=r"connections\.config\.email"):
        open_personal_config("zendesk", "other", stored, hub.keyring)
