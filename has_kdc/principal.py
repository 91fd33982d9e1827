"""Kerberos principal names as text: parse and format with MIT's escaping rules.

A principal is a sequence of components and a realm (RFC 4120 section 6.2). Its text
form joins components with ``/`` and puts the realm after ``@``; a literal ``/``, ``@``
or ``\\`` inside a component is written with a backslash, as MIT ``krb5_parse_name``
and ``krb5_unparse_name`` do, so ``hadmin-local`` accepts exactly what ``kadmin``
accepts and prints names MIT tools print back the same way.

Stdlib only: used by conf, backend, admin and the CLIs alike.
"""

from __future__ import annotations

__all__ = [
    "PrincipalNameError",
    "default_salt",
    "format_principal",
    "normalize_principal",
    "parse_principal",
]

# MIT's two-character escapes for characters that cannot appear bare in a name.
_UNESCAPE = {"n": "\n", "t": "\t", "b": "\b", "0": "\0"}
_ESCAPE_CONTROL = {"\n": "\\n", "\t": "\\t", "\b": "\\b", "\0": "\\0"}


class PrincipalNameError(ValueError):
    """A principal name that cannot be parsed; the message quotes the name."""


def parse_principal(text: str, default_realm: str | None = None) -> tuple[tuple[str, ...], str]:
    """Split ``comp/comp@REALM`` into ``(components, realm)``.

    A name without an unescaped ``@`` takes ``default_realm``; without one either,
    the name is rejected. Empty components and an empty realm are rejected too: a
    name such as ``HTTP/@REALM`` is almost always a host name template gone wrong.
    """
    if not text:
        raise PrincipalNameError("empty principal name")
    components: list[str] = []
    current: list[str] = []
    realm: str | None = None
    in_realm = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise PrincipalNameError(f"principal name {text!r} ends with a lone backslash")
            nxt = text[i + 1]
            current.append(_UNESCAPE.get(nxt, nxt))
            i += 2
            continue
        if ch == "@":
            if in_realm:
                raise PrincipalNameError(f"principal name {text!r} has more than one '@'")
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
            raise PrincipalNameError(f"principal name {text!r} has an empty realm after '@'")
    else:
        components.append("".join(current))
        if not default_realm:
            raise PrincipalNameError(
                f"principal name {text!r} has no realm and no default realm is configured"
            )
        realm = default_realm
    for index, comp in enumerate(components):
        if not comp:
            raise PrincipalNameError(
                f"principal name {text!r} has an empty component (number {index + 1})"
            )
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
    name = "/".join(_escape(c, "\\/@") for c in components)
    return name + "@" + _escape(realm, "\\@")


def normalize_principal(text: str, default_realm: str | None = None) -> str:
    """The canonical text form of ``text``: realm filled in, escapes made uniform."""
    components, realm = parse_principal(text, default_realm)
    return format_principal(components, realm)


def default_salt(components: tuple[str, ...] | list[str], realm: str) -> bytes:
    """RFC 4120 section 4 default salt: the realm followed by every component, no separators."""
    return (realm + "".join(components)).encode("utf-8")
