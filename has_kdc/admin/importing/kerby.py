"""What Kerby's two identity backends share: `KrbIdentity` fields, enctype names, times.

Apache Kerby (and HAS on top of it) keeps one ``KrbIdentity`` per principal: the
principal name with its realm, ``keyVersion``, ``kdcFlags``, ``disabled``,
``locked``, ``expireTime``, ``createdTime`` and a map from ``EncryptionType`` to
``EncryptionKey`` (enctype, key bytes, kvno). Kerby's KDC reads only ``disabled``,
``locked`` and ``expireTime`` of these (kerb-server ``KdcRequest``: a disabled,
locked or expired client is refused); ``kdcFlags`` is stored and never read.

How they map here:

- ``disabled`` and ``locked`` both become has-kdc's ``disabled``: Kerby refuses a
  locked principal exactly as a disabled one (KDC_ERR_CLIENT_REVOKED), and has-kdc
  has no separate lock. A lock is reported, since it is carried as a disable.
- ``expireTime`` becomes ``expiration``. Kerby's kadmin writes 9999-12-31T23:59:59.900Z
  (``AdminHelper.createIdentity``: 253402300799900 ms) for "never", and
  ``KerberosTime.NEVER`` is ``Long.MAX_VALUE`` ms; both (and anything past 9999)
  mean no expiration.
- a non-zero ``kdcFlags`` is reported as not carried: Kerby never acted on it.
- keys keep their enctype and kvno; their salt is the name's default (Kerby's
  ``PrincipalName.makeSalt``: realm then components, RFC 4120's), which is what
  has-kdc assumes for a key stored without one. A key whose kvno Kerby left at its
  ``-1`` default takes the identity's ``keyVersion``.

Enctypes are named by Kerby's ``EncryptionType`` enum: the MySQL backend stores
``getName()`` (``aes256-cts-hmac-sha1-96``), the JSON backend's map keys are the Java
constants (``AES256_CTS_HMAC_SHA1_96``). Both spellings are in `KERBY_ENCTYPES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from has_kdc.admin.importing.records import SourceKey, SourcePrincipal
from has_kdc.principal import PrincipalNameError, normalize_principal

__all__ = [
    "KERBY_ENCTYPES",
    "NEVER_MILLIS",
    "enctype_from_kerby",
    "expiration_from_millis",
    "kerby_principal",
    "millis_from_generalized_time",
]

#: Kerby's ``EncryptionType`` (kerb-core): Java constant, IANA number, ``getName()``.
KERBY_ENCTYPES: tuple[tuple[str, int, str], ...] = (
    ("NONE", 0, "none"),
    ("DES_CBC_CRC", 1, "des-cbc-crc"),
    ("DES_CBC_MD4", 2, "des-cbc-md4"),
    ("DES_CBC_MD5", 3, "des-cbc-md5"),
    ("DES", 3, "des"),
    ("DES_CBC_RAW", 4, "des-cbc-raw"),
    ("DES3_CBC_SHA", 5, "des3-cbc-sha"),
    ("DES3_CBC_RAW", 6, "des3-cbc-raw"),
    ("DES_HMAC_SHA1", 8, "des-hmac-sha1"),
    ("DSA_SHA1_CMS", 9, "dsa-sha1-cms"),
    ("MD5_RSA_CMS", 10, "md5-rsa-cms"),
    ("SHA1_RSA_CMS", 11, "sha1-rsa-cms"),
    ("RC2_CBC_ENV", 12, "rc2-cbc-env"),
    ("RSA_ENV", 13, "rsa-env"),
    ("RSA_ES_OAEP_ENV", 14, "rsa-es-oaep-env"),
    ("DES3_CBC_ENV", 15, "des3-cbc-env"),
    ("DES3_CBC_SHA1", 16, "des3-cbc-sha1"),
    ("DES3_HMAC_SHA1", 16, "des3-hmac-sha1"),
    ("DES3_CBC_SHA1_KD", 16, "des3-cbc-sha1-kd"),
    ("AES128_CTS_HMAC_SHA1_96", 17, "aes128-cts-hmac-sha1-96"),
    ("AES128_CTS", 17, "aes128-cts"),
    ("AES256_CTS_HMAC_SHA1_96", 18, "aes256-cts-hmac-sha1-96"),
    ("AES256_CTS", 18, "aes256-cts"),
    ("ARCFOUR_HMAC", 23, "arcfour-hmac"),
    ("RC4_HMAC", 23, "rc4-hmac"),
    ("ARCFOUR_HMAC_MD5", 23, "arcfour-hmac-md5"),
    ("ARCFOUR_HMAC_EXP", 24, "arcfour-hmac-exp"),
    ("RC4_HMAC_EXP", 24, "rc4-hmac-exp"),
    ("ARCFOUR_HMAC_MD5_EXP", 24, "arcfour-hmac-md5-exp"),
    ("CAMELLIA128_CTS_CMAC", 25, "camellia128-cts-cmac"),
    ("CAMELLIA128_CTS", 25, "camellia128-cts"),
    ("CAMELLIA256_CTS_CMAC", 26, "camellia256-cts-cmac"),
    ("CAMELLIA256_CTS", 26, "camellia256-cts"),
    # Not in Kerby's enum; MIT's names, for databases another tool filled in.
    ("AES128_CTS_HMAC_SHA256_128", 19, "aes128-cts-hmac-sha256-128"),
    ("AES256_CTS_HMAC_SHA384_192", 20, "aes256-cts-hmac-sha384-192"),
)
_BY_NAME = {name: number for _const, number, name in KERBY_ENCTYPES}
_BY_CONSTANT = {const: number for const, number, _name in KERBY_ENCTYPES}

#: 9999-12-31T23:59:59.900Z: what Kerby's kadmin stores for "never expires".
NEVER_MILLIS = 253402300799900
_LAST_MILLIS = 253402300800000  # 10000-01-01: anything from here on is "never" too

_GENERALIZED = re.compile(
    r"^(?P<date>\d{10})(?P<min>\d{2})?(?P<sec>\d{2})?(?:[.,](?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}(?:\d{2})?)$"
)


def enctype_from_kerby(text: str) -> int | None:
    """The IANA number of a Kerby ``EncryptionType`` name or Java constant; None if unknown."""
    found = _BY_NAME.get(text)
    return found if found is not None else _BY_CONSTANT.get(text)


def millis_from_generalized_time(text: str) -> int | None:
    """Milliseconds since the epoch of an LDAP GeneralizedTime (RFC 4517 3.3.13), as
    Kerby's has-project MySQL backend writes it with Apache Directory's
    ``GeneralizedTime.toString()`` (``20180115082536.807Z``); None if it is not one.

    ``KerberosTime.NEVER`` (year 292278994) comes out of that writer with its first
    year byte out of range, decoded as U+FFFD: it is returned as `NEVER_MILLIS`.
    """
    value = text.strip()
    if value.startswith("\ufffd"):
        return NEVER_MILLIS
    match = _GENERALIZED.match(value)
    if match is None:
        return None
    try:
        stamp = datetime.strptime(
            match["date"] + (match["min"] or "00") + (match["sec"] or "00"), "%Y%m%d%H%M%S"
        ).replace(tzinfo=UTC)
    except ValueError:
        return None
    millis = int(stamp.timestamp()) * 1000
    if match["frac"]:
        fraction = int(match["frac"][:3].ljust(3, "0"))
        if match["sec"]:
            millis += fraction
        elif match["min"]:
            millis += int(float("0." + match["frac"]) * 60_000)
        else:
            millis += int(float("0." + match["frac"]) * 3_600_000)
    tz = match["tz"]
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = int(tz[1:3]) * 3600 + (int(tz[3:5]) * 60 if len(tz) > 3 else 0)
        millis -= sign * offset * 1000
    return millis


def expiration_from_millis(millis: int) -> int | None:
    """has-kdc's ``expiration`` (seconds, None = never) from Kerby's ``expireTime``."""
    if millis >= NEVER_MILLIS:
        return None
    return millis // 1000


def kerby_principal(
    name: str,
    realm: str | None,
    *,
    key_version: int,
    kdc_flags: int,
    disabled: bool,
    locked: bool,
    expire_millis: int | None,
    created_millis: int | None,
    keys: Iterable[tuple[int | str, int, bytes]],
    expire_text: str | None = None,
) -> SourcePrincipal:
    """A `SourcePrincipal` from the fields of one ``KrbIdentity``.

    ``keys`` are (enctype number, or Kerby's name or constant for it, kvno, key
    bytes). ``expire_millis`` None with ``expire_text`` set: the time was unreadable.
    """
    try:
        canonical = normalize_principal(name, realm)
    except PrincipalNameError:
        canonical = name
    principal = SourcePrincipal(canonical)
    if disabled or locked:
        principal.attributes["disabled"] = True
    if locked:
        principal.skip(
            "locked",
            "has-kdc has no separate lock; carried as disabled (Kerby refuses both alike)",
        )
    if expire_millis is not None:
        principal.attributes["expiration"] = expiration_from_millis(expire_millis)
    elif expire_text is not None:
        principal.skip(
            f"expire_time {expire_text!r}",
            "not a time Kerby itself could read; imported without an expiration",
        )
    if created_millis is not None and 0 < created_millis < _LAST_MILLIS:
        principal.created = created_millis // 1000
    if kdc_flags:
        principal.skip(f"kdc_flags {kdc_flags}", "Kerby stores these flags but never acts on them")
    for label, kvno, data in keys:
        etype = label if isinstance(label, int) else enctype_from_kerby(label)
        if etype is None:
            principal.skip(f"key {label!r}", "not an enctype name Kerby knows")
            continue
        principal.keys.append(SourceKey(etype, kvno if kvno > 0 else key_version, bytes(data)))
    return principal
