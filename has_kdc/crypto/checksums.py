"""Checksum types by number (IANA "Kerberos Checksum Type Numbers").

The keyed checksums are each AES enctype's mandatory checksum: 15 and 16 (RFC 3962),
19 and 20 (RFC 8009). Two unkeyed ones are here because a KDC meets them inside
authenticators from real clients: rsa-md5 (7) and sha1 (14). Unkeyed checksums are
not collision-proof against an attacker who can rewrite the message, so ``keyed``
tells the caller which kind it holds; RFC 4120 section 7.2.2 requires a keyed
checksum over a TGS-REQ body.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod

from has_kdc.crypto.enctype import Enctype
from has_kdc.crypto.errors import ChecksumMismatch, UnsupportedChecksum
from has_kdc.crypto.registry import enctype_by_id


class ChecksumType(ABC):
    """One checksum type."""

    cksumtype: int
    name: str
    size: int
    keyed: bool
    enctype: Enctype | None  # the enctype whose keys a keyed checksum takes

    def __repr__(self) -> str:
        return f"<ChecksumType {self.cksumtype} {self.name}>"

    @abstractmethod
    def checksum(self, key: bytes | None, usage: int, data: bytes) -> bytes:
        """The checksum of ``data`` (``key`` and ``usage`` unused when unkeyed)."""

    def verify(self, key: bytes | None, usage: int, data: bytes, cksum: bytes) -> None:
        """Raise ``ChecksumMismatch`` unless ``cksum`` matches ``data``."""
        if not hmac.compare_digest(self.checksum(key, usage, data), bytes(cksum)):
            raise ChecksumMismatch(
                f"checksum type {self.cksumtype} ({self.name}), key usage {usage}: "
                f"checksum does not match the message ({len(cksum)}-byte checksum over "
                f"{len(data)} bytes)"
            )


class KeyedChecksum(ChecksumType):
    """An enctype's mandatory checksum, computed by that enctype."""

    keyed = True

    def __init__(self, cksumtype: int, name: str, enctype: Enctype) -> None:
        self.cksumtype = cksumtype
        self.name = name
        self.enctype = enctype
        self.size = enctype.checksum_size

    def checksum(self, key: bytes | None, usage: int, data: bytes) -> bytes:
        if key is None:
            raise UnsupportedChecksum(
                f"checksum type {self.cksumtype} ({self.name}) is keyed: a key is required",
                self.cksumtype,
            )
        return self.enctype.checksum(key, usage, data)  # type: ignore[union-attr]


class UnkeyedChecksum(ChecksumType):
    """A plain hash; the key and usage are ignored."""

    keyed = False
    enctype = None

    def __init__(self, cksumtype: int, name: str, hash_name: str) -> None:
        self.cksumtype = cksumtype
        self.name = name
        self._hash_name = hash_name
        self.size = hashlib.new(hash_name, usedforsecurity=False).digest_size

    def checksum(self, key: bytes | None, usage: int, data: bytes) -> bytes:
        return hashlib.new(self._hash_name, bytes(data), usedforsecurity=False).digest()


_CHECKSUMS: dict[int, ChecksumType] = {
    7: UnkeyedChecksum(7, "rsa-md5", "md5"),
    14: UnkeyedChecksum(14, "sha1", "sha1"),
    15: KeyedChecksum(15, "hmac-sha1-96-aes128", enctype_by_id(17)),
    16: KeyedChecksum(16, "hmac-sha1-96-aes256", enctype_by_id(18)),
    19: KeyedChecksum(19, "hmac-sha256-128-aes128", enctype_by_id(19)),
    20: KeyedChecksum(20, "hmac-sha384-192-aes256", enctype_by_id(20)),
}

_WEAK = "weak (not collision-proof, or built on DES/3DES/RC4)"
_REFUSED: dict[int, tuple[str, str]] = {
    1: ("crc32", _WEAK),
    2: ("rsa-md4", _WEAK),
    3: ("rsa-md4-des", _WEAK),
    4: ("des-mac", _WEAK),
    5: ("des-mac-k", _WEAK),
    6: ("rsa-md4-des-k", _WEAK),
    8: ("rsa-md5-des", _WEAK),
    9: ("rsa-md5-des3", _WEAK),
    12: ("hmac-sha1-des3-kd", _WEAK),
    13: ("hmac-sha1-des3", _WEAK),
    17: ("cmac-camellia128", "not implemented by has-kdc"),
    18: ("cmac-camellia256", "not implemented by has-kdc"),
    -137: ("md5-hmac-arcfour", _WEAK),
    -138: ("hmac-md5-arcfour", _WEAK),
}


def checksum_by_type(cksumtype: int) -> ChecksumType:
    """The checksum type numbered ``cksumtype``; ``UnsupportedChecksum`` if refused or unknown."""
    found = _CHECKSUMS.get(cksumtype)
    if found is not None:
        return found
    if cksumtype in _REFUSED:
        name, why = _REFUSED[cksumtype]
        raise UnsupportedChecksum(
            f"checksum type {cksumtype} ({name}) is not supported: {why}", cksumtype
        )
    raise UnsupportedChecksum(
        f"checksum type {cksumtype!r} is not supported: unknown checksum type number",
        cksumtype if isinstance(cksumtype, int) else None,
    )


def checksum_for_enctype(etype: int) -> ChecksumType:
    """The mandatory checksum of enctype ``etype``."""
    return checksum_by_type(enctype_by_id(etype).checksum_type)
