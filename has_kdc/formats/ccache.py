"""MIT credential caches (FILE: type, format 0x0504; 0x0503 read and written), on disk.

Layout (MIT ``doc/formats/ccache_file_format.rst``): two version bytes; in 0x0504 a
header of tagged fields (tag 1 is the KDC time offset; unknown tags are kept); the
default principal; then credentials until end of file, with no count and no framing.
Integers are big-endian, strings carry 32-bit lengths. A credential is client, server,
keyblock (16-bit enctype — twice in 0x0503 — and key), four 32-bit times, is_skey
byte, 32-bit ticket flags, addresses, authdata, ticket and second ticket.

Configuration entries (server realm ``X-CACHECONF:``, first component
``krb5_ccache_conf_data``) are credentials in form only: the value is in the ticket
field and everything else is zero. They are read and written like the rest and told
apart by `Credential.is_config`; a cache copied through here keeps them.

A credential cut short raises `FormatError`. MIT's own reader instead stops quietly
at a short read and lists what came before; we do not, because a cache read here is
often written back, and that would silently drop the damaged credential.

Only versions 3 and 4 are handled: versions 1 and 2 use host byte order and have not
been written by MIT since the 1990s.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from has_kdc.fileio import SECRET_MODE, write_atomic
from has_kdc.formats.common import (
    NT_PRINCIPAL,
    Cursor,
    FormatError,
    FormatPrincipal,
    Writer,
    as_principal,
    decode_name,
    encode_name,
    load_source,
)

CCACHE_V3 = 0x0503
CCACHE_V4 = 0x0504

TAG_KDC_OFFSET = 1  # value: 32-bit seconds, 32-bit microseconds (KDC time - client time)

CONFIG_REALM = "X-CACHECONF:"
CONFIG_PREFIX = "krb5_ccache_conf_data"


@dataclass(frozen=True)
class KeyBlock:
    enctype: int
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Address:
    addrtype: int
    address: bytes


@dataclass(frozen=True)
class AuthData:
    ad_type: int
    data: bytes


@dataclass(frozen=True)
class HeaderTag:
    """One field of the 0x0504 header, kept as raw bytes whether or not we know the tag."""

    tag: int
    value: bytes


@dataclass(frozen=True)
class Credential:
    """One cached credential: a ticket with its session key, or a configuration entry."""

    client: FormatPrincipal
    server: FormatPrincipal
    keyblock: KeyBlock
    authtime: int = 0
    starttime: int = 0
    endtime: int = 0
    renew_till: int = 0
    is_skey: bool = False
    ticket_flags: int = 0
    addresses: tuple[Address, ...] = ()
    authdata: tuple[AuthData, ...] = ()
    ticket: bytes = field(default=b"", repr=False)
    second_ticket: bytes = field(default=b"", repr=False)

    @property
    def is_config(self) -> bool:
        """True for a ``X-CACHECONF:`` configuration entry rather than a ticket."""
        return (
            self.server.realm == CONFIG_REALM
            and len(self.server.components) >= 2
            and self.server.components[0] == CONFIG_PREFIX
        )

    @property
    def config_key(self) -> str | None:
        """The configuration key (``fast_avail``, ``pa_type``, ...) of a config entry."""
        return self.server.components[1] if self.is_config else None

    @property
    def config_principal(self) -> str | None:
        """The principal a config entry is associated with, if it names one."""
        if self.is_config and len(self.server.components) >= 3:
            return self.server.components[2]
        return None

    @classmethod
    def config_entry(
        cls, client: FormatPrincipal, key: str, value: bytes, principal: str | None = None
    ) -> Credential:
        """A configuration entry as MIT writes one: the value in the ticket field."""
        components = (CONFIG_PREFIX, key) if principal is None else (CONFIG_PREFIX, key, principal)
        server = FormatPrincipal(NT_PRINCIPAL, CONFIG_REALM, components)
        return cls(client, server, KeyBlock(0, b""), ticket=bytes(value))


@dataclass
class CredentialCache:
    """A whole FILE: cache: header fields, default principal, credentials in file order."""

    default_principal: FormatPrincipal
    credentials: list[Credential] = field(default_factory=list)
    header: list[HeaderTag] = field(default_factory=list)
    version: int = CCACHE_V4

    @property
    def kdc_offset(self) -> tuple[int, int] | None:
        """(seconds, microseconds) of KDC time minus client time, if the header has it."""
        for tag in self.header:
            if tag.tag == TAG_KDC_OFFSET and len(tag.value) == 8:
                secs, usecs = struct.unpack(">ii", tag.value)
                return secs, usecs
        return None

    def set_kdc_offset(self, seconds: int, microseconds: int) -> None:
        value = struct.pack(">ii", seconds, microseconds)
        others = [t for t in self.header if t.tag != TAG_KDC_OFFSET]
        self.header = [HeaderTag(TAG_KDC_OFFSET, value), *others]

    @property
    def tickets(self) -> list[Credential]:
        """The credentials that are tickets (configuration entries left out)."""
        return [c for c in self.credentials if not c.is_config]

    @property
    def config_entries(self) -> list[Credential]:
        return [c for c in self.credentials if c.is_config]

    def config(self, key: str, principal: FormatPrincipal | str | None = None) -> bytes | None:
        """The value of configuration ``key`` (for ``principal`` if given), or None."""
        wanted = None if principal is None else str(principal)
        for cred in self.config_entries:
            if cred.config_key == key and cred.config_principal == wanted:
                return cred.ticket
        return None

    def set_config(
        self, key: str, value: bytes, principal: FormatPrincipal | str | None = None
    ) -> None:
        wanted = None if principal is None else str(principal)
        self.credentials = [
            c
            for c in self.credentials
            if not (c.is_config and c.config_key == key and c.config_principal == wanted)
        ]
        self.credentials.append(Credential.config_entry(self.default_principal, key, value, wanted))

    def find(self, server: FormatPrincipal | str) -> Credential | None:
        """The last-stored ticket for ``server`` (MIT appends, so the newest wins)."""
        wanted = as_principal(server, default_realm=self.default_principal.realm)
        found = None
        for cred in self.tickets:
            if cred.server.same_name(wanted):
                found = cred
        return found

    def to_bytes(self) -> bytes:
        return ccache_to_bytes(self)


def _read_principal(cur: Cursor, role: str) -> FormatPrincipal:
    name_type = cur.u32(f"{role} name type")
    count = cur.u32(f"{role} component count")
    realm = decode_name(cur.take(cur.u32(f"{role} realm length"), f"{role} realm"))
    components = []
    for i in range(count):
        length = cur.u32(f"{role} component {i + 1} length")
        components.append(decode_name(cur.take(length, f"{role} component {i + 1}")))
    return FormatPrincipal(name_type, realm, tuple(components))


def _read_data(cur: Cursor, what: str) -> bytes:
    return cur.take(cur.u32(f"{what} length"), what)


def _read_credential(cur: Cursor, version: int) -> Credential:
    client = _read_principal(cur, "client")
    server = _read_principal(cur, "server")
    enctype = cur.u16("key enctype")
    if version == CCACHE_V3:
        cur.u16("repeated key enctype")
    key = _read_data(cur, "key")
    authtime = cur.u32("authtime")
    starttime = cur.u32("starttime")
    endtime = cur.u32("endtime")
    renew_till = cur.u32("renew_till")
    is_skey = cur.u8("is_skey")
    flags = cur.u32("ticket flags")
    addresses = []
    for i in range(cur.u32("address count")):
        addrtype = cur.u16(f"address {i + 1} type")
        addresses.append(Address(addrtype, _read_data(cur, f"address {i + 1}")))
    authdata = []
    for i in range(cur.u32("authdata count")):
        ad_type = cur.u16(f"authdata {i + 1} type")
        authdata.append(AuthData(ad_type, _read_data(cur, f"authdata {i + 1}")))
    ticket = _read_data(cur, "ticket")
    second_ticket = _read_data(cur, "second ticket")
    return Credential(
        client,
        server,
        KeyBlock(enctype, key),
        authtime,
        starttime,
        endtime,
        renew_till,
        bool(is_skey),
        flags,
        tuple(addresses),
        tuple(authdata),
        ticket,
        second_ticket,
    )


def parse_ccache(data: bytes) -> CredentialCache:
    """Parse a credential cache image; damage raises `FormatError` with the offset."""
    if len(data) < 2:
        raise FormatError(f"ccache: truncated version at offset {len(data)} (file too short)")
    if data[0] != 5 or data[1] not in (3, 4):
        raise FormatError(
            f"ccache: unsupported version 0x{data[0]:02x}{data[1]:02x} at offset 0 "
            "(expected 0x0504 or 0x0503)"
        )
    version = 0x0500 | data[1]
    cur = Cursor(data, "ccache")
    cur.pos = 2
    header: list[HeaderTag] = []
    if version == CCACHE_V4:
        cur.context = "header"
        header_len = cur.u16("header length")
        if header_len > len(data) - cur.pos:
            raise cur.error(f"truncated header (length {header_len})")
        cur.end = cur.pos + header_len
        while cur.pos < cur.end:
            tag = cur.u16("header tag")
            header.append(HeaderTag(tag, cur.take(cur.u16(f"tag {tag} length"), f"tag {tag}")))
        cur.end = None
    cur.context = "default principal"
    default = _read_principal(cur, "default")
    credentials: list[Credential] = []
    while not cur.at_end():
        cur.context = f"credential {len(credentials) + 1}"
        credentials.append(_read_credential(cur, version))
    return CredentialCache(default, credentials, header, version)


def read_ccache(source: str | os.PathLike[str] | bytes) -> CredentialCache:
    """Read a credential cache from a path (a ``FILE:`` prefix is allowed) or its bytes."""
    if isinstance(source, str) and source.startswith("FILE:"):
        source = source[len("FILE:") :]
    return parse_ccache(load_source(source))


def _write_principal(w: Writer, p: FormatPrincipal, role: str) -> None:
    w.u32(p.name_type, f"{role} name type")
    w.u32(len(p.components), f"{role} component count")
    _write_data(w, encode_name(p.realm), f"{role} realm")
    for i, component in enumerate(p.components, 1):
        _write_data(w, encode_name(component), f"{role} component {i}")


def _write_data(w: Writer, data: bytes, what: str) -> None:
    w.u32(len(data), f"{what} length")
    w.raw(data)


def _write_credential(w: Writer, cred: Credential, version: int) -> None:
    _write_principal(w, cred.client, "client")
    _write_principal(w, cred.server, "server")
    w.u16(cred.keyblock.enctype, "key enctype")
    if version == CCACHE_V3:
        w.u16(cred.keyblock.enctype, "repeated key enctype")
    _write_data(w, cred.keyblock.key, "key")
    w.u32(cred.authtime, "authtime")
    w.u32(cred.starttime, "starttime")
    w.u32(cred.endtime, "endtime")
    w.u32(cred.renew_till, "renew_till")
    w.u8(1 if cred.is_skey else 0, "is_skey")
    w.u32(cred.ticket_flags, "ticket flags")
    w.u32(len(cred.addresses), "address count")
    for i, addr in enumerate(cred.addresses, 1):
        w.u16(addr.addrtype, f"address {i} type")
        _write_data(w, addr.address, f"address {i}")
    w.u32(len(cred.authdata), "authdata count")
    for i, ad in enumerate(cred.authdata, 1):
        w.u16(ad.ad_type, f"authdata {i} type")
        _write_data(w, ad.data, f"authdata {i}")
    _write_data(w, cred.ticket, "ticket")
    _write_data(w, cred.second_ticket, "second ticket")


def ccache_to_bytes(ccache: CredentialCache) -> bytes:
    """The file image of ``ccache`` in its ``version`` (0x0504 unless read as 0x0503)."""
    w = Writer("ccache")
    if ccache.version not in (CCACHE_V3, CCACHE_V4):
        raise w.error(f"version 0x{ccache.version:04x} (only 0x0504 and 0x0503 are written)")
    w.u16(ccache.version, "version")
    if ccache.version == CCACHE_V4:
        w.context = "header"
        tags = Writer("ccache")
        tags.context = "header"
        for tag in ccache.header:
            tags.u16(tag.tag, "header tag")
            tags.u16(len(tag.value), f"tag {tag.tag} length")
            tags.raw(tag.value)
        body = tags.getvalue()
        w.u16(len(body), "header length")
        w.raw(body)
    elif ccache.header:
        raise w.error("header fields in a 0x0503 cache (that version has no header)")
    w.context = "default principal"
    _write_principal(w, ccache.default_principal, "default")
    for number, cred in enumerate(ccache.credentials, 1):
        w.context = f"credential {number}"
        _write_credential(w, cred, ccache.version)
    return w.getvalue()


def write_ccache(
    path: str | os.PathLike[str],
    ccache: CredentialCache,
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> None:
    """Replace the cache at ``path`` atomically, mode 0600 from the first byte."""
    if isinstance(path, str) and path.startswith("FILE:"):
        path = path[len("FILE:") :]
    write_atomic(path, ccache_to_bytes(ccache), mode=SECRET_MODE, uid=uid, gid=gid)


def new_ccache(
    default_principal: FormatPrincipal | str, credentials: Iterable[Credential] = ()
) -> CredentialCache:
    """An empty (or given) 0x0504 cache for ``default_principal``, as ``kinit`` starts one."""
    return CredentialCache(as_principal(default_principal), list(credentials))


__all__ = [
    "CCACHE_V3",
    "CCACHE_V4",
    "CONFIG_REALM",
    "TAG_KDC_OFFSET",
    "Address",
    "AuthData",
    "Credential",
    "CredentialCache",
    "FormatError",
    "HeaderTag",
    "KeyBlock",
    "ccache_to_bytes",
    "new_ccache",
    "parse_ccache",
    "read_ccache",
    "write_ccache",
]
