"""HMAC-SHA256 under a data key: content hashes, blind indexes, subject hashes, audit
pseudonyms and case revisions.

Each key's HMAC context is keyed once and copied per message. ``hmac.digest`` keys a new
context every call, which through OpenSSL 3 cost about as much again as hashing a record's
text (callgrind, docs/performance.md); a copy of a keyed context skips that and gives the
same digest (RFC 2104: the key only sets the inner and outer initial states).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from hub.vault.data_key import DataKey
from hub.vault.per_key import PerKey

_keyed: PerKey[DataKey, HMAC] = PerKey(lambda key: HMAC(key.material, hashes.SHA256()))


def hmac_sha256(key: DataKey, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` under ``key``'s material."""
    mac = _keyed(key).copy()
    mac.update(message)
    return mac.finalize().hex()
