"""PRF+ and KRB-FX-CF2 (RFC 6113 §5.1): one key from two, as FAST combines keys.

FAST never uses a key it did not mix: the armor key is KRB-FX-CF2 of the armor
subkey and the armor ticket's session key, the encrypted-challenge keys mix the
armor key with the client's long-term key, and a strengthen key is mixed into the
reply key. Each mix runs each key's PRF+ over its own pepper and XORs the two.
"""

from __future__ import annotations

from has_kdc.crypto.errors import CryptoError
from has_kdc.crypto.registry import enctype_by_id

__all__ = ["cf2", "cf2_mixed", "prf_plus"]

_MAX_PRF_ROUNDS = 255


def prf_plus(etype: int, key: bytes, pepper: bytes, length: int) -> bytes:
    """RFC 6113 §5.1 PRF+: PRF(key, 0x01 || pepper) || PRF(key, 0x02 || pepper) || ...,
    the first ``length`` bytes."""
    et = enctype_by_id(etype)
    out = b""
    counter = 1
    while len(out) < length:
        if counter > _MAX_PRF_ROUNDS:
            raise CryptoError(f"PRF+ of {et.label} cannot give {length} bytes")
        out += et.prf(key, bytes((counter,)) + pepper)
        counter += 1
    return out[:length]


def cf2(etype: int, key1: bytes, pepper1: bytes, key2: bytes, pepper2: bytes) -> bytes:
    """KRB-FX-CF2(key1, key2, pepper1, pepper2) of two keys of one enctype (use
    ``cf2_mixed`` when they differ)."""
    return cf2_mixed(etype, key1, pepper1, etype, key2, pepper2)


def cf2_mixed(
    etype1: int, key1: bytes, pepper1: bytes, etype2: int, key2: bytes, pepper2: bytes
) -> bytes:
    """KRB-FX-CF2 of two keys that may differ in enctype; the result has ``etype1``."""
    et = enctype_by_id(etype1)
    size = et.key_seed_size
    a = prf_plus(etype1, key1, pepper1, size)
    b = prf_plus(etype2, key2, pepper2, size)
    return et.random_to_key(bytes(x ^ y for x, y in zip(a, b, strict=True)))
