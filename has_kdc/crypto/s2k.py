"""s2kparams for the PBKDF2-based string-to-key functions (RFC 3962 section 4, RFC 8009 section 4).

Both AES families carry the PBKDF2 iteration count as four big-endian bytes. The
limits follow MIT krb5: zero (which the RFC reads as 2^32) and counts of 2^24 or more
are refused, so a forged ETYPE-INFO2 cannot make anyone spin for hours. Counts below
the default are accepted here (the RFC test vectors use 1 and 2); a minimum is policy
for the caller.
"""

from __future__ import annotations

from has_kdc.crypto.errors import CryptoError

#: MIT krb5's implementation limit (src/lib/crypto/krb/s2k_pbkdf2.c).
MAX_ITERATION_COUNT = 0x1000000


def iteration_params(count: int) -> bytes:
    """Encode an iteration count as s2kparams."""
    if not 0 < count < MAX_ITERATION_COUNT:
        raise CryptoError(
            f"PBKDF2 iteration count must be 1..{MAX_ITERATION_COUNT - 1}, got {count}"
        )
    return count.to_bytes(4, "big")


def iteration_count(params: bytes, label: str) -> int:
    """Decode s2kparams into an iteration count; ``label`` names the enctype in errors."""
    if len(params) != 4:
        raise CryptoError(
            f"{label}: s2kparams must be 4 bytes (a big-endian iteration count), "
            f"got {len(params)} bytes"
        )
    count = int.from_bytes(params, "big")
    if count == 0:
        raise CryptoError(f"{label}: s2kparams iteration count 0 (meaning 2^32) is refused")
    if count >= MAX_ITERATION_COUNT:
        raise CryptoError(
            f"{label}: s2kparams iteration count {count} is above the limit "
            f"{MAX_ITERATION_COUNT - 1}"
        )
    return count
