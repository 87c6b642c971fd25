"""The structure of a mapping file, as pydantic models, and its validation.

A file that does not fit is reported once, at the problem nearest the top of the file, as a
:class:`MappingError` with the file and line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import MappingError
from hub.mapping.yaml_lines import _line_at, _LineDict


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


_SOURCES = ("path", "const", "coalesce", "concat")


class FieldSpec(_Spec):
    """How one canonical field is obtained; a bare string is short for ``{path: ...}``."""

    path: str | None = None
    const: Any = None
    coalesce: list[str] | None = Field(default=None, min_length=1)
    concat: list[str] | None = Field(default=None, min_length=1)
    separator: str = ""
    transforms: list[Any] = Field(default_factory=list)
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [s for s in _SOURCES if s in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(_SOURCES)}")
        if "separator" in self.model_fields_set and given != ["concat"]:
            raise ValueError("separator only goes with concat")
        return self


class TargetSpec(_Spec):
    model: str
    when: str | None = None
    fields: dict[str, FieldSpec]


class StreamSpec(_Spec):
    object_type: str = Field(min_length=1)
    id: FieldSpec
    updated_at: FieldSpec
    deleted_when: str | None = None
    targets: list[TargetSpec] = Field(min_length=1)


class MappingSpec(_Spec):
    version: str = Field(min_length=1)
    connector: str = Field(min_length=1)
    streams: dict[str, StreamSpec] = Field(min_length=1)


def _parse_spec(root: _LineDict, file: str) -> MappingSpec:
    try:
        return MappingSpec.model_validate(root)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        # Report the problem nearest the top of the file: pydantic orders errors by field.
        lines = [_line_at(root, error["loc"]) or 0 for error in errors]
        line, first = min(zip(lines, errors, strict=True), key=lambda pair: pair[0])
        where = ".".join(str(part) for part in first["loc"]) or "file"
        reason = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        reason = reason.removeprefix("Value error, ")
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise MappingError(f"{where}: {reason}{more}", file=file, line=line or None) from None
