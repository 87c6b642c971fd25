"""Cases and customers written back to their source systems, through the connection's one
runtime (its client, limiter and credentials), idempotently: pushing the same case key twice
leaves one case in the source system.

A case push is then recorded in the hub (``case_pushes``), and in the same transaction the
notification it may cause (an SMS to the customer) enters the outbox: both commit or
neither does. A push that failed after the source system took it is simply pushed again;
the source system's idempotency makes that the same case, and the hub records it then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.audit import authorize, record_action
from hub.connector import CaseWrite, WriteResult
from hub.errors import ConfigError
from hub.models import Address
from hub.runtime import Hub
from hub.services.outbox import Notification, check_notification, notify
from hub.store.case_pushes import record_push
from hub.vault import Keyring
from hub.vault.cipher import length_prefixed
from hub.vault.keyring import Forgotten
from hub.vault.mac import hmac_sha256
from hub.vault.subjects import subject_identity, subject_keys_for

_REVISION_LABEL = "hub/case-push/v1"


@dataclass(frozen=True)
class CasePushed:
    """What a push did: the source system's answer, the hub's record of the push, and the
    outbox entry of its notification (None when none was asked for)."""

    result: WriteResult
    push_id: int
    notification_entry: int | None = None

    @property
    def external_id(self) -> str:
        return self.result.external_id

    @property
    def created(self) -> bool:
        return self.result.created

    @property
    def replayed(self) -> bool:
        return self.result.replayed


async def push_case(
    hub: Hub,
    connection: str,
    key: str,
    case: CaseWrite,
    *,
    notification: Notification | None = None,
) -> CasePushed:
    """Create the case keyed ``key`` in ``connection``'s system, or update the one an earlier
    push with the same key created (the connector's idempotency mechanism decides which);
    then record the push and, in the same transaction, the ``notification`` it causes. The
    same push repeated unchanged is recorded, and notifies, once."""
    if not key.strip():
        raise ConfigError("a case push needs a non-empty --key: the same key makes one case")
    await authorize(hub, "cases.write", action="case.push", target_type="connection",
                    target_id=connection)  # fmt: skip
    if notification is not None:
        await check_notification(hub, notification)  # before the case is written
    async with hub.connection(connection) as connector:
        try:
            result = await connector.create_case(case, idempotency_key=key)
        except NotImplementedError:
            message = f"connection {connection} ({connector.name}) takes no cases"
            raise ConfigError(message) from None
    return await record_case_push(hub, connection, key, case, result, notification)


async def record_case_push(
    hub: Hub,
    connection: str,
    key: str,
    case: CaseWrite,
    result: WriteResult,
    notification: Notification | None,
) -> CasePushed:
    """The hub's record of a push the source system took, and its notification, in one
    transaction."""
    revision = _revision(hub.keyring, case, notification)
    now = datetime.now(UTC)
    async with hub.engine.begin() as conn:
        push_id, _ = await record_push(
            conn, connection=connection, key=key, revision=revision,
            external_id=result.external_id, created=result.created, now=now,
        )  # fmt: skip
        entry = None
        if notification is not None:
            cause = f"case-push/{push_id}"
            entry = await notify(conn, hub.keyring, notification, cause=cause, now=now)
        await record_action(
            hub, conn, "case.push", target_type="case", target_id=result.external_id,
            fields=sorted(case.model_dump(exclude_none=True)),
            detail={"connection": connection, "created": result.created, "outbox_entry": entry},
        )  # fmt: skip
    return CasePushed(result, push_id, entry)


def _revision(keyring: Keyring, case: CaseWrite, notification: Notification | None) -> str:
    """A keyed digest of what was pushed (the fields may be personal: a plain hash of them
    could be guessed back), so a push repeated unchanged is known as the same."""
    pushed: dict[str, Any] = {"case": case.model_dump(mode="json", exclude_none=True)}
    if notification is not None:
        pushed["notify"] = {
            "connection": notification.connection,
            "message": notification.message.model_dump(mode="json"),
        }
    document = json.dumps(pushed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    message = length_prefixed(_REVISION_LABEL, document)
    return hmac_sha256(keyring.primary("index"), message)


async def _refuse_if_forgotten(hub: Hub, connection: str, system: str, external_id: str) -> None:
    """A ConfigError if ``external_id`` is a customer of ``connection`` forgotten by `hub
    customers forget`: writing to them again would be new processing of an erased person."""
    mapping = hub.mapping(system)
    types = sorted(
        {
            s.object_type
            for s in mapping.streams.values()
            if any(m.kind == "customer" for m in s.models)
        }
    )
    identities = [subject_identity(connection, t, external_id) for t in types]
    async with hub.engine.connect() as conn:
        found = await subject_keys_for(conn, hub.keyring, (), lookup_only=identities)
    for value in found.values():
        if isinstance(value, Forgotten):
            date = f"{value.erased_at:%Y-%m-%d %H:%M} UTC" if value.erased_at else "earlier"
            raise ConfigError(
                f"customer {external_id} of {connection} was forgotten on {date} "
                "(`hub customers forget`): the hub writes nothing more about them"
            )


async def update_customer_address(
    hub: Hub, connection: str, external_id: str, address: Address
) -> WriteResult:
    """Replace the postal address of customer record ``external_id`` in its source system;
    the trail records who did it, and which fields (never their values)."""
    await authorize(hub, "customers.update", action="customer.update_address",
                    target_type="connection", target_id=connection)  # fmt: skip
    async with hub.connection(connection) as connector:
        await _refuse_if_forgotten(hub, connection, connector.name, external_id)
        try:
            result = await connector.update_customer_address(external_id, address)
        except NotImplementedError:
            message = f"connection {connection} ({connector.name}) takes no address updates"
            raise ConfigError(message) from None
    async with hub.engine.begin() as conn:
        await record_action(
            hub, conn, "customer.update_address", target_type="customer_record",
            target_id=f"{connection}/{external_id}", fields=sorted(Address.model_fields),
        )  # fmt: skip
    return result
