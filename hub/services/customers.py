"""Finding customers by blind index: computed from the query, nothing decrypted."""

from __future__ import annotations

from typing import Any

from hub.errors import ConfigError
from hub.models import BlindIndexKind
from hub.runtime import Hub
from hub.store.records import find_by_blind_index
from hub.vault import blind_index, normalise_email, normalise_phone


async def find_customers(
    hub: Hub, *, email: str | None, phone: str | None, region: str | None = None
) -> list[dict[str, Any]]:
    """Records whose blind index matches the normalised email or phone."""
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
    return [dict(r._mapping) for r in rows]
