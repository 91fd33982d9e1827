"""MIT keytab files (FILE: type, format 0x0502; 0x0501 read), read and written.

Layout (MIT ``doc/formats/keytab_file_format.rst``): two version bytes, then records,
each a signed 32-bit length and that many bytes. A negative length is a hole left by a
deleted entry (skipped); zero ends the file. An entry is: principal (16-bit component
count, realm and components as 16-bit-length strings, 32-bit name type), 32-bit
timestamp, 8-bit kvno, 16-bit enctype, 16-bit-length key, and — since MIT 1.14 — a
32-bit kvno that overrides the 8-bit one when at least four bytes of the record remain
and it is nonzero. Anything left in the record after that is padding (an entry reused
a larger hole) and is ignored, as MIT does.

Version 0x0501 differs only in native byte order, a component count that includes the
realm, and no name type; it is read, and written back as 0x0502.

Reading keeps each entry's encoding details (the 8-bit field, whether and how the
32-bit field was present, padding) so that a file MIT wrote re-serializes to the same
bytes; an entry built here is written the way current MIT writes one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from has_kdc.fileio import SECRET_MODE, write_atomic
from has_kdc.formats.common import (
    NT_UNKNOWN,
    Cursor,
    FormatError,
    FormatPrincipal,
    Writer,
    as_principal,
    decode_name,
    encode_name,
    load_source,
)

KEYTAB_V1 = 0x0501
KEYTAB_V2 = 0x0502


@dataclass(frozen=True)
class EntryEncoding:
    """How one entry sat in its record, kept so an unchanged entry is written identically."""

    kvno8: int
    kvno32: int | None  # None: the record had no room for the 32-bit field
    padding: bytes = field(default=b"", repr=False)

    @property
    def kvno(self) -> int:
        return self.kvno32 if self.kvno32 else self.kvno8


@dataclass(frozen=True)
class KeytabEntry:
    """One key of one principal: a keytab line as ``klist -kte`` shows it."""

    principal: FormatPrincipal
    timestamp: int
    kvno: int
    enctype: int
    key: bytes = field(repr=False)
    encoding: EntryEncoding | None = field(default=None, repr=False, compare=False)

    @property
    def realm(self) -> str:
        return self.principal.realm

    @property
    def components(self) -> tuple[str, ...]:
        return self.principal.components

    @property
    def name_type(self) -> int:
        return self.principal.name_type


@dataclass
class Keytab:
    """The entries of a keytab file, in file order."""

    entries: list[KeytabEntry] = field(default_factory=list)

    def principals(self) -> list[FormatPrincipal]:
        """Each distinct principal once, in order of first appearance."""
        seen: list[FormatPrincipal] = []
        for entry in self.entries:
            if not any(p.same_name(entry.principal) for p in seen):
                seen.append(entry.principal)
        return seen

    def entries_for(self, principal: FormatPrincipal | str) -> list[KeytabEntry]:
        """All entries of ``principal`` (every kvno), in file order."""
        wanted = as_principal(principal)
        return [e for e in self.entries if e.principal.same_name(wanted)]

    def keys_for(
        self, principal: FormatPrincipal | str, kvno: int | None = None
    ) -> list[KeytabEntry]:
        """The current keys of ``principal``: its entries with the highest kvno.

        With ``kvno`` given, the entries of that kvno instead. Empty if none match.
        """
        candidates = self.entries_for(principal)
        if not candidates:
            return []
        chosen = max(e.kvno for e in candidates) if kvno is None else kvno
        return [e for e in candidates if e.kvno == chosen]

    def key_for(
        self, principal: FormatPrincipal | str, enctype: int, kvno: int | None = None
    ) -> KeytabEntry | None:
        """The entry of ``principal`` for ``enctype`` at ``kvno`` (default: highest kvno)."""
        candidates = [e for e in self.entries_for(principal) if e.enctype == enctype]
        if kvno is not None:
            candidates = [e for e in candidates if e.kvno == kvno]
        return max(candidates, key=lambda e: e.kvno, default=None)

    def add(self, new_entries: Iterable[KeytabEntry]) -> None:
        """Add keys as ``kadmin ktadd`` does: older kvnos stay, so tickets issued
        under them still decrypt. An entry with the same principal, kvno and enctype
        as one being added is replaced rather than duplicated."""
        incoming = list(new_entries)

        def superseded(old: KeytabEntry) -> bool:
            return any(
                old.principal.same_name(n.principal)
                and old.kvno == n.kvno
                and old.enctype == n.enctype
                for n in incoming
            )

        self.entries = [e for e in self.entries if not superseded(e)] + incoming

    def remove(self, principal: FormatPrincipal | str, kvno: int | None = None) -> int:
        """Drop the entries of ``principal`` (only of ``kvno`` if given); return how many."""
        wanted = as_principal(principal)
        keep = [
            e
            for e in self.entries
            if not (e.principal.same_name(wanted) and (kvno is None or e.kvno == kvno))
        ]
        removed = len(self.entries) - len(keep)
        self.entries = keep
        return removed

    def replace_principal(
        self, principal: FormatPrincipal | str, new_entries: Iterable[KeytabEntry]
    ) -> None:
        """Make ``new_entries`` the only keys of ``principal`` (other principals untouched)."""
        self.remove(principal)
        self.entries.extend(new_entries)

    def to_bytes(self) -> bytes:
        return keytab_to_bytes(self.entries)


def _read_entry(cur: Cursor, version: int) -> KeytabEntry:
    count = cur.u16("component count")
    if version == KEYTAB_V1:
        if count == 0:
            raise cur.error("component count 0 (it includes the realm in version 0x0501)")
        count -= 1
    realm = decode_name(cur.take(cur.u16("realm length"), "realm"))
    components = []
    for i in range(count):
        length = cur.u16(f"component {i + 1} length")
        components.append(decode_name(cur.take(length, f"component {i + 1}")))
    name_type = NT_UNKNOWN if version == KEYTAB_V1 else cur.u32("name type")
    timestamp = cur.u32("timestamp")
    kvno8 = cur.u8("kvno")
    enctype = cur.u16("enctype")
    key = cur.take(cur.u16("key length"), "key")
    kvno32 = cur.u32("32-bit kvno") if cur.remaining >= 4 else None
    padding = cur.take(cur.remaining, "padding")
    encoding = EntryEncoding(kvno8, kvno32, padding)
    return KeytabEntry(
        FormatPrincipal(name_type, realm, tuple(components)),
        timestamp,
        encoding.kvno,
        enctype,
        key,
        encoding,
    )


def parse_keytab(data: bytes) -> Keytab:
    """Parse a keytab image; holes are skipped, damage raises `FormatError`."""
    if len(data) < 2:
        raise FormatError(f"keytab: truncated version at offset {len(data)} (file too short)")
    if data[0] != 5 or data[1] not in (1, 2):
        raise FormatError(
            f"keytab: unknown version 0x{data[0]:02x}{data[1]:02x} at offset 0 "
            "(expected 0x0502 or 0x0501)"
        )
    version = 0x0500 | data[1]
    byteorder = "<" if version == KEYTAB_V1 and sys.byteorder == "little" else ">"
    cur = Cursor(data, "keytab", byteorder)
    cur.pos = 2
    entries: list[KeytabEntry] = []
    while not cur.at_end():
        cur.context = f"entry {len(entries) + 1}"
        length = cur.i32("record length")
        if length == 0:
            break  # MIT: a zero length marks the end of the keytab
        if length < 0:
            # A hole left by a deleted entry. MIT stops at end of file even when the
            # hole claims to run further; nothing is lost by that, so do the same.
            cur.pos = min(cur.pos - length, len(data))
            continue
        # Read the fields before checking the record is complete, so that a cut
        # file is reported at the field it cut through.
        cur.end = cur.pos + length
        entry = _read_entry(cur, version)
        cur.end = None
        entries.append(entry)
    return Keytab(entries)


def read_keytab(source: str | os.PathLike[str] | bytes) -> Keytab:
    """Read a keytab from a path, or from its bytes."""
    return parse_keytab(load_source(source))


def _write_name(w: Writer, text: str, label: str) -> None:
    raw = encode_name(text)
    w.u16(len(raw), f"{label} length")
    w.raw(raw)


def _entry_record(entry: KeytabEntry, number: int) -> bytes:
    w = Writer("keytab")
    w.context = f"entry {number}"
    p = entry.principal
    w.u16(len(p.components), "component count")
    _write_name(w, p.realm, "realm")
    for i, component in enumerate(p.components, 1):
        _write_name(w, component, f"component {i}")
    w.u32(p.name_type, "name type")
    w.u32(entry.timestamp, "timestamp")
    enc = entry.encoding
    if enc is None or enc.kvno != entry.kvno:
        enc = EntryEncoding(entry.kvno & 0xFF, entry.kvno)
    w.u8(enc.kvno8, "kvno")
    w.u16(entry.enctype, "enctype")
    w.u16(len(entry.key), "key length")
    w.raw(entry.key)
    if enc.kvno32 is not None:
        w.u32(enc.kvno32, "32-bit kvno")
    w.raw(enc.padding)
    return w.getvalue()


def keytab_to_bytes(entries: Iterable[KeytabEntry] | Keytab) -> bytes:
    """The 0x0502 file image of ``entries`` (no holes)."""
    items = entries.entries if isinstance(entries, Keytab) else entries
    out = Writer("keytab")
    out.u16(KEYTAB_V2, "version")
    for number, entry in enumerate(items, 1):
        record = _entry_record(entry, number)
        out.context = f"entry {number}"
        out.i32(len(record), "record length")
        out.raw(record)
    return out.getvalue()


def write_keytab(
    path: str | os.PathLike[str],
    entries: Iterable[KeytabEntry] | Keytab,
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> None:
    """Replace the keytab at ``path`` atomically, mode 0600 from the first byte."""
    write_atomic(path, keytab_to_bytes(entries), mode=SECRET_MODE, uid=uid, gid=gid)


def make_entry(
    principal: FormatPrincipal | str,
    kvno: int,
    enctype: int,
    key: bytes,
    timestamp: int | None = None,
) -> KeytabEntry:
    """A new entry, encoded as current MIT writes one (8-bit and 32-bit kvno).

    ``timestamp`` defaults to now, as ``ktutil``/``ktadd`` stamp entries.
    """
    stamp = int(time.time()) if timestamp is None else timestamp
    return KeytabEntry(as_principal(principal), stamp, kvno, enctype, bytes(key))


__all__ = [
    "KEYTAB_V1",
    "KEYTAB_V2",
    "EntryEncoding",
    "FormatError",
    "Keytab",
    "KeytabEntry",
    "keytab_to_bytes",
    "make_entry",
    "parse_keytab",
    "read_keytab",
    "write_keytab",
]
