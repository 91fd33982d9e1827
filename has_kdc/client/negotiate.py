"""A service ticket for HTTP Negotiate from a keytab, as hadmin-remote needs one.

``hadmin-remote`` authenticates with ``admin.keytab``: AS exchange with the keytab's
key (no password), TGS exchange for ``HTTP/<https host>@REALM``, then the
``has_kdc.gss.NegotiateInitiator`` builds the SPNEGO token from that ticket and
checks the server's mutual-authentication reply.
"""

from __future__ import annotations

import os

from has_kdc.asn1 import EncryptionKey
from has_kdc.client.kdc_client import Credentials, KdcClient
from has_kdc.formats import Keytab, read_keytab
from has_kdc.gss import NegotiateInitiator

__all__ = ["http_service", "keytab_key", "negotiate_with_keytab", "service_ticket_with_keytab"]


def http_service(host: str, realm: str) -> str:
    """The HTTP service principal of ``host``: ``HTTP/<host>@REALM`` (host lower-cased,
    as MIT's ``krb5_sname_to_principal`` does for a host-based name)."""
    return f"HTTP/{host.lower()}@{realm}"


def keytab_key(
    keytab: Keytab | str | os.PathLike[str], principal: str, etypes: tuple[int, ...]
) -> EncryptionKey:
    """The newest key of ``principal`` in ``keytab``, in the first of ``etypes`` it has."""
    kt = keytab if isinstance(keytab, Keytab) else read_keytab(keytab)
    entries = kt.keys_for(principal)
    for etype in etypes:
        for entry in entries:
            if entry.enctype == etype:
                return EncryptionKey(entry.enctype, entry.key)
    held = ", ".join(str(e) for e in sorted({e.enctype for e in entries})) or "none"
    wanted = ", ".join(str(e) for e in etypes)
    raise LookupError(
        f"keytab has no key for {principal} in enctypes {wanted} (enctypes it holds: {held})"
    )


def service_ticket_with_keytab(
    kdc: KdcClient, principal: str, keytab: Keytab | str | os.PathLike[str], service: str
) -> Credentials:
    """A ticket for ``service``: TGT with the keytab key of ``principal``, then TGS."""
    key = keytab_key(keytab, principal, kdc.etypes)
    tgt = kdc.get_tgt(principal, key=key)
    return kdc.get_service_ticket(tgt, service)


def negotiate_with_keytab(
    kdc: KdcClient, principal: str, keytab: Keytab | str | os.PathLike[str], service: str
) -> NegotiateInitiator:
    """A ready initiator: ``.authorization()`` for the request, ``.verify()`` the reply."""
    return NegotiateInitiator(service_ticket_with_keytab(kdc, principal, keytab, service))
