"""An MIT ``kdb5_util dump``, read as MIT 1.11 to 1.21 write it (src/kadmin/dbutil/dump.c).

The file starts with ``kdb5_util load_dump version 7`` (also 5 and 6, and the
``ipropx`` / ``iprop`` headers of ``dump -i``), then one record per line, fields
separated by tabs::

    princ  len  strlen(name)  n_tl_data  n_key_data  e_length  name
           attributes  max_life  max_renewable_life  expiration  pw_expiration
           last_success  last_failed  fail_auth_count
           n_tl_data x (type  length  hex-or--1)
           n_key_data x (ver  kvno  ver x (type  length  hex-or--1))
           e_data-hex-or--1  ;
    policy name ...

The name is length-prefixed (it may hold tabs). Key data element 0 is the key,
encrypted in the master key (see `mit_mkey`); element 1, when ``ver`` is 2, is the
salt: type NORMAL (0) is the name's default salt, NOREALM (2) the components alone,
ONLYREALM (3) the realm alone, SPECIAL (4) the bytes given.

Attribute bits map to has-kdc's flags where it has one (``REQUIRES_PRE_AUTH``,
``DISALLOW_FORWARDABLE``, ``_PROXIABLE``, ``_RENEWABLE``, ``_ALL_TIX``, ``_SVR``);
every other bit that is set is reported as not carried. Zero ``expiration``,
``pw_expiration``, ``max_life`` and ``max_renewable_life`` mean "none" in MIT and
become None. Login statistics are not carried (has-kdc keeps none). Of the
tagged data, modification times, the master key version and the last password
change are MIT's bookkeeping; a password policy reference, string attributes and
any other type are reported. ``K/M`` (the master key) is not a principal to carry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from has_kdc.admin.errors import AdminError
from has_kdc.admin.importing.mit_mkey import (
    MasterKeys,
    decrypt_key_data,
    master_password_key,
    read_stash,
)
from has_kdc.admin.importing.records import Skipped, SourceKey, SourcePrincipal, SourceRealm
from has_kdc.crypto import enctype_name, is_supported
from has_kdc.principal import PrincipalNameError, format_principal, parse_principal

__all__ = ["HEADERS", "KIND", "looks_like_mit_dump", "read_mit_dump"]

KIND = "mit-dump"
HEADERS = (
    "kdb5_util load_dump version 7",
    "kdb5_util load_dump version 6",
    "kdb5_util load_dump version 5",
)
_IPROP_HEADERS = ("ipropx\t", "iprop\t")

# src/include/kdb.h principal attributes: bit -> (MIT name, has-kdc attribute, value when set)
_FLAGS: dict[int, tuple[str, str | None, bool]] = {
    0x00000001: ("DISALLOW_POSTDATED", None, False),
    0x00000002: ("DISALLOW_FORWARDABLE", "allow_forwardable", False),
    0x00000004: ("DISALLOW_TGT_BASED", None, False),
    0x00000008: ("DISALLOW_RENEWABLE", "allow_renewable", False),
    0x00000010: ("DISALLOW_PROXIABLE", "allow_proxiable", False),
    0x00000020: ("DISALLOW_DUP_SKEY", None, False),
    0x00000040: ("DISALLOW_ALL_TIX", "allow_tix", False),
    0x00000080: ("REQUIRES_PRE_AUTH", "requires_preauth", True),
    0x00000100: ("REQUIRES_HW_AUTH", None, False),
    0x00000200: ("REQUIRES_PWCHANGE", None, False),
    0x00001000: ("DISALLOW_SVR", "allow_svr", False),
    0x00002000: ("PWCHANGE_SERVICE", None, False),
    0x00004000: ("SUPPORT_DESMD5", None, False),
    0x00008000: ("NEW_PRINC", None, False),
    0x00100000: ("OK_AS_DELEGATE", None, False),
    0x00200000: ("OK_TO_AUTH_AS_DELEGATE", None, False),
    0x00400000: ("NO_AUTH_DATA_REQUIRED", None, False),
    0x00800000: ("LOCKDOWN_KEYS", None, False),
}
_NO_FLAG = "has-kdc has no such principal attribute"

# Tagged data (kdb.h KRB5_TL_*): MIT's own bookkeeping, nothing to carry.
_TL_LAST_PWD_CHANGE, _TL_MOD_PRINC, _TL_KADM_DATA = 0x0001, 0x0002, 0x0003
_TL_MKVNO, _TL_ACTKVNO, _TL_MKEY_AUX, _TL_STRING_ATTRS = 0x0008, 0x0009, 0x000A, 0x000B
_TL_QUIET = {_TL_LAST_PWD_CHANGE, _TL_MOD_PRINC, _TL_MKVNO, _TL_ACTKVNO, _TL_MKEY_AUX}
_OSA_ADB_PRINC_VERSION_1 = 0x12345C01

_FIELD_END = re.compile(r"[\t;\n]")

# Salt types (kdb.h KRB5_KDB_SALTTYPE_*).
_SALT_NORMAL, _SALT_V4, _SALT_NOREALM, _SALT_ONLYREALM, _SALT_SPECIAL = 0, 1, 2, 3, 4


def looks_like_mit_dump(head: bytes) -> bool:
    """Whether a file's first line is an MIT dump header (load_dump 5-7, iprop)."""
    first = head.split(b"\n", 1)[0].decode("ascii", "replace").rstrip("\r")
    return first in HEADERS or first.startswith(_IPROP_HEADERS)


class _Fields:
    """A cursor over one record's tab-separated fields."""

    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos = text, pos

    def word(self) -> str:
        end = self.text.find("\t", self.pos)
        if end < 0:
            raise ValueError("record ends early")
        value = self.text[self.pos : end]
        if "\n" in value:
            raise ValueError("record ends early")
        self.pos = end + 1
        return value

    def number(self) -> int:
        try:
            return int(self.word())
        except ValueError:
            raise ValueError("a number was expected") from None

    def chars(self, count: int) -> str:
        value = self.text[self.pos : self.pos + count]
        if len(value) != count or self.text[self.pos + count : self.pos + count + 1] != "\t":
            raise ValueError("the name is shorter than its length")
        self.pos += count + 1
        return value

    def octets(self, length: int) -> bytes:
        """``length`` bytes of hex, or ``-1`` for none; the field ends at a tab or ';'."""
        found = _FIELD_END.search(self.text, self.pos)
        end = found.start() if found else len(self.text)
        value = self.text[self.pos : end]
        self.pos = end + 1 if end < len(self.text) and self.text[end] == "\t" else end
        if length == 0:
            if value != "-1":
                raise ValueError("-1 expected for empty data")
            return b""
        data = bytes.fromhex(value)
        if len(data) != length:
            raise ValueError("data shorter than its length")
        return data

    def end(self) -> int:
        """Position after the record's ``;`` and newline."""
        if not self.text.startswith(";", self.pos):
            raise ValueError("';' expected at the end of the record")
        newline = self.text.find("\n", self.pos)
        return len(self.text) if newline < 0 else newline + 1


def _skip_line(text: str, pos: int) -> int:
    newline = text.find("\n", pos)
    return len(text) if newline < 0 else newline + 1


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _raw_records(text: str) -> tuple[list[tuple[str, dict[str, Any]]], list[Skipped]]:
    """Parsed ``princ`` records (name, fields) and what could not be read."""
    first = _skip_line(text, 0)
    header = text[:first].rstrip("\r\n")
    if not (header in HEADERS or header.startswith(_IPROP_HEADERS)):
        raise AdminError(f"not an MIT dump: the first line is not one of {', '.join(HEADERS)}")
    records: list[tuple[str, dict[str, Any]]] = []
    skipped: list[Skipped] = []
    pos = first
    while pos < len(text):
        if text.startswith("princ\t", pos):
            cur = _Fields(text, pos + len("princ\t"))
            try:
                name, record = _read_princ(cur)
                end = cur.end()
            except ValueError as exc:
                where = f"line {_line_of(text, pos)}"
                skipped.append(Skipped(None, where, f"unreadable principal record: {exc}"))
                pos = _skip_line(text, pos)
                continue
            records.append((name, record))
            pos = end
        elif text.startswith("policy\t", pos):
            end = _skip_line(text, pos)
            policy = _name(text[pos + len("policy\t") : end].split("\t", 1)[0])
            skipped.append(
                Skipped(None, f"policy {policy}", "has-kdc has no password policies; not carried")
            )
            pos = end
        elif text[pos] in "\r\n":
            pos += 1
        else:
            end = _skip_line(text, pos)
            kind = _name(text[pos:end].split("\t", 1)[0][:20])
            where = f"line {_line_of(text, pos)}"
            skipped.append(Skipped(None, where, f"unknown record type {kind!r}"))
            pos = end
    return records, skipped


def _name(raw: str) -> str:
    """A name as MIT wrote it (bytes, read as Latin-1 so lengths count bytes) in UTF-8."""
    return raw.encode("latin-1").decode("utf-8", "replace")


def _read_princ(cur: _Fields) -> tuple[str, dict[str, Any]]:
    cur.number()  # len: MIT's fixed-size part, not used
    name_len, n_tl, n_keys, e_length = cur.number(), cur.number(), cur.number(), cur.number()
    name = _name(cur.chars(name_len))
    record: dict[str, Any] = {
        "attributes": cur.number(),
        "max_life": cur.number(),
        "max_renewable_life": cur.number(),
        "expiration": cur.number(),
        "pw_expiration": cur.number(),
    }
    for _ in range(3):  # last_success, last_failed, fail_auth_count
        cur.number()
    record["tl_data"] = [(cur.number(), cur.octets(cur.number())) for _ in range(n_tl)]
    keys = []
    for _ in range(n_keys):
        ver, kvno = cur.number(), cur.number()
        if not 1 <= ver <= 2:
            raise ValueError(f"key data version {ver}")
        elements = [(cur.number(), cur.octets(cur.number())) for _ in range(ver)]
        keys.append((kvno, elements))
    record["keys"] = keys
    cur.octets(e_length)
    return name, record


def _salt(kind: int, data: bytes, components: tuple[str, ...], realm: str) -> bytes | None:
    if kind == _SALT_NORMAL and not data:
        return None
    if kind == _SALT_NOREALM:
        return "".join(components).encode("utf-8")
    if kind == _SALT_ONLYREALM:
        return realm.encode("utf-8")
    if kind in (_SALT_V4, _SALT_SPECIAL, _SALT_NORMAL):
        return data
    raise ValueError(f"salt type {kind} is not one has-kdc can use")


def _policy_name(data: bytes) -> str | None:
    """The policy a KRB5_TL_KADM_DATA (XDR osa_princ_ent_rec) names, if any."""
    if len(data) < 8 or int.from_bytes(data[:4], "big") != _OSA_ADB_PRINC_VERSION_1:
        return None
    size = int.from_bytes(data[4:8], "big")
    if size == 0 or 8 + size > len(data):
        return None
    return data[8 : 8 + size - 1].decode("utf-8", "replace")


def _principal(
    components: tuple[str, ...], realm: str, record: dict[str, Any], mkeys: MasterKeys
) -> SourcePrincipal:
    principal = SourcePrincipal(format_principal(components, realm))
    attributes = int(record["attributes"])
    for bit, (word, attr, value) in _FLAGS.items():
        if attr is not None:
            principal.attributes[attr] = bool(attributes & bit) == value
        elif attributes & bit:
            principal.skip(f"attribute {word}", _NO_FLAG)
    if unknown := attributes & ~sum(_FLAGS):
        principal.skip(f"attribute bits {unknown:#x}", _NO_FLAG)
    for field in ("max_life", "max_renewable_life", "expiration", "pw_expiration"):
        number = int(record[field])
        principal.attributes[field] = number if number > 0 else None
    mkvno = None
    for kind, data in record["tl_data"]:
        if kind == _TL_MKVNO and len(data) >= 2:
            mkvno = int.from_bytes(data[:2], "little")
        elif kind == _TL_KADM_DATA:
            policy = _policy_name(data)
            if policy:
                principal.skip(f"policy {policy}", "has-kdc has no password policies")
        elif kind == _TL_STRING_ATTRS:
            names = [p.decode("utf-8", "replace") for p in data.split(b"\0")[::2] if p]
            principal.skip(f"string attributes {', '.join(names)}", _NO_FLAG)
        elif kind not in _TL_QUIET:
            principal.skip(f"tagged data type {kind:#06x}", "not carried by has-kdc")
    master = mkeys.for_mkvno(mkvno)
    for kvno, elements in record["keys"]:
        etype, contents = elements[0]
        label = f"key {enctype_name(etype) or etype} kvno {kvno}"
        if not is_supported(etype):  # refused by the plan whatever its bytes: not opened
            principal.keys.append(SourceKey(etype, kvno, b""))
            continue
        try:
            key = decrypt_key_data(master, contents)
            salt_kind, salt_data = elements[1] if len(elements) > 1 else (_SALT_NORMAL, b"")
            salt = _salt(salt_kind, salt_data, components, realm)
        except ValueError as exc:
            principal.skip(label, f"cannot be read: {exc}")
            continue
        principal.keys.append(SourceKey(etype, kvno, key, salt))
    return principal


def read_mit_dump(
    path: str | os.PathLike[str],
    *,
    stash: str | os.PathLike[str] | None = None,
    master_password: str | None = None,
) -> SourceRealm:
    """Every principal of an MIT dump, keys decrypted with the stash or master password."""
    source = Path(path)
    try:
        text = source.read_text(encoding="latin-1")
    except OSError as exc:
        raise AdminError(f"cannot read {source}: {exc.strerror}") from None
    records, skipped = _raw_records(text)
    realm_name, km_keys = None, []
    for name, record in records:
        if name.startswith("K/M@"):  # krb5_unparse_name of K/M@REALM: no escapes needed
            realm_name = name[len("K/M@") :]
            km_keys = [(kvno, el[0][0], el[0][1]) for kvno, el in record["keys"]]
            km_keys.sort(key=lambda k: -k[0])
    if realm_name is None:
        raise AdminError(f"{source}: no K/M@REALM record; not a whole MIT database dump")
    if stash is not None:
        given = read_stash(stash)
    elif master_password is not None:
        mtype = km_keys[0][1]
        given = [(0, mtype, master_password_key(master_password, realm_name, mtype))]
    else:
        raise AdminError(
            "an MIT dump holds its keys encrypted in the master key: give the stash file "
            "(kdc.conf key_stash_file, e.g. /etc/krb5kdc/.k5." + realm_name + ") or the "
            "master password"
        )
    mkeys = MasterKeys.unlock(given, km_keys)
    result = SourceRealm(KIND, str(source), realm_name, skipped=skipped)
    for name, record in records:
        try:
            components, realm = parse_principal(name)
        except PrincipalNameError as exc:
            result.skipped.append(Skipped(name, "principal", f"bad principal name: {exc}"))
            continue
        if components == ("K", "M"):
            result.skipped.append(
                Skipped(name, "principal", "MIT's master key; has-kdc has no master key principal")
            )
            continue
        result.principals.append(_principal(components, realm, record, mkeys))
    return result
