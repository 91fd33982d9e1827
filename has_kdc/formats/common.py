"""What the keytab and credential-cache files share: the error, the principal, the cursor.

Both MIT file formats are flat sequences of big-endian integers and length-prefixed
strings with no framing of their own, so a damaged file shows up as a read that runs
past the end. One cursor does every read and turns that into a `FormatError` naming
the field and its byte offset, so no caller ever sees a bare ``struct.error`` or
``IndexError``. Messages name fields and offsets, never their contents: keytabs and
caches hold keys.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from has_kdc.principal import default_salt, format_principal, parse_principal

# Name types (RFC 4120 §6.2) that the files carry next to each principal.
NT_UNKNOWN = 0
NT_PRINCIPAL = 1
NT_SRV_INST = 2
NT_SRV_HST = 3

# Names are octet strings on the wire; nearly always UTF-8. surrogateescape keeps any
# other bytes intact so that reading and re-writing a file changes nothing.
_NAME_ENCODING = "utf-8"
_NAME_ERRORS = "surrogateescape"


class FormatError(ValueError):
    """A keytab or credential cache that cannot be read or written as MIT lays it out."""


def decode_name(raw: bytes) -> str:
    return raw.decode(_NAME_ENCODING, _NAME_ERRORS)


def encode_name(text: str) -> bytes:
    return text.encode(_NAME_ENCODING, _NAME_ERRORS)


@dataclass(frozen=True)
class FormatPrincipal:
    """A principal as both files store it: name type, realm and name components.

    Two principals name the same entity when realm and components match; the name
    type is carried along but, as in MIT's ``krb5_principal_compare``, not compared
    by `same_name`.
    """

    name_type: int
    realm: str
    components: tuple[str, ...]

    def __str__(self) -> str:
        """The MIT display form, ``comp1/comp2@REALM``, escaped as MIT escapes it."""
        if not self.components or not self.realm:
            # Only a damaged or unusual file has these; show them rather than fail.
            return "/".join(self.components) + "@" + self.realm
        return format_principal(self.components, self.realm)

    def same_name(self, other: FormatPrincipal) -> bool:
        return self.realm == other.realm and self.components == other.components

    def default_salt(self) -> bytes:
        """The RFC 4120 default salt (realm, then every component) for string-to-key."""
        return default_salt(self.components, self.realm)

    @classmethod
    def from_string(
        cls, text: str, *, default_realm: str | None = None, name_type: int = NT_PRINCIPAL
    ) -> FormatPrincipal:
        """Parse ``comp1/comp2@REALM`` (MIT escapes honoured); the realm may default."""
        components, realm = parse_principal(text, default_realm)
        return cls(name_type, realm, components)


def as_principal(name: FormatPrincipal | str, default_realm: str | None = None) -> FormatPrincipal:
    return (
        name
        if isinstance(name, FormatPrincipal)
        else FormatPrincipal.from_string(name, default_realm=default_realm)
    )


class Cursor:
    """Reads fields from one file image; every failure is a `FormatError` with an offset.

    ``end``, when set, bounds the current record (a keytab entry lives inside a length-prefixed
    record); ``context`` names where we are, e.g. ``"entry 2"``, for the messages.
    """

    def __init__(self, data: bytes, what: str, byteorder: str = ">") -> None:
        self.data = data
        self.what = what
        self.byteorder = byteorder
        self.pos = 0
        self.end: int | None = None  # end of the current record, if inside one
        self.context = ""

    def error(self, message: str, offset: int | None = None) -> FormatError:
        where = self.pos if offset is None else offset
        suffix = f" ({self.context})" if self.context else ""
        return FormatError(f"{self.what}: {message} at offset {where}{suffix}")

    @property
    def remaining(self) -> int:
        """Bytes left in the current record (or in the file, outside records)."""
        return (len(self.data) if self.end is None else self.end) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def take(self, n: int, field: str) -> bytes:
        if self.end is not None and n > self.end - self.pos and self.end <= len(self.data):
            raise self.error(f"{field} runs past the end of its record")
        if n > len(self.data) - self.pos:
            raise self.error(f"truncated {field}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def _unpack(self, code: str, size: int, field: str) -> int:
        raw = self.take(size, field)
        value: int = struct.unpack(self.byteorder + code, raw)[0]
        return value

    def u8(self, field: str) -> int:
        return self._unpack("B", 1, field)

    def u16(self, field: str) -> int:
        return self._unpack("H", 2, field)

    def u32(self, field: str) -> int:
        return self._unpack("I", 4, field)

    def i32(self, field: str) -> int:
        return self._unpack("i", 4, field)


class Writer:
    """Builds a file image; values that do not fit their field raise `FormatError`."""

    def __init__(self, what: str, byteorder: str = ">") -> None:
        self.what = what
        self.byteorder = byteorder
        self.parts: list[bytes] = []
        self.context = ""

    def error(self, message: str) -> FormatError:
        suffix = f" ({self.context})" if self.context else ""
        return FormatError(f"{self.what}: cannot write {message}{suffix}")

    def raw(self, data: bytes) -> None:
        self.parts.append(bytes(data))

    def _pack(self, code: str, value: int, field: str) -> None:
        try:
            self.parts.append(struct.pack(self.byteorder + code, value))
        except struct.error:
            raise self.error(f"{field} {value!r}: out of range for its field") from None

    def u8(self, value: int, field: str) -> None:
        self._pack("B", value, field)

    def u16(self, value: int, field: str) -> None:
        self._pack("H", value, field)

    def u32(self, value: int, field: str) -> None:
        self._pack("I", value, field)

    def i32(self, value: int, field: str) -> None:
        self._pack("i", value, field)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def load_source(source: object) -> bytes:
    """File contents from a path, or the bytes themselves when given bytes."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    with open(source, "rb") as fh:  # type: ignore[call-overload]
        data: bytes = fh.read()
    return data
