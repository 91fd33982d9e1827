"""aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20), RFC 8009.

- KDF-HMAC-SHA2(key, label, context, k) = first k bits of
  HMAC-SHA2(key, 0x00000001 | label | 0x00 | context | k as 32-bit big-endian)
  (NIST SP 800-108 counter mode, one iteration since k never exceeds the hash);
- Kc = KDF(base, usage|0x99, h), Ke = KDF(base, usage|0xAA, key bits),
  Ki = KDF(base, usage|0x55, h), with h = 128 (19) or 192 (20) bits;
- string-to-key = KDF(PBKDF2-HMAC-SHA2(password, enctype-name | 0x00 | salt), "kerberos");
- ciphertext = C | HMAC(Ki, IV | C)[:h] with C = AES-CTS(Ke, confounder | plaintext)
  and IV the zero cipher state: encrypt-then-MAC, so decrypt checks before decrypting;
- checksum = HMAC(Kc, data)[:h]; PRF = KDF(key, "prf", data, 256 or 384).
"""

from __future__ import annotations

import hashlib
import hmac

from has_kdc.crypto.aes_cts import (
    BLOCK_SIZE,
    ZERO_IV,
    cts_decrypt_with,
    cts_encrypt_with,
    zero_iv_cbc,
)
from has_kdc.crypto.enctype import KC, KE, KI, Enctype, UsageKeys, usage_constant
from has_kdc.crypto.errors import CryptoError, IntegrityError
from has_kdc.crypto.hmac_key import HmacKey
from has_kdc.crypto.s2k import iteration_count

_KERBEROS = b"kerberos"
_PRF = b"prf"
_ONE = (1).to_bytes(4, "big")


class AesSha2Enctype(Enctype):
    """The RFC 8009 AES enctypes with HMAC-SHA-256/384 integrity."""

    block_size = BLOCK_SIZE
    default_params = (32768).to_bytes(4, "big")  # RFC 8009 section 4 and MIT default
    hash_name: str  # "sha256" or "sha384"

    def kdf(self, key: bytes, label: bytes, context: bytes, nbytes: int) -> bytes:
        """KDF-HMAC-SHA2 (RFC 8009 section 3) returning ``nbytes`` bytes."""
        message = _ONE + label + b"\x00" + context + (nbytes * 8).to_bytes(4, "big")
        return hmac.digest(key, message, self.hash_name)[:nbytes]

    def derive_key(self, key: bytes, constant: bytes, length: int | None = None) -> bytes:
        """KDF-HMAC-SHA2(key, constant, k) with an empty context.

        The RFC sizes the result by what the key is for: Kc and Ki (constants ending
        0x99 and 0x55) are as long as the MAC, everything else (Ke, "kerberos") as
        long as the protocol key. ``length`` (bytes) overrides that.
        """
        key = self._check_key(key)
        constant = bytes(constant)
        if not constant:
            raise CryptoError(f"{self.label}: key derivation constant must not be empty")
        if length is None:
            is_mac_key = len(constant) == 5 and constant[4] in (KC, KI)
            length = self.mac_size if is_mac_key else self.key_size
        return self.kdf(key, constant, b"", length)

    def string_to_key(self, password: bytes, salt: bytes, params: bytes | None = None) -> bytes:
        """RFC 8009 section 4: PBKDF2-HMAC-SHA2 over the enctype-name-prefixed salt."""
        count = iteration_count(
            self.default_params if params is None else bytes(params), self.label
        )
        saltp = self.name.encode("ascii") + b"\x00" + bytes(salt)
        tkey = hashlib.pbkdf2_hmac(self.hash_name, bytes(password), saltp, count, self.key_size)
        return self.derive_key(self.random_to_key(tkey), _KERBEROS)

    def _derive_usage_keys(self, key: bytes, usage: int) -> UsageKeys:
        ke = self.derive_key(key, usage_constant(usage, KE))
        ki = self.derive_key(key, usage_constant(usage, KI))
        return UsageKeys(zero_iv_cbc(ke), HmacKey(ki, self.hash_name))

    def _derive_checksum_key(self, key: bytes, usage: int) -> HmacKey:
        return HmacKey(self.derive_key(key, usage_constant(usage, KC)), self.hash_name)

    def encrypt(
        self, key: bytes, usage: int, plaintext: bytes, confounder: bytes | None = None
    ) -> bytes:
        keys = self._usage_keys(key, usage)
        data = self._confounder(confounder) + bytes(plaintext)
        body = cts_encrypt_with(keys.ke_cbc, data)
        mac = keys.ki.digest(ZERO_IV + body)[: self.mac_size]
        return body + mac

    def decrypt(self, key: bytes, usage: int, ciphertext: bytes) -> bytes:
        keys = self._usage_keys(key, usage)
        if len(ciphertext) < self.min_ciphertext_size:
            raise IntegrityError(
                f"{self.label}, key usage {usage}: ciphertext of {len(ciphertext)} bytes is "
                f"shorter than the minimum {self.min_ciphertext_size}"
            )
        body = bytes(ciphertext[: -self.mac_size])
        mac = bytes(ciphertext[-self.mac_size :])
        expected = keys.ki.digest(ZERO_IV + body)[: self.mac_size]
        if not hmac.compare_digest(expected, mac):
            raise IntegrityError(
                f"{self.label}, key usage {usage}: integrity check failed "
                "(wrong key, wrong key usage, or modified ciphertext)"
            )
        return cts_decrypt_with(keys.ke_cbc, body)[self.confounder_size :]

    def checksum(self, key: bytes, usage: int, data: bytes) -> bytes:
        return self._checksum_key(key, usage).digest(data)[: self.checksum_size]

    def prf(self, key: bytes, data: bytes) -> bytes:
        """RFC 8009 section 5 PRF: 32 bytes (19) or 48 bytes (20)."""
        return self.kdf(self._check_key(key), _PRF, bytes(data), self.prf_size)


class Aes128CtsHmacSha256128(AesSha2Enctype):
    etype = 19
    name = "aes128-cts-hmac-sha256-128"
    aliases = ("aes128-sha2",)
    key_size = 16
    key_seed_size = 16
    mac_size = 16
    checksum_type = 19  # hmac-sha256-128-aes128
    checksum_size = 16
    prf_size = 32
    hash_name = "sha256"


class Aes256CtsHmacSha384192(AesSha2Enctype):
    etype = 20
    name = "aes256-cts-hmac-sha384-192"
    aliases = ("aes256-sha2",)
    key_size = 32
    key_seed_size = 32
    mac_size = 24
    checksum_type = 20  # hmac-sha384-192-aes256
    checksum_size = 24
    prf_size = 48
    hash_name = "sha384"
