"""AS exchange (RFC 4120 §3.1): a decoded AS-REQ in, an encoded AS-REP out.

The order of checks is MIT's ``process_as_req`` (src/kdc/do_as_req.c), so a client
gets the same error MIT would give for the same request: client lookup, server
lookup, option and account checks (``validate_as_request``), session key enctype,
ticket times and flags, reply key, then pre-authentication — so a user who
mistypes their own name hears "Client not found" before "Password incorrect", and
PREAUTH_REQUIRED reveals only what MIT's does.

Pre-authentication is PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2): the client encrypts the
current time under its long-term key (usage 1). A wrong key is
KDC_ERR_PREAUTH_FAILED (MIT kinit: "Password incorrect"), a timestamp outside the
clock skew KRB_AP_ERR_SKEW. Both PREAUTH_REQUIRED and PREAUTH_FAILED carry MIT's
METHOD-DATA: an empty PA-FX-FAST, PA-ETYPE-INFO2 (enctype, salt, s2kparams of the
reply key: how the client learns the salt to derive its key), an empty
PA-ENC-TIMESTAMP and PA-FX-COOKIE "MIT". An armored request (FAST, RFC 6113) is
unwrapped first, offered and answered with PA-ENCRYPTED-CHALLENGE instead, and
answered armored: see ``fast_armor`` and docs/fast.md.

Like MIT, the AS-REP itself always carries PA-ETYPE-INFO2 for the reply key. Its
encrypted part is EncASRepPart ([APPLICATION 25]), as RFC 4120 §5.4.2 defines it,
Heimdal and Active Directory send it, and Apache Kerby (HAS's own KDC) sends it.
MIT's krb5kdc sends EncTGSRepPart ([APPLICATION 26]) in both replies, a legacy the
RFC's compatibility note lets clients tolerate ("MAY relax the check"); MIT,
Heimdal, the JDK and gokrb5 accept either tag, but strict clients such as impacket
accept only 25 and cannot log in to MIT's KDC at all. Tag 25 works with all of them.

The ticket leaves out a starttime equal to the authtime, as MIT does (RFC 4120 §5.3:
an absent starttime means the authtime), but the reply part always names it, as
Kerby and Active Directory do: clients that copy the reply into a credential cache
(impacket's ``CCache.fromTGT``) read starttime unconditionally.
"""

from __future__ import annotations

from collections.abc import Callable

from has_kdc.asn1.codec import (
    decode_encrypted_data,
    decode_pa_enc_ts_enc,
    encode,
    encode_etype_info2,
    encode_method_data,
    fields_encoder,
)
from has_kdc.asn1.constants import (
    APP_ENC_AS_REP_PART,
    DOMAIN_X500_COMPRESS,
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_KEY_EXPIRED,
    KDC_ERR_MUST_USE_USER2USER,
    KDC_ERR_NAME_EXP,
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_SERVICE_EXP,
    KDC_ERR_SVC_UNAVAILABLE,
    KRB_AP_ERR_SKEW,
    KRB_AS_REP,
    KRB_AS_REQ,
    KRB_ERR_GENERIC,
    KU_AS_REP_ENC_PART,
    KU_AS_REQ,
    KU_PA_ENC_TIMESTAMP,
    LR_NONE,
    NT_ENTERPRISE,
    NT_PRINCIPAL,
    PA_ENC_TIMESTAMP,
    PA_ENCRYPTED_CHALLENGE,
    PA_ETYPE_INFO2,
    PA_FX_COOKIE,
    PA_FX_FAST,
    PA_REQ_ENC_PA_REP,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import (
    Checksum,
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    ETypeInfo2Entry,
    HostAddress,
    KdcRep,
    KdcReq,
    KdcReqBody,
    LastReqEntry,
    PAData,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)
from has_kdc.backend.errors import BackendError
from has_kdc.backend.model import KeyData, Principal
from has_kdc.crypto import CryptoError, checksum_for_enctype, enctype_by_id
from has_kdc.kdc import policy
from has_kdc.kdc.context import (
    PWCHANGE_SERVICE,
    RealmContext,
    RequestLog,
    store_name,
    wire_name_text,
)
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.fast_armor import (
    MIT_COOKIE,
    FastState,
    encrypted_challenge_reply,
    fast_reply_padata,
    find_fast,
    strengthen,
    verify_encrypted_challenge,
    visible_client,
)
from has_kdc.kdc.policy import FLAG, OPT
from has_kdc.kdc.principal_cache import CachedPrincipal
from has_kdc.kdc.seal import seal_ticket
from has_kdc.principal import PrincipalNameError, parse_principal

__all__ = ["as_ticket_times", "build_as_rep", "process_as_req"]

_LAST_REQ_NONE = (LastReqEntry(LR_NONE, 0),)
_EMPTY_TRANSITED = TransitedEncoding(DOMAIN_X500_COMPRESS, b"")


def process_as_req(
    ctx: RealmContext,
    req: KdcReq,
    now: float,
    rlog: RequestLog,
    request_der: bytes | None = None,
) -> bytes:
    """Answer one AS-REQ with the encoded AS-REP; raise ``KdcError`` to refuse it.

    An armored request (PA-FX-FAST) is unwrapped first and answered armored (see
    ``fast_armor``); its inner request is then processed like any other.
    ``request_der`` is the request as received: a client that sends
    PA-REQ-ENC-PA-REP gets its checksum back (RFC 6806 §11).
    """
    kdc_time = int(now)
    outer = req
    req, fast = _read_request(ctx, req, now, rlog)
    body = req.req_body
    client, server = _find_principals(ctx, body, rlog)
    options = int(body.kdc_options)
    _validate_as_request(ctx, options, client, server, kdc_time)
    session_etype = policy.select_session_enctype(body.etypes, server.current_keys, ctx.permitted)
    if session_etype is None:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "BAD_ENCRYPTION_TYPE")
    cp, sp = client.principal, server.principal
    flags, starttime, endtime, renew_till = as_ticket_times(
        ctx, options, cp, sp, kdc_time, body.from_time, body.till, body.rtime
    )
    reply_key = _client_key(ctx, body, client)
    etype_info2, method_data = _hint_list(client, reply_key, armored=fast is not None)
    flags, challenge_key = _preauthenticate(ctx, req, fast, client, flags, kdc_time, method_data)

    # -- issue --------------------------------------------------------------------
    rlog.authtime = kdc_time
    cname, sname = _reply_names(ctx, options, body, client, server)
    enc_pa_rep_over = _enc_pa_rep_over(req, outer, request_der)
    if enc_pa_rep_over is not None:
        flags |= FLAG.ENC_PA_REP
    reply_as_key = EncryptionKey(reply_key.enctype, reply_key.key)
    padata: tuple[PAData, ...] = (etype_info2,)
    fast_padata = None
    if fast is not None:
        reply_as_key, fast_padata = _armor(
            ctx, fast, reply_as_key, padata, challenge_key, cname, now
        )
    reply, ticket_etype = build_as_rep(
        ctx,
        server=server,
        cname=cname,
        sname=sname,
        session_etype=session_etype,
        reply_key=reply_as_key,
        padata=padata,
        fast_padata=fast_padata,
        enc_pa_rep_over=enc_pa_rep_over,
        visible_client=visible_client(fast, ctx.realm, cname),
        flags=flags,
        kdc_time=kdc_time,
        starttime=starttime,
        endtime=endtime,
        renew_till=renew_till,
        addresses=body.addresses,
        nonce=body.nonce,
        key_expiration=_key_expiration(client),
    )
    rlog.rep_etype, rlog.tkt_etype, rlog.ses_etype = reply_key.enctype, ticket_etype, session_etype
    return reply


def build_as_rep(
    ctx: RealmContext,
    *,
    server: CachedPrincipal,
    cname: PrincipalName,
    sname: PrincipalName,
    session_etype: int,
    reply_key: EncryptionKey,
    padata: tuple[PAData, ...],
    flags: int,
    kdc_time: int,
    starttime: int,
    endtime: int,
    renew_till: int | None,
    addresses: tuple[HostAddress, ...] | None,
    nonce: int,
    key_expiration: int | None,
    fast_padata: Callable[[Ticket], tuple[PAData, ...]] | None = None,
    enc_pa_rep_over: bytes | None = None,
    visible_client: tuple[str, PrincipalName] | None = None,
) -> tuple[bytes, int]:
    """The encoded AS-REP once every check has passed, and the enctype of its ticket.

    A new session key, the ticket under the server's key, and the reply part under
    ``reply_key`` (usage 3). Shared by the AS exchange and by TGT-over-HTTPS
    (`has_kdc.kdc.issue`), whose reply key comes from the authentication plugin.
    Raises ``KdcError`` when the server has no key the realm permits. An armored
    request's reply padata is ``fast_padata`` of the ticket (its FAST ``finished``
    checksums the ticket) instead of ``padata``. ``enc_pa_rep_over`` is the AS-REQ of
    a client that asked for PA-REQ-ENC-PA-REP: the reply part then carries its
    checksum under the reply key (usage 56) and an empty PA-FX-FAST, which is how an
    MIT client learns, protected, that the KDC offers FAST (MIT
    ``kdc_handle_protected_negotiation``). ``visible_client`` replaces the client
    named outside the encrypted parts (FAST's hide-client-names).
    """
    session_key = EncryptionKey(session_etype, enctype_by_id(session_etype).random_key())
    enc_ticket = fields_encoder(EncTicketPart)(
        flags=flags,
        key=session_key,
        crealm=ctx.realm,
        cname=cname,
        transited=_EMPTY_TRANSITED,
        authtime=kdc_time,
        starttime=None if starttime == kdc_time else starttime,
        endtime=endtime,
        renew_till=renew_till,
        caddr=addresses,
    )
    ticket, ticket_etype = seal_ticket(ctx, server, sname, enc_ticket)
    enc_rep = fields_encoder(EncKdcRepPart)(
        key=session_key,
        last_req=_LAST_REQ_NONE,
        nonce=nonce,
        key_expiration=key_expiration,
        flags=flags,
        authtime=kdc_time,
        starttime=starttime,  # always, unlike the ticket: see the module docstring
        endtime=endtime,
        renew_till=renew_till,
        srealm=ctx.realm,
        sname=sname,
        caddr=addresses,
        encrypted_pa_data=_protected_negotiation(reply_key, enc_pa_rep_over),
        application_tag=APP_ENC_AS_REP_PART,
    )
    reply_et = enctype_by_id(reply_key.keytype)
    if fast_padata is not None:
        padata = fast_padata(ticket)
    rep_crealm, rep_cname = visible_client or (ctx.realm, cname)
    cipher = reply_et.encrypt(reply_key.keyvalue, KU_AS_REP_ENC_PART, enc_rep)
    reply = fields_encoder(KdcRep)(
        msg_type=KRB_AS_REP,
        padata=padata,
        crealm=rep_crealm,
        cname=rep_cname,
        ticket=ticket,
        # No kvno: MIT's KDC sets it only after encoding, so it never reaches the wire.
        enc_part=EncryptedData(reply_key.keytype, cipher),
    )
    return reply, ticket_etype


def _read_request(
    ctx: RealmContext, req: KdcReq, now: float, rlog: RequestLog
) -> tuple[KdcReq, FastState | None]:
    """The request to process (an armored one unwrapped) and its FAST state."""
    rlog.etypes = req.req_body.etypes
    if req.msg_type != KRB_AS_REQ:
        raise KdcError(KRB_ERR_GENERIC, "VALIDATE_MESSAGE_TYPE")
    outer_body = req.req_body_der if req.req_body_der is not None else encode(req.req_body)
    req, fast = find_fast(ctx, req, now, rlog, checksummed=outer_body)
    rlog.etypes = req.req_body.etypes
    return req, fast


def _find_principals(
    ctx: RealmContext, body: KdcReqBody, rlog: RequestLog
) -> tuple[CachedPrincipal, CachedPrincipal]:
    """The client and the server the request names, in MIT's order (client first)."""
    if body.cname is None:
        raise KdcError(KDC_ERR_C_PRINCIPAL_UNKNOWN, "NULL_CLIENT")
    cname_text = store_name(body.cname, body.realm)
    rlog.cname = cname_text or wire_name_text(body.cname, body.realm)
    client_name = _client_lookup_name(body.cname, body.realm, cname_text)
    if body.sname is None:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "NULL_SERVER")
    server_name = store_name(body.sname, body.realm)
    rlog.sname = server_name or wire_name_text(body.sname, body.realm)
    client = _lookup(ctx, client_name, "CLIENT_NOT_FOUND", KDC_ERR_C_PRINCIPAL_UNKNOWN)
    server = _lookup(ctx, server_name, "SERVER_NOT_FOUND", KDC_ERR_S_PRINCIPAL_UNKNOWN)
    return client, server


def as_ticket_times(
    ctx: RealmContext,
    options: int,
    cp: Principal,
    sp: Principal,
    kdc_time: int,
    from_time: int | None,
    till: int | None,
    rtime: int | None,
) -> tuple[int, int, int, int | None]:
    """Flags, start, end and renew-till of a ticket from the AS (MIT
    ``kdc_get_ticket_endtime``, ``kdc_get_ticket_renewtime``): the request's wishes
    within the client's, the server's and the realm's limits. Shared with
    TGT-over-HTTPS (`has_kdc.kdc.issue`), which applies the same policy."""
    flags = policy.ticket_flags(options, client=cp, server=sp)
    starttime = from_time if options & OPT.POSTDATED and from_time else kdc_time
    endtime = policy.ticket_endtime(starttime, till, (cp.max_life, sp.max_life, ctx.max_life))
    renew_till = policy.renew_till(
        options,
        starttime=starttime,
        endtime=endtime,
        till=till,
        rtime=rtime,
        max_renewable_lives=(sp.max_renewable_life, ctx.max_renewable_life, cp.max_renewable_life),
        allowed=cp.allow_renewable and sp.allow_renewable,
    )
    if renew_till is not None:
        flags |= FLAG.RENEWABLE
    return flags, starttime, endtime, renew_till


def _client_key(ctx: RealmContext, body: KdcReqBody, client: CachedPrincipal) -> KeyData:
    """The reply key: the client's key of the first enctype the request lists that the
    realm permits (MIT ``select_client_key``)."""
    reply_etype = policy.select_client_key_enctype(body.etypes, client.current_keys, ctx.permitted)
    if reply_etype is None:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "CANT_FIND_CLIENT_KEY")
    return client.current_keys[reply_etype]


def _enc_pa_rep_over(req: KdcReq, outer: KdcReq, request_der: bytes | None) -> bytes | None:
    """The request as sent, when its client asked for PA-REQ-ENC-PA-REP (RFC 6806 §11)."""
    if any(pa.padata_type == PA_REQ_ENC_PA_REP for pa in req.padata):
        return request_der if request_der is not None else encode(outer)
    return None


def _preauthenticate(
    ctx: RealmContext,
    req: KdcReq,
    fast: FastState | None,
    client: CachedPrincipal,
    flags: int,
    kdc_time: int,
    method_data: bytes,
) -> tuple[int, EncryptionKey | None]:
    """The ticket flags with PRE-AUTHENT when the padata proves the client's key, and
    the client key of a PA-ENCRYPTED-CHALLENGE (the reply answers it); refused when
    the client requires pre-authentication and the request has none."""
    for pa in req.padata:
        if pa.padata_type == PA_ENC_TIMESTAMP:
            _verify_enc_timestamp(ctx, client, pa.padata_value, kdc_time, method_data)
            return flags | FLAG.PRE_AUTHENT, None
        if pa.padata_type == PA_ENCRYPTED_CHALLENGE and fast is not None:
            etypes = req.req_body.etypes
            keys = tuple(
                EncryptionKey(k.enctype, k.key)
                for e, k in client.current_keys.items()
                if e in etypes and e in ctx.permitted
            )
            failed = KdcError(KDC_ERR_PREAUTH_FAILED, "PREAUTH_FAILED", method_data)
            challenge_key = verify_encrypted_challenge(
                fast, pa.padata_value, keys, kdc_time, ctx.clock_skew, failed
            )
            return flags | FLAG.PRE_AUTHENT, challenge_key
    if client.principal.requires_preauth:
        raise KdcError(KDC_ERR_PREAUTH_REQUIRED, "NEEDED_PREAUTH", method_data)
    return flags, None


def _reply_names(
    ctx: RealmContext,
    options: int,
    body: KdcReqBody,
    client: CachedPrincipal,
    server: CachedPrincipal,
) -> tuple[PrincipalName, PrincipalName]:
    """The client and server names of the ticket: as asked, or with CANONICALIZE the
    client's own and the realm's TGS's (MIT does not canonicalize other services)."""
    assert body.cname is not None and body.sname is not None  # by _find_principals
    if not options & OPT.CANONICALIZE:
        return body.cname, body.sname
    cname = PrincipalName(NT_PRINCIPAL, client.components)
    if ctx.is_local_tgs(server.components, server.realm):
        return cname, PrincipalName(body.sname.name_type, server.components)
    return cname, body.sname


def _armor(
    ctx: RealmContext,
    fast: FastState,
    reply_key: EncryptionKey,
    padata: tuple[PAData, ...],
    challenge_key: EncryptionKey | None,
    cname: PrincipalName,
    now: float,
) -> tuple[EncryptionKey, Callable[[Ticket], tuple[PAData, ...]]]:
    """The strengthened reply key of an armored request, and how to make its reply
    padata once the ticket exists (FAST's ``finished`` checksums the ticket)."""
    inner_padata = padata
    if challenge_key is not None:  # first, as in MIT's reply
        inner_padata = (encrypted_challenge_reply(fast, challenge_key, now), *padata)
    strengthen_key, reply_key = strengthen(reply_key)

    def fast_padata(ticket: Ticket) -> tuple[PAData, ...]:
        return fast_reply_padata(
            fast,
            padata=inner_padata,
            strengthen_key=strengthen_key,
            ticket=ticket,
            crealm=ctx.realm,
            cname=cname,
            now=now,
        )

    return reply_key, fast_padata


def _protected_negotiation(
    reply_key: EncryptionKey, request_der: bytes | None
) -> tuple[PAData, ...] | None:
    if request_der is None:
        return None
    ctype = checksum_for_enctype(reply_key.keytype)
    value = ctype.checksum(reply_key.keyvalue, KU_AS_REQ, request_der)
    return (
        PAData(PA_REQ_ENC_PA_REP, encode(Checksum(ctype.cksumtype, value))),
        PAData(PA_FX_FAST, b""),
    )


def _client_lookup_name(cname: PrincipalName, realm: str, text: str | None) -> str | None:
    """The store name of the client (``text``, its name as sent); an enterprise name
    (``user@REALM`` in one component, RFC 6806) names the principal it spells. None
    when no principal can have that name (nor the name as sent)."""
    if text is not None and cname.name_type == NT_ENTERPRISE and len(cname.components) == 1:
        try:
            components, name_realm = parse_principal(cname.components[0], realm)
        except PrincipalNameError:
            return None
        return store_name(PrincipalName(NT_PRINCIPAL, components), name_realm)
    return text


def _lookup(ctx: RealmContext, name: str | None, status: str, code: int) -> CachedPrincipal:
    """The principal called ``name``; None names what no principal can be called
    (too long, not UTF-8): not found, as MIT answers it, but not echoed back either."""
    if name is None:
        raise KdcError(code, status, echo=False)
    try:
        entry = ctx.principals.get(name)
    except BackendError:
        raise KdcError(KDC_ERR_SVC_UNAVAILABLE, "LOOKING_UP_" + status.split("_")[0]) from None
    if entry is None:
        raise KdcError(code, status)
    return entry


def _validate_as_request(
    ctx: RealmContext,
    options: int,
    client: CachedPrincipal,
    server: CachedPrincipal,
    kdc_time: int,
) -> None:
    """MIT ``validate_as_request``: options, expirations, locked-out principals."""
    policy.check_as_options(options)
    cp, sp = client.principal, server.principal
    if cp.expiration and kdc_time > cp.expiration:
        raise KdcError(KDC_ERR_NAME_EXP, "CLIENT EXPIRED")
    if cp.pw_expiration and kdc_time > cp.pw_expiration and server.components != PWCHANGE_SERVICE:
        raise KdcError(KDC_ERR_KEY_EXPIRED, "CLIENT KEY EXPIRED")
    if sp.expiration and kdc_time > sp.expiration:
        raise KdcError(KDC_ERR_SERVICE_EXP, "SERVICE EXPIRED")
    if cp.disabled or not cp.allow_tix:
        raise KdcError(KDC_ERR_CLIENT_REVOKED, "CLIENT LOCKED OUT")
    if sp.disabled or not sp.allow_tix:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "SERVICE LOCKED OUT")
    if not sp.allow_svr:
        raise KdcError(KDC_ERR_MUST_USE_USER2USER, "SERVICE NOT ALLOWED")


def _hint_list(
    client: CachedPrincipal, reply_key: KeyData, *, armored: bool = False
) -> tuple[PAData, bytes]:
    """PA-ETYPE-INFO2 for the reply key, and the METHOD-DATA hints for errors.

    MIT sends one ETYPE-INFO2 entry, for the key it will use (``add_etype_info``);
    its salt is what lets the client turn the password into that key. The hints
    are MIT's ``get_preauth_hint_list`` and ``prepare_error_as``: an empty
    PA-FX-FAST (FAST is offered), PA-ETYPE-INFO2, the method — an empty
    PA-ENC-TIMESTAMP, or inside FAST an empty PA-ENCRYPTED-CHALLENGE instead —
    and PA-FX-COOKIE "MIT". Both only change with the principal, so they are
    encoded once per cached principal and key.
    """
    memo_key = ("hints", reply_key.kvno, reply_key.enctype, armored)
    cached = client.memo.get(memo_key)
    if cached is None:
        entry = ETypeInfo2Entry(reply_key.enctype, client.salt(reply_key), reply_key.s2kparams)
        etype_info2 = PAData(PA_ETYPE_INFO2, encode_etype_info2((entry,)))
        method = PA_ENCRYPTED_CHALLENGE if armored else PA_ENC_TIMESTAMP
        hints = (
            PAData(PA_FX_FAST, b""),
            etype_info2,
            PAData(method, b""),
            PAData(PA_FX_COOKIE, MIT_COOKIE),
        )
        cached = (etype_info2, encode_method_data(hints))
        client.memo[memo_key] = cached
    return cached  # type: ignore[return-value]


def _verify_enc_timestamp(
    ctx: RealmContext,
    client: CachedPrincipal,
    value: bytes,
    kdc_time: int,
    method_data: bytes,
) -> None:
    """MIT ``enc_ts_verify``: decrypt with the client's key of the enctype used, check skew."""
    failed = KdcError(KDC_ERR_PREAUTH_FAILED, "PREAUTH_FAILED", method_data)
    try:
        enc = decode_encrypted_data(value)
    except Asn1Error:
        raise failed from None
    key = client.current_keys.get(enc.etype)
    if key is None or enc.etype not in ctx.permitted:
        raise failed
    try:
        plain = enctype_by_id(enc.etype).decrypt(key.key, KU_PA_ENC_TIMESTAMP, enc.cipher)
        stamp = decode_pa_enc_ts_enc(plain)
    except (CryptoError, Asn1Error):
        raise failed from None
    if abs(stamp.patimestamp - kdc_time) > ctx.clock_skew:
        raise KdcError(KRB_AP_ERR_SKEW, "PREAUTH_FAILED")


def _key_expiration(client: CachedPrincipal) -> int | None:
    """MIT ``get_key_exp``: the earlier of account and password expiration, if any."""
    times = [t for t in (client.principal.expiration, client.principal.pw_expiration) if t]
    return min(times) if times else None
