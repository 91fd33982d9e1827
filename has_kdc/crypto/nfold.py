"""n-fold, RFC 3961 section 5.1.

n-fold stretches or shrinks a constant (a key usage number, "kerberos", "prf") to the
cipher's block size before key derivation. The input is repeated, each copy rotated
13 bits further right than the one before, until the total length is the least common
multiple of the input and output lengths; the pieces of output length are then added
with one's-complement (end-around carry) addition.

The inputs are a handful of constants, so results are cached.
"""

from __future__ import annotations

import functools
import math

from has_kdc.crypto.errors import CryptoError


def nfold(data: bytes, nbytes: int) -> bytes:
    """Return ``data`` n-folded to ``nbytes`` bytes (RFC 3961 section 5.1)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CryptoError(f"n-fold input must be bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise CryptoError("n-fold input must not be empty")
    if not isinstance(nbytes, int) or nbytes <= 0:
        raise CryptoError(
            f"n-fold output length must be a positive number of bytes, got {nbytes!r}"
        )
    return _nfold(bytes(data), nbytes)


@functools.lru_cache(maxsize=256)
def _nfold(data: bytes, nbytes: int) -> bytes:
    inbits = len(data) * 8
    outbits = nbytes * 8
    total_bytes = math.lcm(len(data), nbytes)
    copies = total_bytes // len(data)

    value = int.from_bytes(data, "big")
    in_mask = (1 << inbits) - 1

    # Build the lcm-long string of rotated copies as one big integer, most
    # significant (first) copy first. Copy i is the input rotated right by 13*i bits.
    stream = 0
    for i in range(copies):
        shift = (13 * i) % inbits
        rotated = ((value >> shift) | (value << (inbits - shift))) & in_mask
        stream = (stream << inbits) | rotated

    # One's-complement sum of the nbytes-long pieces: add everything, then fold the
    # carries back in until none remain.
    out_mask = (1 << outbits) - 1
    total = 0
    while stream:
        total += stream & out_mask
        stream >>= outbits
    while total >> outbits:
        total = (total & out_mask) + (total >> outbits)
    return total.to_bytes(nbytes, "big")
