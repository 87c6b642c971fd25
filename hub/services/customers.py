"""Finding customers by blind index: candidates come from digests computed from the query,
and each is confirmed by opening its sealed value, so a moved or forged index row, or an
HMAC collision, never reaches the caller (see docs/security.md)."""

from __future__ import annotations

import logging
from typing import Any

from hub.errors import ConfigError, VaultError
from hub.models import BlindIndexKind
from hub.runtime import Hub
from hub.store.records import find_by_blind_index
from hub.vault import blind_index, indexed_values, normalise_email, normalise_phone, record_row

log = logging.getLogger(__name__)


async def find_customers(
    hub: Hub, *, email: str | None, phone: str | None, region: str | None = None
) -> list[dict[str, Any]]:
    """Records whose sealed email or phone, normalised, is the one asked for."""
    kind: BlindIndexKind = "email" if email is not None else "phone"
    try:
        value = (
            normalise_email(email) if email is not None else normalise_phone(phone or "", region)
        )
    except ValueError as exc:
        raise ConfigError(f"--{kind}: not a valid {kind} address ({exc})") from None
    digests = [blind_index(kind, value, key) for key in hub.keyring.index_keys()]
    async with hub.engine.connect() as conn:
        rows = await find_by_blind_index(conn, kind, digests)
    found = [dict(r._mapping) for r in rows]
    return [_without_data(r) for r in found if _holds(hub, r, kind, value)]


def _holds(hub: Hub, record: dict[str, Any], kind: BlindIndexKind, value: str) -> bool:
    """Whether the candidate's own sealed values include ``value``."""
    row = record_row(record["connection"], record["object_type"], record["external_id"])
    try:
        held = indexed_values(record["kind"], record["data"], hub.keyring, index=kind, row=row)
    except VaultError as exc:
        log.warning("record %s skipped by the lookup: %s (run `hub check`)", record["id"], exc)
        return False
    return value in held


def _without_data(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "data"}
