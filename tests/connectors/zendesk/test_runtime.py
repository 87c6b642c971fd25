"""Zendesk's refresh tokens are single use: a rotated one is saved, so the next process can
still refresh (the hub's connection runtime against the Zendesk sandbox over loopback)."""

from __future__ import annotations

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.config import Settings
from hub.runtime import Hub, utcnow
from hub.sandbox.server import serve_in_background
from hub.store.connections import add_connection
from hub.testing import FakeClock
from hub.vault import get_secret, set_secret
from tests.connectors.zendesk.support import zendesk_oauth_tokens


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

        clock.advance(3600)  # the access token expired: the first call refreshes (and rotates)
        async with hub.connection("zd") as first_process:
            await first_process.check()
        async with hub.engine.connect() as conn:
            saved = await get_secret(conn, hub.keyring, "zd-refresh")
        assert saved != issued["refresh_token"]  # the spent one was replaced

        clock.advance(3600)  # a new process starts from the saved token and can refresh again
        async with Hub.open(hub_settings) as next_hub, next_hub.connection("zd") as second:
            await second.check()
