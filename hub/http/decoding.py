"""Content decoding in bounded steps: a compressed body is inflated at most ``STEP`` bytes at a
time, so a decompression bomb (a few KiB of gzip that inflate to gigabytes) is stopped by the
body limit after one step, instead of being expanded whole by one ``decompress`` call.

Only the encodings the hub asks for (``ACCEPT_ENCODING``) are decoded; any other is refused,
since its decoder could not be bounded the same way.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

ACCEPT_ENCODING = "gzip, deflate"
"""What every client of the hub sends as ``Accept-Encoding``."""

STEP = 64 * 1024
"""Most decoded bytes produced by one step."""


class UnsupportedEncoding(ValueError):
    """The answer is encoded in a way the hub did not ask for and does not decode."""


class BodyUndecodable(ValueError):
    """The body is not valid in the encoding it claims."""


class BoundedDecoder:
    """Decodes one body of the given ``Content-Encoding`` (identity, gzip or deflate, or
    several of them, applied in order) in steps of at most :data:`STEP` bytes."""

    def __init__(self, content_encoding: str) -> None:
        names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
        unknown = [name for name in names if name not in ("identity", "gzip", "deflate")]
        if unknown:
            raise UnsupportedEncoding(
                f"answered with Content-Encoding {', '.join(unknown)}, which the hub does not "
                f"ask for (it accepts {ACCEPT_ENCODING})"
            )
        # The last encoding applied is undone first.
        self._layers = [_Inflater(name) for name in reversed(names) if name != "identity"]

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of the next raw ``data``, in pieces of at most STEP bytes."""
        yield from self._through(data, 0)

    def flush(self) -> Iterator[bytes]:
        """Whatever the layers still hold once the raw body has ended."""
        yield from self._through(b"", 0, final=True)

    def _through(self, data: bytes, layer: int, *, final: bool = False) -> Iterator[bytes]:
        if layer == len(self._layers):
            if data:
                yield data
            return
        inflater = self._layers[layer]
        pieces = inflater.finish() if final else inflater.inflate(data)
        for piece in pieces:
            yield from self._through(piece, layer + 1)
        if final:
            yield from self._through(b"", layer + 1, final=True)


class _Inflater:
    """One gzip or deflate layer; deflate accepts a zlib stream or a raw one, as httpx does."""

    def __init__(self, name: str) -> None:
        self._gzip = name == "gzip"
        self._raw_tried = False
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)

    def inflate(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                piece = self._inflate.decompress(data, STEP)
            except zlib.error as exc:
                if self._gzip or self._raw_tried:
                    raise BodyUndecodable(f"the body does not decode: {exc}") from None
                # Some servers send raw deflate under "deflate"; retry the same bytes that way.
                self._raw_tried = True
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_tried = True  # the first bytes decoded: the format is settled
            data = self._inflate.unconsumed_tail
            if piece:
                yield piece
            # A full step may leave output pending inside zlib even when no input is left.
            if not data and len(piece) < STEP:
                return

    def finish(self) -> Iterator[bytes]:
        yield from self.inflate(b"")
        rest = self._inflate.flush()
        if rest:
            yield rest
