"""The Salesforce Service Cloud sandbox (see :mod:`connectors.salesforce.sandbox.app`)."""

from connectors.salesforce.sandbox.app import SalesforceSandbox

__all__ = ["SalesforceSandbox"]
