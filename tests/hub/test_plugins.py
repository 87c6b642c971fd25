"""Loading the installed ``hub`` entry points."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from hub.errors import ConfigError
from hub.plugins import HubSpec, load_entry_points


def _installed_distribution(site: Path, entry_point: str) -> None:
    """A distribution's metadata on the path, as pip leaves it, whose module is gone."""
    info = site / "hub_connector_gone-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hub-connector-gone\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[hub]\ngone = {entry_point}\n")


def test_a_plugin_that_cannot_be_imported_is_named_with_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed_distribution(tmp_path, "hub_connector_gone.plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(HubSpec)

    with pytest.raises(ConfigError) as caught:
        load_entry_points(pm)

    message = str(caught.value)
    assert "'gone' (hub_connector_gone.plugin)" in message
    assert "'hub-connector-gone'" in message and "ModuleNotFoundError" in message


def test_the_built_in_connectors_load_from_their_entry_points() -> None:
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(HubSpec)
    load_entry_points(pm)
    names = {cls.name for batch in pm.hook.hub_register_connectors() for cls in batch}
    assert {"zendesk", "salesforce", "genesys", "twilio"} <= names
