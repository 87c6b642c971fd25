"""The hub's exceptions, one shallow tree under :class:`HubError`.

    HubError
    ├── ConfigError          bad hub.toml / environment / CLI input (names the key)
    │   └── UnknownStream    a stream the connector does not offer (also a KeyError)
    ├── StoreError           database unreachable or schema out of date
    │   └── StreamBusy       another run holds the stream (see hub.store.leases)
    ├── ConnectorError       anything a vendor connection raised (names connection and stream)
    │   ├── Unreachable      nothing answers at the address (refused, unknown host)
    │   ├── AuthError        credentials refused, refresh failed
    │   ├── RateLimited      retries exhausted while the vendor kept saying "slow down"
    │   │   └── QuotaSpent   an allowance spent for long (a daily quota): stop, do not retry
    │   └── VendorError      vendor answered with an error (status, vendor code)
    ├── MappingError         a mapping file is invalid (names file and line)
    ├── RecordInvalid        one vendor record does not fit the canonical model (quarantined)
    ├── VaultError           key material missing or a ciphertext does not open
    └── AuditError           the audit trail cannot be written, read or verified
        └── AccessDenied     the principal's role does not allow the action (recorded)

Every message is safe to print: no secret, token or personal value is ever put in one.
"""

from __future__ import annotations


class HubError(Exception):
    """Root of every error the hub raises on purpose."""


class ConfigError(HubError):
    """Configuration is missing or invalid; the message names the key or file."""


class UnknownStream(ConfigError, KeyError):
    """A stream name the connector does not offer; the message lists the ones it does."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreError(HubError):
    """The store cannot be reached or is not migrated."""


class StreamBusy(StoreError):
    """Another run is syncing this (connection, stream), or took it over from this run."""


class ConnectorError(HubError):
    """A vendor connection failed. Carries the connection and stream it concerns, and what
    the vendor's answer said: its status, its error code and, when its connector reads one,
    ``vendor_detail``, the message of its error body (redacted and bounded in length)."""

    def __init__(
        self,
        message: str,
        *,
        connection: str | None = None,
        stream: str | None = None,
        status: int | None = None,
        vendor_code: str | None = None,
        vendor_detail: str | None = None,
    ) -> None:
        self.connection = connection
        self.stream = stream
        self.status = status
        self.vendor_code = vendor_code
        self.vendor_detail = vendor_detail
        where = "/".join(p for p in (connection, stream) if p)
        super().__init__(f"{where}: {message}" if where else message)


class Unreachable(ConnectorError):
    """Nothing answers at a connection's address: the connection was refused or the host name
    is unknown. A wrong URL or a service not started, so a configuration error rather than a
    transient one; ``detail`` is the message without the connection and stream."""

    def __init__(
        self,
        address: str,
        reason: str,
        *,
        connection: str | None = None,
        stream: str | None = None,
    ) -> None:
        self.address = address
        self.reason = reason
        self.detail = f"cannot connect to {address} ({reason})"
        super().__init__(self.detail, connection=connection, stream=stream)


class AuthError(ConnectorError):
    """The vendor refused the credentials, even after one refresh."""


class RateLimited(ConnectorError):
    """The vendor kept rate-limiting until the retry budget ran out."""


class QuotaSpent(RateLimited):
    """An allowance spent for a long while (a daily API quota), said by the vendor's error
    code or by its usage headers: the run stops with its cursor kept, and the connection's
    other streams are skipped, since every request would be refused the same way."""


class VendorError(ConnectorError):
    """The vendor answered with an error status or an error body."""


class MappingError(HubError):
    """A mapping file is invalid. ``file`` and ``line`` say where."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}" if file and line else (file or "")
        super().__init__(f"{where}: {message}" if where else message)


class RecordInvalid(HubError):
    """One vendor record cannot become a canonical model; it goes to the quarantine."""

    def __init__(self, message: str, *, external_id: str | None = None) -> None:
        self.external_id = external_id
        super().__init__(message)


class VaultError(HubError):
    """Key material is missing or a ciphertext cannot be opened."""


class AuditError(HubError):
    """The audit trail cannot be written or does not verify."""


def safe_error(exc: BaseException) -> str:
    """An error message fit for storage and display: hub errors are written to be safe, other
    exceptions may carry anything (a URL with a token, a record's value), so only their type."""
    if isinstance(exc, HubError):
        return str(exc)
    return f"{type(exc).__name__} (details withheld; run with --traceback to see the stack)"


class AccessDenied(AuditError):
    """The acting principal may not do this, or could not be authenticated; the attempt is
    on the audit trail."""
