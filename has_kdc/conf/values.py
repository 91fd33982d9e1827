"""Typed values as MIT config files write them: durations, booleans, ports, enctype lists.

Each parser takes the raw string and the ``Relation`` it came from, so the error
names the file and line and says what form was expected.
"""

from __future__ import annotations

import logging
import re

from has_kdc.conf.errors import ConfigError
from has_kdc.conf.profile import Relation

__all__ = [
    "DEFAULT_ENCTYPES",
    "DURATION_FORMS",
    "ENCTYPE_NAMES",
    "duration_seconds",
    "parse_bool",
    "parse_duration",
    "parse_enctype",
    "parse_enctypes",
    "parse_port",
]

log = logging.getLogger("has_kdc.conf")

# RFC 3961 registry numbers of the enctypes this KDC implements, by MIT's names.
ENCTYPE_NAMES: dict[str, int] = {
    "aes256-cts-hmac-sha1-96": 18,
    "aes128-cts-hmac-sha1-96": 17,
    "aes256-cts-hmac-sha384-192": 20,
    "aes128-cts-hmac-sha256-128": 19,
}
_ENCTYPE_ALIASES: dict[str, int] = {
    **ENCTYPE_NAMES,
    "aes256-cts": 18,
    "aes256-cts-hmac-sha1": 18,
    "aes128-cts": 17,
    "aes128-cts-hmac-sha1": 17,
    "aes256-sha2": 20,
    "aes128-sha2": 19,
}
DEFAULT_ENCTYPES: tuple[int, ...] = (18, 17, 20, 19)
_ENCTYPE_FAMILIES: dict[str, tuple[int, ...]] = {
    "default": DEFAULT_ENCTYPES,
    "aes": DEFAULT_ENCTYPES,
    "aes-sha1": (18, 17),
    "aes-sha2": (20, 19),
}
# Names MIT knows that this KDC deliberately does not implement (weak or rare).
_UNSUPPORTED_ENCTYPES = frozenset(
    {
        "des-cbc-crc",
        "des-cbc-md4",
        "des-cbc-md5",
        "des-cbc-raw",
        "des-hmac-sha1",
        "des",
        "des3-cbc-raw",
        "des3-cbc-sha1",
        "des3-hmac-sha1",
        "des3-cbc-sha1-kd",
        "des3",
        "arcfour-hmac",
        "rc4-hmac",
        "arcfour-hmac-md5",
        "arcfour-hmac-exp",
        "rc4-hmac-exp",
        "arcfour-hmac-md5-exp",
        "rc4",
        "camellia128-cts-cmac",
        "camellia128-cts",
        "camellia256-cts-cmac",
        "camellia256-cts",
        "camellia",
    }
)
_SALT_TYPES_IGNORED = ("normal", "")

_TRUE = frozenset({"true", "yes", "y", "t", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "f", "off", "0", "nil"})

_UNIT_SECONDS = {
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("h", "hr", "hour", "hours"), 3600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
}
_GROUP = re.compile(r"\s*(\d+)\s*([a-z]+)\s*")
_CLOCK = re.compile(r"^(?:(?P<d>\d+)\s*d\s*)?(?P<h>\d+):(?P<m>\d{1,2})(?::(?P<s>\d{1,2}))?$")
DURATION_FORMS = (
    "a duration such as seconds ('36000'), units largest first ('10h', '7d', '1d 2h 30m',"
    " '90 minutes') or 'h:m[:s]' ('10:00:00')"
)


def duration_seconds(text: str) -> int:
    """Seconds in a duration written as ``krb5_string_to_deltat`` reads it.

    The one duration reader of the project: config files and command lines (kadmin's
    ``-maxlife 10h``) accept the same spellings. Raises ValueError naming the forms.
    """
    spec = text.strip().lower()
    if spec.isdigit():
        return int(spec)
    clock = _CLOCK.match(spec)
    if clock:
        minutes, seconds = int(clock["m"]), int(clock["s"] or 0)
        if minutes >= 60 or seconds >= 60:
            raise ValueError(
                f"invalid duration {text!r}: minutes and seconds must be below 60;"
                f" expected {DURATION_FORMS}"
            )
        return int(clock["d"] or 0) * 86400 + int(clock["h"]) * 3600 + minutes * 60 + seconds
    total, pos, last_unit = 0, 0, None
    while spec and pos < len(spec):
        group = _GROUP.match(spec, pos)
        if not group or group.group(2) not in _UNIT_SECONDS:
            break
        unit = _UNIT_SECONDS[group.group(2)]
        if last_unit is not None and unit >= last_unit:
            break  # MIT's grammar takes units largest first, each once
        total += int(group.group(1)) * unit
        last_unit = unit
        pos = group.end()
    else:
        if spec:
            return total
    raise ValueError(f"invalid duration {text!r}: expected {DURATION_FORMS}")


def _where(rel: Relation) -> tuple[str, int]:
    return rel.source, rel.line


def parse_duration(rel: Relation) -> int:
    """A duration in seconds, from any of the forms ``krb5_string_to_deltat`` takes."""
    try:
        return duration_seconds(str(rel.value))
    except ValueError:
        raise ConfigError(
            f"{rel.name} = {rel.value}: expected {DURATION_FORMS}", *_where(rel)
        ) from None


def parse_bool(rel: Relation) -> bool:
    """A boolean as MIT spells them (true/false, yes/no, on/off, 1/0)."""
    text = str(rel.value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{rel.name} = {rel.value}: expected true or false", *_where(rel))


def parse_port(rel: Relation) -> int:
    """A TCP/UDP port number, 1-65535."""
    text = str(rel.value).strip()
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    raise ConfigError(
        f"{rel.name} = {rel.value}: expected a port number from 1 to 65535 "
        "(leave the key out to disable the listener)",
        *_where(rel),
    )


def parse_enctype(rel: Relation) -> int:
    """One enctype name (``master_key_type``), which must be one this KDC implements."""
    name = str(rel.value).strip().lower()
    if name in _ENCTYPE_ALIASES:
        return _ENCTYPE_ALIASES[name]
    raise ConfigError(
        f"{rel.name} = {rel.value}: expected one of {', '.join(ENCTYPE_NAMES)}", *_where(rel)
    )


def parse_enctypes(rel: Relation) -> tuple[int, ...]:
    """An enctype list as in MIT's ``supported_enctypes``/``permitted_enctypes``.

    Entries are separated by spaces or commas and may carry a salt type
    (``aes256-cts:normal``); only the normal salt is implemented, so any other salt
    type is an error rather than a silently different key. Families (``aes``,
    ``aes-sha1``, ``aes-sha2``, ``DEFAULT``) expand, ``-name`` removes. Enctypes MIT
    knows but this KDC does not implement (DES, 3DES, RC4, Camellia) are dropped
    with a warning, so an MIT kdc.conf still loads.
    """
    result: list[int] = []
    for token in re.split(r"[\s,]+", str(rel.value).strip()):
        if not token:
            continue
        remove = token.startswith("-")
        token = token.lstrip("+-")
        name, _, salt = token.partition(":")
        key = name.lower()
        if salt.lower() not in _SALT_TYPES_IGNORED:
            raise ConfigError(
                f"{rel.name}: {token!r} asks for the salt type {salt!r}; only 'normal' "
                "(the RFC 4120 default salt) is supported",
                *_where(rel),
            )
        if key in _ENCTYPE_FAMILIES:
            found = _ENCTYPE_FAMILIES[key]
        elif key in _ENCTYPE_ALIASES:
            found = (_ENCTYPE_ALIASES[key],)
        elif key in _UNSUPPORTED_ENCTYPES:
            log.warning(
                "%s:%d: %s: enctype %r is not supported by has-kdc and is ignored",
                rel.source,
                rel.line,
                rel.name,
                name,
            )
            continue
        else:
            raise ConfigError(
                f"{rel.name}: unknown enctype {name!r}; expected names such as "
                f"{', '.join(ENCTYPE_NAMES)}",
                *_where(rel),
            )
        for etype in found:
            if remove:
                if etype in result:
                    result.remove(etype)
            elif etype not in result:
                result.append(etype)
    if not result:
        raise ConfigError(
            f"{rel.name} = {rel.value}: no supported enctype left; expected at least one of "
            f"{', '.join(ENCTYPE_NAMES)}",
            *_where(rel),
        )
    return tuple(result)
