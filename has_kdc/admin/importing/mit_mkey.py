"""MIT's master keys: reading the stash file and decrypting an MIT dump's key data.

``kdb5_util dump`` writes every key as the database holds it, encrypted in the
realm's master key (src/lib/kdb/encrypt_key.c, ``krb5_dbe_def_encrypt_key_data``):
the first key-data element is a 2-byte little-endian key length followed by
``krb5_c_encrypt(master key, usage 0, key)``. So an import needs the master key:

- the stash file (``key_stash_file`` in kdc.conf, ``kdb5_util stash``), in MIT's
  keytab format, one entry per master key version (src/lib/kdb/kdb_default.c,
  ``krb5_db_def_fetch_mkey_keytab``) or, from releases before 1.7, the old format:
  a 16-bit enctype, a 32-bit length (host order, little-endian on x86) and the key;
- or the master password: its key is string-to-key of the password with the salt
  of ``K/M@REALM`` (the realm, then ``K`` and ``M``).

As MIT's ``krb5_def_fetch_mkey_list`` does, the given key must decrypt the first
key of ``K/M`` (the newest master key); the other master key versions are then
decrypted from ``K/M``'s other keys, and each principal's keys are decrypted with
the master key version its ``KRB5_TL_MKVNO`` names (the lowest one when it has
none). Key material stays in memory only.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from has_kdc.admin.errors import AdminError
from has_kdc.crypto import CryptoError, enctype_by_id, enctype_name, is_supported
from has_kdc.formats import read_keytab
from has_kdc.principal import default_salt

__all__ = ["MasterKeys", "decrypt_key_data", "master_password_key", "read_stash"]

#: MIT's key usage for key data encrypted in the master key (encrypt_key.c: "XXX 0").
MKEY_USAGE = 0


def read_stash(path: str | os.PathLike[str]) -> list[tuple[int, int, bytes]]:
    """(kvno, enctype, key) of each master key in an MIT stash file."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise AdminError(f"cannot read the MIT key stash {source}: {exc.strerror}") from None
    if data[:2] in (b"\x05\x01", b"\x05\x02"):
        try:
            keytab = read_keytab(data)
        except ValueError as exc:
            raise AdminError(f"{source}: not an MIT key stash: {exc}") from None
        return [(e.kvno, e.enctype, e.key) for e in keytab.entries]
    if len(data) >= 6:
        for order in ("<", ">"):
            enctype, length = struct.unpack(order + "HI", data[:6])
            if 0 < length <= 1024 and len(data) == 6 + length:
                return [(1, enctype, data[6:])]
    raise AdminError(f"{source}: not an MIT key stash (neither keytab nor old stash format)")


def master_password_key(password: str, realm: str, enctype: int) -> bytes:
    """The master key MIT derives from the master password (``kdb5_util -m``)."""
    et = enctype_by_id(enctype)
    salt = default_salt(("K", "M"), realm)
    return et.string_to_key(password.encode("utf-8"), salt, et.default_params)


def decrypt_key_data(master: tuple[int, bytes], contents: bytes) -> bytes:
    """The key in one key-data contents, decrypted with (enctype, key) of a master key.

    ``ValueError`` when the master key does not fit (wrong key, or an enctype has-kdc
    cannot decrypt); the message names no key material.
    """
    mtype, mkey = master
    if len(contents) < 2:
        raise ValueError("key data too short")
    length = int.from_bytes(contents[:2], "little")
    if not is_supported(mtype):
        raise ValueError(
            f"the master key is {enctype_name(mtype) or mtype}, which has-kdc cannot decrypt"
        )
    try:
        plain = enctype_by_id(mtype).decrypt(mkey, MKEY_USAGE, contents[2:])
    except CryptoError:
        raise ValueError("the master key does not decrypt it") from None
    if length > len(plain):
        raise ValueError("the decrypted key is shorter than its stated length")
    return plain[:length]


class MasterKeys:
    """A realm's master keys by kvno, unlocked from ``K/M``'s key data."""

    def __init__(self, keys: dict[int, tuple[int, bytes]]) -> None:
        self.by_kvno = keys

    @classmethod
    def unlock(
        cls, given: list[tuple[int, int, bytes]], km_keys: list[tuple[int, int, bytes]]
    ) -> MasterKeys:
        """From the given master key(s) and K/M's (kvno, enctype, contents) key data.

        The newest K/M key must decrypt with one of the given keys; it then opens
        the other master key versions, as ``krb5_def_fetch_mkey_list`` does.
        """
        if not km_keys:
            raise AdminError("the dump has no K/M@REALM keys; it is not a whole MIT database")
        newest_kvno, newest_type, newest_contents = km_keys[0]
        current: bytes | None = None
        for _kvno, etype, key in given:
            if etype != newest_type:
                continue
            try:
                current = decrypt_key_data((etype, key), newest_contents)
                break
            except ValueError:
                continue
        if current is None:
            raise AdminError(
                "the master key given does not decrypt K/M's current key "
                f"(kvno {newest_kvno}, {enctype_name(newest_type) or newest_type}): give the "
                "stash of this database (kdc.conf key_stash_file) or its master password"
            )
        keys = {newest_kvno: (newest_type, current)}
        for kvno, etype, contents in km_keys[1:]:
            try:
                keys[kvno] = (etype, decrypt_key_data((newest_type, current), contents))
            except ValueError:
                continue
        return cls(keys)

    def for_mkvno(self, mkvno: int | None) -> tuple[int, bytes]:
        """(enctype, key) of master key version ``mkvno`` (None or 0: the lowest)."""
        if mkvno and mkvno in self.by_kvno:
            return self.by_kvno[mkvno]
        if mkvno:
            raise ValueError(f"master key version {mkvno} is not in K/M")
        return self.by_kvno[min(self.by_kvno)]
