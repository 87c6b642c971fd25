"""Declared sandbox options: listed with type, default and help; unknown or mistyped refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field
from starlette.routing import BaseRoute

from hub.sandbox.app import SandboxApp, build_sandbox
from hub.sandbox.faults import FaultResponder
from hub.sandbox.options import (
    OptionSpec,
    SandboxOptionError,
    SandboxOptions,
    option_specs,
    parse_options,
)


class _EchoOptions(SandboxOptions):
    greeting: str = Field("hello", description="What the sandbox says first.")
    per_minute: int = Field(60, ge=1, description="Requests per minute.")
    relaxed_limits: bool = Field(False, description="Lift the limits.")


def test_specs_list_each_option_with_its_type_default_and_help() -> None:
    specs = option_specs(_EchoOptions)
    assert list(specs) == ["greeting", "per_minute", "relaxed_limits"]
    assert specs["per_minute"] == OptionSpec("per_minute", "int", 60, "Requests per minute.")
    assert (
        specs["relaxed_limits"].describe()
        == "relaxed_limits (bool, default False): Lift the limits."
    )


def test_values_are_validated_and_coerced_like_command_line_input() -> None:
    options = parse_options(_EchoOptions, {"relaxed_limits": "true", "greeting": 42}, vendor="echo")
    assert options.relaxed_limits is True
    assert options.greeting == "42"
    assert options.per_minute == 60


def test_an_unknown_option_is_refused_with_the_valid_ones_and_their_types() -> None:
    with pytest.raises(SandboxOptionError) as refused:
        parse_options(_EchoOptions, {"bad": 1}, vendor="echo")
    assert str(refused.value) == (
        "unknown echo sandbox option 'bad'; valid options: greeting (str), per_minute (int), "
        "relaxed_limits (bool)"
    )


def test_a_value_of_the_wrong_type_names_the_option() -> None:
    with pytest.raises(SandboxOptionError, match=r"bad echo sandbox option \(per_minute: "):
        parse_options(_EchoOptions, {"per_minute": "many"}, vendor="echo")
    with pytest.raises(SandboxOptionError, match="per_minute"):
        parse_options(_EchoOptions, {"per_minute": 0}, vendor="echo")


class _EchoSandbox(SandboxApp):
    vendor = "echo"
    options_model = _EchoOptions
    demo_port = 8199

    def __init__(self, **options: Any) -> None:
        self.options = self.parse_options(_EchoOptions, options)
        super().__init__(seed=1, faults=None, credentials={})

    def routes(self) -> list[BaseRoute]:
        return []

    def fault_responder(self) -> FaultResponder:
        raise NotImplementedError

    def mutate(self, count: int) -> list[str]:
        return []

    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        return {}


class _Connector:
    """Stands in for an installed connector whose sandbox forgets to check its options."""

    @classmethod
    def sandbox(cls, **ignored: Any) -> SandboxApp:
        return _EchoSandbox()


def test_a_sandbox_class_declares_its_options_and_its_demo_port() -> None:
    assert list(_EchoSandbox.option_specs()) == ["greeting", "per_minute", "relaxed_limits"]
    assert _EchoSandbox.demo_port == 8199
    assert _EchoSandbox(relaxed_limits=True).options.relaxed_limits is True
    with pytest.raises(SandboxOptionError, match="unknown echo sandbox option 'grteeting'"):
        _EchoSandbox(grteeting="hi")


def test_build_sandbox_refuses_options_even_when_the_sandbox_ignores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hub.plugins.connector_class", lambda vendor: _Connector)
    assert isinstance(build_sandbox("echo", records=1, seed=1, greeting="hi"), _EchoSandbox)
    with pytest.raises(SandboxOptionError, match="valid options: greeting"):
        build_sandbox("echo", records=1, seed=1, bad=1)
