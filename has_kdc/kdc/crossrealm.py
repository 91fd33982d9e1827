"""Realm paths and the transited field: what a KDC needs to trust another realm.

Two realms trust each other through the cross-realm TGS principals ``krbtgt/B@A``
(A's KDC issues tickets for it, B's KDC accepts them); both databases hold the same
key. Between a client realm and a server realm the path of realms is MIT's
``krb5_walk_realm_tree`` (src/lib/krb5/krb/walk_rtree.c): the ``[capaths]`` entry
for the pair when there is one (a value of ``.`` meaning no intermediate realm),
else the hierarchical walk up the client's domain and down the server's.

The transited field (RFC 4120 §3.3.3.2, DOMAIN-X500-COMPRESS) lists the realms a
ticket passed through besides the client's and the server's. We write it without
compression (a comma-separated list, ``\\`` escaping a literal ``,`` or ``\\``), which
every reader accepts, and read the compressed forms as MIT's ``foreach_realm``
(src/lib/krb5/krb/chk_trans.c) does: a name ending in ``.`` takes the previous name as
its suffix, one starting with ``/`` takes it as its prefix. The "every realm in
between" shorthand (an empty entry) is refused: the check then fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "Capaths",
    "TransitedError",
    "add_to_transited",
    "check_transited",
    "decode_transited",
    "host_realm",
    "realm_path",
]

#: ``[capaths]``: client realm -> server realm -> intermediate realms, in order.
Capaths = Mapping[str, Mapping[str, Sequence[str]]]


class TransitedError(ValueError):
    """A transited field that cannot be read, or names a realm off the path."""


def realm_path(client: str, server: str, capaths: Capaths) -> list[str]:
    """The realms from ``client`` to ``server``, both included (MIT's realm tree)."""
    if client == server:
        return [client]
    hops = capaths.get(client, {}).get(server)
    if hops is not None:
        middle = [] if hops and hops[0] == "." else list(hops)
        return [client, *middle, server]
    return _hierarchical_path(client, server)


def _hierarchical_path(client: str, server: str) -> list[str]:
    c, s = client.split("."), server.split(".")
    common = 0
    while common < min(len(c), len(s)) and c[-1 - common] == s[-1 - common]:
        common += 1
    up = [".".join(c[i:]) for i in range(1, len(c) - common + (1 if common else 0))]
    down = [".".join(s[i:]) for i in range(len(s) - common - 1, 0, -1)]
    path = [client]
    for realm in (*up, *down, server):
        if realm != path[-1]:
            path.append(realm)
    return path


def host_realm(host: str, domain_realm: Mapping[str, str]) -> str | None:
    """The realm ``[domain_realm]`` gives a host (MIT ``krb5_get_host_realm`` without DNS):
    the host itself, then each parent domain, first with its leading dot, then without."""
    name = host.lower().rstrip(".")
    candidates = [name]
    while "." in name:
        name = name.partition(".")[2]
        candidates += ["." + name, name]
    return next((domain_realm[c] for c in candidates if c in domain_realm), None)


def decode_transited(contents: bytes) -> list[str]:
    """The realms a DOMAIN-X500-COMPRESS transited field names, expanded."""
    try:
        text = contents.decode("utf-8")
    except UnicodeDecodeError:
        raise TransitedError("transited field is not UTF-8") from None
    if not text:
        return []
    entries: list[tuple[str, bool]] = []  # (name as written, stands alone)
    current: list[str] = []
    alone = literal = False
    for ch in text:
        if literal:
            current.append(ch)
            literal = False
        elif ch == "\\":
            literal = True
        elif ch == " " and not current:
            alone = True  # MIT: no suffix or prefix from the previous name
        elif ch == ",":
            entries.append(("".join(current), alone))
            current, alone = [], False
        else:
            current.append(ch)
    if literal:
        raise TransitedError("transited field ends in an escape")
    entries.append(("".join(current), alone))
    realms: list[str] = []
    previous = ""
    for entry, stands_alone in entries:
        if not entry:
            raise TransitedError("transited field uses the 'realms in between' shorthand")
        if not stands_alone and entry.startswith("/"):
            entry = previous + entry
        elif not stands_alone and entry.endswith("."):
            entry = entry + previous
        realms.append(entry)
        previous = entry
    return realms


def add_to_transited(contents: bytes, realm: str) -> bytes:
    """``contents`` with ``realm`` appended (uncompressed), as a new ticket carries it."""
    escaped = realm.replace("\\", "\\\\").replace(",", "\\,")
    if realm.startswith("/") or realm.endswith("."):
        escaped = " " + escaped  # MIT's mark for a name that stands alone
    return (contents + b"," if contents else b"") + escaped.encode("utf-8")


def check_transited(
    contents: bytes, client_realm: str, server_realm: str, capaths: Capaths
) -> None:
    """MIT ``krb5_check_transited_list``: every transited realm lies on the path.

    The path is the client realm and the realms between it and the server realm
    (``realm_path``); an empty field always passes.
    """
    if not contents:
        return
    allowed = set(realm_path(client_realm, server_realm, capaths)[:-1])
    for realm in decode_transited(contents):
        if realm not in allowed:
            raise TransitedError(
                f"realm {realm} is not on the path {client_realm} -> {server_realm}"
            )
