"""Keytab and credential-cache files, laid out byte for byte as MIT Kerberos does.

``keytab`` reads and writes keytabs (0x0502), ``ccache`` credential caches (0x0504);
both raise `FormatError` for damaged files and write through `has_kdc.fileio`.
"""

from has_kdc.formats.ccache import (
    Address,
    AuthData,
    Credential,
    CredentialCache,
    HeaderTag,
    KeyBlock,
    ccache_to_bytes,
    new_ccache,
    parse_ccache,
    read_ccache,
    write_ccache,
)
from has_kdc.formats.common import FormatError, FormatPrincipal
from has_kdc.formats.keytab import (
    Keytab,
    KeytabEntry,
    keytab_to_bytes,
    make_entry,
    parse_keytab,
    read_keytab,
    write_keytab,
)

__all__ = [
    "Address",
    "AuthData",
    "Credential",
    "CredentialCache",
    "FormatError",
    "FormatPrincipal",
    "HeaderTag",
    "KeyBlock",
    "Keytab",
    "KeytabEntry",
    "ccache_to_bytes",
    "keytab_to_bytes",
    "make_entry",
    "new_ccache",
    "parse_ccache",
    "parse_keytab",
    "read_ccache",
    "read_keytab",
    "write_ccache",
    "write_keytab",
]
