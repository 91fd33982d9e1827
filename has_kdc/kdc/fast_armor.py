"""FAST (RFC 6113): the armored request unwrapped, the armored reply and error built.

Follows MIT krb5kdc (src/kdc/fast_util.c, kdc_preauth_ec.c), so MIT clients see what
they see from MIT:

- the armor key of an AS-REQ comes from an AP-REQ armor (type 1) whose ticket is a
  TGT of this realm and whose authenticator carries a subkey:
  KRB-FX-CF2(subkey, "subkeyarmor", ticket session key, "ticketarmor"); a TGS-REQ is
  armored by its own PA-TGS-REQ (authenticator subkey and TGT session key), and an
  AP-REQ armor there is refused (RFC 6113 §5.4.1.1);
- ``req-checksum`` (usage 50) covers the outer req-body (AS) or the PA-TGS-REQ's
  AP-REQ (TGS) as sent; the inner KrbFastReq (usage 51) replaces the outer request;
- the reply's PA-FX-FAST holds a KrbFastResponse (usage 52) with the reply padata,
  a fresh strengthen key and ``finished`` (a checksum of the ticket, usage 53), and
  the reply key becomes KRB-FX-CF2(strengthen key, "strengthenkey", reply key,
  "replykey");
- an error to an armored request keeps its code and e-text outside; its e-data is
  one PA-FX-FAST whose KrbFastResponse holds the hints and a PA-FX-ERROR (the error
  without e-data), as MIT's ``kdc_fast_handle_error``;
- PA-ENCRYPTED-CHALLENGE (usages 54 and 55) is offered and accepted only inside FAST.

Every failure before the armor key exists is a plain KRB-ERROR; after it, armored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from has_kdc.asn1.codec import (
    decode_ap_req,
    decode_authenticator,
    decode_enc_ticket_part,
    decode_encrypted_data,
    decode_pa_enc_ts_enc,
    encode,
)
from has_kdc.asn1.constants import (
    KDC_ERR_POLICY,
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_SERVER_NOMATCH,
    KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KRB_ERR_GENERIC,
    KU_AP_REQ_AUTH,
    KU_ENC_CHALLENGE_CLIENT,
    KU_ENC_CHALLENGE_KDC,
    KU_FAST_ENC,
    KU_FAST_FINISHED,
    KU_FAST_REP,
    KU_FAST_REQ_CHKSUM,
    KU_TICKET,
    NT_WELLKNOWN,
    PA_ENCRYPTED_CHALLENGE,
    PA_FX_ERROR,
    PA_FX_FAST,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.fx import (
    decode_krb_fast_req,
    decode_pa_fx_fast_request,
    encode_krb_fast_response,
    encode_pa_fx_fast_reply,
)
from has_kdc.asn1.messages import (
    Checksum,
    EncryptedData,
    EncryptionKey,
    KdcReq,
    KdcReqBody,
    KrbFastFinished,
    KrbFastResponse,
    PAData,
    PaEncTsEnc,
    PrincipalName,
    Ticket,
)
from has_kdc.backend.errors import BackendError
from has_kdc.crypto import (
    CryptoError,
    UnsupportedChecksum,
    cf2_mixed,
    checksum_by_type,
    checksum_for_enctype,
    enctype_by_id,
)
from has_kdc.kdc.context import RealmContext, RequestLog
from has_kdc.kdc.errors import KdcError

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_REALM",
    "FX_FAST_ARMOR_AP_REQUEST",
    "HIDE_CLIENT_NAMES",
    "FastState",
    "armor_key_from",
    "encrypted_challenge_reply",
    "fast_error_e_data",
    "fast_reply_padata",
    "find_fast",
    "strengthen",
    "verify_encrypted_challenge",
    "visible_client",
]

FX_FAST_ARMOR_AP_REQUEST = 1
#: FastOptions bits 0-15 are critical; of them only hide-client-names (bit 1) is
#: known. MIT's UNSUPPORTED_CRITICAL_FAST_OPTIONS.
UNSUPPORTED_CRITICAL_FAST_OPTIONS = 0xBFFF0000
#: hide-client-names: the client's name appears only inside the armor; outside it
#: is the anonymous principal (RFC 6113 §5.4.1, MIT ``kdc_fast_hide_client``).
HIDE_CLIENT_NAMES = 0x40000000
ANONYMOUS_REALM = "WELLKNOWN:ANONYMOUS"
ANONYMOUS = PrincipalName(NT_WELLKNOWN, ("WELLKNOWN", "ANONYMOUS"))
#: The "cookie" MIT sends when no pre-authentication module has state to keep: the
#: client echoes it and neither side reads it.
MIT_COOKIE = b"MIT"
_STATUS = "FIND_FAST"


@dataclass(slots=True)
class FastState:
    """An armored request: its armor key, the nonce and FAST options of the inner
    request, and that request's body once it is known (an error names its client)."""

    armor_key: EncryptionKey
    nonce: int
    fast_options: int = 0
    body: KdcReqBody | None = None


def visible_client(
    fast: FastState | None, crealm: str, cname: PrincipalName
) -> tuple[str, PrincipalName]:
    """The client a reply or error names outside the armor: the anonymous principal
    when the armored request asked to hide client names, else the client."""
    if fast is not None and fast.fast_options & HIDE_CLIENT_NAMES:
        return ANONYMOUS_REALM, ANONYMOUS
    return crealm, cname


def armor_key_from(subkey: EncryptionKey, session: EncryptionKey) -> EncryptionKey:
    """KRB-FX-CF2(subkey, ticket session key, "subkeyarmor", "ticketarmor")."""
    value = cf2_mixed(
        subkey.keytype,
        subkey.keyvalue,
        b"subkeyarmor",
        session.keytype,
        session.keyvalue,
        b"ticketarmor",
    )
    return EncryptionKey(subkey.keytype, value)


def find_fast(
    ctx: RealmContext,
    req: KdcReq,
    now: float,
    rlog: RequestLog,
    *,
    checksummed: bytes,
    tgs_keys: tuple[EncryptionKey | None, EncryptionKey] | None = None,
) -> tuple[KdcReq, FastState | None]:
    """The request to process and its FAST state (None when not armored).

    ``checksummed`` is what req-checksum covers: the outer req-body as sent (AS) or
    the PA-TGS-REQ value (TGS). ``tgs_keys`` is (authenticator subkey, TGT session
    key) of a TGS-REQ. Raises ``KdcError`` (armored once the armor key is known).
    """
    for pa in req.padata:
        if pa.padata_type == PA_FX_FAST:
            value = pa.padata_value
            break
    else:
        return req, None
    try:
        armored = decode_pa_fx_fast_request(value)
    except Asn1Error:
        raise KdcError(KRB_ERR_GENERIC, _STATUS) from None
    try:
        if armored.armor is not None:
            if armored.armor.armor_type != FX_FAST_ARMOR_AP_REQUEST or tgs_keys is not None:
                raise KdcError(KDC_ERR_PREAUTH_FAILED, _STATUS)
            armor_key = _ap_request_armor(ctx, armored.armor.armor_value, int(now))
        elif tgs_keys is not None and tgs_keys[0] is not None:
            armor_key = armor_key_from(tgs_keys[0], tgs_keys[1])
        else:
            raise KdcError(KDC_ERR_PREAUTH_FAILED, _STATUS)
    except CryptoError:  # a subkey or session key of an enctype we do not implement
        raise KdcError(KRB_ERR_GENERIC, _STATUS) from None
    state = rlog.fast = FastState(armor_key, req.req_body.nonce)
    try:
        et = enctype_by_id(armor_key.keytype)
        plain = et.decrypt(armor_key.keyvalue, KU_FAST_ENC, armored.enc_fast_req.cipher)
    except CryptoError:
        raise KdcError(KRB_AP_ERR_BAD_INTEGRITY, _STATUS) from None
    try:
        fast_req = decode_krb_fast_req(plain)
    except Asn1Error:
        raise KdcError(KRB_ERR_GENERIC, _STATUS) from None
    cksum = armored.req_checksum
    try:
        ctype = checksum_by_type(cksum.cksumtype)
    except UnsupportedChecksum:
        raise KdcError(KRB_AP_ERR_INAPP_CKSUM, _STATUS) from None
    if not ctype.keyed:
        raise KdcError(KDC_ERR_POLICY, _STATUS)
    try:
        ctype.verify(armor_key.keyvalue, KU_FAST_REQ_CHKSUM, checksummed, cksum.checksum)
    except CryptoError:
        raise KdcError(KRB_AP_ERR_MODIFIED, _STATUS) from None
    state.nonce, state.fast_options = fast_req.req_body.nonce, fast_req.fast_options
    state.body = fast_req.req_body
    if fast_req.fast_options & UNSUPPORTED_CRITICAL_FAST_OPTIONS:
        raise KdcError(KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS, _STATUS)
    inner = KdcReq(
        msg_type=req.msg_type,
        req_body=fast_req.req_body,
        padata=fast_req.padata,
        pvno=req.pvno,
        req_body_der=fast_req.req_body_der,
    )
    return inner, state


def _ap_request_armor(ctx: RealmContext, value: bytes, kdc_time: int) -> EncryptionKey:
    """The armor key of an AP-REQ armor: a TGT of this realm and a fresh authenticator
    with a subkey (MIT ``armor_ap_request``: ``krb5_rd_req`` without a replay cache)."""
    try:
        ap_req = decode_ap_req(value)
    except Asn1Error:
        raise KdcError(KRB_ERR_GENERIC, _STATUS) from None
    ticket: Ticket = ap_req.ticket
    if ticket.sname.components != ("krbtgt", ctx.realm):
        raise KdcError(KDC_ERR_SERVER_NOMATCH, _STATUS)
    try:
        tgs = ctx.principals.get(f"krbtgt/{ctx.realm}@{ctx.realm}")
    except BackendError:
        raise KdcError(KRB_ERR_GENERIC, _STATUS) from None
    enc = ticket.enc_part
    key = None
    if tgs is not None:
        if enc.kvno:
            key = tgs.keys_by_kvno.get((enc.kvno, enc.etype))
        else:
            key = tgs.current_keys.get(enc.etype)
    if key is None:
        raise KdcError(KRB_AP_ERR_BADKEYVER, _STATUS)
    try:
        tkt = decode_enc_ticket_part(
            enctype_by_id(enc.etype).decrypt(key.key, KU_TICKET, enc.cipher)
        )
        session = tkt.key
        auth = decode_authenticator(
            enctype_by_id(session.keytype).decrypt(
                session.keyvalue, KU_AP_REQ_AUTH, ap_req.authenticator.cipher
            )
        )
    except (CryptoError, Asn1Error):
        raise KdcError(KRB_AP_ERR_BAD_INTEGRITY, _STATUS) from None
    if auth.crealm != tkt.crealm or auth.cname.components != tkt.cname.components:
        raise KdcError(KRB_AP_ERR_BADMATCH, _STATUS)
    skew = ctx.clock_skew
    if (tkt.starttime or tkt.authtime) > kdc_time + skew:
        raise KdcError(KRB_AP_ERR_TKT_NYV, _STATUS)
    if kdc_time > tkt.endtime + skew:
        raise KdcError(KRB_AP_ERR_TKT_EXPIRED, _STATUS)
    if abs(auth.ctime - kdc_time) > skew:
        raise KdcError(KRB_AP_ERR_SKEW, _STATUS)
    if auth.subkey is None:
        raise KdcError(KDC_ERR_POLICY, _STATUS)
    return armor_key_from(auth.subkey, session)


# ---------------------------------------------------------------- encrypted challenge


def _challenge_key(armor_key: EncryptionKey, pepper: bytes, client_key: EncryptionKey) -> bytes:
    return cf2_mixed(
        armor_key.keytype,
        armor_key.keyvalue,
        pepper,
        client_key.keytype,
        client_key.keyvalue,
        b"challengelongterm",
    )


def verify_encrypted_challenge(
    state: FastState | None,
    value: bytes,
    client_keys: tuple[EncryptionKey, ...],
    kdc_time: int,
    clock_skew: int,
    failed: KdcError,
) -> EncryptionKey:
    """MIT ``ec_verify``: the client's challenge, PA-ENC-TS-ENC under
    KRB-FX-CF2(armor key, client key, "clientchallengearmor", "challengelongterm")
    (usage 54), tried with each of the client's keys; returns the key that worked.
    ``failed`` is raised for a wrong password (PREAUTH_FAILED with the hints)."""
    if state is None:
        raise failed
    try:
        enc = decode_encrypted_data(value)
    except Asn1Error:
        raise failed from None
    armor = state.armor_key
    for client_key in client_keys:
        try:
            key = _challenge_key(armor, b"clientchallengearmor", client_key)
            plain = enctype_by_id(armor.keytype).decrypt(key, KU_ENC_CHALLENGE_CLIENT, enc.cipher)
        except CryptoError:
            continue
        try:
            stamp = decode_pa_enc_ts_enc(plain)
        except Asn1Error:
            raise failed from None
        if abs(stamp.patimestamp - kdc_time) > clock_skew:
            raise KdcError(KRB_AP_ERR_SKEW, "PREAUTH_FAILED")
        return client_key
    raise failed


def encrypted_challenge_reply(state: FastState, client_key: EncryptionKey, now: float) -> PAData:
    """MIT ``ec_return``: the KDC's own challenge, its time under
    KRB-FX-CF2(armor key, client key, "kdcchallengearmor", "challengelongterm")
    (usage 55), which proves to the client that the KDC knows its key."""
    armor = state.armor_key
    key = _challenge_key(armor, b"kdcchallengearmor", client_key)
    seconds = int(now)
    stamp = encode(PaEncTsEnc(seconds, min(int((now - seconds) * 1_000_000), 999_999)))
    cipher = enctype_by_id(armor.keytype).encrypt(key, KU_ENC_CHALLENGE_KDC, stamp)
    return PAData(PA_ENCRYPTED_CHALLENGE, encode(EncryptedData(armor.keytype, cipher)))


# ---------------------------------------------------------------- the armored answer


def _encrypt_response(state: FastState, response: KrbFastResponse) -> bytes:
    armor = state.armor_key
    cipher = enctype_by_id(armor.keytype).encrypt(
        armor.keyvalue, KU_FAST_REP, encode_krb_fast_response(response)
    )
    return encode_pa_fx_fast_reply(EncryptedData(armor.keytype, cipher))


def strengthen(reply_key: EncryptionKey) -> tuple[EncryptionKey, EncryptionKey]:
    """A fresh strengthen key of the reply key's enctype, and the reply key it makes:
    KRB-FX-CF2(strengthen key, reply key, "strengthenkey", "replykey")."""
    et = enctype_by_id(reply_key.keytype)
    strengthen_key = EncryptionKey(reply_key.keytype, et.random_key())
    value = cf2_mixed(
        strengthen_key.keytype,
        strengthen_key.keyvalue,
        b"strengthenkey",
        reply_key.keytype,
        reply_key.keyvalue,
        b"replykey",
    )
    return strengthen_key, EncryptionKey(reply_key.keytype, value)


def fast_reply_padata(
    state: FastState,
    *,
    padata: tuple[PAData, ...],
    strengthen_key: EncryptionKey,
    ticket: Ticket,
    crealm: str,
    cname: PrincipalName,
    now: float | None = None,
) -> tuple[PAData, ...]:
    """The reply's padata: one PA-FX-FAST holding ``padata``, the strengthen key and
    ``finished`` with the ticket's checksum (MIT ``kdc_fast_response_handle_padata``)."""
    moment = time.time() if now is None else now
    seconds = int(moment)
    armor = state.armor_key
    ctype = checksum_for_enctype(armor.keytype)
    finished = KrbFastFinished(
        timestamp=seconds,
        usec=min(int((moment - seconds) * 1_000_000), 999_999),
        crealm=crealm,
        cname=cname,
        ticket_checksum=Checksum(
            ctype.cksumtype, ctype.checksum(armor.keyvalue, KU_FAST_FINISHED, encode(ticket))
        ),
    )
    response = KrbFastResponse(
        padata=padata, strengthen_key=strengthen_key, finished=finished, nonce=state.nonce
    )
    return (PAData(PA_FX_FAST, _encrypt_response(state, response)),)


def fast_error_e_data(
    state: FastState, hints: tuple[PAData, ...], inner_error: bytes
) -> tuple[PAData, ...]:
    """The e-data of an error to an armored request: one PA-FX-FAST whose response
    holds the hints and PA-FX-ERROR (the error itself, without e-data)."""
    response = KrbFastResponse(padata=(*hints, PAData(PA_FX_ERROR, inner_error)), nonce=state.nonce)
    return (PAData(PA_FX_FAST, _encrypt_response(state, response)),)
