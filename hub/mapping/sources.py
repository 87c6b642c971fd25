"""Sources: how a field's value is read from a raw record.

A source is a function of the record, built when the file is compiled and called for every
record; a :class:`_FieldFailure` it raises names what went wrong, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult


class _FieldFailure(Exception):
    """One field of one record could not be computed; the reason names no value."""


Source = Callable[[Any], Any]


def _search(expression: ParsedResult) -> Source:
    """A source that evaluates a compiled JMESPath expression against the record."""

    def source(record: Any) -> Any:
        try:
            return expression.search(record)
        except (JMESPathError, TypeError, ValueError, KeyError):
            # User-written expressions can meet data of the wrong type (a function given a
            # number where it wants text); that is a property of the record, not of the file.
            raise _FieldFailure("the expression cannot be evaluated on this record") from None

    return source


def _lookup(keys: tuple[str, ...]) -> Source:
    """What JMESPath's field access gives: the nested value, or null if any step is not an
    object or has no such key."""

    def source(record: Any) -> Any:
        value = record
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return source


def _coalesce(paths: Sequence[Source]) -> Source:
    """The first path that yields a value (not null)."""

    def source(record: Any) -> Any:
        for path in paths:
            value = path(record)
            if value is not None:
                return value
        return None

    return source


def _concat(parts: Sequence[Source], separator: str) -> Source:
    """The non-null parts as text joined by ``separator``; null when every part is null."""

    def source(record: Any) -> Any:
        texts = []
        for part in parts:
            value = part(record)
            if value is None:
                continue
            if isinstance(value, dict | list):
                raise _FieldFailure("concat expects scalar parts")
            texts.append(str(value).lower() if isinstance(value, bool) else str(value))
        return separator.join(texts) if texts else None

    return source
