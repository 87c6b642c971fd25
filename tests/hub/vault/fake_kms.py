"""A stand-in for a cloud KMS, for the key-provider tests: a separate process that holds its
own key and decrypts (or encrypts) a master key on request, so the hub never sees the KMS key.

    python -m tests.hub.vault.fake_kms encrypt|decrypt KMS_KEY_FILE  < input > output

``encrypt`` reads a base64 master key and writes base64(nonce || AES-GCM ciphertext);
``decrypt`` the reverse. TEST-ONLY: nothing here is a real KMS.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import VaultError
from hub.plugins import hookimpl

_AAD = b"fake-kms.master-key"


def main(action: str, kms_key_file: str) -> int:
    kms = AESGCM(base64.b64decode(Path(kms_key_file).read_text()))
    data = base64.b64decode(sys.stdin.read())
    if action == "encrypt":
        nonce = os.urandom(12)
        out = nonce + kms.encrypt(nonce, data, _AAD)
    else:
        try:
            out = kms.decrypt(data[:12], data[12:], _AAD)
        except InvalidTag:
            sys.stderr.write("the ciphertext was not made by this KMS key\n")
            return 1
    sys.stdout.write(base64.b64encode(out).decode())
    return 0


def call(action: str, kms_key_file: Path, text: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.hub.vault.fake_kms", action, str(kms_key_file)],
        input=text, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        raise VaultError(f"the KMS refused to {action}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class FakeKmsProvider:
    """The master key kept only as a KMS ciphertext in ``blob_file``, decrypted at start."""

    kms_key_file: Path
    blob_file: Path
    name: str = "fake-kms"

    def master_key(self) -> bytes:
        if not self.blob_file.exists():
            raise VaultError(f"no encrypted master key at {self.blob_file}")
        return base64.b64decode(call("decrypt", self.kms_key_file, self.blob_file.read_text()))


@dataclass
class FakeKmsPlugin:
    provider: FakeKmsProvider

    @hookimpl
    def hub_key_providers(self) -> list[FakeKmsProvider]:
        return [self.provider]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
