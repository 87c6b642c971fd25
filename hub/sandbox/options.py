"""Options a sandbox declares, so that a misspelt or mistyped one is refused with the valid list.

A sandbox subclasses :class:`SandboxOptions` with one field per option (type, default and a
``description`` as its help); ``hub sandbox serve VENDOR --option name=value`` and
:func:`hub.sandbox.build_sandbox` both pass through :func:`parse_options`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

OptionsT = TypeVar("OptionsT", bound="SandboxOptions")


class SandboxOptions(BaseModel):
    """The base of every sandbox's options model; unknown names are errors, not ignored.

    ``relaxed_limits`` is understood by every sandbox: ``hub demo`` and ``hub bench`` set it to
    measure the hub rather than the vendor's quotas.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    relaxed_limits: bool = Field(
        False, description="Lift the rate limits (demo, benchmarks: measure the hub)."
    )


class SandboxOptionError(ValueError):
    """An option the sandbox does not declare, or a value of the wrong type."""


@dataclass(frozen=True)
class OptionSpec:
    """One declared option, as ``hub sandbox serve`` lists it."""

    name: str
    type: str
    default: Any
    help: str

    def describe(self) -> str:
        """``name (type, default value): help`` on one line."""
        text = f"{self.name} ({self.type}, default {self.default!r})"
        return f"{text}: {self.help}" if self.help else text


def option_specs(model: type[SandboxOptions]) -> dict[str, OptionSpec]:
    """The options ``model`` declares, by name, in declaration order."""
    return {name: _spec(name, field) for name, field in model.model_fields.items()}


def parse_options(model: type[OptionsT], raw: Mapping[str, Any], *, vendor: str) -> OptionsT:
    """Validate ``raw`` against ``model``; the error names the bad option and lists the valid."""
    specs = option_specs(model)
    unknown = sorted(set(raw) - set(specs))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise SandboxOptionError(
            f"unknown {vendor} sandbox option {names}; valid options: {_listing(specs)}"
        )
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise SandboxOptionError(
            f"bad {vendor} sandbox option ({problems}); valid options: {_listing(specs)}"
        ) from None


def _spec(name: str, field: FieldInfo) -> OptionSpec:
    annotation = field.annotation
    type_name = getattr(annotation, "__name__", None) or str(annotation)
    return OptionSpec(name, type_name, field.get_default(), field.description or "")


def _listing(specs: Mapping[str, OptionSpec]) -> str:
    if not specs:
        return "none"
    return ", ".join(f"{spec.name} ({spec.type})" for spec in specs.values())
