"""Line-numbered YAML: the mapping file as dicts and lists that remember their lines.

Every load-time :class:`MappingError` names the line it is about; this loader is where those
lines come from. It is PyYAML's safe loader, which also refuses duplicate keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hub.errors import MappingError


class _LineDict(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int
    key_lines: dict[Any, int]


class _LineList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, keeping line numbers and refusing duplicate keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> _LineDict:
    assert isinstance(node, yaml.MappingNode)
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, dict | list):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a scalar", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.Node) -> _LineList:
    assert isinstance(node, yaml.SequenceNode)
    result = _LineList(loader.construct_object(item, deep=True) for item in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _read_yaml(path: Path) -> _LineDict:
    """Parse a mapping file into line-aware dicts and lists."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping file: {exc.strerror}", file=file) from None
    try:
        root = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise MappingError(
            f"not valid YAML: {exc.problem or exc.context}", file=file, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise MappingError(f"not valid YAML: {exc}", file=file) from None
    if not isinstance(root, _LineDict):
        raise MappingError("a mapping file must be a YAML mapping at the top", file=file, line=1)
    return root


def _line_at(root: Any, loc: Iterable[Any]) -> int | None:
    """The line of the deepest node along ``loc`` (keys and list indexes) that exists."""
    node, line = root, getattr(root, "line", None)
    for step in loc:
        if isinstance(node, _LineDict) and step in node:
            line, node = node.key_lines[step], node[step]
        elif isinstance(node, _LineList) and isinstance(step, int) and 0 <= step < len(node):
            line, node = node.item_lines[step], node[step]
        # Steps that are not in the data (pydantic's union tags, a missing key) are skipped;
        # the line of the closest existing parent is the best pointer we have.
    return line
