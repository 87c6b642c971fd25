"""Where a value sits in a vendor's JSON: a dotted path (``meta.after_cursor``) read with
plain dict look-ups, or any JMESPath expression for the rest."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import jmespath

Getter = Callable[[Any], Any]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@cache
def getter(path: str) -> Getter:
    """A function returning the value at ``path`` in a JSON value, None when absent.

    Dotted names are the common case and run once per record, so they skip JMESPath.
    """
    if _DOTTED.fullmatch(path):
        keys = path.split(".")

        def dotted(value: Any) -> Any:
            for key in keys:
                if not isinstance(value, dict):
                    return None
                value = value.get(key)
            return value

        return dotted
    try:
        expression = jmespath.compile(path)
    except jmespath.exceptions.ParseError as exc:
        raise ValueError(f"{path!r} is not a valid JMESPath expression: {exc}") from None
    return expression.search
