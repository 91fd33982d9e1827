"""HmacKey (precomputed pad states) must be HMAC exactly, as the standard library computes it."""

from __future__ import annotations

import hmac
import os

import pytest

from has_kdc.crypto.hmac_key import HmacKey


@pytest.mark.parametrize("hash_name", ["sha1", "sha256", "sha384"])
@pytest.mark.parametrize("key_size", [0, 1, 16, 32, 63, 64, 65, 128, 129, 200])
def test_digest_is_hmac_for_every_key_length(hash_name: str, key_size: int) -> None:
    key = os.urandom(key_size)
    mac = HmacKey(key, hash_name)
    for size in (0, 1, 55, 64, 300, 5000):
        data = os.urandom(size)
        assert mac.digest(data) == hmac.digest(key, data, hash_name)


def test_one_key_serves_many_messages_independently() -> None:
    key = os.urandom(16)
    mac = HmacKey(key, "sha1")
    messages = [os.urandom(n) for n in (10, 200, 10)]
    assert [mac.digest(m) for m in messages] == [hmac.digest(key, m, "sha1") for m in messages]


def test_bytes_like_data_and_key() -> None:
    key = os.urandom(32)
    data = os.urandom(100)
    mac = HmacKey(bytearray(key), "sha256")
    assert mac.digest(memoryview(data)) == hmac.digest(key, data, "sha256")


def test_repr_hides_the_key() -> None:
    key = b"\x01secret-key-bytes"
    text = repr(HmacKey(key, "sha1"))
    assert "redacted" in text and key.hex() not in text and "secret" not in text
