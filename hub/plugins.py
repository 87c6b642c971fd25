"""Every way to extend the hub, in one place.

An integrator writes an ordinary Python package, implements some of the hooks below with
``@hub.hookimpl`` in a module, and registers that module under the ``hub`` entry-point group::

    [project.entry-points.hub]
    acme = "acme_hub.plugin"

The built-in connectors register the same way (see ``pyproject.toml``); there is no side door.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from hub.connector import Connector
    from hub.runtime import Hub
    from hub.sandbox.app import SandboxApp
    from hub.sync import PageWrite
    from hub.vault.key_sources import KeyProvider

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")

ENTRY_POINT_GROUP = "hub"
T = TypeVar("T")


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
    def hub_register_sandboxes(self) -> list[type[SandboxApp]]:  # type: ignore[empty-body]
        """Return the vendor emulators (sandboxes) this plugin provides.

        Called when a sandbox is wanted (``hub sandbox serve``, ``hub demo``, ``hub bench``,
        the contract suite), so a plugin may import its sandbox inside the hook. A sandbox's
        ``vendor`` is the name of the connector it emulates; it declares its options in
        ``options_model`` and its demo port in ``demo_port``.
        """

    @hookspec
    def hub_mapping_paths(self) -> list[str]:  # type: ignore[empty-body]
        """Return directories that hold mapping files (``<connector>.yaml``).

        Called when mappings are looked up. A connector package shipped outside this
        repository returns the folder of its own mapping file here. The hub's configured
        mapping directory is searched first, so an operator's edited copy wins.
        """

    @hookspec
    def hub_page_transaction(
        self, hub: Hub, conn: AsyncConnection, write: PageWrite
    ) -> Awaitable[None] | None:
        """Write what belongs with a page of records, in the same database transaction.

        Called inside every transaction that writes records to the store (each page of a sync,
        each replayed quarantine entry), after the records are upserted and before the
        transaction commits: identity links and audit entries written here commit or roll back
        together with the records they concern. ``write`` holds the connection, stream, run
        id, mapping version, the sealed rows and tombstones (keys and blind-index digests, no
        personal values), the keys of the records found unchanged before sealing (not sealed,
        so not among the rows: ``write.unchanged``) and the transaction's time. Return None,
        or an awaitable that the engine awaits; raising rolls the whole page back and fails
        the run.
        """

    @hookspec
    def hub_key_providers(self) -> list[KeyProvider]:  # type: ignore[empty-body]
        """Return master key providers (a cloud KMS, Vault transit, an HSM).

        Called when a hub opens, if hub.toml names one with ``master_key_provider``. A
        provider has a ``name`` and a ``master_key()`` method returning the 32-byte master
        key, raising ``VaultError`` with a reason (never key material) when it cannot; see
        :mod:`hub.vault.key_sources` and docs/security.md.
        """


@cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every installed ``hub`` entry point loaded.

    A hook implementation whose name matches no specification (a misspelt hook) is an error
    here, at load, instead of a hook that silently never runs.
    """
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(HubSpec)
    load_entry_points(pm)
    check_plugins(pm)
    return pm


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register every ``hub`` entry point, as pluggy's own loader does, except that a plugin
    that cannot be imported is a ConfigError naming its distribution and entry point, instead
    of a bare ImportError that says nothing of where it came from."""
    from importlib import metadata

    from hub.errors import ConfigError

    for dist in metadata.distributions():
        for entry in dist.entry_points.select(group=ENTRY_POINT_GROUP):
            if pm.get_plugin(entry.name) or pm.is_blocked(entry.name):
                continue
            try:
                plugin = entry.load()
            except Exception as exc:
                raise ConfigError(
                    f"the hub plugin {entry.name!r} ({entry.value}) of the installed package "
                    f"{dist.metadata['Name']!r} cannot be loaded: {type(exc).__name__}: {exc}; "
                    "reinstall or uninstall that package"
                ) from None
            pm.register(plugin, name=entry.name)


def check_plugins(pm: pluggy.PluginManager) -> None:
    """Raise ConfigError naming the plugin and hook when an implementation matches no spec."""
    from hub.errors import ConfigError

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(f"plugin {exc.plugin!r}: {exc}") from None


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register an in-process plugin (a module or object with ``@hookimpl`` functions), as
    tests and embedding applications do; checked like an entry-point plugin."""
    pm = plugin_manager()
    pm.register(plugin, name=name)
    try:
        check_plugins(pm)
    except Exception:
        pm.unregister(plugin)
        raise


def unregister_plugin(plugin: object) -> None:
    plugin_manager().unregister(plugin)


def _by_name(batches: list[list[T]], name_of: Callable[[T], str], what: str) -> dict[str, T]:
    """Hook results of all plugins by name; two different ones with one name are an error."""
    from hub.errors import ConfigError

    found: dict[str, T] = {}
    for batch in batches:
        for item in batch:
            name = name_of(item)
            if name in found and found[name] is not item:
                raise ConfigError(f"two plugins register a {what} named {name!r}")
            found[name] = item
    return found


def _lookup(known: dict[str, T], name: str, what: str) -> T:
    from hub.errors import ConfigError

    if name not in known:
        installed = ", ".join(sorted(known)) or "none"
        raise ConfigError(f"no {what} named {name!r} is installed; installed: {installed}")
    return known[name]


def connectors() -> dict[str, type[Connector]]:
    """Installed connector classes by name."""
    batches = plugin_manager().hook.hub_register_connectors()
    return _by_name(batches, lambda cls: cls.name, "connector")


def connector_class(name: str) -> type[Connector]:
    """The connector class called ``name``; a clear error names the installed ones."""
    return _lookup(connectors(), name, "connector")


def sandboxes() -> dict[str, type[SandboxApp]]:
    """Installed sandboxes by the name of the connector they emulate."""
    batches = plugin_manager().hook.hub_register_sandboxes()
    return _by_name(batches, lambda cls: cls.vendor, "sandbox")


def sandbox_class(vendor: str) -> type[SandboxApp]:
    """The sandbox of connector ``vendor``; a clear error names the installed ones."""
    return _lookup(sandboxes(), vendor, "sandbox")


def plugin_transforms() -> dict[str, Callable[..., Any]]:
    """Transforms contributed by plugins."""
    merged: dict[str, Callable[..., Any]] = {}
    for batch in plugin_manager().hook.hub_register_transforms():
        merged.update(batch)
    return merged


def plugin_mapping_paths() -> list[str]:
    return [p for batch in plugin_manager().hook.hub_mapping_paths() for p in batch]


def key_providers() -> dict[str, KeyProvider]:
    """Installed master key providers by name."""
    batches = plugin_manager().hook.hub_key_providers()
    return _by_name(batches, lambda p: p.name, "key provider")
