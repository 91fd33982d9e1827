"""Finding an enctype by number or name, and refusing the ones has-kdc will not use.

Numbers are the IANA "Kerberos Encryption Type Numbers"; names are MIT krb5's
(as krb5.conf, kdc.conf, kadmin and ktutil spell them), matched case-insensitively as
MIT does. Enctypes that exist but are refused get a message naming the number, the
name and the reason, so an operator reading a log or a kadmin error knows what to fix.
"""

from __future__ import annotations

from has_kdc.crypto.enctype import Enctype
from has_kdc.crypto.errors import UnsupportedEnctype
from has_kdc.crypto.rfc3962 import Aes128CtsHmacSha196, Aes256CtsHmacSha196
from has_kdc.crypto.rfc8009 import Aes128CtsHmacSha256128, Aes256CtsHmacSha384192

_ENCTYPES: dict[int, Enctype] = {
    et.etype: et
    for et in (
        Aes128CtsHmacSha196(),
        Aes256CtsHmacSha196(),
        Aes128CtsHmacSha256128(),
        Aes256CtsHmacSha384192(),
    )
}

#: The enctype numbers this layer implements, in ascending order.
SUPPORTED_ENCTYPES: tuple[int, ...] = tuple(sorted(_ENCTYPES))

_WEAK_DES = "weak (single DES, 56-bit key; removed by RFC 6649)"
_WEAK_3DES = "weak (triple DES; deprecated by RFC 8429)"
_WEAK_RC4 = "weak (RC4-HMAC; deprecated by RFC 8429)"
_NOT_IMPLEMENTED = "not implemented by has-kdc (use an AES enctype)"

# number: (name, aliases, why it is refused)
_REFUSED: dict[int, tuple[str, tuple[str, ...], str]] = {
    1: ("des-cbc-crc", (), _WEAK_DES),
    2: ("des-cbc-md4", (), _WEAK_DES),
    3: ("des-cbc-md5", (), _WEAK_DES),
    4: ("des-cbc-raw", (), _WEAK_DES),
    5: ("des3-cbc-md5", (), _WEAK_3DES),
    6: ("des3-cbc-raw", (), _WEAK_3DES),
    7: ("des3-cbc-sha1", (), _WEAK_3DES),  # IANA's name; MIT's "des3-cbc-sha1" is 16
    8: ("des-hmac-sha1", (), _WEAK_DES),
    16: ("des3-cbc-sha1", ("des3-hmac-sha1", "des3-cbc-sha1-kd"), _WEAK_3DES),
    23: ("rc4-hmac", ("arcfour-hmac", "arcfour-hmac-md5"), _WEAK_RC4),
    24: ("rc4-hmac-exp", ("arcfour-hmac-exp", "arcfour-hmac-md5-exp"), _WEAK_RC4),
    25: ("camellia128-cts-cmac", ("camellia128-cts",), _NOT_IMPLEMENTED),
    26: ("camellia256-cts-cmac", ("camellia256-cts",), _NOT_IMPLEMENTED),
}

_BY_NAME: dict[str, Enctype] = {}
for _et in _ENCTYPES.values():
    for _name in (_et.name, *_et.aliases):
        _BY_NAME[_name.lower()] = _et

_REFUSED_BY_NAME: dict[str, int] = {}
for _num, (_rname, _raliases, _why) in _REFUSED.items():
    for _name in (_rname, *_raliases):
        _REFUSED_BY_NAME[_name.lower()] = _num


def enctype_name(etype: int) -> str | None:
    """The MIT name of any known enctype number, supported or not."""
    if etype in _ENCTYPES:
        return _ENCTYPES[etype].name
    if etype in _REFUSED:
        return _REFUSED[etype][0]
    return None


def is_supported(etype: int) -> bool:
    """Whether ``enctype_by_id(etype)`` would succeed."""
    return etype in _ENCTYPES


def enctype_by_id(etype: int) -> Enctype:
    """The enctype with IANA number ``etype``; ``UnsupportedEnctype`` if refused or unknown."""
    # ``type(etype) is int`` first: the common case, a few times per request, without
    # the two isinstance calls
    is_number = type(etype) is int or (isinstance(etype, int) and not isinstance(etype, bool))
    found = _ENCTYPES.get(etype) if is_number else None
    if found is not None:
        return found
    if isinstance(etype, int) and etype in _REFUSED:
        name, _aliases, why = _REFUSED[etype]
        raise UnsupportedEnctype(f"enctype {etype} ({name}) is not supported: {why}", etype)
    supported = ", ".join(f"{n} ({et.name})" for n, et in _ENCTYPES.items())
    raise UnsupportedEnctype(
        f"enctype {etype!r} is not supported: unknown enctype number (supported: {supported})",
        etype if isinstance(etype, int) else None,
    )


def enctype_by_name(name: str) -> Enctype:
    """The enctype MIT calls ``name`` (long form or alias such as "aes256-cts", "aes128-sha2")."""
    key = name.strip().lower()
    found = _BY_NAME.get(key)
    if found is not None:
        return found
    if key in _REFUSED_BY_NAME:
        return enctype_by_id(_REFUSED_BY_NAME[key])  # raises with the reason
    names = ", ".join(et.name for et in _ENCTYPES.values())
    raise UnsupportedEnctype(f"enctype name {name!r} is not known (supported: {names})")
