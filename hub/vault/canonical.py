"""The canonical JSON text that content hashes and sealed values are made of.

One ASCII text per value: keys sorted, no spaces, every character outside printable ASCII
escaped. For every value JSON can hold it is byte for byte the text of
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``, which
earlier versions hashed and sealed, so stored hashes still match; orjson writes it in about a
third of the time (a record's canonical JSON was the largest single cost of a sync).
orjson writes UTF-8 where the standard encoder writes ``\\uXXXX``, and floats below 1e-4
otherwise (``1e-7`` for ``1e-07``, ``0.00005`` for ``5e-05``); the first is escaped here,
the second goes to the standard encoder, as does every value orjson does not encode alike:
integers beyond 64 bits, lone surrogates, keys that are not text, subclasses of the JSON
types, datetimes, dataclasses and anything else. NaN and the infinities, which JSON cannot
hold, are ``null`` (as in orjson and JavaScript's ``JSON.stringify``; the standard encoder
wrote ``NaN``).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

import orjson
from pydantic_core import to_jsonable_python

_string = json.encoder.encode_basestring_ascii  # in C, as JSONEncoder uses it
_STANDARD = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)
_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME  # pydantic's form of a datetime differs from orjson's
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS  # str/int/dict/list subclasses (an IntEnum, say)
)
# Where orjson writes a float below 1e-4 otherwise: 1e-7 for 1e-07, 0.00005 for 5e-05.
# Text can look alike ("3e-5"); it then goes the standard way, to the same result.
_SHORT_EXPONENT = re.compile(rb"[0-9]e-[0-9](?![0-9])")
_ESCAPE = "hub-json-ascii"


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see the module's docstring)."""
    if type(value) is str:  # a sealed field's value, mostly: orjson's call costs more here
        return _string(value)
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: not a value orjson encodes alike
        return _standard(value)
    if b"0.0000" in text or (b"e-" in text and _SHORT_EXPONENT.search(text)):
        return _standard(value)
    out = text.decode("ascii") if text.isascii() else _escaped(text)
    if "\x7f" in out:  # ASCII, but not printable: Python escapes it, orjson does not
        out = out.replace("\x7f", "\\u007f")
    return out


def _escaped(text: bytes) -> str:
    """orjson's UTF-8 text with every character outside ASCII escaped as ``json`` escapes it.

    Such characters stand only inside strings, so each is escaped in its place. Python's own
    ``backslashreplace`` (in C) writes ``\\xe9``, ``\\u20ac`` and ``\\U0001f600``; the first is
    made ``\\u00e9``, which is safe while no escaped backslash (``\\\\``) could put a ``\\x``
    of the text's own next to it. Otherwise, and for characters beyond U+FFFF (a surrogate
    pair each), the characters are escaped one by one.
    """
    if b"\\\\" not in text:
        escaped = text.decode("utf-8").encode("ascii", "backslashreplace")
        if b"\\U" not in escaped:
            return escaped.replace(b"\\x", b"\\u00").decode("ascii")
    return text.decode("utf-8").encode("ascii", _ESCAPE).decode("ascii")


def _standard(value: Any) -> str:
    """Decoded JSON encodes as it is; anything else (datetimes, sets, models, NaN) goes
    through pydantic's conversion to JSON types first. Both give the same text for JSON types
    and objects keyed by text, numbers or booleans."""
    try:
        return _STANDARD.encode(value)
    except (TypeError, ValueError):
        return _STANDARD.encode(_finite(to_jsonable_python(value)))


def _finite(value: Any) -> Any:
    """``value`` with NaN and the infinities as None, as orjson writes them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _escape_as_json(error: UnicodeError) -> tuple[str, int]:
    """``\\uXXXX`` for each character ASCII cannot hold, a surrogate pair above U+FFFF, as
    ``json`` writes them."""
    assert isinstance(error, UnicodeEncodeError)
    escaped = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            escaped.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            escaped.append(f"\\u{code:04x}")
    return "".join(escaped), error.end


codecs.register_error(_ESCAPE, _escape_as_json)
