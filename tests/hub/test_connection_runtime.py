"""One runtime per connection: every stream and caller of a connection in a process shares one
connector (client, limiter, credential state), rebuilt only when the connection changes."""

from __future__ import annotations

import asyncio

import pytest

from hub.runtime import Hub
from hub.services import connections, secrets
from hub.sync import sync_connection
from hub.testing import MemoryConnector, MemorySource


async def test_every_stream_and_caller_of_a_connection_shares_one_connector(
    hub: Hub, memory: MemorySource
) -> None:
    async with hub.connection("mem") as first, hub.connection("mem") as second:
        assert first is second
    results = await sync_connection(hub, "mem")
    assert {r.stream for r in results} == {"people", "cases"}
    async with hub.connection("mem") as after_sync:
        assert after_sync is first
        assert not first.closed  # type: ignore[attr-defined]


async def test_concurrent_first_uses_build_one_connector(hub: Hub, memory: MemorySource) -> None:
    async def take() -> object:
        async with hub.connection("mem") as connector:
            return connector

    built = await asyncio.gather(*(take() for _ in range(5)))
    assert len({id(c) for c in built}) == 1


async def test_a_changed_secret_rebuilds_the_connector_and_closes_the_unused_old_one(
    hub: Hub, memory: MemorySource
) -> None:
    async with hub.connection("mem") as old:
        pass
    await secrets.set_secret(hub, "mem-token", "memory-token")  # same value, set again
    async with hub.connection("mem") as new:
        assert new is not old
    assert old.closed  # type: ignore[attr-defined]


async def test_a_changed_config_rebuilds_the_connector(hub: Hub, memory: MemorySource) -> None:
    async with hub.connection("mem") as old:
        assert isinstance(old, MemoryConnector) and old.config.page_size == 25
    config = {"source": old.config.source, "page_size": 10, "token": "secret:mem-token"}
    await connections.remove_connection(hub, "mem")
    await connections.add_connection(hub, "mem", "memory", config)
    async with hub.connection("mem") as new:
        assert isinstance(new, MemoryConnector) and new.config.page_size == 10


async def test_a_connector_replaced_while_in_use_stays_open_until_its_user_leaves(
    hub: Hub, memory: MemorySource
) -> None:
    async with hub.connection("mem") as old:
        await secrets.set_secret(hub, "mem-token", "memory-token")
        async with hub.connection("mem") as new:
            assert new is not old
        assert not old.closed  # type: ignore[attr-defined]
    assert old.closed  # type: ignore[attr-defined]


async def test_closing_the_hub_closes_every_connector(
    hub_settings: object, memory_plugin: None
) -> None:
    from hub.services.sandboxes import connect_sandbox
    from hub.testing import register_source

    register_source("closing", MemorySource.generated(people=1, cases=0))
    async with Hub.open(hub_settings, create=True) as opened:  # type: ignore[arg-type]
        await connect_sandbox(opened, "mem", "memory", {"source": "closing"})
        async with opened.connection("mem") as connector:
            pass
        assert not connector.closed  # type: ignore[attr-defined]
    assert connector.closed  # type: ignore[attr-defined]


async def test_an_unknown_connection_is_refused_naming_the_configured_ones(
    hub: Hub, memory: MemorySource
) -> None:
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match="no connection named 'nope'; configured: mem"):
        async with hub.connection("nope"):
            pass
