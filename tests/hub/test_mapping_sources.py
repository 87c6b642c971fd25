"""Conditions compiled without the JMESPath interpreter give exactly what JMESPath gives."""

from __future__ import annotations

from typing import Any

import jmespath
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.mapping.sources import without_interpreter

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2, 0.0, 1.0, -1]),
    st.sampled_from(["", "deleted", "agent", "0", "true"]),
)
_values = st.one_of(
    _scalars, _scalars, _scalars, st.lists(_scalars, max_size=2), st.just({}), st.just({"b": 1})
)
_records = st.fixed_dictionaries({"a": _values, "b": _values}, optional={"c": _values})
_literals = st.one_of(
    st.sampled_from(["'deleted'", "'agent'", "''", "`0`", "`1`", "`true`", "`false`"]),
    st.sampled_from(["`null`", "`[]`", "`{}`", "`1.0`", "`[0]`"]),
)


def _paths() -> st.SearchStrategy[str]:
    return st.sampled_from(["a", "b", "c", "missing", "a.b", "c.x.y"])


_atoms = st.one_of(
    _paths(),
    st.builds(
        lambda p, op, lit: f"{p} {op} {lit}", _paths(), st.sampled_from(["==", "!="]), _literals
    ),
)
_expressions = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) || ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) && ({b})", inner, inner),
        st.builds(lambda a: f"!({a})", inner),
    ),
    max_leaves=5,
)


def _same(x: Any, y: Any) -> bool:
    # 1 == True in Python: compare types too, so a boolean result never passes for a number.
    return type(x) is type(y) and x == y


@settings(max_examples=500, deadline=None)
@given(_expressions, _records)
def test_compiled_conditions_give_what_jmespath_gives(
    expression: str, record: dict[str, Any]
) -> None:
    source = without_interpreter(jmespath.compile(expression).parsed)
    assert source is not None, expression
    assert _same(source(record), jmespath.search(expression, record)), expression


def test_anything_else_is_left_to_jmespath() -> None:
    for expression in ("length(a)", "a[0]", "a > `1`", "a.b[*]", "`1` == a | b"):
        assert without_interpreter(jmespath.compile(expression).parsed) is None, expression
