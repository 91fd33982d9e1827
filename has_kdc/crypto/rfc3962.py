"""aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18), RFC 3962.

These follow the RFC 3961 simplified profile:

- key derivation DK(key, constant) = random-to-key(DR(key, constant)), where DR
  encrypts the n-folded constant and keeps encrypting the previous output
  (RFC 3961 section 5.1) until there are key-length bytes;
- string-to-key = DK(PBKDF2-HMAC-SHA1(password, salt, iterations), "kerberos");
- ciphertext = AES-CTS(Ke, confounder | plaintext) | HMAC-SHA1(Ki, confounder | plaintext)[:12];
- checksum = HMAC-SHA1(Kc, data)[:12];
- PRF = AES-CTS(DK(key, "prf"), SHA-1(data) cut to a whole block) (RFC 3962 section 6).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from has_kdc.crypto.aes_cts import (
    BLOCK_SIZE,
    CbcBlocks,
    cbc_encrypt_once,
    cts_decrypt_with,
    cts_encrypt_with,
    zero_iv_cbc,
)
from has_kdc.crypto.enctype import KC, KE, KI, Enctype, UsageKeys, usage_constant
from has_kdc.crypto.errors import CryptoError, IntegrityError
from has_kdc.crypto.hmac_key import HmacKey
from has_kdc.crypto.nfold import nfold
from has_kdc.crypto.s2k import iteration_count

_KERBEROS = b"kerberos"
_PRF = b"prf"


class AesSha1Enctype(Enctype):
    """The RFC 3962 AES enctypes with HMAC-SHA1-96 integrity."""

    block_size = BLOCK_SIZE
    mac_size = 12
    checksum_size = 12
    prf_size = 16
    default_params = (4096).to_bytes(4, "big")  # MIT's default, RFC 3962 section 4

    def dr(self, key: bytes, constant: bytes) -> bytes:
        """RFC 3961 DR: derived random bytes, key_seed_size of them."""
        key = self._check_key(key)
        folded = constant if len(constant) == BLOCK_SIZE else nfold(constant, BLOCK_SIZE)
        blocks = -(-self.key_seed_size // BLOCK_SIZE)
        # K1 = E(folded), K2 = E(K1), ... is exactly CBC with the zero IV over
        # folded || 0^16 || 0^16 ...: each zero block is XORed with the previous output.
        stream = cbc_encrypt_once(key, folded + bytes(BLOCK_SIZE * (blocks - 1)))
        return stream[: self.key_seed_size]

    def derive_key(self, key: bytes, constant: bytes) -> bytes:
        """RFC 3961 DK(key, constant)."""
        if not constant:
            raise CryptoError(f"{self.label}: key derivation constant must not be empty")
        return self.random_to_key(self.dr(key, bytes(constant)))

    def string_to_key(self, password: bytes, salt: bytes, params: bytes | None = None) -> bytes:
        """RFC 3962 section 4: PBKDF2-HMAC-SHA1, then DK(tkey, "kerberos")."""
        count = iteration_count(
            self.default_params if params is None else bytes(params), self.label
        )
        tkey = hashlib.pbkdf2_hmac("sha1", bytes(password), bytes(salt), count, self.key_seed_size)
        return self.derive_key(self.random_to_key(tkey), _KERBEROS)

    def _derive_usage_keys(self, key: bytes, usage: int) -> UsageKeys:
        ke = self.derive_key(key, usage_constant(usage, KE))
        ki = self.derive_key(key, usage_constant(usage, KI))
        return UsageKeys(zero_iv_cbc(ke), HmacKey(ki, "sha1"))

    def _derive_checksum_key(self, key: bytes, usage: int) -> HmacKey:
        return HmacKey(self.derive_key(key, usage_constant(usage, KC)), "sha1")

    def encrypt(
        self, key: bytes, usage: int, plaintext: bytes, confounder: bytes | None = None
    ) -> bytes:
        keys = self._usage_keys(key, usage)
        if confounder is None:
            data = os.urandom(self.confounder_size) + bytes(plaintext)
        else:
            data = self._confounder(confounder) + bytes(plaintext)
        mac = keys.ki.digest(data)[: self.mac_size]
        return cts_encrypt_with(keys.ke_cbc, data) + mac

    def decrypt(self, key: bytes, usage: int, ciphertext: bytes) -> bytes:
        keys = self._usage_keys(key, usage)
        if len(ciphertext) < self.min_ciphertext_size:
            raise IntegrityError(
                f"{self.label}, key usage {usage}: ciphertext of {len(ciphertext)} bytes is "
                f"shorter than the minimum {self.min_ciphertext_size}"
            )
        body = bytes(ciphertext[: -self.mac_size])
        mac = bytes(ciphertext[-self.mac_size :])
        data = cts_decrypt_with(keys.ke_cbc, body)
        if not hmac.compare_digest(keys.ki.digest(data)[: self.mac_size], mac):
            raise IntegrityError(
                f"{self.label}, key usage {usage}: integrity check failed "
                "(wrong key, wrong key usage, or modified ciphertext)"
            )
        return data[self.confounder_size :]

    def checksum(self, key: bytes, usage: int, data: bytes) -> bytes:
        return self._checksum_key(key, usage).digest(data)[: self.checksum_size]

    def prf(self, key: bytes, data: bytes) -> bytes:
        """RFC 3962 section 6 PRF: 16 bytes."""
        digest = hashlib.sha1(bytes(data)).digest()  # noqa: S324 - the RFC 3962 PRF is SHA-1
        tmp = digest[: len(digest) // BLOCK_SIZE * BLOCK_SIZE]
        prf_key = self.derive_key(key, _PRF)
        return cts_encrypt_with(CbcBlocks(prf_key), tmp)


class Aes128CtsHmacSha196(AesSha1Enctype):
    etype = 17
    name = "aes128-cts-hmac-sha1-96"
    aliases = ("aes128-cts", "aes128-sha1")
    key_size = 16
    key_seed_size = 16
    checksum_type = 15  # hmac-sha1-96-aes128


class Aes256CtsHmacSha196(AesSha1Enctype):
    etype = 18
    name = "aes256-cts-hmac-sha1-96"
    aliases = ("aes256-cts", "aes256-sha1")
    key_size = 32
    key_seed_size = 32
    checksum_type = 16  # hmac-sha1-96-aes256
