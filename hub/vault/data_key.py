"""What a data key is: 32 random bytes with an id, a purpose and a lifecycle status.

Keys live unwrapped in memory only; the database holds them wrapped by the master key
(:mod:`hub.vault.wrapping`). ``purpose`` keeps the two uses apart: ``"data"`` keys encrypt
fields, ``"index"`` keys compute blind indexes and content hashes, ``"subject"`` keys compute
the keyed hashes that name a customer's own key (:mod:`hub.vault.subjects`), and a key never
does two of these. A :class:`SubjectKey` is the per-customer key that seals that customer's
values in v2 tokens; it is not a data key and lives in ``subject_keys``, wrapped by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from hub.errors import VaultError

KeyPurpose = Literal["data", "index", "subject"]
KeyStatus = Literal["primary", "active", "retired"]

PURPOSES: tuple[KeyPurpose, ...] = ("data", "index", "subject")
KEY_BYTES = 32  # AES-256 and HMAC-SHA256 both take 32-byte keys
MAX_KEY_ID = 2**32 - 1  # the token header stores the key id as uint32


@dataclass(frozen=True)
class DataKey:
    """One unwrapped data key. ``material`` never appears in a repr."""

    id: int
    purpose: KeyPurpose
    material: bytes = field(repr=False)
    status: KeyStatus = "primary"

    def __post_init__(self) -> None:
        if not 1 <= self.id <= MAX_KEY_ID:
            raise ValueError(f"data key id {self.id} is outside 1..{MAX_KEY_ID}")
        if self.purpose not in PURPOSES:
            raise ValueError(f"data key {self.id} has unknown purpose {self.purpose!r}")
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"data key {self.id} must be {KEY_BYTES} bytes")


class KeyRetired(VaultError):
    """A token names a retired data key. Its census was 0 when it retired, so the token was
    written by a process that kept using the key, or restored from an older backup."""

    def __init__(self, key_id: int, where: str = "") -> None:
        place = f"{where}: " if where else ""
        super().__init__(
            f"{place}data key {key_id} is retired (its material is destroyed); this value was "
            "sealed under it after its census reached 0, or restored from an older backup"
        )
        self.key_id = key_id


@dataclass(frozen=True)
class SubjectKey:
    """One customer's key, unwrapped: the ``subject_keys.id`` that v2 token headers name."""

    id: int
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.id <= MAX_KEY_ID:
            raise ValueError(f"subject key id {self.id} is outside 1..{MAX_KEY_ID}")
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"subject key {self.id} must be {KEY_BYTES} bytes")


class Erased(VaultError):
    """A token is sealed under the key of a customer who was forgotten (`hub customers
    forget`): the key is destroyed, so the value is gone for good. Names the place and the
    date, never a value."""

    def __init__(self, subject_key_id: int, erased_at: datetime | None, where: str = "") -> None:
        place = f"{where}: " if where else ""
        date = f" on {erased_at:%Y-%m-%d %H:%M} UTC" if erased_at is not None else ""
        super().__init__(
            f"{place}erased: this value belonged to a customer forgotten{date} "
            f"(subject key {subject_key_id} is destroyed)"
        )
        self.subject_key_id = subject_key_id
        self.erased_at = erased_at
