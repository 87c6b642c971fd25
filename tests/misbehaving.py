"""A small HTTP/1.1 server on a loopback port that answers the way broken or hostile vendors
do: a trickled body, a huge or endless one, JSON under an HTML content type, a cursor that
never moves. Each test gives it a ``reply`` that writes the whole answer on the socket, so the
misbehaviour happens on the wire, where the hub's HTTP client meets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    """What the server was asked: method, path (with any base path) and query."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case


Reply = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


class MisbehavingVendor:
    """Serves every request with ``reply`` on ``127.0.0.1`` at a free port; use as ``async
    with``. ``base_url`` carries ``base_path`` (``/tenant``), as a gateway's URL would."""

    def __init__(self, reply: Reply, *, base_path: str = "") -> None:
        self._reply = reply
        self._base_path = base_path
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.requests: list[Request] = []
        self.base_url = ""

    async def __aenter__(self) -> MisbehavingVendor:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}{self._base_path}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):  # an endless answer would keep wait_closed waiting
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            start, *lines = head.decode("latin-1").strip().split("\r\n")
            method, target, _ = start.split(" ", 2)
            headers = dict(_header(line) for line in lines)
            url = urlsplit(target)
            request = Request(method, url.path, dict(parse_qsl(url.query)), headers)
            self.requests.append(request)
            await self._reply(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up, which is what a bounded client does
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(ConnectionError):
                writer.close()


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


def _head(status: int, content_type: str, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", f"Content-Type: {content_type}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def answer(payload: Callable[[Request], Any], *, content_type: str = "application/json") -> Reply:
    """A well-formed answer with the JSON of ``payload(request)`` as ``content_type``."""

    async def reply(request: Request, writer: asyncio.StreamWriter) -> None:
        body = body_of(payload(request))
        writer.write(_head(200, content_type, len(body)) + body)
        await writer.drain()

    return reply


def trickle(payload: Any, *, pause: float) -> Reply:
    """Headers at once, then the JSON body one byte every ``pause`` seconds: each read gets
    data long before any read timeout, so only a deadline on the whole answer ends it."""

    async def reply(request: Request, writer: asyncio.StreamWriter) -> None:
        body = body_of(payload)
        writer.write(_head(200, "application/json", len(body)))
        for offset in range(len(body)):
            writer.write(body[offset : offset + 1])
            await writer.drain()
            await asyncio.sleep(pause)

    return reply


def flood(*, size: int | None, declare_length: bool = False) -> Reply:
    """A body of ``size`` bytes (None: without end), sent as fast as the client reads it,
    delimited by the connection's close unless ``declare_length``."""
    chunk = b" " * 65536  # whitespace: valid JSON padding, so only its size is wrong

    async def reply(request: Request, writer: asyncio.StreamWriter) -> None:
        length = size if declare_length else None
        writer.write(_head(200, "application/json", length))
        sent = 0
        while size is None or sent < size:
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
            if writer.is_closing():
                return

    return reply


def compressed_bomb(*, size: int, encoding: str = "gzip") -> Reply:
    """A small ``encoding``-compressed body (gzip or deflate) that inflates to ``size`` bytes
    of JSON whitespace: the wire carries about a thousandth of what a decoder would produce.
    It is compressed on the first request, not when the test is collected."""
    packed: list[bytes] = []

    def body() -> bytes:
        if not packed:
            whitespace = b" " * (1024 * 1024)
            wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
            parts = [packer.compress(whitespace) for _ in range(size // len(whitespace))]
            packed.append(b"".join(parts) + packer.flush())
        return packed[0]

    async def reply(request: Request, writer: asyncio.StreamWriter) -> None:
        payload = body()
        head = _head(200, "application/json", len(payload))
        head = head.replace(b"\r\n\r\n", f"\r\nContent-Encoding: {encoding}\r\n\r\n".encode())
        writer.write(head + payload)
        await writer.drain()

    return reply
