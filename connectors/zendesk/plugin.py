"""Registers the Zendesk connector and its mapping folder with the hub.

Loaded through the ``hub`` entry-point group (``zendesk = "connectors.zendesk.plugin"`` in
``pyproject.toml``), exactly as a third-party connector package would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from connectors.zendesk.connector import ZendeskConnector
from hub.connector import Connector
from hub.plugins import hookimpl

if TYPE_CHECKING:
    from hub.sandbox.app import SandboxApp

# The repository's ``mappings/`` folder, next to the ``connectors`` package.
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"


@hookimpl
def hub_register_connectors() -> list[type[Connector]]:
    """The Zendesk connector."""
    return [ZendeskConnector]


@hookimpl
def hub_register_sandboxes() -> list[type[SandboxApp]]:
    """The Zendesk emulator, imported only when a sandbox is wanted."""
    from connectors.zendesk.sandbox import ZendeskSandbox

    return [ZendeskSandbox]


@hookimpl
def hub_mapping_paths() -> list[str]:
    """Where ``zendesk.yaml`` lives."""
    return [str(MAPPINGS_DIR)]
