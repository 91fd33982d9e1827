"""The crypto layer's one exception family.

Callers (the KDC, the keytab code, the admin tools) catch ``CryptoError`` to handle
anything this layer refuses, and the subclasses when the answer differs: a KDC maps
``IntegrityError`` to KRB_AP_ERR_BAD_INTEGRITY, ``ChecksumMismatch`` to
KRB_AP_ERR_MODIFIED and ``UnsupportedEnctype`` to KDC_ERR_ETYPE_NOSUPP.

No message built here or by callers in this package carries key, password or
plaintext bytes: only numbers, names and lengths.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Anything the Kerberos crypto layer cannot or will not do."""


class UnsupportedEnctype(CryptoError):
    """An encryption type that is unknown, not implemented, or refused as weak."""

    def __init__(self, message: str, etype: int | None = None) -> None:
        super().__init__(message)
        self.etype = etype


class UnsupportedChecksum(CryptoError):
    """A checksum type that is unknown, not implemented, or refused as weak."""

    def __init__(self, message: str, cksumtype: int | None = None) -> None:
        super().__init__(message)
        self.cksumtype = cksumtype


class IntegrityError(CryptoError):
    """Ciphertext that fails its integrity check (or cannot be ciphertext at all).

    Raised for a wrong key, a wrong key usage, a modified or truncated ciphertext.
    These cannot be told apart, by design.
    """


class ChecksumMismatch(IntegrityError):
    """A checksum that does not match its message under the given key and usage."""
