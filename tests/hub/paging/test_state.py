"""Stream states are versioned: unknown or newer versions, states of another cursor, and
unversioned states without an upgrade are refused with a clear error; upgrades apply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from hub.paging import (
    STATE_VERSION,
    PageRequest,
    RestStream,
    StreamStateError,
    Watermark,
    stream_state,
)
from tests.hub.paging.support import Recorder, read_all


def vendor(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": [{"id": 1, "at": "2024-01-02T00:00:00Z"}]})


WATERMARK = Watermark("at", param="since")


def declared(**fields: Any) -> RestStream:
    return RestStream(PageRequest("items"), records="items", cursor=WATERMARK, **fields)


async def test_every_page_state_carries_the_version() -> None:
    pages = await read_all(declared(), vendor)

    assert pages[-1].state["version"] == STATE_VERSION == 1


async def test_a_state_of_a_newer_version_is_refused() -> None:
    newer = {"version": STATE_VERSION + 1, "next": None, "cursor": {"kind": "watermark"}}

    with pytest.raises(StreamStateError, match=r"version 2.*newer hub.*--full-refresh") as caught:
        await read_all(declared(), vendor, newer)

    assert (caught.value.connection, caught.value.stream) == ("conn", "items")


async def test_a_state_of_another_cursor_strategy_is_refused() -> None:
    other = stream_state({"kind": "resume_token", "token": "t"})

    with pytest.raises(StreamStateError, match=r"'resume_token' cursor.*'watermark'"):
        await read_all(declared(), vendor, other)


async def test_an_unversioned_state_without_an_upgrade_is_refused() -> None:
    with pytest.raises(StreamStateError, match="no version"):
        await read_all(declared(), vendor, {"since": "2024-01-01"})


async def test_an_upgrade_rewrites_an_unversioned_state() -> None:
    def upgrade(old: Mapping[str, Any]) -> dict[str, Any] | None:
        return stream_state(WATERMARK.saved_state(start=old["since"]))

    recorder = Recorder(vendor)
    await read_all(declared(upgrade=upgrade), recorder, {"since": "2024-01-01T00:00:00Z"})

    assert recorder.params() == [{"since": "2024-01-01T00:00:00Z"}]


async def test_an_upgrade_may_restart_the_stream_deliberately() -> None:
    recorder = Recorder(vendor)
    await read_all(declared(upgrade=lambda old: None), recorder, {"anything": 1})

    assert recorder.params() == [{}]


async def test_a_malformed_envelope_names_what_is_wrong() -> None:
    with pytest.raises(StreamStateError, match="malformed at cursor"):
        await read_all(declared(), vendor, {"version": 1, "next": None, "cursor": "x"})
