"""TGS exchange (RFC 4120 §3.3): a decoded TGS-REQ in, an encoded TGS-REP out.

The client proves itself with PA-TGS-REQ: an AP-REQ holding its TGT (encrypted
under the krbtgt key, usage 2) and an authenticator under the TGT session key
(usage 7) whose checksum covers the request body exactly as sent (usage 6). The
checks and their errors follow MIT (``kdc_process_tgs_req`` in src/kdc/kdc_util.c,
``krb5_rd_req_decoded_anyflag``, src/kdc/tgs_policy.c):

- a ticket or authenticator that does not decrypt, or a checksum that does not
  match: KRB_AP_ERR_BAD_INTEGRITY (31) — MIT uses 31 for all three;
- authenticator client other than the ticket's: KRB_AP_ERR_BADMATCH (36);
- ticket not yet valid (33) or expired (32), allowing the clock skew; authenticator
  time outside the skew: KRB_AP_ERR_SKEW (37);
- an unkeyed checksum: KRB_AP_ERR_INAPP_CKSUM (50), since anyone could recompute it;
- option checks against the TGT (FORWARDED needs FORWARDABLE, RENEW needs
  RENEWABLE, ...): KDC_ERR_BADOPTION (13).

The reply is encrypted with the authenticator's subkey when there is one (usage 9),
else with the TGT session key (usage 8).

Cross-realm (docs/cross-realm.md), as MIT's do_tgs_req.c and tgs_policy.c: a TGT is
any ``krbtgt/X`` the database holds whose X is the requested server's realm, so a
trusted realm's ``krbtgt/OURS@OTHER`` is accepted like our own; a local TGT used for
another realm is KRB_AP_ERR_NOT_US (35). A cross-realm TGT naming a client of our own
realm is KDC_ERR_POLICY ("INVALID LINEAGE"). Asked for ``krbtgt/FAR`` we have no key
for, the KDC hands out the TGT of the realm nearest FAR on the path (``[capaths]`` or
the domain hierarchy) that it does have, else KDC_ERR_S_PRINCIPAL_UNKNOWN. The
issuing realm of a cross-realm TGT joins the transited field unless it is the
client's; the field is checked against the path and the ticket marked
TRANSITED-POLICY-CHECKED, and (MIT's default ``reject_bad_transit``) a ticket that
cannot be so marked is refused with KDC_ERR_POLICY ("BAD_TRANSIT").
"""

from __future__ import annotations

import ipaddress

from has_kdc.asn1.codec import (
    decode_ap_req,
    decode_authenticator,
    decode_enc_ticket_part,
    encode,
    fields_encoder,
)
from has_kdc.asn1.constants import (
    ADDRTYPE_IPV4,
    ADDRTYPE_IPV6,
    APP_ENC_TGS_REP_PART,
    DOMAIN_X500_COMPRESS,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_MUST_USE_USER2USER,
    KDC_ERR_PADATA_TYPE_NOSUPP,
    KDC_ERR_POLICY,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_SERVICE_EXP,
    KDC_ERR_SUMTYPE_NOSUPP,
    KDC_ERR_SVC_UNAVAILABLE,
    KDC_ERR_TRTYPE_NOSUPP,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADADDR,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KRB_ERR_GENERIC,
    KRB_TGS_REP,
    KRB_TGS_REQ,
    KU_TGS_REP_ENC_PART_SESSION_KEY,
    KU_TGS_REP_ENC_PART_SUBKEY,
    KU_TGS_REQ_AUTH,
    KU_TGS_REQ_AUTH_CKSUM,
    KU_TICKET,
    LR_NONE,
    NT_SRV_HST,
    NT_SRV_INST,
    PA_TGS_REQ,
    APOptions,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import (
    ApReq,
    Authenticator,
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
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
from has_kdc.backend.model import Principal
from has_kdc.crypto import (
    CryptoError,
    UnsupportedChecksum,
    checksum_by_type,
    enctype_by_id,
)
from has_kdc.kdc import policy
from has_kdc.kdc.context import RealmContext, RequestLog, store_name, wire_name_text
from has_kdc.kdc.crossrealm import (
    TransitedError,
    add_to_transited,
    check_transited,
    host_realm,
    realm_path,
)
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.fast_armor import (
    FastState,
    fast_reply_padata,
    find_fast,
    strengthen,
    visible_client,
)
from has_kdc.kdc.policy import FLAG, NON_TGT_OPTIONS, OPT
from has_kdc.kdc.principal_cache import CachedPrincipal
from has_kdc.kdc.seal import seal_ticket

__all__ = ["process_tgs_req"]

_LAST_REQ_NONE = (LastReqEntry(LR_NONE, 0),)
_O = OPT
#: MIT's NO_REFERRAL_OPTION: the server must be the one the presented ticket names
_NO_REFERRAL = NON_TGT_OPTIONS | _O.ENC_TKT_IN_SKEY
_RENEWABLE: int = FLAG.RENEWABLE


def process_tgs_req(
    ctx: RealmContext,
    req: KdcReq,
    now: float,
    rlog: RequestLog,
    peer_address: str | None = None,
) -> bytes:
    """Answer one TGS-REQ with the encoded TGS-REP; raise ``KdcError`` to refuse it.

    ``peer_address`` (the client's IP, when the transport knows it) is checked
    against an addressed TGT's address list, as MIT does.
    """
    kdc_time = int(now)
    rlog.etypes = req.req_body.etypes
    server_name = _server_name(req.req_body, rlog)
    if req.msg_type != KRB_TGS_REQ:
        raise KdcError(KRB_ERR_GENERIC, "VALIDATE_MESSAGE_TYPE")
    tgt, header, header_server_name, session, subkey = _read_pa_tgs_req(
        ctx, req, kdc_time, rlog, peer_address
    )
    rlog.authtime = tgt.authtime
    req, fast = _find_fast(ctx, req, now, rlog, subkey, session)
    body = req.req_body
    if fast is not None:  # the armored request's own body (RFC 6113 §5.4.1.1)
        server_name = _server_name(body, rlog)
    if body.sname is None:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "NULL_SERVER")
    options = int(body.kdc_options)
    server = _lookup_server(ctx, server_name, body, options)
    # A referral names the TGS it found, not the one asked for (MIT: is_referral).
    sname = body.sname if server.principal.name == server_name else _tgs_sname(server)
    tgt_flags = int(tgt.flags)
    _check_server(options, server, kdc_time)
    _check_tgt(
        options, body, server, server_name, tgt, tgt_flags, header, header_server_name, kdc_time
    )
    session_etype = policy.select_session_enctype(body.etypes, server.current_keys, ctx.permitted)
    if session_etype is None:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "BAD_ENCRYPTION_TYPE")
    flags = policy.ticket_flags(options, server=server.principal, tgt_flags=tgt_flags)
    times = _ticket_times(ctx, options, body, tgt, server.principal, kdc_time, tgt_flags)
    flags = _renewable(flags, times[2])
    transited, flags = _transited_checked(ctx, options, body, tgt, header, flags)
    ticket, ticket_etype, enc_rep = _issue(
        ctx, options, body, server, sname, tgt, session_etype, flags, transited, times
    )
    reply_key = subkey if subkey is not None else session
    reply = _tgs_rep(fast, tgt, ticket, enc_rep, reply_key, subkey is not None, now)
    rlog.rep_etype, rlog.tkt_etype, rlog.ses_etype = reply_key.keytype, ticket_etype, session_etype
    return reply


def _server_name(body: KdcReqBody, rlog: RequestLog) -> str | None:
    """The store name of the server the request names (None when there is none or
    no principal can have that name); the log names it either way."""
    if body.sname is None:
        return None
    server_name = store_name(body.sname, body.realm)
    rlog.sname = server_name or wire_name_text(body.sname, body.realm)
    return server_name


def _check_tgt(
    options: int,
    body: KdcReqBody,
    server: CachedPrincipal,
    server_name: str | None,
    tgt: EncTicketPart,
    tgt_flags: int,
    header: Ticket,
    header_server_name: str | None,
    kdc_time: int,
) -> None:
    """MIT ``check_tgs_tgt``/``check_tgs_options``: what the presented ticket allows,
    and (``check_tgs_lineage``) no cross-realm TGT for a client of our own realm."""
    policy.check_tgs_options(
        options,
        tgt_flags=tgt_flags,
        tgt_starttime=tgt.starttime or tgt.authtime,
        tgt_renew_till=tgt.renew_till,
        now=kdc_time,
        tgt_is_for_request_server=header_server_name == server_name,
        tgt_server_is_tgs=_is_tgs(header.sname.components)
        and header.sname.components[1] == body.realm,
        request_server_is_tgs=_is_tgs(server.components),
    )
    if header.realm != body.realm and tgt.crealm == body.realm:
        raise KdcError(KDC_ERR_POLICY, "INVALID LINEAGE")


def _transited_checked(
    ctx: RealmContext,
    options: int,
    body: KdcReqBody,
    tgt: EncTicketPart,
    header: Ticket,
    flags: int,
) -> tuple[TransitedEncoding, int]:
    """The new ticket's transited field, and its flags with TRANSITED-POLICY-CHECKED
    when the path is one ``[capaths]`` allows; refused when it cannot be so marked
    (MIT ``validate_transit_path`` with ``reject_bad_transit``)."""
    transited = _transited(tgt, header, header.realm != body.realm)
    if not options & _O.DISABLE_TRANSITED_CHECK:
        try:
            check_transited(transited.contents, tgt.crealm, body.realm, ctx.capaths)
        except TransitedError:
            pass  # logged as MIT does, by the refusal below
        else:
            flags |= FLAG.TRANSITED_POLICY_CHECKED
    if not flags & FLAG.TRANSITED_POLICY_CHECKED:
        raise KdcError(KDC_ERR_POLICY, "BAD_TRANSIT")
    return transited, flags


def _issue(
    ctx: RealmContext,
    options: int,
    body: KdcReqBody,
    server: CachedPrincipal,
    sname: PrincipalName,
    tgt: EncTicketPart,
    session_etype: int,
    flags: int,
    transited: TransitedEncoding,
    times: tuple[int, int, int | None],
) -> tuple[Ticket, int, bytes]:
    """The new ticket under the server's key, its enctype, and the reply part's DER.

    A fresh session key; the TGT's client, authtime and authorization data; its
    addresses unless FORWARDED or PROXY asks for the request's; the times and flags
    decided before, the starttime left out of the ticket when it is the authtime
    but always named in the reply (see ``as_req``).
    """
    starttime, endtime, renew_till = times
    session_key = EncryptionKey(session_etype, enctype_by_id(session_etype).random_key())
    caddr = body.addresses if options & (_O.FORWARDED | _O.PROXY) else tgt.caddr
    enc_ticket = fields_encoder(EncTicketPart)(
        flags=flags,
        key=session_key,
        crealm=tgt.crealm,
        cname=tgt.cname,
        transited=transited,
        authtime=tgt.authtime,
        starttime=None if starttime == tgt.authtime else starttime,
        endtime=endtime,
        renew_till=renew_till,
        caddr=caddr,
        authorization_data=tgt.authorization_data,
    )
    ticket, ticket_etype = seal_ticket(ctx, server, sname, enc_ticket)
    enc_rep = fields_encoder(EncKdcRepPart)(
        key=session_key,
        last_req=_LAST_REQ_NONE,
        nonce=body.nonce,
        flags=flags,
        authtime=tgt.authtime,
        starttime=starttime,
        endtime=endtime,
        renew_till=renew_till,
        srealm=ctx.realm,
        sname=sname,
        caddr=caddr,
        application_tag=APP_ENC_TGS_REP_PART,
    )
    return ticket, ticket_etype, enc_rep


def _tgs_sname(server: CachedPrincipal) -> PrincipalName:
    return PrincipalName(NT_SRV_INST, server.components)


def _tgs_rep(
    fast: FastState | None,
    tgt: EncTicketPart,
    ticket: Ticket,
    enc_rep: bytes,
    reply_key: EncryptionKey,
    by_subkey: bool,
    now: float,
) -> bytes:
    """The encoded TGS-REP: the reply part (``enc_rep``, its DER) under the
    authenticator's subkey (usage 9) or the TGT session key (usage 8), strengthened
    and armored for a FAST request."""
    usage = KU_TGS_REP_ENC_PART_SUBKEY if by_subkey else KU_TGS_REP_ENC_PART_SESSION_KEY
    padata: tuple[PAData, ...] = ()
    if fast is not None:
        try:
            strengthen_key, reply_key = strengthen(reply_key)
        except CryptoError:
            raise KdcError(KDC_ERR_ETYPE_NOSUPP, "BAD_ENCRYPTION_TYPE") from None
        padata = fast_reply_padata(
            fast,
            padata=(),
            strengthen_key=strengthen_key,
            ticket=ticket,
            crealm=tgt.crealm,
            cname=tgt.cname,
            now=now,
        )
    try:
        reply_et = enctype_by_id(reply_key.keytype)
        cipher = reply_et.encrypt(reply_key.keyvalue, usage, enc_rep)
    except CryptoError:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "BAD_ENCRYPTION_TYPE") from None
    rep_crealm, rep_cname = visible_client(fast, tgt.crealm, tgt.cname)
    return fields_encoder(KdcRep)(
        msg_type=KRB_TGS_REP,
        padata=padata,
        crealm=rep_crealm,
        cname=rep_cname,
        ticket=ticket,
        enc_part=EncryptedData(reply_key.keytype, cipher),
    )


def _read_pa_tgs_req(
    ctx: RealmContext,
    req: KdcReq,
    kdc_time: int,
    rlog: RequestLog,
    peer_address: str | None,
) -> tuple[EncTicketPart, Ticket, str | None, EncryptionKey, EncryptionKey | None]:
    """Decrypt and check the TGT and authenticator of PA-TGS-REQ.

    Returns the decrypted TGT, the ticket as sent, the name of its server, its
    session key and the authenticator subkey (or None).
    """
    pa_value = next((pa.padata_value for pa in req.padata if pa.padata_type == PA_TGS_REQ), None)
    if pa_value is None:
        raise KdcError(KDC_ERR_PADATA_TYPE_NOSUPP, "PROCESS_TGS")
    try:
        ap_req: ApReq = decode_ap_req(pa_value)
    except Asn1Error:
        raise KdcError(KRB_ERR_GENERIC, "PROCESS_TGS") from None
    if ap_req.ap_options & (APOptions.USE_SESSION_KEY | APOptions.MUTUAL_REQUIRED):
        raise KdcError(KDC_ERR_POLICY, "PROCESS_TGS")
    header = ap_req.ticket
    header_server_name = store_name(header.sname, header.realm)
    header_server = _lookup_header_server(ctx, header_server_name)

    enc = header.enc_part
    if enc.kvno:
        key = header_server.keys_by_kvno.get((enc.kvno, enc.etype))
    else:
        key = header_server.current_keys.get(enc.etype)
    if key is None:
        raise KdcError(KRB_AP_ERR_BADKEYVER, "PROCESS_TGS")
    tgt = _decrypt_ticket(ctx, enc, key.key)
    rlog.cname = store_name(tgt.cname, tgt.crealm) or wire_name_text(tgt.cname, tgt.crealm)
    rlog.tgt_client = (tgt.crealm, tgt.cname)

    session = tgt.key
    try:
        session_et = enctype_by_id(session.keytype)
        auth_plain = session_et.decrypt(
            session.keyvalue, KU_TGS_REQ_AUTH, ap_req.authenticator.cipher
        )
    except CryptoError:
        raise KdcError(KRB_AP_ERR_BAD_INTEGRITY, "PROCESS_TGS") from None
    try:
        auth: Authenticator = decode_authenticator(auth_plain)
    except Asn1Error:
        raise KdcError(KRB_ERR_GENERIC, "PROCESS_TGS") from None
    if auth.crealm != tgt.crealm or auth.cname.components != tgt.cname.components:
        raise KdcError(KRB_AP_ERR_BADMATCH, "PROCESS_TGS")
    if tgt.caddr and peer_address is not None and not _address_listed(peer_address, tgt.caddr):
        raise KdcError(KRB_AP_ERR_BADADDR, "PROCESS_TGS")
    skew = ctx.clock_skew
    if (tgt.starttime or tgt.authtime) > kdc_time + skew:
        raise KdcError(KRB_AP_ERR_TKT_NYV, "PROCESS_TGS")
    if kdc_time > tgt.endtime + skew:
        raise KdcError(KRB_AP_ERR_TKT_EXPIRED, "PROCESS_TGS")
    if abs(auth.ctime - kdc_time) > skew:
        raise KdcError(KRB_AP_ERR_SKEW, "PROCESS_TGS")
    _verify_body_checksum(req, auth, session)
    return tgt, header, header_server_name, session, auth.subkey


def _find_fast(
    ctx: RealmContext,
    req: KdcReq,
    now: float,
    rlog: RequestLog,
    subkey: EncryptionKey | None,
    session: EncryptionKey,
) -> tuple[KdcReq, FastState | None]:
    """The armored TGS-REQ unwrapped: armored by its own PA-TGS-REQ, whose AP-REQ
    bytes the req-checksum covers (MIT ``kdc_find_fast`` from ``do_tgs_req``)."""
    pa_tgs_req = next(pa.padata_value for pa in req.padata if pa.padata_type == PA_TGS_REQ)
    return find_fast(ctx, req, now, rlog, checksummed=pa_tgs_req, tgs_keys=(subkey, session))


def _decrypt_ticket(ctx: RealmContext, enc: EncryptedData, key: bytes) -> EncTicketPart:
    """The EncTicketPart of a presented ticket: from the realm's ticket cache when
    these bytes were decrypted under this key before (see ``ticket_cache``)."""
    cacheable = type(enc.cipher) is bytes
    if cacheable:
        tgt = ctx.tickets.get(enc.etype, key, enc.cipher)
        if tgt is not None:
            return tgt
    try:
        plain = enctype_by_id(enc.etype).decrypt(key, KU_TICKET, enc.cipher)
    except CryptoError:
        raise KdcError(KRB_AP_ERR_BAD_INTEGRITY, "PROCESS_TGS") from None
    try:
        tgt = decode_enc_ticket_part(plain)
    except Asn1Error:
        raise KdcError(KRB_ERR_GENERIC, "PROCESS_TGS") from None
    if cacheable:
        ctx.tickets.put(enc.etype, key, enc.cipher, tgt)
    return tgt


def _verify_body_checksum(req: KdcReq, auth: Authenticator, session: EncryptionKey) -> None:
    """The authenticator checksum must be keyed and match the request body as sent."""
    if auth.cksum is None:
        raise KdcError(KRB_AP_ERR_INAPP_CKSUM, "PROCESS_TGS")
    try:
        ctype = checksum_by_type(auth.cksum.cksumtype)
    except UnsupportedChecksum:
        raise KdcError(KDC_ERR_SUMTYPE_NOSUPP, "PROCESS_TGS") from None
    if not ctype.keyed:
        raise KdcError(KRB_AP_ERR_INAPP_CKSUM, "PROCESS_TGS")
    if ctype.enctype is not None and ctype.enctype.etype != session.keytype:
        raise KdcError(KRB_AP_ERR_INAPP_CKSUM, "PROCESS_TGS")
    body_der = req.req_body_der if req.req_body_der is not None else encode(req.req_body)
    try:
        ctype.verify(session.keyvalue, KU_TGS_REQ_AUTH_CKSUM, body_der, auth.cksum.checksum)
    except CryptoError:
        raise KdcError(KRB_AP_ERR_BAD_INTEGRITY, "PROCESS_TGS") from None


def _lookup_header_server(ctx: RealmContext, name: str | None) -> CachedPrincipal:
    if name is None:  # no principal can have that name (see ``store_name``)
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "PROCESS_TGS")
    try:
        entry = ctx.principals.get(name)
    except BackendError:
        raise KdcError(KDC_ERR_SVC_UNAVAILABLE, "PROCESS_TGS") from None
    if entry is None or entry.principal.disabled or not entry.principal.allow_tix:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "PROCESS_TGS")
    return entry


def _lookup_server(
    ctx: RealmContext, name: str | None, body: KdcReqBody, options: int
) -> CachedPrincipal:
    """The requested server, or for a realm we have no key for, the nearest TGS on
    the way there (MIT ``search_sprinc``/``find_alternate_tgs``)."""
    if name is None:  # no principal can have that name: not found, and not echoed back
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "LOOKING_UP_SERVER", echo=False)
    entry = _get_principal(ctx, name)
    if entry is not None:
        return entry
    if body.sname is None or options & _NO_REFERRAL:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "LOOKING_UP_SERVER")
    components = body.sname.components
    if not _is_tgs(components):
        # MIT find_referral_tgs: a host-based service of another realm, by [domain_realm]
        target = _host_referral_realm(ctx, body, options)
        if target is None:
            raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "LOOKING_UP_SERVER")
        components = ("krbtgt", target)
        tgs_name = store_name(PrincipalName(NT_SRV_INST, components), body.realm)
        entry = _get_principal(ctx, tgs_name) if tgs_name else None
        if entry is not None:
            return entry
    if _is_tgs(components) and components[1] != body.realm:
        path = realm_path(body.realm, components[1], ctx.capaths)
        for hop in reversed(path[1:-1]):
            hop_name = store_name(PrincipalName(NT_SRV_INST, ("krbtgt", hop)), body.realm)
            entry = _get_principal(ctx, hop_name) if hop_name else None
            if entry is not None:
                return entry
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "UNKNOWN_SERVER")
    raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "LOOKING_UP_SERVER")


def _host_referral_realm(ctx: RealmContext, body: KdcReqBody, options: int) -> str | None:
    """MIT ``is_referral_req``: CANONICALIZE, a two-part host-based (or service-instance)
    name whose host is a FQDN that ``[domain_realm]`` puts in another realm."""
    sname = body.sname
    if sname is None or not options & _O.CANONICALIZE or len(sname.components) != 2:
        return None
    if sname.name_type not in (NT_SRV_HST, NT_SRV_INST) or "." not in sname.components[1]:
        return None
    realm = host_realm(sname.components[1], ctx.domain_realm)
    return realm if realm and realm != body.realm else None


def _get_principal(ctx: RealmContext, name: str) -> CachedPrincipal | None:
    try:
        return ctx.principals.get(name)
    except BackendError:
        raise KdcError(KDC_ERR_SVC_UNAVAILABLE, "LOOKING_UP_SERVER") from None


def _transited(tgt: EncTicketPart, header: Ticket, crossrealm: bool) -> TransitedEncoding:
    """The new ticket's transited field (MIT ``add_to_transited`` in do_tgs_req.c):
    the TGT's, plus the realm that issued a cross-realm TGT unless it is the client's."""
    if not crossrealm or header.realm == tgt.crealm:
        return tgt.transited
    if tgt.transited.tr_type != DOMAIN_X500_COMPRESS:
        raise KdcError(KDC_ERR_TRTYPE_NOSUPP, "VALIDATE_TRANSIT_TYPE")
    return TransitedEncoding(
        DOMAIN_X500_COMPRESS, add_to_transited(tgt.transited.contents, header.realm)
    )


def _check_server(options: int, server: CachedPrincipal, kdc_time: int) -> None:
    """MIT ``check_tgs_svc_policy``: locked-out, user-only, expired, non-renewable."""
    sp = server.principal
    if options & _O.RENEWABLE and not sp.allow_renewable:
        raise KdcError(KDC_ERR_POLICY, "NON-RENEWABLE TICKET")
    if sp.disabled or not sp.allow_tix:
        raise KdcError(KDC_ERR_S_PRINCIPAL_UNKNOWN, "SERVER LOCKED OUT")
    if not sp.allow_svr:
        raise KdcError(KDC_ERR_MUST_USE_USER2USER, "SERVER NOT ALLOWED")
    if sp.expiration and kdc_time > sp.expiration:
        raise KdcError(KDC_ERR_SERVICE_EXP, "SERVICE EXPIRED")


def _ticket_times(
    ctx: RealmContext,
    options: int,
    body: KdcReqBody,
    tgt: EncTicketPart,
    sp: Principal,
    kdc_time: int,
    tgt_flags: int,
) -> tuple[int, int, int | None]:
    """Start, end and renew-till of the new ticket (MIT ``compute_ticket_times``).

    VALIDATE keeps the TGT's times; RENEW gives the TGT's lifetime again from now,
    but not past its renew-till; otherwise the end is capped by the request, the
    service's and the realm's maximum life and the TGT's own end.
    """
    if options & _O.VALIDATE:
        return tgt.starttime or tgt.authtime, tgt.endtime, tgt.renew_till
    starttime = body.from_time if options & _O.POSTDATED and body.from_time else kdc_time
    if options & _O.RENEW:
        life = tgt.endtime - (tgt.starttime or tgt.authtime)
        endtime = min(tgt.renew_till or 0, starttime + life)
    else:
        endtime = policy.ticket_endtime(
            starttime, body.till, (sp.max_life, ctx.max_life), limit=tgt.endtime
        )
    renew_till = policy.renew_till(
        options,
        starttime=starttime,
        endtime=endtime,
        till=body.till,
        rtime=body.rtime,
        max_renewable_lives=(sp.max_renewable_life, ctx.max_renewable_life),
        allowed=sp.allow_renewable and bool(tgt_flags & FLAG.RENEWABLE),
        tgt_renew_till=tgt.renew_till,
    )
    return starttime, endtime, renew_till


def _renewable(flags: int, renew_till: int | None) -> int:
    """``flags`` with RENEWABLE exactly when the ticket has a renew-till."""
    return flags | _RENEWABLE if renew_till is not None else flags & ~_RENEWABLE


def _is_tgs(components: tuple[str, ...]) -> bool:
    return len(components) == 2 and components[0] == "krbtgt"


def _address_listed(peer: str, addresses: tuple[HostAddress, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    wanted = ADDRTYPE_IPV4 if ip.version == 4 else ADDRTYPE_IPV6
    return any(a.addr_type == wanted and a.address == ip.packed for a in addresses)
