"""The Genesys Cloud Platform API emulator (see :class:`GenesysSandbox`)."""

from connectors.genesys.sandbox.app import GenesysSandbox

__all__ = ["GenesysSandbox"]
