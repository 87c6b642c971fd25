"""A connector over ``httpx.MockTransport`` for paging tests, and a list vendor to page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import httpx

from hub.connector import Connector, ConnectorConfig, Page, Stream
from hub.paging import RestStream, read_stream

BASE = "https://vendor.example.test/api/"
Handler = Callable[[httpx.Request], httpx.Response]


class _NoAuth(httpx.Auth):
    pass


class PagingConnector(Connector):
    """Reads its one stream with whatever declaration the test gives it."""

    name: ClassVar[str] = "paging-test"
    title: ClassVar[str] = "Paging test"
    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    streams: ClassVar[tuple[Stream, ...]] = (Stream("items", "item", "Items.", "cursor"),)

    def __init__(self, handler: Handler, spec: RestStream | None = None) -> None:
        config = ConnectorConfig(base_url=BASE, http={"max_attempts": 1})
        client = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(handler))
        super().__init__(config, connection="conn", client=client)
        self.spec = spec

    def auth(self) -> httpx.Auth:
        return _NoAuth()

    async def check(self) -> None:
        return None

    def read(self, stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        assert self.spec is not None
        return read_stream(self, stream, self.spec, state)


class Recorder:
    """Wraps a handler and keeps the query of every request it answered."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def params(self) -> list[dict[str, str]]:
        return [dict(request.url.params) for request in self.requests]


async def read_all(
    spec: RestStream, handler: Handler, state: dict[str, Any] | None = None
) -> list[Page]:
    async with PagingConnector(handler, spec) as connector:
        return [page async for page in connector.read("items", state)]


def ids(pages: list[Page]) -> list[Any]:
    return [record["id"] for page in pages for record in page.records]


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """A state as the store gives it back (JSON)."""
    loaded: dict[str, Any] = json.loads(json.dumps(state))
    return loaded
