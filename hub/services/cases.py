"""Cases and customers written back to their source systems, through the connection's one
runtime (its client, limiter and credentials), idempotently: pushing the same case key twice
leaves one case in the source system."""

from __future__ import annotations

from hub.connector import CaseWrite, WriteResult
from hub.errors import ConfigError
from hub.models import Address
from hub.runtime import Hub


async def push_case(hub: Hub, connection: str, key: str, case: CaseWrite) -> WriteResult:
    """Create the case keyed ``key`` in ``connection``'s system, or update the one an earlier
    push with the same key created (the connector's idempotency mechanism decides which)."""
    if not key.strip():
        raise ConfigError("a case push needs a non-empty --key: the same key makes one case")
    async with hub.connection(connection) as connector:
        try:
            return await connector.create_case(case, idempotency_key=key)
        except NotImplementedError:
            message = f"connection {connection} ({connector.name}) takes no cases"
            raise ConfigError(message) from None


async def update_customer_address(
    hub: Hub, connection: str, external_id: str, address: Address
) -> WriteResult:
    """Replace the postal address of customer record ``external_id`` in its source system."""
    async with hub.connection(connection) as connector:
        try:
            return await connector.update_customer_address(external_id, address)
        except NotImplementedError:
            message = f"connection {connection} ({connector.name}) takes no address updates"
            raise ConfigError(message) from None
