"""One attempt within bounds: a deadline for the whole exchange (connect, headers and body
together) and a cap on the body's size, checked while it arrives, so a vendor that trickles
or floods its answer can neither hang a run nor fill the process's memory."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from hub.errors import ConnectorError
from hub.http.decoding import BodyUndecodable, BoundedDecoder, UnsupportedEncoding
from hub.http.outcome import Call
from hub.http.settings import HttpSettings

# Arguments of AsyncClient.request that belong to AsyncClient.send, not to build_request.
_SEND_OPTIONS = ("auth", "follow_redirects")


class DeadlinePassed(Exception):
    """The attempt had no complete answer within ``HttpSettings.request_deadline_seconds``."""


async def send_bounded(
    client: httpx.AsyncClient,
    call: Call,
    url: str,
    settings: HttpSettings,
    kwargs: dict[str, Any],
) -> httpx.Response:
    """Send one request and read its whole body, within the attempt's deadline and the body
    limit; the returned response's ``content`` is ready. DeadlinePassed when too slow,
    ConnectorError when the body is too large; httpx errors pass through."""
    options = dict(kwargs)
    send = {name: options.pop(name) for name in _SEND_OPTIONS if name in options}
    request = client.build_request(call.method, url, **options)
    try:
        async with asyncio.timeout(settings.request_deadline_seconds):
            response = await client.send(request, stream=True, **send)
            try:
                await _read_capped(response, call, settings.max_body_bytes)
            finally:
                await response.aclose()
                # httpx's stream wrapper and its response refer to each other (encode/httpx
                # #3733): left so, every body waits for the cyclic collector. It is read.
                response.stream = httpx.ByteStream(b"")
    except TimeoutError:
        raise DeadlinePassed(
            f"no complete answer within the {settings.request_deadline_seconds:g} s "
            "request deadline (http.request_deadline_seconds)"
        ) from None
    return response


async def _read_capped(response: httpx.Response, call: Call, limit: int) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(call, limit)
    if hasattr(response, "_content"):  # built from bytes (a mock transport): already read
        if len(response.content) > limit:
            raise _too_large(call, limit)
        return
    try:
        decoder = BoundedDecoder(response.headers.get("Content-Encoding", ""))
    except UnsupportedEncoding as exc:
        raise ConnectorError(f"{call} {exc}", **call.where()) from None
    chunks: list[bytes] = []
    size = 0
    # Decoded bytes are counted, a step at a time: a small compressed body (a decompression
    # bomb) is stopped one step past the limit, never inflated whole.
    try:
        async for raw in response.aiter_raw():
            for chunk in decoder.decode(raw):
                size += len(chunk)
                if size > limit:
                    raise _too_large(call, limit)
                chunks.append(chunk)
        for chunk in decoder.flush():
            size += len(chunk)
            if size > limit:
                raise _too_large(call, limit)
            chunks.append(chunk)
    except BodyUndecodable as exc:
        raise httpx.DecodingError(str(exc), request=response.request) from None
    response._content = b"".join(chunks)  # what aread() would have kept


def _too_large(call: Call, limit: int) -> ConnectorError:
    return ConnectorError(
        f"{call} answered with a body larger than the {_size(limit)} limit "
        "(http.max_body_bytes); reading stopped there. Raise the limit for this connection "
        "if the vendor really sends pages this large",
        **call.where(),
    )


def _size(count: int) -> str:
    if count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    if count % 1024 == 0:
        return f"{count // 1024} KiB"
    return f"{count} bytes"
