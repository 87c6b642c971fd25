"""Compiling a validated mapping spec into stream mappings, once, when the file loads.

Expressions are parsed and checked here and transforms bound, so applying a mapping does no
parsing; every problem is a :class:`MappingError` naming the file and line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

import jmespath
import jmespath.functions
from jmespath.exceptions import EmptyExpressionError, IncompleteExpressionError, JMESPathError

from hub.errors import MappingError
from hub.mapping.apply import StreamMapping, _FieldRule, _Target
from hub.mapping.sources import Source, _coalesce, _concat, _lookup, _search, without_interpreter
from hub.mapping.spec import FieldSpec, StreamSpec, TargetSpec
from hub.mapping.yaml_lines import _line_at, _LineDict
from hub.models import MODELS
from hub.transforms import BoundTransform, TransformRegistry, TransformSpecError

# "a" or "a.b.c": the common case, evaluated without the JMESPath interpreter (a third of
# the mapping time in `hub bench`). Quoted or escaped names still go through JMESPath.
_PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

_JMESPATH_FUNCTIONS = frozenset(jmespath.functions.Functions().FUNCTION_TABLE)


def _functions_in(tree: Any) -> Iterable[str]:
    """Names of the functions a parsed JMESPath expression calls."""
    if isinstance(tree, dict):
        if tree.get("type") == "function_expression":
            yield str(tree.get("value"))
        for child in tree.get("children", ()):
            yield from _functions_in(child)
    elif isinstance(tree, list):
        for child in tree:
            yield from _functions_in(child)


def _jmespath_problem(exc: JMESPathError) -> str:
    """jmespath's error as one line: what is wrong and at which character."""
    if isinstance(exc, EmptyExpressionError):
        return "empty expression"
    what = "incomplete expression" if isinstance(exc, IncompleteExpressionError) else None
    what = what or getattr(exc, "message", None) or "syntax error"
    position = getattr(exc, "lex_position", None)
    return f"{what} at character {position}" if position is not None else what


class _Compiler:
    """Turns a validated MappingSpec into StreamMappings; errors carry the file and line."""

    def __init__(self, file: str, root: _LineDict, registry: TransformRegistry) -> None:
        self.file = file
        self.root = root
        self.registry = registry

    def fail(self, message: str, *loc: Any) -> MappingError:
        return MappingError(message, file=self.file, line=_line_at(self.root, loc))

    def expression(self, text: str, *loc: Any) -> Source:
        try:
            compiled = jmespath.compile(text)
        except JMESPathError as exc:
            raise self.fail(
                f"bad JMESPath expression {text!r}: {_jmespath_problem(exc)}", *loc
            ) from None
        unknown = sorted(set(_functions_in(compiled.parsed)) - _JMESPATH_FUNCTIONS)
        if unknown:
            raise self.fail(f"unknown JMESPath function(s) {', '.join(unknown)}", *loc)
        if _PLAIN_PATH.fullmatch(text):
            return _lookup(tuple(text.split(".")))
        return without_interpreter(compiled.parsed) or _search(compiled)

    def stream(self, name: str, spec: StreamSpec, version: str) -> StreamMapping:
        loc = ("streams", name)
        targets = tuple(self.target(t, *loc, "targets", i) for i, t in enumerate(spec.targets))
        for i, target in enumerate(targets[:-1]):
            if target.when is None:
                raise self.fail(
                    "only the last target may omit 'when'; the ones after it are unreachable",
                    *loc,
                    "targets",
                    i,
                )
        deleted_when = None
        if spec.deleted_when is not None:
            deleted_when = self.expression(spec.deleted_when, *loc, "deleted_when")
        return StreamMapping(
            name=name,
            object_type=spec.object_type,
            version=version,
            id_rule=self.field("id", spec.id, *loc, "id"),
            updated_at_rule=self.field("updated_at", spec.updated_at, *loc, "updated_at"),
            deleted_when=deleted_when,
            targets=targets,
        )

    def target(self, spec: TargetSpec, *loc: Any) -> _Target:
        model = MODELS.get(spec.model)
        if model is None:
            known = ", ".join(sorted(MODELS))
            raise self.fail(f"unknown model {spec.model!r}; known: {known}", *loc, "model")
        allowed = model.field_names()
        for name in spec.fields:
            if name not in allowed:
                raise self.fail(
                    f"{spec.model} has no field {name!r}; fields: {', '.join(sorted(allowed))}",
                    *loc,
                    "fields",
                    name,
                )
        missing = sorted(
            name
            for name, info in model.model_fields.items()
            if name in allowed and info.is_required() and name not in spec.fields
        )
        if missing:
            raise self.fail(
                f"{spec.model} needs field(s) {', '.join(missing)}, which have no default",
                *loc,
                "fields",
            )
        when = None if spec.when is None else self.expression(spec.when, *loc, "when")
        rules = tuple(
            self.field(name, rule, *loc, "fields", name) for name, rule in spec.fields.items()
        )
        return _Target(model=model, when=when, fields=rules)

    def field(self, name: str, spec: FieldSpec, *loc: Any) -> _FieldRule:
        transforms = tuple(
            self.transform(item, *loc, "transforms", i) for i, item in enumerate(spec.transforms)
        )
        return _FieldRule(name, self.source(spec, *loc), transforms, spec.default)

    def source(self, spec: FieldSpec, *loc: Any) -> Source:
        if spec.path is not None:
            return self.expression(spec.path, *loc, "path")
        if spec.coalesce is not None:
            paths = [self.expression(p, *loc, "coalesce", i) for i, p in enumerate(spec.coalesce)]
            return _coalesce(paths)
        if spec.concat is not None:
            parts = [self.expression(p, *loc, "concat", i) for i, p in enumerate(spec.concat)]
            return _concat(parts, spec.separator)
        value = spec.const
        return lambda _record: copy.deepcopy(value)

    def transform(self, item: Any, *loc: Any) -> BoundTransform:
        try:
            name, args, kwargs = _transform_call(item)
            return self.registry.bind(name, args, kwargs)
        except TransformSpecError as exc:
            raise self.fail(str(exc), *loc) from None


def _transform_call(item: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """Read ``name`` or ``{name: argument(s)}`` into a name, positional and keyword arguments.

    A list is spread into positional arguments, a mapping into keyword arguments, anything
    else is the one positional argument.
    """
    if isinstance(item, str):
        return item, (), {}
    if isinstance(item, dict) and len(item) == 1:
        ((name, arg),) = item.items()
        if isinstance(name, str):
            if isinstance(arg, list):
                return name, tuple(arg), {}
            if isinstance(arg, dict):
                if not all(isinstance(key, str) for key in arg):
                    raise TransformSpecError(f"{name}: argument names must be text")
                return name, (), dict(arg)
            return name, (arg,), {}
    raise TransformSpecError("a transform is a name or a one-key mapping {name: arguments}")
