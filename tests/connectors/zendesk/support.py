"""Helpers for the Zendesk tests: sandbox configs and tokens."""

from __future__ import annotations

import httpx

UNLIMITED = 1_000_000


def zendesk_config(app: object, running: object, **overrides: object) -> dict[str, object]:
    """Connection config for a sandbox, with the client-side limits relaxed for tests."""
    config = dict(app.connection_config(running.base_url, running.ca_file))  # type: ignore[attr-defined]
    config.update(
        incremental_requests_per_minute=UNLIMITED, requests_per_minute=UNLIMITED, **overrides
    )
    return config


async def zendesk_oauth_tokens(base_url: str, credentials: dict[str, str]) -> dict[str, str]:
    """An access and a refresh token from a Zendesk sandbox's client-credentials grant."""
    grant = {
        "grant_type": "client_credentials",
        "client_id": credentials["oauth_client_id"],
        "client_secret": credentials["oauth_client_secret"],
    }
    async with httpx.AsyncClient(base_url=base_url) as client:
        issued: dict[str, str] = (await client.post("/oauth/tokens", json=grant)).json()
    return issued
