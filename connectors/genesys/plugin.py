"""Registers the Genesys Cloud connector, its sandbox and its mapping folder with the hub.

Loaded through the ``hub`` entry-point group (``genesys = "connectors.genesys.plugin"`` in
``pyproject.toml``), exactly as a third-party connector package would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from connectors.genesys.connector import GenesysConnector
from hub.connector import Connector
from hub.plugins import hookimpl

if TYPE_CHECKING:
    from hub.sandbox.app import SandboxApp

# The repository's ``mappings/`` folder, next to the ``connectors`` package.
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"


@hookimpl
def hub_register_connectors() -> list[type[Connector]]:
    """The Genesys Cloud connector."""
    return [GenesysConnector]


@hookimpl
def hub_register_sandboxes() -> list[type[SandboxApp]]:
    """The Genesys Cloud emulator, imported only when a sandbox is wanted."""
    from connectors.genesys.sandbox import GenesysSandbox

    return [GenesysSandbox]


@hookimpl
def hub_mapping_paths() -> list[str]:
    """Where ``genesys.yaml`` lives."""
    return [str(MAPPINGS_DIR)]
