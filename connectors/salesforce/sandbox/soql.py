"""The subset of SOQL the sandbox understands, parsed into a :class:`Query`.

``SELECT f1, f2 FROM Object [WHERE expr] [ORDER BY f [ASC|DESC], ...] [LIMIT n]`` where
``expr`` joins conditions with ``AND`` or ``OR``, ``NOT`` and parentheses (mixing ``AND`` and
``OR`` needs parentheses, as in SOQL), a condition is ``field op literal`` (``=``, ``!=``,
``<``, ``<=``, ``>``, ``>=``) or ``field [NOT] IN (literal, ...)``, and a literal is a quoted
string, a number, ``true``/``false``, ``null``, a date (``2026-01-15``) or an unquoted
dateTime (``2026-01-15T10:30:00Z``, or with an offset). Keywords are case-insensitive, as in SOQL
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm).
Anything else is a :class:`SoqlError`, which the sandbox answers as ``MALFORMED_QUERY``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>!=|<=|>=|=|<|>)"
    r"|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})


class SoqlError(ValueError):
    """A query outside the subset, or malformed; the message says where."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # one of _OPERATORS, "in" or "not in"
    value: Any  # a literal, or a tuple of them for "in"


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class NotOf:
    part: Expr


Expr = Condition | AllOf | AnyOf | NotOf
"""A WHERE clause: a condition, or conditions joined by AND, OR and NOT."""


def conditions(expr: Expr) -> list[Condition]:
    """Every condition in ``expr``, however nested."""
    if isinstance(expr, Condition):
        return [expr]
    if isinstance(expr, NotOf):
        return conditions(expr.part)
    return [found for part in expr.parts for found in conditions(part)]


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    where: tuple[Expr, ...] = ()  # all must hold (the WHERE clause's top-level AND)
    order_by: tuple[Order, ...] = ()
    limit: int | None = None


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise SoqlError(f"unexpected character at position {position + 1}")
        found.append(_Token(match.lastgroup, match.group(match.lastgroup), match.start()))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek_word(self, *words: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "word" and token.text.upper() in words

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self._peek()
        if token is None:
            raise SoqlError("unexpected end of query")
        self.index += 1
        return token

    def keyword(self, *words: str) -> None:
        token = self.take()
        if token.kind != "word" or token.text.upper() != words[0]:
            raise SoqlError(f"expected {' '.join(words)} at position {token.at + 1}")
        for word in words[1:]:
            self.keyword(word)

    def name(self) -> str:
        token = self.take()
        if token.kind != "word":
            raise SoqlError(f"expected a field or object name at position {token.at + 1}")
        return token.text

    def punct(self, char: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.index += 1
            return True
        return False

    def done(self) -> bool:
        return self._peek() is None


def parse(text: str) -> Query:
    """``text`` as a :class:`Query`, or :class:`SoqlError`."""
    parser = _Parser(text)
    parser.keyword("SELECT")
    fields = [parser.name()]
    while parser.punct(","):
        fields.append(parser.name())
    parser.keyword("FROM")
    sobject = parser.name()
    where: tuple[Expr, ...] = ()
    if parser.peek_word("WHERE"):
        parser.take()
        clause = _expression(parser)
        where = clause.parts if isinstance(clause, AllOf) else (clause,)
    order: list[Order] = []
    if parser.peek_word("ORDER"):
        parser.keyword("ORDER", "BY")
        order.append(_order(parser))
        while parser.punct(","):
            order.append(_order(parser))
    limit = None
    if parser.peek_word("LIMIT"):
        parser.take()
        token = parser.take()
        if token.kind != "number" or not token.text.isdigit():
            raise SoqlError(f"LIMIT takes a whole number, at position {token.at + 1}")
        limit = int(token.text)
    if not parser.done():
        token = parser.take()
        raise SoqlError(f"unexpected token {token.text!r} at position {token.at + 1}")
    return Query(tuple(fields), sobject, where, tuple(order), limit)


def _expression(parser: _Parser) -> Expr:
    """Factors joined by one of AND and OR; SOQL refuses ``a AND b OR c`` as ambiguous."""
    parts = [_factor(parser)]
    joiner = None
    while parser.peek_word("AND", "OR"):
        token = parser.take()
        word = token.text.upper()
        if joiner is not None and word != joiner:
            raise SoqlError(
                f"{word} after {joiner} at position {token.at + 1}: mixing AND and OR needs "
                "parentheses"
            )
        joiner = word
        parts.append(_factor(parser))
    if joiner is None:
        return parts[0]
    return AllOf(tuple(parts)) if joiner == "AND" else AnyOf(tuple(parts))


def _factor(parser: _Parser) -> Expr:
    if parser.peek_word("NOT"):
        parser.take()
        return NotOf(_factor(parser))
    if parser.punct("("):
        inner = _expression(parser)
        if not parser.punct(")"):
            raise SoqlError("a parenthesis in the WHERE clause is not closed")
        return inner
    return _condition(parser)


def _condition(parser: _Parser) -> Condition:
    field = parser.name()
    if parser.peek_word("NOT"):
        parser.take()
        if not parser.peek_word("IN"):
            raise SoqlError(f"NOT after {field} must be followed by IN")
        return _in_list(parser, field, "not in")
    if parser.peek_word("IN"):
        return _in_list(parser, field, "in")
    token = parser.take()
    if token.kind != "op" or token.text not in _OPERATORS:
        raise SoqlError(f"expected a comparison after {field} at position {token.at + 1}")
    return Condition(field, token.text, _literal(parser))


def _in_list(parser: _Parser, field: str, op: str) -> Condition:
    parser.take()  # IN
    if not parser.punct("("):
        raise SoqlError(f"IN takes a parenthesised list, after {field}")
    values = [_literal(parser)]
    while parser.punct(","):
        values.append(_literal(parser))
    if not parser.punct(")"):
        raise SoqlError(f"the IN list after {field} is not closed")
    return Condition(field, op, tuple(values))


def _order(parser: _Parser) -> Order:
    field = parser.name()
    descending = False
    if parser.peek_word("ASC", "DESC"):
        descending = parser.take().text.upper() == "DESC"
    return Order(field, descending)


def _literal(parser: _Parser) -> Any:
    token = parser.take()
    if token.kind == "string":
        return re.sub(r"\\(.)", r"\1", token.text[1:-1])
    if token.kind == "datetime":
        return datetime.fromisoformat(token.text).astimezone(UTC)
    if token.kind == "date":
        return date.fromisoformat(token.text)
    if token.kind == "number":
        return float(token.text) if "." in token.text else int(token.text)
    if token.kind == "word" and token.text.lower() in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[token.text.lower()]
    raise SoqlError(f"expected a value at position {token.at + 1}")
