"""CbcBlocks keeps its OpenSSL contexts between messages: every message must still be
CBC from the IV, whatever came before it on the same key, in any order and thread."""

from __future__ import annotations

import os
import random
import sys
import threading

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from has_kdc.crypto import CryptoError
from has_kdc.crypto.aes_cts import CbcBlocks, cts_decrypt_with, cts_encrypt_with, zero_iv_cbc


def fresh_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor().update(data)


def fresh_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(data)


@pytest.mark.parametrize("key_size", [16, 24, 32])
@pytest.mark.parametrize("zero_iv", [True, False])
def test_interleaved_messages_match_fresh_contexts(key_size: int, zero_iv: bool) -> None:
    rng = random.Random(key_size * 2 + zero_iv)
    key = os.urandom(key_size)
    iv = bytes(16) if zero_iv else os.urandom(16)
    cbc = CbcBlocks(key, iv)
    for _ in range(200):
        data = os.urandom(16 * rng.randint(1, 20))
        if rng.random() < 0.5:
            assert cbc.encrypt_blocks(data) == fresh_encrypt(key, iv, data)
        else:
            assert cbc.decrypt_blocks(data) == fresh_decrypt(key, iv, data)


def test_the_same_message_twice_gives_the_same_ciphertext() -> None:
    cbc = CbcBlocks(os.urandom(32))
    data = os.urandom(64)
    first = cbc.encrypt_blocks(data)
    assert cbc.encrypt_blocks(data) == first
    assert cbc.decrypt_blocks(first) == data
    assert cbc.decrypt_blocks(first) == data


@pytest.mark.parametrize("size", [0, 1, 15, 17, 33])
def test_partial_blocks_are_refused_and_leave_the_contexts_intact(size: int) -> None:
    key = os.urandom(16)
    cbc = CbcBlocks(key)
    cbc.encrypt_blocks(bytes(32))
    with pytest.raises(CryptoError, match="whole 16-byte blocks"):
        cbc.encrypt_blocks(bytes(size))
    with pytest.raises(CryptoError, match="whole 16-byte blocks"):
        cbc.decrypt_blocks(bytes(size))
    data = os.urandom(48)
    assert cbc.encrypt_blocks(data) == fresh_encrypt(key, bytes(16), data)
    assert cbc.decrypt_blocks(data) == fresh_decrypt(key, bytes(16), data)


def test_bad_key_and_iv_sizes_are_refused() -> None:
    with pytest.raises(CryptoError, match="16, 24 or 32 bytes"):
        CbcBlocks(bytes(15))
    with pytest.raises(CryptoError, match="IV must be 16 bytes"):
        CbcBlocks(bytes(16), bytes(8))


def test_cts_round_trips_after_many_uses_of_one_cached_key() -> None:
    key = os.urandom(32)
    cbc = zero_iv_cbc(key)
    assert zero_iv_cbc(key) is cbc
    for size in (16, 17, 31, 32, 33, 100, 300, 16, 17):
        data = os.urandom(size)
        assert cts_decrypt_with(cbc, cts_encrypt_with(cbc, data)) == data


def test_threads_sharing_one_key_each_get_their_own_messages_right() -> None:
    key = os.urandom(32)
    cbc = CbcBlocks(key)
    failures: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            data = rng.randbytes(16 * rng.randint(1, 8))
            if cbc.encrypt_blocks(data) != fresh_encrypt(key, bytes(16), data):
                failures.append("encrypt")
            if cbc.decrypt_blocks(data) != fresh_decrypt(key, bytes(16), data):
                failures.append("decrypt")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []


def test_repr_hides_the_key() -> None:
    assert "redacted" in repr(CbcBlocks(bytes(range(16))))
