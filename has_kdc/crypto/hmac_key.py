"""HMAC (RFC 2104) under one key, its padded-key hash states computed once.

Kerberos MACs every message under a derived key (Ki for encryption, Kc for checksums)
that the enctype caches per (base key, usage), so the same key authenticates message
after message. ``hmac.digest(key, data, "sha1")`` starts from the key each time: it
looks the digest up by name, pads the key and hashes both pads before it reaches the
data. Here the two hash states after the padded key (inner and outer) are computed
once, and each message costs two ``copy()``s of them, the data and 20-48 bytes more:
about half the time of ``hmac.digest`` for a KDC's messages of a few hundred bytes
(0.7 µs against 1.6 µs for 300 bytes here). The output is HMAC exactly, for any key
length (keys longer than the hash block are hashed first, as RFC 2104 says).
"""

from __future__ import annotations

import hashlib

__all__ = ["HmacKey"]

_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class HmacKey:
    """HMAC-``hash_name`` under ``key``; ``digest(data)`` is ``hmac.digest(key, data,
    hash_name)``. Immutable after construction, so safe to share between threads."""

    __slots__ = ("_inner", "_outer", "hash_name")

    def __init__(self, key: bytes, hash_name: str) -> None:
        inner = hashlib.new(hash_name)
        block_size = inner.block_size
        key = bytes(key)
        if len(key) > block_size:
            key = hashlib.new(hash_name, key).digest()
        key = key.ljust(block_size, b"\0")
        inner.update(key.translate(_IPAD))
        outer = hashlib.new(hash_name)
        outer.update(key.translate(_OPAD))
        self._inner = inner
        self._outer = outer
        self.hash_name = hash_name

    def digest(self, data: bytes) -> bytes:
        """HMAC of ``data`` (any bytes-like object)."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self) -> str:  # never show key material
        return f"HmacKey({self.hash_name}, <redacted>)"
