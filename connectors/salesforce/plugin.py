"""Registers the Salesforce connector, its sandbox and its mapping folder with the hub,
through the ``hub`` entry-point group like any third-party connector."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from connectors.salesforce.connector import SalesforceConnector
from hub.connector import Connector
from hub.plugins import hookimpl

if TYPE_CHECKING:
    from hub.sandbox.app import SandboxApp

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"


@hookimpl
def hub_register_connectors() -> list[type[Connector]]:
    """The Salesforce connector."""
    return [SalesforceConnector]


@hookimpl
def hub_register_sandboxes() -> list[type[SandboxApp]]:
    """The Salesforce emulator, imported only when a sandbox is wanted."""
    from connectors.salesforce.sandbox import SalesforceSandbox

    return [SalesforceSandbox]


@hookimpl
def hub_mapping_paths() -> list[str]:
    """Where ``salesforce.yaml`` lives."""
    return [str(MAPPINGS_DIR)]
