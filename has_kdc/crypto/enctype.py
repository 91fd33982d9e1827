"""What every encryption type offers, and the checks they share.

An ``Enctype`` is a stateless singleton (one per enctype number) holding its RFC 3961
profile: sizes, names, the mandatory checksum type and default s2kparams. The two AES
families (RFC 3962 and RFC 8009) subclass it and supply key derivation, string-to-key,
encrypt/decrypt, checksum and PRF.

Derived keys (Ke, Ki for a key usage; Kc for checksums) are cached per
(base key, usage) in bounded LRU caches: the KDC decrypts with the same krbtgt and
service keys over and over, and deriving costs more than encrypting a ticket.
"""

from __future__ import annotations

import functools
import hmac
import os
from abc import ABC, abstractmethod
from typing import ClassVar, NamedTuple

from has_kdc.crypto.aes_cts import CbcBlocks
from has_kdc.crypto.errors import ChecksumMismatch, CryptoError
from has_kdc.crypto.hmac_key import HmacKey

#: Entries per derived-key cache (each enctype has one for Ke/Ki and one for Kc).
DERIVED_KEY_CACHE_SIZE = 4096

MAX_KEY_USAGE = 0xFFFFFFFF


class UsageKeys(NamedTuple):
    """The encryption and integrity keys derived for one (base key, usage), ready to use."""

    ke_cbc: CbcBlocks  # AES-CBC under Ke with the zero IV
    ki: HmacKey  # HMAC under Ki

    def __repr__(self) -> str:  # never show key bytes
        return "UsageKeys(<redacted>)"


class Enctype(ABC):
    """One Kerberos encryption type (RFC 3961 section 3 profile)."""

    etype: ClassVar[int]
    name: ClassVar[str]  # the MIT name, e.g. "aes256-cts-hmac-sha1-96"
    aliases: ClassVar[tuple[str, ...]] = ()
    key_size: ClassVar[int]  # protocol key length in bytes
    key_seed_size: ClassVar[int]  # random bytes random_to_key takes
    block_size: ClassVar[int] = 16
    confounder_size: ClassVar[int] = 16
    mac_size: ClassVar[int]  # integrity tag appended to ciphertext
    checksum_type: ClassVar[int]  # the mandatory checksum (RFC 3961 "required checksum")
    checksum_size: ClassVar[int]
    prf_size: ClassVar[int]
    default_params: ClassVar[bytes]  # default s2kparams (MIT's default iteration count)

    def __init__(self) -> None:
        self._usage_keys_cached = functools.lru_cache(maxsize=DERIVED_KEY_CACHE_SIZE)(
            self._derive_usage_keys
        )
        self._checksum_key_cached = functools.lru_cache(maxsize=DERIVED_KEY_CACHE_SIZE)(
            self._derive_checksum_key
        )

    def __repr__(self) -> str:
        return f"<Enctype {self.etype} {self.name}>"

    @property
    def label(self) -> str:
        """How messages name this enctype: ``enctype 18 (aes256-cts-hmac-sha1-96)``."""
        return f"enctype {self.etype} ({self.name})"

    @property
    def min_ciphertext_size(self) -> int:
        """The shortest ciphertext ``decrypt`` can accept (empty plaintext)."""
        return self.confounder_size + self.mac_size

    # -- keys ------------------------------------------------------------------

    def random_key(self) -> bytes:
        """A fresh random protocol key from the operating system's CSPRNG."""
        return self.random_to_key(os.urandom(self.key_seed_size))

    def random_to_key(self, data: bytes) -> bytes:
        """RFC 3961 random-to-key; the identity for AES."""
        if len(data) != self.key_seed_size:
            raise CryptoError(
                f"random-to-key for {self.label} needs {self.key_seed_size} bytes, "
                f"got {len(data)} bytes"
            )
        return bytes(data)

    @abstractmethod
    def string_to_key(self, password: bytes, salt: bytes, params: bytes | None = None) -> bytes:
        """Derive the long-term key from a password, salt and s2kparams."""

    @abstractmethod
    def derive_key(self, key: bytes, constant: bytes) -> bytes:
        """The RFC's key derivation of ``key`` with ``constant``."""

    @abstractmethod
    def prf(self, key: bytes, data: bytes) -> bytes:
        """The enctype's pseudo-random function (RFC 3961 section 3 PRF)."""

    # -- messages ----------------------------------------------------------------

    @abstractmethod
    def encrypt(
        self, key: bytes, usage: int, plaintext: bytes, confounder: bytes | None = None
    ) -> bytes:
        """Encrypt and integrity-protect ``plaintext`` for key usage ``usage``.

        ``confounder`` is only for reproducing published test vectors; leave it out
        and a random one is used.
        """

    @abstractmethod
    def decrypt(self, key: bytes, usage: int, ciphertext: bytes) -> bytes:
        """Check and decrypt; raises ``IntegrityError`` if the check fails."""

    @abstractmethod
    def checksum(self, key: bytes, usage: int, data: bytes) -> bytes:
        """The mandatory keyed checksum of ``data`` for key usage ``usage``."""

    def verify_checksum(self, key: bytes, usage: int, data: bytes, cksum: bytes) -> None:
        """Raise ``ChecksumMismatch`` unless ``cksum`` is the checksum of ``data``."""
        expected = self.checksum(key, usage, data)
        if not hmac.compare_digest(expected, bytes(cksum)):
            raise ChecksumMismatch(
                f"checksum type {self.checksum_type} ({self.label}), key usage {usage}: "
                f"checksum does not match the message ({len(cksum)}-byte checksum over "
                f"{len(data)} bytes)"
            )

    # -- shared helpers ----------------------------------------------------------

    def _check_key(self, key: bytes) -> bytes:
        if not isinstance(key, bytes | bytearray | memoryview):
            raise CryptoError(f"{self.label}: key must be bytes, got {type(key).__name__}")
        if len(key) != self.key_size:
            raise CryptoError(
                f"{self.label} needs a {self.key_size}-byte key, got {len(key)} bytes"
            )
        return bytes(key)

    def _check_usage(self, usage: int) -> int:
        if not isinstance(usage, int) or isinstance(usage, bool):
            raise CryptoError(f"{self.label}: key usage must be an int, got {usage!r}")
        if not 0 <= usage <= MAX_KEY_USAGE:
            raise CryptoError(f"{self.label}: key usage {usage} is outside 0..2^32-1")
        return usage

    def _confounder(self, confounder: bytes | None) -> bytes:
        if confounder is None:
            return os.urandom(self.confounder_size)
        if len(confounder) != self.confounder_size:
            raise CryptoError(
                f"{self.label} needs a {self.confounder_size}-byte confounder, "
                f"got {len(confounder)} bytes"
            )
        return bytes(confounder)

    def _usage_keys(self, key: bytes, usage: int) -> UsageKeys:
        if not (
            type(key) is bytes
            and len(key) == self.key_size
            and type(usage) is int
            and 0 <= usage <= MAX_KEY_USAGE
        ):  # the checks word the problem, or convert a bytearray or IntEnum usage
            key, usage = self._check_key(key), self._check_usage(usage)
        return self._usage_keys_cached(key, usage)

    def _checksum_key(self, key: bytes, usage: int) -> HmacKey:
        return self._checksum_key_cached(self._check_key(key), self._check_usage(usage))

    @abstractmethod
    def _derive_usage_keys(self, key: bytes, usage: int) -> UsageKeys:
        """Ke (as a ready cipher) and Ki (as a ready HMAC) for ``usage``; cached by
        ``_usage_keys``."""

    @abstractmethod
    def _derive_checksum_key(self, key: bytes, usage: int) -> HmacKey:
        """Kc for ``usage``, as a ready HMAC; cached by ``_checksum_key``."""

    def clear_caches(self) -> None:
        """Forget every derived key this enctype has cached."""
        self._usage_keys_cached.cache_clear()
        self._checksum_key_cached.cache_clear()


def usage_constant(usage: int, kind: int) -> bytes:
    """The 5-byte derivation constant: usage as 32-bit big-endian, then 0x99/0xAA/0x55."""
    return usage.to_bytes(4, "big") + bytes((kind,))


KC = 0x99  # checksum key
KE = 0xAA  # encryption key
KI = 0x55  # integrity key
