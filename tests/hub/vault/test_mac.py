"""HMAC-SHA256 under a data key: the same digests as the standard library's, key by key."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from hub.vault.data_key import KEY_BYTES, DataKey
from hub.vault.mac import hmac_sha256

KEYS = st.builds(
    DataKey,
    id=st.integers(1, 1000),
    purpose=st.sampled_from(["data", "index", "subject"]),
    material=st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES),
)


@given(key=KEYS, messages=st.lists(st.binary(max_size=3000), min_size=1, max_size=4))
def test_each_message_gets_the_digest_hmac_digest_gives(
    key: DataKey, messages: list[bytes]
) -> None:
    for message in messages:  # the keyed context is reused: no message leaks into the next
        assert hmac_sha256(key, message) == hmac.digest(key.material, message, "sha256").hex()


def test_two_keys_with_the_same_id_keep_their_own_contexts() -> None:
    first = DataKey(1, "index", b"\x01" * KEY_BYTES)
    second = DataKey(1, "index", b"\x02" * KEY_BYTES)
    assert hmac_sha256(first, b"m") != hmac_sha256(second, b"m")
    assert hmac_sha256(second, b"m") == hmac.new(second.material, b"m", hashlib.sha256).hexdigest()
