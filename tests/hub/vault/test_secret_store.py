"""Connector credentials: sealed in the database, listed by name, resolved from config."""

from __future__ import annotations

from datetime import UTC

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import ConfigError, VaultError
from hub.store.schema import secrets
from hub.vault import (
    Keyring,
    get_secret,
    list_secrets,
    remove_secret,
    resolve_secret_refs,
    set_secret,
)

TOKEN = "zd-api-token-Xq81nB2k"  # a made-up credential


async def _set(engine: AsyncEngine, keyring: Keyring, name: str, value: str) -> None:
    async with engine.begin() as conn:
        await set_secret(conn, keyring, name, value)


async def test_a_stored_secret_reads_back(engine: AsyncEngine, keyring: Keyring) -> None:
    await _set(engine, keyring, "vendor-token", TOKEN)

    async with engine.connect() as conn:
        assert await get_secret(conn, keyring, "vendor-token") == TOKEN


async def test_the_database_holds_the_secret_sealed(engine: AsyncEngine, keyring: Keyring) -> None:
    await _set(engine, keyring, "vendor-token", TOKEN)

    async with engine.connect() as conn:
        sealed = (await conn.execute(sa.select(secrets.c.sealed))).scalar_one()

    assert sealed.startswith("v1:")
    assert TOKEN not in sealed


async def test_setting_again_replaces_the_value(engine: AsyncEngine, keyring: Keyring) -> None:
    await _set(engine, keyring, "vendor-token", TOKEN)
    await _set(engine, keyring, "vendor-token", "rotated-token-9")

    async with engine.connect() as conn:
        assert await get_secret(conn, keyring, "vendor-token") == "rotated-token-9"
        assert [name for name, _ in await list_secrets(conn)] == ["vendor-token"]


async def test_a_missing_secret_says_how_to_set_it(engine: AsyncEngine, keyring: Keyring) -> None:
    async with engine.connect() as conn:
        with pytest.raises(ConfigError) as caught:
            await get_secret(conn, keyring, "twilio-auth")

    assert str(caught.value) == "secret twilio-auth is not set; run `hub secrets set twilio-auth`"


async def test_listing_gives_names_and_aware_dates_only(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    await _set(engine, keyring, "b-secret", TOKEN)
    await _set(engine, keyring, "a-secret", TOKEN)

    async with engine.connect() as conn:
        listed = await list_secrets(conn)

    assert [name for name, _ in listed] == ["a-secret", "b-secret"]
    assert all(
        updated.tzinfo is not None and updated.utcoffset() == UTC.utcoffset(None)
        for _, updated in listed
    )
    assert TOKEN not in repr(listed)


async def test_removing_reports_whether_there_was_a_secret(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    await _set(engine, keyring, "vendor-token", TOKEN)

    async with engine.begin() as conn:
        assert await remove_secret(conn, "vendor-token") is True
        assert await remove_secret(conn, "vendor-token") is False
        assert await list_secrets(conn) == []


async def test_a_sealed_secret_copied_under_another_name_does_not_open(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    await _set(engine, keyring, "vendor-token", TOKEN)
    await _set(engine, keyring, "other", "placeholder")
    async with engine.begin() as conn:
        sealed = (
            await conn.execute(sa.select(secrets.c.sealed).where(secrets.c.name == "vendor-token"))
        ).scalar_one()
        await conn.execute(secrets.update().where(secrets.c.name == "other").values(sealed=sealed))

    async with engine.connect() as conn:
        with pytest.raises(VaultError) as caught:
            await get_secret(conn, keyring, "other")

    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("name", ["", "has space", "-leading-dash", "x" * 201, "secret:nested"])
async def test_an_invalid_name_is_refused(engine: AsyncEngine, keyring: Keyring, name: str) -> None:
    async with engine.begin() as conn:
        with pytest.raises(ConfigError, match="invalid secret name"):
            await set_secret(conn, keyring, name, TOKEN)


async def test_references_are_resolved_at_any_depth(engine: AsyncEngine, keyring: Keyring) -> None:
    await _set(engine, keyring, "zd-token", TOKEN)
    await _set(engine, keyring, "zd-email", "agent@example.com")
    config = {
        "base_url": "https://acme.vendor.example",
        "auth": {"email": "secret:zd-email", "token": "secret:zd-token"},
        "extra": [{"token": "secret:zd-token"}, 3, None, "plain"],
    }

    async with engine.connect() as conn:
        resolved = await resolve_secret_refs(conn, keyring, config)

    assert resolved == {
        "base_url": "https://acme.vendor.example",
        "auth": {"email": "agent@example.com", "token": TOKEN},
        "extra": [{"token": TOKEN}, 3, None, "plain"],
    }
    assert config["auth"] == {"email": "secret:zd-email", "token": "secret:zd-token"}


async def test_an_unset_reference_names_the_missing_secret(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    async with engine.connect() as conn:
        with pytest.raises(ConfigError, match="secret zd-token is not set"):
            await resolve_secret_refs(conn, keyring, {"auth": {"token": "secret:zd-token"}})
