"""A request described as data (what a paginator adjusts) and the answer a paginator reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx


@dataclass(frozen=True)
class PageRequest:
    """One request of a stream: ``path`` is relative to the connection's base URL."""

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    method: str = "GET"
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_safe: bool = False  # a POST that only reads (a query), so resending it is harmless

    def with_params(self, params: Mapping[str, Any]) -> PageRequest:
        """This request with ``params`` added (replacing any of the same names)."""
        return replace(self, params={**self.params, **params})

    def without_params(self, names: tuple[str, ...]) -> PageRequest:
        return replace(self, params={k: v for k, v in self.params.items() if k not in names})

    def with_json(self, fields: Mapping[str, Any]) -> PageRequest:
        """This request with ``fields`` added to its JSON object body (replacing any of the
        same names), for APIs that take paging or time bounds in a POSTed query."""
        body = self.json if isinstance(self.json, Mapping) else {}
        return replace(self, json={**body, **fields})

    def format(self, **values: str) -> PageRequest:
        """This request with ``{name}`` placeholders of its path filled in (e.g. a job id)."""
        return replace(self, path=self.path.format(**values))

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`hub.connector.Connector.request_json`."""
        kwargs: dict[str, Any] = {}
        if self.params:
            kwargs["params"] = dict(self.params)
        if self.json is not None:
            kwargs["json"] = self.json
        if self.headers:
            kwargs["headers"] = dict(self.headers)
        if self.retry_safe:
            kwargs["retry_safe"] = True
        return kwargs


@dataclass(frozen=True)
class PageResponse:
    """What a paginator reads to find the next page: the response, its decoded body, the
    records extracted from it and the connection's base URL (to keep next links on it)."""

    response: httpx.Response
    body: Any
    records: list[Any]
    base_url: httpx.URL
