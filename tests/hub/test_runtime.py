"""An open hub builds connectors from stored connections and keeps rotated credentials."""

from __future__ import annotations

import time

import httpx

from connectors.zendesk.sandbox import ZendeskSandbox
from hub.runtime import Hub, utcnow
from hub.sandbox.server import serve_in_background
from hub.store.connections import add_connection
from hub.vault import get_secret, set_secret


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_rotated_refresh_token_is_saved_so_the_next_process_can_still_refresh(
    hub: Hub,
) -> None:
    clock = FakeClock()
    app = ZendeskSandbox(records=20, seed=2, clock=clock, token_ttl_seconds=600)
    creds = app.credentials
    async with serve_in_background(app) as running:
        async with httpx.AsyncClient(base_url=running.base_url) as raw:
            issued = (
                await raw.post(
                    "/oauth/tokens",
                    json={
                        "grant_type": "client_credentials",
                        "client_id": creds["oauth_client_id"],
                        "client_secret": creds["oauth_client_secret"],
                    },
                )
            ).json()
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
        async with await hub.connector("zd") as first_process:
            await first_process.check()
        async with hub.engine.connect() as conn:
            saved = await get_secret(conn, hub.keyring, "zd-refresh")
        assert saved != issued["refresh_token"]  # the spent one was replaced

        clock.now += 3600  # a new process starts from the saved token and can refresh again
        async with await hub.connector("zd") as second_process:
            await second_process.check()
