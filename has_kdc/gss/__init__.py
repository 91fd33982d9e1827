"""GSS-API for HTTP Negotiate: the Kerberos V5 mechanism (RFC 4121) under SPNEGO (RFC 4178).

Acceptor (the HTTPS server)::

    from has_kdc.gss import Acceptor, Krb5Acceptor, KeytabKeys, GssError
    acceptor = Acceptor(Krb5Acceptor(KeytabKeys("/etc/has/http.keytab"),
                                     services={"HTTP/host@REALM"}))
    result = acceptor.accept(token)   # GssError → 401
    result.principal, result.output_token

Initiator (hadmin-remote, tests)::

    init = NegotiateInitiator(service_ticket_credentials)
    headers = {"Authorization": init.authorization()}
    init.verify(response.headers.get("WWW-Authenticate"))

Pure code over bytes: the only outside things are the injected key lookup, the
replay cache and the clock. ``has_kdc.web.negotiate`` mounts the acceptor in aiohttp.
"""

from has_kdc.gss.acceptor import Acceptor, AcceptResult
from has_kdc.gss.errors import GssError
from has_kdc.gss.framing import KRB5_OID, MS_KRB5_OID, SPNEGO_OID, unwrap_token, wrap_token
from has_kdc.gss.http import negotiate_header, parse_negotiate
from has_kdc.gss.initiator import NegotiateInitiator
from has_kdc.gss.keys import BackendKeys, KeyLookup, KeytabKeys
from has_kdc.gss.krb5mech import (
    DEFAULT_SKEW,
    GSS_CHECKSUM_TYPE,
    GssChecksum,
    GssFlags,
    Krb5Acceptor,
    Krb5Context,
    Krb5Initiator,
    ServiceTicket,
    channel_bindings_hash,
)
from has_kdc.gss.replay import ReplayCache
from has_kdc.gss.spnego import NegTokenInit, NegTokenResp, decode_negotiation_token

__all__ = [
    "DEFAULT_SKEW",
    "GSS_CHECKSUM_TYPE",
    "KRB5_OID",
    "MS_KRB5_OID",
    "SPNEGO_OID",
    "AcceptResult",
    "Acceptor",
    "BackendKeys",
    "GssChecksum",
    "GssError",
    "GssFlags",
    "KeyLookup",
    "KeytabKeys",
    "Krb5Acceptor",
    "Krb5Context",
    "Krb5Initiator",
    "NegTokenInit",
    "NegTokenResp",
    "NegotiateInitiator",
    "ReplayCache",
    "ServiceTicket",
    "channel_bindings_hash",
    "decode_negotiation_token",
    "negotiate_header",
    "parse_negotiate",
    "unwrap_token",
    "wrap_token",
]
