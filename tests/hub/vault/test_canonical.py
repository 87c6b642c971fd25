"""The canonical JSON text: the standard encoder's text, byte for byte, for every JSON value,
so content hashes stored by earlier versions still match."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from hub.vault.canonical import canonical_json


def standard(value: Any) -> str:
    """What earlier versions wrote (hub/vault/sealing.py before orjson)."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    try:
        return encoder.encode(value)
    except (TypeError, ValueError):
        return encoder.encode(to_jsonable_python(value))


# Every character, lone surrogates and the last code points included.
texts = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=2000)
def test_every_json_value_encodes_as_the_standard_encoder_wrote_it(value: Any) -> None:
    assert canonical_json(value) == standard(value)


@pytest.mark.parametrize(
    "value",
    [
        "\x7f",  # printable ASCII ends at "~": Python escapes DEL, orjson would not
        '\x00\x08\x0c\n\r\t\x1f"\\/',
        "José, 東京, 😀, \u2028",
        "é and a literal \\xe9",  # a text's own backslash-x beside an escaped character
        "é\\",
        ["\\U0001f600 é", "😀"],
        "\ud800 alone",
        1e-7,  # orjson writes 1e-7, Python 1e-07
        5e-05,  # orjson writes 0.00005
        [2.5e-9, "3e-5 in text", 1e-10, 1e16, 1e-4, 5e-324, -0.0],
        2**64,
        -(2**63) - 1,
        {"b": 1, "a": {"d": [], "c": {}}},
        {1: "a", 2: "b"},  # keys that are not text: sorted, then written as text
        [{"é": 1, "e": 2, "z": 3}],  # sorted by code point, as Python sorts text
        "a" * 100_000,
    ],
)
def test_values_orjson_writes_otherwise_still_encode_as_before(value: Any) -> None:
    assert canonical_json(value) == standard(value)
    assert canonical_json(value).isascii()


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 12, 2, 10, 30, tzinfo=dt.UTC),
        dt.date(2026, 12, 2),
        uuid.UUID(int=7),
        Colour.RED,
        [Level.HIGH],
        {Name("k"): Name("v")},
        Point(1),
        Decimal("1.10"),
        {"when": [dt.datetime(2026, 1, 1)], "ids": {uuid.UUID(int=1)}},
    ],
)
def test_python_values_encode_as_pydantic_converts_them(value: Any) -> None:
    assert canonical_json(value) == standard(value)


def test_nan_and_the_infinities_are_null_as_json_has_no_such_numbers() -> None:
    value = {"a": float("nan"), "b": [float("inf"), float("-inf")], "c": 1.5}
    assert canonical_json(value) == '{"a":null,"b":[null,null],"c":1.5}'
    # the same where the standard encoder writes the value (a datetime sends it there)
    beside = {**value, "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    assert canonical_json(beside) == (
        '{"a":null,"at":"2026-01-01T00:00:00Z","b":[null,null],"c":1.5}'
    )


def test_nesting_deeper_than_orjson_goes_still_encodes() -> None:
    value: Any = "leaf"
    for _ in range(300):
        value = [value]
    assert canonical_json(value) == standard(value)
