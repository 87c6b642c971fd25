"""Declared sandbox options: listed with type, default and help; unknown or mistyped refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field
from starlette.routing import BaseRoute

from hub.errors import ConfigError
from hub.plugins import hookimpl, register_plugin, sandboxes, unregister_plugin
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


def test_specs_list_each_option_with_its_type_default_and_help() -> None:
    specs = option_specs(_EchoOptions)
    # relaxed_limits comes from the base: every sandbox understands it (demo, bench).
    assert list(specs) == ["relaxed_limits", "greeting", "per_minute"]
    assert specs["per_minute"] == OptionSpec("per_minute", "int", 60, "Requests per minute.")
    assert (
        specs["relaxed_limits"].describe() == "relaxed_limits (bool, default False): "
        "Lift the rate limits (demo, benchmarks: measure the hub)."
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
        "unknown echo sandbox option 'bad'; valid options: relaxed_limits (bool), "
        "greeting (str), per_minute (int)"
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

    def __init__(
        self, *, records: int = 1, seed: int = 1, faults: str | None = None, **options: Any
    ) -> None:
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


def test_a_sandbox_class_declares_its_options_and_its_demo_port() -> None:
    assert list(_EchoSandbox.option_specs()) == ["relaxed_limits", "greeting", "per_minute"]
    assert _EchoSandbox.demo_port == 8199
    assert _EchoSandbox(relaxed_limits=True).options.relaxed_limits is True
    with pytest.raises(SandboxOptionError, match="unknown echo sandbox option 'grteeting'"):
        _EchoSandbox(grteeting="hi")


class _EchoPlugin:
    @hookimpl
    def hub_register_sandboxes(self) -> list[type[SandboxApp]]:
        return [_EchoSandbox]


def test_sandboxes_register_through_the_hook_and_refuse_undeclared_options() -> None:
    plugin = _EchoPlugin()
    register_plugin(plugin)
    try:
        assert sandboxes()["echo"] is _EchoSandbox
        assert isinstance(build_sandbox("echo", records=1, seed=1, greeting="hi"), _EchoSandbox)
        with pytest.raises(SandboxOptionError, match="valid options: relaxed_limits"):
            build_sandbox("echo", records=1, seed=1, bad=1)
    finally:
        unregister_plugin(plugin)


def test_a_vendor_without_a_sandbox_is_refused_naming_the_installed_ones() -> None:
    with pytest.raises(ConfigError, match="no sandbox named 'nobody' is installed; installed: "):
        build_sandbox("nobody", records=1, seed=1)
