"""Kerberos principal names as text: parse and format with MIT's escaping rules.

A principal is a sequence of components and a realm (RFC 4120 section 6.2). Its text
form joins components with ``/`` and puts the realm after ``@``; a literal ``/``, ``@``
or ``\\`` inside a component is written with a backslash, as MIT ``krb5_parse_name``
and ``krb5_unparse_name`` do, so ``hadmin-local`` accepts exactly what ``kadmin``
accepts and prints names MIT tools print back the same way.

Names have a length limit, so that no request can make a KDC or a store hold an
arbitrarily large one: at most ``MAX_PRINCIPAL_BYTES`` bytes of UTF-8 for the whole
text form (components, escapes and realm), the width of the store's name column, and
at most ``MAX_REALM_BYTES`` for the realm, the longest DNS name a realm mirrors. Both
``parse_principal`` and ``format_principal`` refuse longer names, so a principal that
could not be looked up can never be created either. Messages quote a name only up to
``QUOTE_CHARS`` characters.

Stdlib only: used by conf, backend, admin and the CLIs alike.
"""

from __future__ import annotations

__all__ = [
    "MAX_PRINCIPAL_BYTES",
    "MAX_REALM_BYTES",
    "PrincipalNameError",
    "default_salt",
    "format_principal",
    "normalize_principal",
    "parse_principal",
]

#: Longest principal name in bytes of UTF-8, realm and escapes included: the width of
#: the name columns of the store (VARBINARY(1024) in MySQL), so every name the KDC
#: accepts fits any store, and no longer name can be stored.
MAX_PRINCIPAL_BYTES = 1024
#: Longest realm in bytes: realms are DNS domain names in upper case (RFC 4120 §6.1),
#: and a DNS name is at most 253 characters.
MAX_REALM_BYTES = 255
#: How much of a name an error message quotes.
QUOTE_CHARS = 80

# MIT's two-character escapes for characters that cannot appear bare in a name.
_UNESCAPE = {"n": "\n", "t": "\t", "b": "\b", "0": "\0"}
_ESCAPE_CONTROL = {"\n": "\\n", "\t": "\\t", "\b": "\\b", "\0": "\\0"}


class PrincipalNameError(ValueError):
    """A principal name that cannot be parsed; the message quotes (the start of) the name."""


def _quote(text: str) -> str:
    """``text`` for an error message: repr'd, and cut to ``QUOTE_CHARS`` characters."""
    if len(text) <= QUOTE_CHARS:
        return repr(text)
    return f"{text[:QUOTE_CHARS]!r}..."


def _utf8_length(text: str) -> int:
    # Names decoded from the wire keep undecodable bytes as surrogates (surrogateescape):
    # one byte each, as on the wire.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


def _check_length(shown: str, name_bytes: int, realm: str) -> None:
    """Refuse a name of ``name_bytes`` (text form) in ``realm`` over the limits."""
    if len(realm) > MAX_REALM_BYTES or _utf8_length(realm) > MAX_REALM_BYTES:
        raise PrincipalNameError(
            f"principal name {_quote(shown)} has a realm longer than {MAX_REALM_BYTES} bytes"
        )
    if name_bytes > MAX_PRINCIPAL_BYTES:
        raise PrincipalNameError(
            f"principal name {_quote(shown)} is longer than {MAX_PRINCIPAL_BYTES} bytes"
        )


def parse_principal(text: str, default_realm: str | None = None) -> tuple[tuple[str, ...], str]:
    """Split ``comp/comp@REALM`` into ``(components, realm)``.

    A name without an unescaped ``@`` takes ``default_realm``; without one either,
    the name is rejected. Empty components and an empty realm are rejected too: a
    name such as ``HTTP/@REALM`` is almost always a host name template gone wrong.
    """
    if not text:
        raise PrincipalNameError("empty principal name")
    if len(text) > 2 * MAX_PRINCIPAL_BYTES:  # surely too long, even unescaped: no need to parse
        raise PrincipalNameError(
            f"principal name {_quote(text)} is longer than {MAX_PRINCIPAL_BYTES} bytes"
        )
    components: list[str] = []
    current: list[str] = []
    realm: str | None = None
    in_realm = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise PrincipalNameError(
                    f"principal name {_quote(text)} ends with a lone backslash"
                )
            nxt = text[i + 1]
            current.append(_UNESCAPE.get(nxt, nxt))
            i += 2
            continue
        if ch == "@":
            if in_realm:
                raise PrincipalNameError(f"principal name {_quote(text)} has more than one '@'")
            components.append("".join(current))
            current = []
            in_realm = True
        elif ch == "/" and not in_realm:
            components.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if in_realm:
        realm = "".join(current)
        if not realm:
            raise PrincipalNameError(f"principal name {_quote(text)} has an empty realm after '@'")
    else:
        components.append("".join(current))
        if not default_realm:
            raise PrincipalNameError(
                f"principal name {_quote(text)} has no realm and no default realm is configured"
            )
        realm = default_realm
    for index, comp in enumerate(components):
        if not comp:
            raise PrincipalNameError(
                f"principal name {_quote(text)} has an empty component (number {index + 1})"
            )
    # The limits hold for the name as it is stored: escaped as MIT writes it, with its realm.
    format_principal(components, realm)
    return tuple(components), realm


def _escape(text: str, specials: str) -> str:
    out = []
    for ch in text:
        if ch in specials:
            out.append("\\" + ch)
        else:
            out.append(_ESCAPE_CONTROL.get(ch, ch))
    return "".join(out)


def format_principal(components: tuple[str, ...] | list[str], realm: str) -> str:
    """Join components and realm into MIT text form, escaping as ``krb5_unparse_name``."""
    if not components:
        raise PrincipalNameError("a principal needs at least one component")
    if not realm:
        raise PrincipalNameError("a principal needs a realm")
    # Escaping only lengthens a name, so a name too long unescaped is refused before
    # the character-by-character work (a client may send 60 KB of it).
    raw_length = len(realm) + len(components) + sum(map(len, components))
    if raw_length > MAX_PRINCIPAL_BYTES or len(realm) > MAX_REALM_BYTES:
        _check_length("/".join(c[: QUOTE_CHARS + 1] for c in components[:2]), raw_length, realm)
    name = "/".join(_escape(c, "\\/@") for c in components) + "@" + _escape(realm, "\\@")
    _check_length(name, _utf8_length(name), realm)
    return name


def normalize_principal(text: str, default_realm: str | None = None) -> str:
    """The canonical text form of ``text``: realm filled in, escapes made uniform."""
    components, realm = parse_principal(text, default_realm)
    return format_principal(components, realm)


def default_salt(components: tuple[str, ...] | list[str], realm: str) -> bytes:
    """RFC 4120 section 4 default salt: the realm followed by every component, no separators."""
    return (realm + "".join(components)).encode("utf-8")
