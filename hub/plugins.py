"""Every way to extend the hub, in one place.

An integrator writes an ordinary Python package, implements some of the hooks below with
``@hub.hookimpl`` in a module, and registers that module under the ``hub`` entry-point group::

    [project.entry-points.hub]
    acme = "acme_hub.plugin"

The built-in connectors register the same way (see ``pyproject.toml``); there is no side door.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from hub.connector import Connector

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")

ENTRY_POINT_GROUP = "hub"


class HubSpec:
    """Hook specifications. Each hook's docstring says when it is called and what it returns."""

    @hookspec
    def hub_register_connectors(self) -> list[type[Connector]]:  # type: ignore[empty-body]
        """Return the connector classes this plugin provides.

        Called once when the plugin manager is first built. Results of all plugins are
        concatenated; two connectors with the same ``name`` are a configuration error.
        """

    @hookspec
    def hub_register_transforms(self) -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
        """Return mapping transforms by name: ``{"upper": fn}``.

        Called when a mapping file is loaded. A transform is called as
        ``fn(value, *args, **kwargs)``: the value so far, then the arguments written in the
        mapping file (a list spreads into positional arguments, a mapping into keyword
        arguments); the arguments are checked against ``fn``'s signature when the file loads.
        It returns the new value, or raises ``ValueError`` when the value is invalid: the
        record then goes to the quarantine with a reason naming the transform (never the
        transform's own message, which might quote the value). Names must not clash with
        built-in transforms.
        """

    @hookspec
    def hub_mapping_paths(self) -> list[str]:  # type: ignore[empty-body]
        """Return directories that hold mapping files (``<connector>.yaml``).

        Called when mappings are looked up. A connector package shipped outside this
        repository returns the folder of its own mapping file here. The hub's configured
        mapping directory is searched first, so an operator's edited copy wins.
        """


@cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every installed ``hub`` entry point loaded."""
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(HubSpec)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def connectors() -> dict[str, type[Connector]]:
    """Installed connector classes by name."""
    from hub.errors import ConfigError

    found: dict[str, type[Connector]] = {}
    for batch in plugin_manager().hook.hub_register_connectors():
        for cls in batch:
            if cls.name in found and found[cls.name] is not cls:
                raise ConfigError(f"two plugins register a connector named {cls.name!r}")
            found[cls.name] = cls
    return found


def connector_class(name: str) -> type[Connector]:
    """The connector class called ``name``; a clear error names the installed ones."""
    from hub.errors import ConfigError

    known = connectors()
    try:
        return known[name]
    except KeyError:
        installed = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            f"no connector named {name!r} is installed; installed: {installed}"
        ) from None


def plugin_transforms() -> dict[str, Callable[..., Any]]:
    """Transforms contributed by plugins."""
    merged: dict[str, Callable[..., Any]] = {}
    for batch in plugin_manager().hook.hub_register_transforms():
        merged.update(batch)
    return merged


def plugin_mapping_paths() -> list[str]:
    return [p for batch in plugin_manager().hook.hub_mapping_paths() for p in batch]
