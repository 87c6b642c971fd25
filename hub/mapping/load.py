"""Loading mapping files: read, validate and compile one, or find a connector's.

:class:`Mapping` is what a loaded file becomes: its version and each stream's compiled mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub import plugins
from hub.errors import MappingError
from hub.mapping.apply import StreamMapping
from hub.mapping.compile import _Compiler
from hub.mapping.spec import _parse_spec
from hub.mapping.yaml_lines import _line_at, _read_yaml
from hub.transforms import TransformRegistry, TransformSpecError


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping file: its version and the compiled mapping of each stream."""

    version: str
    connector: str
    file: Path
    streams: AbcMapping[str, StreamMapping]

    def stream(self, name: str) -> StreamMapping:
        """The mapping of stream ``name``; a MappingError says which streams are mapped."""
        try:
            return self.streams[name]
        except KeyError:
            known = ", ".join(sorted(self.streams))
            raise MappingError(
                f"no mapping for stream {name!r}; mapped streams: {known}", file=str(self.file)
            ) from None


def load_mapping(
    path: str | Path, *, transforms: AbcMapping[str, Callable[..., Any]] | None = None
) -> Mapping:
    """Load, validate and compile a mapping file.

    ``transforms`` are the extra (plugin) transforms; by default those registered through
    the ``hub_register_transforms`` hook.
    """
    path = Path(path)
    file = str(path)
    root = _read_yaml(path)
    spec = _parse_spec(root, file)
    extra = plugins.plugin_transforms() if transforms is None else transforms
    try:
        registry = TransformRegistry(extra)
    except TransformSpecError as exc:
        raise MappingError(str(exc), file=file) from None
    compiler = _Compiler(file, root, registry)
    streams = {
        name: compiler.stream(name, stream, spec.version) for name, stream in spec.streams.items()
    }
    return Mapping(version=spec.version, connector=spec.connector, file=path, streams=streams)


def find_mapping(
    connector: str,
    dirs: Sequence[str | Path],
    *,
    transforms: AbcMapping[str, Callable[..., Any]] | None = None,
) -> Mapping:
    """Load ``<connector>.yaml`` from the first directory of ``dirs`` that has one."""
    for directory in dirs:
        candidate = Path(directory) / f"{connector}.yaml"
        if candidate.is_file():
            mapping = load_mapping(candidate, transforms=transforms)
            if mapping.connector != connector:
                raise MappingError(
                    f"file is named for connector {connector!r} but says "
                    f"connector: {mapping.connector!r}",
                    file=str(candidate),
                    line=_line_at(_read_yaml(candidate), ["connector"]),
                )
            return mapping
    searched = ", ".join(str(d) for d in dirs) or "no directories"
    raise MappingError(f"no mapping file {connector}.yaml in: {searched}")
