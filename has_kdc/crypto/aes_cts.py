"""AES in CBC mode with ciphertext stealing, as RFC 3962 section 5 specifies.

Kerberos uses the CBC-CS3 variant: after CBC encryption the last two ciphertext
blocks are always swapped, even when the message is a whole number of blocks, and the
(now last) block is cut to the length of the final plaintext block. A one-block
message is plain CBC (with the zero IV Kerberos uses, that is ECB).

`cryptography` has no CTS mode, so it is built here on its AES-CBC:

- encrypt: CBC over the message zero-padded to whole blocks, then swap the last two
  blocks and cut. The zero padding makes the final CBC block exactly the CTS one:
  E(P_n || 0...0 XOR E_{n-1}) = E(P_n XOR head(E_{n-1}) || tail(E_{n-1})).
- decrypt: one CBC decryptor, fed the second-to-last ciphertext block first. Its
  output is D(C_{n-1}), from which the stolen tail and the last plaintext block come;
  the rest of the ciphertext (with the stolen tail put back) follows through the same
  decryptor, whose chaining then only needs one block corrected.

Both use a single `cryptography` cipher context per call. The `Cipher` object for a
key with the zero IV is cached, since Kerberos derives one encryption key per
(base key, key usage) and uses it with the zero IV for every message.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from has_kdc.crypto.errors import CryptoError

BLOCK_SIZE = 16
ZERO_IV = bytes(BLOCK_SIZE)
_AES_KEY_SIZES = (16, 24, 32)


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


@functools.lru_cache(maxsize=4096)
def cbc_cipher(key: bytes) -> Cipher[modes.CBC]:
    """The AES-CBC cipher for ``key`` with the all-zero IV (cached; safe to share)."""
    if len(key) not in _AES_KEY_SIZES:
        raise CryptoError(f"AES key must be 16, 24 or 32 bytes, got {len(key)} bytes")
    return Cipher(algorithms.AES(key), modes.CBC(ZERO_IV))


def _cipher_for(key: bytes, iv: bytes | None) -> Cipher[modes.CBC]:
    if iv is None or iv == ZERO_IV:
        return cbc_cipher(bytes(key))
    if len(iv) != BLOCK_SIZE:
        raise CryptoError(f"AES-CTS IV must be {BLOCK_SIZE} bytes, got {len(iv)} bytes")
    if len(key) not in _AES_KEY_SIZES:
        raise CryptoError(f"AES key must be 16, 24 or 32 bytes, got {len(key)} bytes")
    return Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv)))


def cts_encrypt(key: bytes, plaintext: bytes, iv: bytes | None = None) -> bytes:
    """AES-CBC-CTS encrypt ``plaintext`` (at least one block) under ``key``."""
    return cts_encrypt_with(_cipher_for(key, iv), plaintext)


def cts_decrypt(key: bytes, ciphertext: bytes, iv: bytes | None = None) -> bytes:
    """AES-CBC-CTS decrypt ``ciphertext`` (at least one block) under ``key``."""
    return cts_decrypt_with(_cipher_for(key, iv), ciphertext, iv)


def cts_encrypt_with(cipher: Cipher[modes.CBC], plaintext: bytes) -> bytes:
    """CTS-encrypt with a ready AES-CBC ``cipher`` (its IV is the initial state)."""
    n = len(plaintext)
    if n < BLOCK_SIZE:
        raise CryptoError(f"AES-CTS needs at least {BLOCK_SIZE} bytes of input, got {n} bytes")
    remainder = n % BLOCK_SIZE
    if remainder:
        plaintext = bytes(plaintext) + bytes(BLOCK_SIZE - remainder)
    out = cipher.encryptor().update(plaintext)
    if n == BLOCK_SIZE:
        return out
    last_len = remainder or BLOCK_SIZE
    # Swap the last two blocks; the one moved to the end is cut to last_len bytes.
    return out[:-32] + out[-16:] + out[-32 : -32 + last_len]


def cts_decrypt_with(
    cipher: Cipher[modes.CBC], ciphertext: bytes, iv: bytes | None = None
) -> bytes:
    """CTS-decrypt with a ready AES-CBC ``cipher``; ``iv`` must match the cipher's."""
    n = len(ciphertext)
    if n < BLOCK_SIZE:
        raise CryptoError(f"AES-CTS needs at least {BLOCK_SIZE} bytes of input, got {n} bytes")
    decryptor = cipher.decryptor()
    if n == BLOCK_SIZE:
        return decryptor.update(ciphertext)
    full_blocks = (n - 1) // BLOCK_SIZE  # whole blocks before the (possibly whole) last one
    last_len = n - full_blocks * BLOCK_SIZE
    split = (full_blocks - 1) * BLOCK_SIZE
    prefix = ciphertext[:split]
    c_swapped = ciphertext[split : split + BLOCK_SIZE]  # E(D_n), sent second-to-last
    c_last = ciphertext[split + BLOCK_SIZE :]  # head of E_{n-1}, last_len bytes

    d_n = decryptor.update(c_swapped)  # = D(c_swapped) XOR iv
    if iv is not None and iv != ZERO_IV:
        d_n = _xor(d_n, iv)
    p_last = _xor(d_n[:last_len], c_last)
    e_prev = c_last + d_n[last_len:]  # the full E_{n-1} block, stolen tail restored
    rest = decryptor.update(prefix + e_prev)
    # The decryptor chained the first of these blocks to c_swapped instead of the IV.
    first_fix = c_swapped if iv is None or iv == ZERO_IV else _xor(c_swapped, iv)
    return _xor(rest[:BLOCK_SIZE], first_fix) + rest[BLOCK_SIZE:] + p_last
