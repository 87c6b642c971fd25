"""Wrapping data keys with the master key, so the database can hold them and still be useless
without it.

Wrapped format w1, as text: ``"w1:" + base64url(nonce(12) || AES-256-GCM(key) || tag(16))``
without padding. The AAD is ``b"hub.data_key.w1" || uint32 key id || lp(purpose)``: a wrapped
key copied to another row, or relabelled from "index" to "data", does not unwrap. AES-GCM
rather than RFC 3394 key wrap because it binds that context; the prefix leaves room for
key-provider plugins (KMS, Vault) to use their own formats later.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import VaultError
from hub.vault.cipher import NONCE_BYTES, TAG_BYTES, length_prefixed
from hub.vault.data_key import KEY_BYTES, KeyPurpose

PREFIX = "w1:"


class KeyDoesNotOpen(VaultError):
    """The master key does not open a wrapped data key: either it is the wrong master key or
    that key's row was changed; the keyring tells which by trying the other keys."""

    def __init__(self, key_id: int) -> None:
        super().__init__(
            f"the master key does not open data key {key_id}; is HUB_MASTER_KEY / "
            "secrets/master.key the one this database was created with?"
        )
        self.key_id = key_id


_LABEL = b"hub.data_key.w1"


def wrap_data_key(material: bytes, master_key: bytes, *, key_id: int, purpose: KeyPurpose) -> str:
    """Encrypt a data key's material under the master key, bound to its id and purpose."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(master_key).encrypt(nonce, material, _aad(key_id, purpose))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")


def unwrap_data_key(wrapped: str, master_key: bytes, *, key_id: int, purpose: KeyPurpose) -> bytes:
    """Recover a data key's material; a wrong master key or a moved row is a clear VaultError."""
    if len(master_key) != KEY_BYTES:
        raise VaultError(f"the master key must be {KEY_BYTES} bytes")
    if not wrapped.startswith(PREFIX):
        raise VaultError(f"data key {key_id} is wrapped in an unknown format")
    text = wrapped[len(PREFIX) :]
    try:
        body = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise VaultError(f"data key {key_id} is stored damaged (not base64url)") from None
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise VaultError(f"data key {key_id} is stored damaged (truncated)")
    try:
        material = AESGCM(master_key).decrypt(
            body[:NONCE_BYTES], body[NONCE_BYTES:], _aad(key_id, purpose)
        )
    except InvalidTag:
        raise KeyDoesNotOpen(key_id) from None
    if len(material) != KEY_BYTES:
        raise VaultError(f"data key {key_id} unwraps to {len(material)} bytes, not {KEY_BYTES}")
    return material


def _aad(key_id: int, purpose: KeyPurpose) -> bytes:
    return _LABEL + struct.pack(">I", key_id) + length_prefixed(purpose)
