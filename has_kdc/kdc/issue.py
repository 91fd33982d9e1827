"""A TGT for a user another mechanism has authenticated: HAS's TGT over HTTPS.

HAS (has-server ``HasKdcHandler``) builds an AS-REQ on the server for the token's
subject, marks it as authenticated by a token, and lets Kerby's AS code answer it
with the reply part encrypted under ``string2Key(principal, passPhrase, best
enctype)`` — passPhrase being what the plugin vouched for (MySQL: user name +
password). Here there is no synthetic request: `issue_tgt` applies the same policy
as the AS exchange (`as_req`) to the given user and issues the reply with
`as_req.build_as_rep`.

The reply key comes from the caller (derived from the user's own secret), so only
the user who holds that secret can read the session key; nothing usable travels in
clear even inside TLS.

Whether the principal must exist: HAS gives a token-authenticated user a virtual
client entry (kerb-server ``AsRequest.checkClient``: ``new KrbIdentity(name)``), so a
plugin user needs no principal in the KDC database. The same holds here, with one
addition: when a principal of that name does exist, its account state counts —
disabled, DISALLOW_ALL_TIX or expired refuses the ticket (CLIENT_REVOKED,
NAME_EXP) and its ticket-life limits apply, as they would for kinit.
"""

from __future__ import annotations

import secrets

from has_kdc.asn1.codec import encode_etype_info2
from has_kdc.asn1.constants import (
    KDC_ERR_BADOPTION,
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_NAME_EXP,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_SVC_UNAVAILABLE,
    NT_PRINCIPAL,
    NT_SRV_INST,
    PA_ETYPE_INFO2,
)
from has_kdc.asn1.messages import EncryptionKey, ETypeInfo2Entry, PAData, PrincipalName
from has_kdc.backend.errors import BackendError
from has_kdc.backend.model import Principal
from has_kdc.kdc import policy
from has_kdc.kdc.as_req import as_ticket_times, build_as_rep
from has_kdc.kdc.context import RealmContext
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.policy import FLAG, OPT
from has_kdc.kdc.principal_cache import CachedPrincipal
from has_kdc.principal import PrincipalNameError, parse_principal

__all__ = ["HTTPS_TGT_OPTIONS", "issue_tgt", "reply_enctype"]

#: The options HAS's server-built request always carries (HasKdcHandler.getKdcOptions).
HTTPS_TGT_OPTIONS = OPT.FORWARDABLE | OPT.PROXIABLE | OPT.RENEWABLE_OK

#: Options that make no sense without a request of the client's own.
_REFUSED_OPTIONS = policy.AS_INVALID_OPTIONS | OPT.POSTDATED | OPT.ALLOW_POSTDATE


def reply_enctype(ctx: RealmContext) -> int:
    """The enctype of the reply key: the realm's first permitted one (HAS's best type)."""
    return ctx.permitted[0]


def issue_tgt(
    ctx: RealmContext,
    client_name: str,
    reply_key: EncryptionKey,
    options: int,
    now: float,
    *,
    till: int | None = None,
    rtime: int | None = None,
    nonce: int | None = None,
    salt: bytes | None = None,
    s2kparams: bytes | None = None,
) -> bytes:
    """The encoded AS-REP giving ``client_name`` a TGT of this realm, under ``reply_key``.

    ``client_name`` is a principal of the realm (``alice@HADOOP.COM``); ``till`` and
    ``rtime`` are the wanted end and renew-till times (the realm's limits apply);
    ``nonce`` the client's, when it sent one (else a random one). ``salt`` and
    ``s2kparams`` describe how the client derives ``reply_key`` and go into the
    reply's PA-ETYPE-INFO2. Raises ``KdcError`` for a refused request.
    """
    kdc_time = int(now)
    components = _client_components(ctx, client_name)
    if options & _REFUSED_OPTIONS:
        raise KdcError(KDC_ERR_BADOPTION, "INVALID OPTIONS")
    if reply_key.keytype not in ctx.permitted:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "CANT_FIND_CLIENT_KEY")
    client, server = _find_principals(ctx, client_name, kdc_time)
    session_etype = policy.select_session_enctype(ctx.permitted, server.current_keys, ctx.permitted)
    if session_etype is None:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "BAD_ENCRYPTION_TYPE")
    flags, _start, endtime, renew_till = as_ticket_times(
        ctx, options, client, server.principal, kdc_time, None, till, rtime
    )
    # The plugin has authenticated the user before this point: the ticket is as
    # pre-authenticated as one from PA-ENC-TIMESTAMP.
    flags |= FLAG.PRE_AUTHENT

    hint = ETypeInfo2Entry(reply_key.keytype, salt, s2kparams)
    reply, _ticket_etype = build_as_rep(
        ctx,
        server=server,
        cname=PrincipalName(NT_PRINCIPAL, components),
        sname=PrincipalName(NT_SRV_INST, ctx.tgs_name.components),
        session_etype=session_etype,
        reply_key=reply_key,
        padata=(PAData(PA_ETYPE_INFO2, encode_etype_info2((hint,))),),
        flags=flags,
        kdc_time=kdc_time,
        starttime=kdc_time,
        endtime=endtime,
        renew_till=renew_till,
        addresses=None,
        nonce=secrets.randbits(31) if nonce is None else nonce,
        key_expiration=None,
    )
    return reply


def _client_components(ctx: RealmContext, client_name: str) -> tuple[str, ...]:
    """The name components of ``client_name``, a principal of this realm."""
    try:
        components, realm = parse_principal(client_name, ctx.realm)
    except PrincipalNameError:
        raise KdcError(KDC_ERR_C_PRINCIPAL_UNKNOWN, "CLIENT_NOT_FOUND") from None
    if realm != ctx.realm:
        raise KdcError(KDC_ERR_C_PRINCIPAL_UNKNOWN, "WRONG_REALM")
    return components


def _find_principals(
    ctx: RealmContext, client_name: str, kdc_time: int
) -> tuple[Principal, CachedPrincipal]:
    """The client (its principal, or a virtual one: see the module docstring) and the
    realm's TGS, refused when either is locked out or the client has expired."""
    try:
        server = ctx.principals.get(f"krbtgt/{ctx.realm}@{ctx.realm}")
        existing = ctx.principals.get(client_name)
    except BackendError:
        raise KdcError(KDC_ERR_SVC_UNAVAILABLE, "LOOKING_UP_PRINCIPALS") from None
    if server is None:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "SERVER_NOT_FOUND")
    client = existing.principal if existing is not None else Principal(client_name)
    if client.expiration and kdc_time > client.expiration:
        raise KdcError(KDC_ERR_NAME_EXP, "CLIENT EXPIRED")
    if client.disabled or not client.allow_tix:
        raise KdcError(KDC_ERR_CLIENT_REVOKED, "CLIENT LOCKED OUT")
    sp = server.principal
    if sp.disabled or not sp.allow_tix:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "SERVICE LOCKED OUT")
    return client, server
