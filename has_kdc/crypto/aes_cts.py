"""AES in CBC mode with ciphertext stealing, as RFC 3962 section 5 specifies.

Kerberos uses the CBC-CS3 variant: after CBC encryption the last two ciphertext
blocks are always swapped, even when the message is a whole number of blocks, and the
(now last) block is cut to the length of the final plaintext block. A one-block
message is plain CBC (with the zero IV Kerberos uses, that is ECB).

`cryptography` has no CTS mode, so it is built here on its AES-CBC:

- encrypt: CBC over the message zero-padded to whole blocks, then swap the last two
  blocks and cut. The zero padding makes the final CBC block exactly the CTS one:
  E(P_n || 0...0 XOR E_{n-1}) = E(P_n XOR head(E_{n-1}) || tail(E_{n-1})).
- decrypt: CBC-decrypt the second-to-last ciphertext block alone. That gives
  D(C_{n-1}), from which the stolen tail and the last plaintext block come; the rest
  of the ciphertext, with the stolen tail put back, is then plain CBC from the IV.

Each message would need its own `cryptography` cipher context, and creating one (the
AES key schedule, an OpenSSL allocation) costs more than encrypting a KDC message.
Kerberos uses each derived encryption key with the zero IV for message after
message, so ``CbcBlocks`` keeps one encryption and one decryption context per key
and starts every message from the IV anyway: CBC chains a context to the last
ciphertext block it saw, so that block (XOR the IV) is XORed into the first block,
going in on encryption and coming out on decryption. ``zero_iv_cbc(key)`` caches one
``CbcBlocks`` per key.
"""

from __future__ import annotations

import functools
import threading

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from has_kdc.crypto.errors import CryptoError

BLOCK_SIZE = 16
ZERO_IV = bytes(BLOCK_SIZE)
_AES_KEY_SIZES = (16, 24, 32)


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


class CbcBlocks:
    """AES-CBC from one IV under one key, over whole blocks, for any number of messages.

    Each ``encrypt_blocks``/``decrypt_blocks`` call is one message starting from the
    IV, as with a fresh context, but the two OpenSSL contexts are made once. A lock
    keeps a message's update and the chaining state together: the KDC answers on one
    thread per process, but the web server's threads use the same keys.
    """

    __slots__ = ("_dec", "_dec_fix", "_enc", "_enc_fix", "_iv_int", "_lock", "iv")

    def __init__(self, key: bytes, iv: bytes = ZERO_IV) -> None:
        if len(key) not in _AES_KEY_SIZES:
            raise CryptoError(f"AES key must be 16, 24 or 32 bytes, got {len(key)} bytes")
        if len(iv) != BLOCK_SIZE:
            raise CryptoError(f"AES-CTS IV must be {BLOCK_SIZE} bytes, got {len(iv)} bytes")
        self.iv = bytes(iv)
        cipher = Cipher(algorithms.AES(bytes(key)), modes.CBC(self.iv))
        self._enc = cipher.encryptor()
        self._dec = cipher.decryptor()
        # What each context XORs into its next first block, XOR the IV, as an int: 0
        # until first used, then the last ciphertext block it saw XOR the IV (the
        # correction). Ints, because XOR of two 16-byte strings is cheapest that way.
        self._iv_int = int.from_bytes(self.iv, "big")
        self._enc_fix = self._dec_fix = 0
        self._lock = threading.Lock()

    def encrypt_blocks(self, data: bytes) -> bytes:
        """CBC encryption of ``data`` (a non-empty multiple of 16 bytes) from the IV."""
        if not data or len(data) % BLOCK_SIZE:
            _check_blocks(data)
        with self._lock:
            fix = self._enc_fix
            if fix:  # cancel the chaining to the previous message
                first = int.from_bytes(data[:BLOCK_SIZE], "big") ^ fix
                data = first.to_bytes(BLOCK_SIZE, "big") + data[BLOCK_SIZE:]
            out = self._enc.update(data)
            self._enc_fix = int.from_bytes(out[-BLOCK_SIZE:], "big") ^ self._iv_int
        return out

    def decrypt_blocks(self, data: bytes) -> bytes:
        """CBC decryption of ``data`` (a non-empty multiple of 16 bytes) from the IV."""
        if not data or len(data) % BLOCK_SIZE:
            _check_blocks(data)
        with self._lock:
            fix = self._dec_fix
            out = self._dec.update(data)
            self._dec_fix = int.from_bytes(data[-BLOCK_SIZE:], "big") ^ self._iv_int
        if fix:
            first = int.from_bytes(out[:BLOCK_SIZE], "big") ^ fix
            out = first.to_bytes(BLOCK_SIZE, "big") + out[BLOCK_SIZE:]
        return out

    def __repr__(self) -> str:  # never show key material
        return "CbcBlocks(<redacted>)"


def _check_blocks(data: bytes) -> None:
    # A partial block would stay buffered inside the context and shift every later
    # message: refuse it before the context sees it.
    if not data or len(data) % BLOCK_SIZE:
        raise CryptoError(f"AES-CBC needs whole {BLOCK_SIZE}-byte blocks, got {len(data)} bytes")


@functools.lru_cache(maxsize=4096)
def zero_iv_cbc(key: bytes) -> CbcBlocks:
    """The ``CbcBlocks`` for ``key`` with the all-zero IV (cached; safe to share)."""
    return CbcBlocks(key)


def cbc_encrypt_once(key: bytes, data: bytes) -> bytes:
    """CBC encryption of whole blocks under ``key`` with the zero IV, with a context used
    once: for keys that are not used again (key derivation from a base key)."""
    _check_blocks(data)
    if len(key) not in _AES_KEY_SIZES:
        raise CryptoError(f"AES key must be 16, 24 or 32 bytes, got {len(key)} bytes")
    return Cipher(algorithms.AES(bytes(key)), modes.CBC(ZERO_IV)).encryptor().update(data)


def _cbc_for(key: bytes, iv: bytes | None) -> CbcBlocks:
    if iv is None or iv == ZERO_IV:
        return zero_iv_cbc(bytes(key))
    return CbcBlocks(key, iv)


def cts_encrypt(key: bytes, plaintext: bytes, iv: bytes | None = None) -> bytes:
    """AES-CBC-CTS encrypt ``plaintext`` (at least one block) under ``key``."""
    return cts_encrypt_with(_cbc_for(key, iv), plaintext)


def cts_decrypt(key: bytes, ciphertext: bytes, iv: bytes | None = None) -> bytes:
    """AES-CBC-CTS decrypt ``ciphertext`` (at least one block) under ``key``."""
    return cts_decrypt_with(_cbc_for(key, iv), ciphertext)


def cts_encrypt_with(cbc: CbcBlocks, plaintext: bytes) -> bytes:
    """CTS-encrypt with a ready ``CbcBlocks`` (its IV is the initial state)."""
    n = len(plaintext)
    if n < BLOCK_SIZE:
        raise CryptoError(f"AES-CTS needs at least {BLOCK_SIZE} bytes of input, got {n} bytes")
    remainder = n % BLOCK_SIZE
    if remainder:
        plaintext = bytes(plaintext) + bytes(BLOCK_SIZE - remainder)
    out = cbc.encrypt_blocks(bytes(plaintext))
    if n == BLOCK_SIZE:
        return out
    last_len = remainder or BLOCK_SIZE
    # Swap the last two blocks; the one moved to the end is cut to last_len bytes.
    return out[:-32] + out[-16:] + out[-32 : -32 + last_len]


def cts_decrypt_with(cbc: CbcBlocks, ciphertext: bytes) -> bytes:
    """CTS-decrypt with a ready ``CbcBlocks`` (its IV is the initial state)."""
    n = len(ciphertext)
    if n < BLOCK_SIZE:
        raise CryptoError(f"AES-CTS needs at least {BLOCK_SIZE} bytes of input, got {n} bytes")
    ciphertext = bytes(ciphertext)
    if n == BLOCK_SIZE:
        return cbc.decrypt_blocks(ciphertext)
    full_blocks = (n - 1) // BLOCK_SIZE  # whole blocks before the (possibly whole) last one
    last_len = n - full_blocks * BLOCK_SIZE
    split = (full_blocks - 1) * BLOCK_SIZE
    prefix = ciphertext[:split]
    c_swapped = ciphertext[split : split + BLOCK_SIZE]  # E(D_n), sent second-to-last
    c_last = ciphertext[split + BLOCK_SIZE :]  # head of E_{n-1}, last_len bytes

    # A message of its own from the IV: D(c_swapped) XOR IV, so XOR the IV back out.
    d_n = cbc.decrypt_blocks(c_swapped)
    if cbc.iv != ZERO_IV:
        d_n = _xor(d_n, cbc.iv)
    p_last = _xor(d_n[:last_len], c_last)
    e_prev = c_last + d_n[last_len:]  # the full E_{n-1} block, stolen tail restored
    # The rest is plain CBC from the IV, its last block the restored E_{n-1}.
    return cbc.decrypt_blocks(prefix + e_prev) + p_last
