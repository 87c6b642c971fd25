"""The base of every vendor sandbox, its control endpoints, and the registry entry point.

A sandbox is an ASGI app (Starlette inside, fault injection outermost) that emulates the API
subset a connector uses. Its control endpoints live under ``/_sandbox/`` and are never
faulted: ``GET /_sandbox/stats`` and ``POST /_sandbox/mutate``.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from hub.sandbox.dates import DateHeader
from hub.sandbox.faults import (
    ASGIApp,
    FaultInjector,
    FaultResponder,
    FaultSpec,
    Receive,
    SandboxStats,
    Scope,
    Send,
)
from hub.sandbox.options import OptionSpec, OptionsT, SandboxOptions, option_specs, parse_options

MAX_MUTATIONS_PER_CALL = 10_000


class SandboxApp(abc.ABC):
    """A vendor emulator. Subclasses provide the routes, the vendor's fault responses,
    deterministic mutations and the connection config a hub connection needs.

    A subclass declares its options in ``options_model`` (see :mod:`hub.sandbox.options`)
    and the port ``hub demo`` serves it on in ``demo_port`` (None: any free port). It is
    built as ``cls(records=N, seed=S, faults=SPEC, **options)`` (see :func:`build_sandbox`)
    and registered with the ``hub_register_sandboxes`` hook.
    """

    vendor: ClassVar[str]
    options_model: ClassVar[type[SandboxOptions]] = SandboxOptions
    demo_port: ClassVar[int | None] = None

    def __init__(self, *, seed: int, faults: str | None, credentials: dict[str, str]) -> None:
        self.seed = seed
        self.credentials = credentials
        self.fault_spec = FaultSpec.parse(faults)
        self.stats = SandboxStats()
        self._app: ASGIApp | None = None

    @property
    def app(self) -> ASGIApp:
        """The ASGI app to serve: control routes + vendor routes, faults injected outermost."""
        if self._app is None:
            inner = Starlette(
                routes=[*self._control_routes(), *self.routes()],
                exception_handlers={HTTPException: self._routing_error},
            )
            # Inside the fault injector, which needs uvicorn's own `send` to drop connections.
            self._app = FaultInjector(
                DateHeader(inner, self.server_time),
                spec=self.fault_spec,
                seed=self.seed,
                responder=self.fault_responder(),
                stats=self.stats,
            )
        return self._app

    async def _routing_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        answer = self.routing_error(request, exc.status_code)
        if answer is None:
            return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
        for name, value in (exc.headers or {}).items():
            answer.headers[name] = value
        return answer

    def routing_error(self, request: Request, status: int) -> Response | None:
        """The vendor's answer to a request no route takes (405 for a method a path does not
        allow, say), so that even those errors come in the vendor's shape; None keeps
        Starlette's plain-text one."""
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def server_time(self) -> float:
        """The server clock (Unix seconds) that its ``Date`` header shows; a sandbox with an
        injectable clock returns it, so clients that read the server's time see that one."""
        return time.time()

    # -- options --------------------------------------------------------------------------

    @classmethod
    def option_specs(cls) -> dict[str, OptionSpec]:
        """The options this sandbox accepts: name -> type, default and help."""
        return option_specs(cls.options_model)

    @classmethod
    def parse_options(cls, model: type[OptionsT], raw: Mapping[str, Any]) -> OptionsT:
        """``raw`` validated against ``model`` (this sandbox's ``options_model``), or a
        :class:`~hub.sandbox.options.SandboxOptionError` listing the valid options."""
        return parse_options(model, raw, vendor=cls.vendor)

    # -- what a vendor sandbox provides -------------------------------------------------

    @abc.abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The vendor API routes."""

    @abc.abstractmethod
    def fault_responder(self) -> FaultResponder:
        """The vendor's shape of injected 429/5xx/401 responses."""

    @abc.abstractmethod
    def mutate(self, count: int) -> list[str]:
        """Change ``count`` existing records deterministically; return their ids."""

    @abc.abstractmethod
    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """The connector config that talks to this sandbox, credential values included."""

    def oauth_connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any] | None:
        """A config that authenticates with expiring OAuth tokens, or None when the vendor
        has none; the contract suite's token checks use it."""
        return None

    # -- control endpoints ----------------------------------------------------------------

    def _control_routes(self) -> list[BaseRoute]:
        return [
            Route("/_sandbox/stats", self._stats_endpoint, methods=["GET"]),
            Route("/_sandbox/mutate", self._mutate_endpoint, methods=["POST"]),
        ]

    async def _stats_endpoint(self, request: Request) -> Response:
        return JSONResponse({"vendor": self.vendor, **self.stats.as_dict()})

    async def _mutate_endpoint(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _control_error('body must be JSON like {"count": 10}')
        count = body.get("count") if isinstance(body, dict) else None
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not 0 <= count <= MAX_MUTATIONS_PER_CALL
        ):
            return _control_error(f"count must be an integer from 0 to {MAX_MUTATIONS_PER_CALL}")
        return JSONResponse({"ids": self.mutate(count)})


def _control_error(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


def build_sandbox(
    vendor: str, *, records: int, seed: int, faults: str | None = None, **options: Any
) -> SandboxApp:
    """The installed sandbox of connector ``vendor`` (``hub_register_sandboxes``).

    An option the sandbox does not declare, or one of the wrong type, raises
    :class:`~hub.sandbox.options.SandboxOptionError` (a ValueError) listing the valid ones.
    """
    from hub.plugins import sandbox_class

    cls = sandbox_class(vendor)
    parse_options(cls.options_model, options, vendor=vendor)  # before anything is built
    build: Callable[..., SandboxApp] = cls  # the constructor contract in SandboxApp's docstring
    return build(records=records, seed=seed, faults=faults, **options)
