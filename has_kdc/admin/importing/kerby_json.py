"""Kerby's JSON identity backend file (``json-backend.json``), read as Kerby writes it.

``JsonIdentityBackend`` (kerby-backend/json-backend) persists its map of
``KrbIdentity`` by principal name with Gson (2.6.2, pretty printing, complex map
keys, type adapters for three types)::

    {
      "alice@HADOOP.COM": {
        "principal": "alice@HADOOP.COM",          # PrincipalNameAdapter: getName()
        "keyVersion": 1,
        "kdcFlags": 0,
        "disabled": false,
        "locked": false,
        "expireTime": "253402300799900",         # KerberosTimeAdapter: ms, as a string
        "createdTime": "1700000000000",
        "keys": {
          "AES256_CTS_HMAC_SHA1_96": {            # the EncryptionType Java constant
            "kvno": 1,
            "key": "3029A003020112A1220420..."     # EncryptionKeyAdapter: hex of the
          }                                       # DER EncryptionKey (RFC 4120 5.2.9)
        }
      }
    }

The enctype is taken from the DER ``keytype`` (what Kerby itself decodes); a map key
that disagrees is reported. Fields Gson leaves out (it skips nulls) take
``KrbIdentity``'s defaults.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from has_kdc.admin.errors import AdminError
from has_kdc.admin.importing.kerby import enctype_from_kerby, kerby_principal
from has_kdc.admin.importing.records import Skipped, SourcePrincipal, SourceRealm

__all__ = ["KIND", "decode_encryption_key", "looks_like_kerby_json", "read_kerby_json"]

KIND = "kerby-json"


def looks_like_kerby_json(head: bytes) -> bool:
    """Whether a file's first bytes open a JSON object (the JSON backend's shape)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{")


def _der_item(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, contents, next position) of the DER item at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER item")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 3 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER item")
    return tag, data[pos : pos + length], pos + length


def decode_encryption_key(der: bytes) -> tuple[int, bytes]:
    """(keytype, keyvalue) of a DER ``EncryptionKey ::= SEQUENCE { keytype [0] Int32,
    keyvalue [1] OCTET STRING }``; ``ValueError`` if it is not one."""
    tag, body, end = _der_item(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a DER SEQUENCE")
    tag0, inner0, pos = _der_item(body, 0)
    tag1, inner1, last = _der_item(body, pos)
    if tag0 != 0xA0 or tag1 != 0xA1 or last != len(body):
        raise ValueError("not an EncryptionKey ([0] keytype, [1] keyvalue)")
    itag, number, iend = _der_item(inner0, 0)
    otag, value, oend = _der_item(inner1, 0)
    if itag != 0x02 or otag != 0x04 or iend != len(inner0) or oend != len(inner1) or not number:
        raise ValueError("not an EncryptionKey (INTEGER keytype, OCTET STRING keyvalue)")
    return int.from_bytes(number, "big", signed=True), value


def _millis(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _key_items(keys: object) -> list[tuple[object, object]]:
    """The (map key, value) pairs of ``keys``: a JSON object, or the array of pairs Gson
    writes for a map whose keys do not serialize to strings."""
    if isinstance(keys, dict):
        return list(keys.items())
    if isinstance(keys, list):
        return [(pair[0], pair[1]) for pair in keys if isinstance(pair, list) and len(pair) == 2]
    return []


def _identity(key: str, entry: dict[str, Any]) -> SourcePrincipal:
    name = entry.get("principal") or key
    keys: list[tuple[int | str, int, bytes]] = []
    problems: list[tuple[str, str]] = []
    for label, value in _key_items(entry.get("keys")):
        try:
            if not isinstance(value, dict):
                raise TypeError("a key is a JSON object")
            keytype, data = decode_encryption_key(bytes.fromhex(value["key"]))
            kvno = int(value.get("kvno", -1))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            problems.append((f"key {label}", f"cannot be decoded ({exc})"))
            continue
        stated = enctype_from_kerby(str(label))
        if stated is not None and stated != keytype:
            problems.append((f"key {label}", f"its DER keytype is {keytype}; taken as {keytype}"))
        keys.append((keytype, kvno, data))
    expire_raw = entry.get("expireTime")
    principal = kerby_principal(
        str(name),
        None,
        key_version=int(entry.get("keyVersion", 1)),
        kdc_flags=int(entry.get("kdcFlags", 0)),
        disabled=bool(entry.get("disabled", False)),
        locked=bool(entry.get("locked", False)),
        expire_millis=_millis(expire_raw),
        created_millis=_millis(entry.get("createdTime")),
        keys=keys,
        expire_text=None if expire_raw is None else str(expire_raw),
    )
    for what, why in problems:
        principal.skip(what, why)
    return principal


def read_kerby_json(path: str | os.PathLike[str]) -> SourceRealm:
    """Every identity of a Kerby JSON backend file."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise AdminError(f"cannot read {source}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdminError(f"{source}: not Kerby's JSON identity file: {exc}") from None
    if not isinstance(document, dict):
        raise AdminError(f"{source}: not Kerby's JSON identity file (expected an object)")
    realm = SourceRealm(KIND, str(source), None)
    for key, entry in document.items():
        try:
            if not isinstance(entry, dict):
                raise TypeError("not a JSON object")
            realm.principals.append(_identity(str(key), entry))
        except (TypeError, ValueError) as exc:
            realm.skipped.append(Skipped(str(key), "principal", f"unreadable identity: {exc}"))
    realm.realm = realm.guess_realm()
    return realm
