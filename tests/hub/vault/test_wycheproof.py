"""Project Wycheproof's AES-GCM vectors for the vault's parameters (256-bit key, 96-bit
nonce, 128-bit tag): every valid vector decrypts to its message and encrypts to its
ciphertext, every invalid one (modified tag, ciphertext or associated data) is refused.

The vault's ciphertexts are these primitives with a header and a context as associated
data, so an AES-GCM that passes here and the token tests together cover the format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "wycheproof_aes_gcm_256_96_128.json").read_text("utf-8")
)
CASES = [test for group in VECTORS["testGroups"] for test in group["tests"]]


def test_the_vectors_hold_valid_and_invalid_cases() -> None:
    results = {case["result"] for case in CASES}
    assert results >= {"valid", "invalid"} and len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"tc{c['tcId']}-{c['result']}")
def test_aes_gcm_agrees_with_wycheproof(case: dict[str, Any]) -> None:
    key, iv, aad = (bytes.fromhex(case[k]) for k in ("key", "iv", "aad"))
    msg, sealed = bytes.fromhex(case["msg"]), bytes.fromhex(case["ct"] + case["tag"])
    aes = AESGCM(key)
    if case["result"] == "invalid":
        with pytest.raises(InvalidTag):
            aes.decrypt(iv, sealed, aad)
        return
    assert aes.decrypt(iv, sealed, aad) == msg
    assert aes.encrypt(iv, msg, aad) == sealed
