"""AES in CBC mode with ciphertext stealing, as RFC 3962 section 5 specifies.

Kerberos uses the CBC-CS3 variant: after CBC encryption the last two ciphertext
blocks are always swapped, even when the message is a whole number of blocks, and the
(now last) block is cut to the length of the final plaintext block. A one-block
message is plain CBC (with the zero IV Kerberos uses, that is ECB).

`cryptography` has no CTS mode, so it is built here on its AES-CBC and AES-ECB:

- encrypt: CBC over the message zero-padded to whole blocks, then swap the last two
  blocks and cut. The zero padding makes the final CBC block exactly the CTS one:
  E(P_n || 0...0 XOR E_{n-1}) = E(P_n XOR head(E_{n-1}) || tail(E_{n-1})).
- decrypt: CBC decryption is D(C_i) XOR C_{i-1}, and the D(C_i) do not depend on each
  other, so it is one ECB call and one XOR of the whole message with the ciphertext
  shifted by a block (the IV in front). For CTS, D of the block sent second-to-last
  gives the last plaintext block and the stolen tail of the block before it, so a
  second ECB call of one block finishes the message.

Each message would need its own `cryptography` cipher context, and creating one (the
AES key schedule, an OpenSSL allocation) costs more than encrypting a KDC message.
Kerberos uses each derived encryption key with the zero IV for message after
message, so ``CbcBlocks`` keeps one CBC encryption and one ECB decryption context per
key. ECB has no state between whole blocks; CBC encryption chains a context to the
last ciphertext block it saw, so that block (XOR the IV) is XORed into the next
message's first block to start it from the IV. ``zero_iv_cbc(key)`` caches one
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


class CbcBlocks:
    """AES-CBC from one IV under one key, over whole blocks, for any number of messages,
    and CBC-CS3 (Kerberos's CTS) over any message of a block or more.

    Each call is one message starting from the IV, as with a fresh context, but the
    OpenSSL contexts are made once. A lock keeps a message's update and the chaining
    state together (and one context to one caller at a time): the KDC answers on one
    thread per process, but the web server's threads use the same keys.
    """

    __slots__ = ("_ecb", "_enc", "_enc_fix", "_iv_int", "_lock", "iv")

    def __init__(self, key: bytes, iv: bytes = ZERO_IV) -> None:
        if len(key) not in _AES_KEY_SIZES:
            raise CryptoError(f"AES key must be 16, 24 or 32 bytes, got {len(key)} bytes")
        if len(iv) != BLOCK_SIZE:
            raise CryptoError(f"AES-CTS IV must be {BLOCK_SIZE} bytes, got {len(iv)} bytes")
        self.iv = bytes(iv)
        key = bytes(key)
        self._enc = Cipher(algorithms.AES(key), modes.CBC(self.iv)).encryptor()
        self._ecb = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305 - the block function, chained here
        # What the CBC context XORs into its next first block, XOR the IV, as an int:
        # 0 until first used, then the last ciphertext block it made XOR the IV (the
        # correction). Ints, because XOR of two 16-byte strings is cheapest that way.
        self._iv_int = int.from_bytes(self.iv, "big")
        self._enc_fix = 0
        self._lock = threading.Lock()

    def encrypt_blocks(self, data: bytes) -> bytes:
        """CBC encryption of ``data`` (a non-empty multiple of 16 bytes) from the IV."""
        data = bytes(data)
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
        data = bytes(data)
        n = len(data)
        if not n or n % BLOCK_SIZE:
            _check_blocks(data)
        with self._lock:
            raw = self._ecb.update(data)
        chain = self.iv + data[:-BLOCK_SIZE]
        return (int.from_bytes(raw, "big") ^ int.from_bytes(chain, "big")).to_bytes(n, "big")

    def cts_encrypt(self, plaintext: bytes) -> bytes:
        """CBC-CS3 encryption of ``plaintext`` (at least one block) from the IV."""
        data = bytes(plaintext)
        n = len(data)
        if n < BLOCK_SIZE:
            raise CryptoError(f"AES-CTS needs at least {BLOCK_SIZE} bytes of input, got {n} bytes")
        remainder = n % BLOCK_SIZE
        if remainder:
            data += bytes(BLOCK_SIZE - remainder)
        out = self.encrypt_blocks(data)
        if n == BLOCK_SIZE:
            return out
        # Swap the last two blocks; the one moved to the end is cut to the last
        # plaintext block's length.
        return out[:-32] + out[-16:] + out[-32 : -32 + (remainder or BLOCK_SIZE)]

    def cts_decrypt(self, ciphertext: bytes) -> bytes:
        """CBC-CS3 decryption of ``ciphertext`` (at least one block) from the IV."""
        data = bytes(ciphertext)
        n = len(data)
        if n <= BLOCK_SIZE:
            if n < BLOCK_SIZE:
                raise CryptoError(
                    f"AES-CTS needs at least {BLOCK_SIZE} bytes of input, got {n} bytes"
                )
            return self.decrypt_blocks(data)
        last_len = n - (n - 1) // BLOCK_SIZE * BLOCK_SIZE  # 1..16: the last block's length
        split = n - last_len - BLOCK_SIZE  # C_1 .. C_{m-2}, then E_m, then head(E_{m-1})
        tail = data[split + BLOCK_SIZE :]
        with self._lock:
            raw = self._ecb.update(data[: split + BLOCK_SIZE])  # D(C_i) ..., D(E_m)
            # D(E_m) = P_m || 0...0 XOR E_{m-1}: its tail is E_{m-1}'s stolen tail.
            raw_prev = self._ecb.update(tail + raw[split + last_len :])
        # P = D(C_1) .. D(C_{m-2}) D(E_{m-1}) head(D(E_m)), XOR IV C_1 .. C_{m-2} head(E_{m-1})
        plain = raw[:split] + raw_prev + raw[split : split + last_len]
        chain = self.iv + data[:split] + tail
        return (int.from_bytes(plain, "big") ^ int.from_bytes(chain, "big")).to_bytes(n, "big")

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
    return cbc.cts_encrypt(plaintext)


def cts_decrypt_with(cbc: CbcBlocks, ciphertext: bytes) -> bytes:
    """CTS-decrypt with a ready ``CbcBlocks`` (its IV is the initial state)."""
    return cbc.cts_decrypt(ciphertext)
