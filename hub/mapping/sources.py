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
            if isinstance(value, (dict, list)):
                raise _FieldFailure("concat expects scalar parts")
            texts.append(str(value).lower() if isinstance(value, bool) else str(value))
        return separator.join(texts) if texts else None

    return source


# -- JMESPath's comparisons and boolean operators, without its interpreter -------------------
# Conditions such as ``status == 'deleted'`` or ``role == 'agent' || role == 'admin'`` are
# evaluated for every record; these give exactly what JMESPath gives (its equality, its
# truthiness, ``||`` and ``&&`` returning an operand), which tests/hub/test_mapping_sources.py
# checks against the interpreter on generated records.


def _jmespath_false(value: Any) -> bool:
    """JMESPath's falsy values: null, false, and empty text, lists and objects (0 is true)."""
    if value is None or value is False:
        return True
    return isinstance(value, (str, list, dict)) and not value


def _jmespath_equal(x: Any, y: Any) -> bool:
    """JMESPath's ``==``: Python's, except that a boolean never equals the number 0 or 1."""
    if isinstance(x, bool) != isinstance(y, bool) and (
        isinstance(x, (int, float)) or isinstance(y, (int, float))
    ):
        return False
    return bool(x == y)


def _constant(value: Any) -> Source:
    return lambda record: value


def _equal(left: Source, right: Source, *, negate: bool) -> Source:
    def source(record: Any) -> Any:
        return _jmespath_equal(left(record), right(record)) is not negate

    return source


def _or(left: Source, right: Source) -> Source:
    def source(record: Any) -> Any:
        value = left(record)
        return right(record) if _jmespath_false(value) else value

    return source


def _and(left: Source, right: Source) -> Source:
    def source(record: Any) -> Any:
        value = left(record)
        return value if _jmespath_false(value) else right(record)

    return source


def _not(operand: Source) -> Source:
    return lambda record: _jmespath_false(operand(record))


def without_interpreter(tree: Any) -> Source | None:
    """A source for a parsed JMESPath expression made only of field paths, literals, ``==``,
    ``!=``, ``||``, ``&&`` and ``!``; None for anything else (JMESPath evaluates it)."""
    kind = tree.get("type") if isinstance(tree, dict) else None
    children = tree.get("children", []) if kind else []
    if kind == "field":
        return _lookup((tree["value"],))
    if kind == "subexpression" and all(c.get("type") == "field" for c in children):
        return _lookup(tuple(c["value"] for c in children))
    if kind == "literal":
        return _constant(tree["value"])
    parts = [without_interpreter(c) for c in children]
    if not parts or any(p is None for p in parts):
        return None
    operands: list[Source] = [p for p in parts if p is not None]
    if kind == "comparator" and tree["value"] in ("eq", "ne") and len(operands) == 2:
        return _equal(operands[0], operands[1], negate=tree["value"] == "ne")
    if kind == "or_expression" and len(operands) == 2:
        return _or(*operands)
    if kind == "and_expression" and len(operands) == 2:
        return _and(*operands)
    if kind == "not_expression" and len(operands) == 1:
        return _not(operands[0])
    return None
