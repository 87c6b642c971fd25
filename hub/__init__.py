"""The unified customer-service integration hub.

What plugin authors and users import lives here; everything else may move.
"""

from hub.connector import CaseWrite, Connector, ConnectorConfig, Page, Stream, WriteResult
from hub.errors import (
    AuditError,
    AuthError,
    ConfigError,
    ConnectorError,
    HubError,
    MappingError,
    RateLimited,
    RecordInvalid,
    StoreError,
    StreamBusy,
    VaultError,
    VendorError,
)
from hub.http import HttpSettings, RateLimit
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
    Provenance,
)
from hub.plugins import hookimpl, hookspec

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
    "Entitlement",
    "HttpSettings",
    "HubError",
    "Interaction",
    "MappingError",
    "Organization",
    "Page",
    "Pii",
    "Product",
    "Provenance",
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
