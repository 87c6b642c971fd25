"""When a primary data key must be replaced: at an age (90 days by default) or after a
number of seals (2^32 by default).

The seal limit comes from AES-GCM with random 96-bit nonces: NIST SP 800-38D bounds the
chance of a repeated nonce, which would expose the key, by keeping one key under 2^32
encryptions. Index keys (HMAC) have no such limit; their rotation is asked for explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.vault.data_key import KeyPurpose

NIST_GCM_RANDOM_NONCE_LIMIT = 2**32


@dataclass(frozen=True)
class KeyPolicy:
    """How long and how much one primary data key may seal."""

    max_age: timedelta = timedelta(days=90)
    max_seals: int = NIST_GCM_RANDOM_NONCE_LIMIT


def rotation_due(
    policy: KeyPolicy, *, purpose: KeyPurpose, created_at: datetime, seals: int, now: datetime
) -> str | None:
    """Why a primary key of ``purpose`` must rotate now, or None while it may keep sealing."""
    if purpose != "data":
        return None
    if seals >= policy.max_seals:
        return f"it has sealed {seals} values (limit {policy.max_seals})"
    age = now - created_at
    if age >= policy.max_age:
        return f"it is {age.days} days old (limit {policy.max_age.days} days)"
    return None
