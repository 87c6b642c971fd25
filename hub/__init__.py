"""The unified customer-service integration hub.

What plugin authors and users import lives here; everything else may move. Names load on
first use (PEP 562), so a command that needs none of them (``hub --help``) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.connector import (
        CaseWrite,
        Connector,
        ConnectorConfig,
        EmailAddress,
        OutboundMessage,
        Page,
        Stream,
        WriteResult,
    )
    from hub.errors import (
        AuditError,
        AuthError,
        ConfigError,
        ConnectorError,
        HubError,
        MappingError,
        QuotaSpent,
        RateLimited,
        RecordInvalid,
        StoreError,
        StreamBusy,
        VaultError,
        VendorError,
    )
    from hub.http import HttpSettings, QuotaHeaders, RateLimit
    from hub.models import (
        Agent,
        Case,
        CaseMetrics,
        Contract,
        Customer,
        Entitlement,
        Interaction,
        Organization,
        Pii,
        Product,
        ProductOwnership,
        Provenance,
    )
    from hub.plugins import hookimpl, hookspec

_SOURCES = {
    "Agent": "hub.models",
    "AuditError": "hub.errors",
    "AuthError": "hub.errors",
    "Case": "hub.models",
    "CaseMetrics": "hub.models",
    "CaseWrite": "hub.connector",
    "ConfigError": "hub.errors",
    "Connector": "hub.connector",
    "ConnectorConfig": "hub.connector",
    "ConnectorError": "hub.errors",
    "Contract": "hub.models",
    "Customer": "hub.models",
    "EmailAddress": "hub.connector",
    "Entitlement": "hub.models",
    "HttpSettings": "hub.http",
    "HubError": "hub.errors",
    "Interaction": "hub.models",
    "MappingError": "hub.errors",
    "Organization": "hub.models",
    "OutboundMessage": "hub.connector",
    "Page": "hub.connector",
    "Pii": "hub.models",
    "Product": "hub.models",
    "ProductOwnership": "hub.models",
    "Provenance": "hub.models",
    "QuotaHeaders": "hub.http",
    "RateLimit": "hub.http",
    "QuotaSpent": "hub.errors",
    "RateLimited": "hub.errors",
    "RecordInvalid": "hub.errors",
    "StoreError": "hub.errors",
    "Stream": "hub.connector",
    "StreamBusy": "hub.errors",
    "VaultError": "hub.errors",
    "VendorError": "hub.errors",
    "WriteResult": "hub.connector",
    "hookimpl": "hub.plugins",
    "hookspec": "hub.plugins",
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Agent",
    "AuditError",
    "AuthError",
    "Case",
    "CaseMetrics",
    "CaseWrite",
    "ConfigError",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "Contract",
    "Customer",
    "EmailAddress",
    "Entitlement",
    "HttpSettings",
    "HubError",
    "Interaction",
    "MappingError",
    "Organization",
    "OutboundMessage",
    "Page",
    "Pii",
    "Product",
    "ProductOwnership",
    "Provenance",
    "QuotaHeaders",
    "QuotaSpent",
    "RateLimit",
    "RateLimited",
    "RecordInvalid",
    "StoreError",
    "Stream",
    "StreamBusy",
    "VaultError",
    "VendorError",
    "WriteResult",
    "hookimpl",
    "hookspec",
]
