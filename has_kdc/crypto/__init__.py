"""Kerberos V5 cryptography: RFC 3961 framework, AES enctypes of RFC 3962 and RFC 8009.

    from has_kdc.crypto import enctype_by_id, nfold
    et = enctype_by_id(18)
    key = et.string_to_key(b"password", b"EXAMPLE.COMuser")
    ct = et.encrypt(key, 2, b"ticket")
    et.decrypt(key, 2, ct)            # IntegrityError if anything is wrong

Only enctypes 17, 18, 19 and 20 are implemented; DES, 3DES, RC4 and Camellia are
refused with ``UnsupportedEnctype``. Pure functions of bytes: no files, no sockets.
"""

from has_kdc.crypto.aes_cts import cts_decrypt, cts_encrypt
from has_kdc.crypto.cf2 import cf2, cf2_mixed, prf_plus
from has_kdc.crypto.checksums import ChecksumType, checksum_by_type, checksum_for_enctype
from has_kdc.crypto.enctype import Enctype
from has_kdc.crypto.errors import (
    ChecksumMismatch,
    CryptoError,
    IntegrityError,
    UnsupportedChecksum,
    UnsupportedEnctype,
)
from has_kdc.crypto.nfold import nfold
from has_kdc.crypto.registry import (
    SUPPORTED_ENCTYPES,
    enctype_by_id,
    enctype_by_name,
    enctype_name,
    is_supported,
)
from has_kdc.crypto.s2k import MAX_ITERATION_COUNT, iteration_params

__all__ = [
    "MAX_ITERATION_COUNT",
    "SUPPORTED_ENCTYPES",
    "ChecksumMismatch",
    "ChecksumType",
    "CryptoError",
    "Enctype",
    "IntegrityError",
    "UnsupportedChecksum",
    "UnsupportedEnctype",
    "cf2",
    "cf2_mixed",
    "checksum_by_type",
    "checksum_for_enctype",
    "cts_decrypt",
    "cts_encrypt",
    "enctype_by_id",
    "enctype_by_name",
    "enctype_name",
    "is_supported",
    "iteration_params",
    "nfold",
    "prf_plus",
]
