"""The trail's Ed25519 signing key: its own file (default ``secrets/audit-signing.key``,
mode 0600), created on ``hub init`` or first use, never stored in the database.

Someone with full database access but not this file cannot sign a checkpoint, which is what
makes a rewritten trail detectable.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.offline_verify import checkpoint_message
from hub.errors import AuditError

KEY_FILE_MODE = 0o600


@dataclass(frozen=True)
class Signer:
    """Signs checkpoints; ``public_key`` is the raw 32 bytes a verifier needs."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    @property
    def key_id(self) -> str:
        """A short fingerprint of the public key, to tell keys apart in messages."""
        return hashlib.sha256(self.public_key).hexdigest()[:16]

    def sign(self, size: int, root_hex: str, at: str) -> str:
        signature = self.private_key.sign(checkpoint_message(size, root_hex, at))
        return base64.b64encode(signature).decode()


def load_signer(path: Path, *, create: bool = True) -> Signer:
    """The signing key in ``path``; with ``create``, a new one when the file does not exist."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise AuditError(f"no audit signing key at {path}; run `hub init`") from None
        return _create(path)
    except OSError as exc:
        raise AuditError(f"cannot read the audit signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError:
        raise AuditError(f"{path} is not an Ed25519 private key (PEM)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{path} is not an Ed25519 private key (PEM)")
    return Signer(key)


def _create(path: Path) -> Signer:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:  # another process made it first: use theirs
        return load_signer(path, create=False)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return Signer(key)
