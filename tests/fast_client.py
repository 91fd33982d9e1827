"""A FAST (RFC 6113) client for tests: armored AS-REQs and TGS-REQs, armored replies read.

Written from the RFC, independently of ``has_kdc.kdc.fast_armor`` except for the
key mixing (``has_kdc.crypto.cf2``, itself checked against MIT's vectors), so the
same requests can be sent to MIT krb5kdc and to has-kdc and the answers compared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from has_kdc.asn1.codec import (
    decode_enc_kdc_rep_part,
    decode_encrypted_data,
    decode_kdc_rep,
    decode_krb_error,
    decode_method_data,
    decode_pa_enc_ts_enc,
    encode,
)
from has_kdc.asn1.constants import (
    KU_AP_REQ_AUTH,
    KU_AS_REP_ENC_PART,
    KU_ENC_CHALLENGE_CLIENT,
    KU_ENC_CHALLENGE_KDC,
    KU_FAST_ENC,
    KU_FAST_FINISHED,
    KU_FAST_REP,
    KU_FAST_REQ_CHKSUM,
    KU_TGS_REP_ENC_PART_SUBKEY,
    PA_ENCRYPTED_CHALLENGE,
    PA_FX_ERROR,
    PA_FX_FAST,
    PA_TGS_REQ,
)
from has_kdc.asn1.fx import (
    decode_krb_fast_response,
    decode_pa_fx_fast_reply,
    encode_krb_fast_req,
    encode_pa_fx_fast_request,
)
from has_kdc.asn1.messages import (
    ApReq,
    Authenticator,
    Checksum,
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    KdcRep,
    KdcReq,
    KrbError,
    KrbFastArmor,
    KrbFastArmoredReq,
    KrbFastReq,
    KrbFastResponse,
    PAData,
    PaEncTsEnc,
)
from has_kdc.client.kdc_client import Credentials, build_tgs_req
from has_kdc.crypto import cf2_mixed, checksum_for_enctype, enctype_by_id

KRB_ERROR_TAG = 0x7E
HIDE_CLIENT_NAMES = 0x40000000  # FastOptions bit 1


def cf2_key(k1: EncryptionKey, p1: bytes, k2: EncryptionKey, p2: bytes) -> EncryptionKey:
    return EncryptionKey(
        k1.keytype, cf2_mixed(k1.keytype, k1.keyvalue, p1, k2.keytype, k2.keyvalue, p2)
    )


def random_key(etype: int) -> EncryptionKey:
    return EncryptionKey(etype, enctype_by_id(etype).random_key())


@dataclass
class Armor:
    """An armor: the AP-REQ armor (None for TGS, armored by PA-TGS-REQ) and its key."""

    armor_key: EncryptionKey
    ap_req: bytes | None


def ap_req_armor(tgt: Credentials, now: float | None = None, *, subkey: bool = True) -> Armor:
    """FX-FAST-ARMOR-AP-REQUEST from ``tgt`` (MIT kinit -T): an AP-REQ with a fresh
    subkey; armor key KRB-FX-CF2(subkey, session key, "subkeyarmor", "ticketarmor")."""
    moment = time.time() if now is None else now
    session = tgt.session_key
    sub = random_key(session.keytype)
    seconds = int(moment)
    auth = Authenticator(
        crealm=tgt.crealm,
        cname=tgt.cname,
        cusec=int((moment - seconds) * 1e6) % 1_000_000,
        ctime=seconds,
        subkey=sub if subkey else None,
    )
    et = enctype_by_id(session.keytype)
    cipher = et.encrypt(session.keyvalue, KU_AP_REQ_AUTH, encode(auth))
    ap_req = ApReq(
        ap_options=0, ticket=tgt.ticket, authenticator=EncryptedData(session.keytype, cipher)
    )
    return Armor(cf2_key(sub, b"subkeyarmor", session, b"ticketarmor"), encode(ap_req))


def encrypted_challenge(armor_key: EncryptionKey, client_key: EncryptionKey, now: float) -> PAData:
    """PA-ENCRYPTED-CHALLENGE from the client (usage 54)."""
    key = cf2_key(armor_key, b"clientchallengearmor", client_key, b"challengelongterm")
    seconds = int(now)
    stamp = encode(PaEncTsEnc(seconds, int((now - seconds) * 1e6) % 1_000_000))
    cipher = enctype_by_id(key.keytype).encrypt(key.keyvalue, KU_ENC_CHALLENGE_CLIENT, stamp)
    return PAData(PA_ENCRYPTED_CHALLENGE, encode(EncryptedData(key.keytype, cipher)))


def kdc_challenge_time(armor_key: EncryptionKey, client_key: EncryptionKey, value: bytes) -> int:
    """The time in the KDC's PA-ENCRYPTED-CHALLENGE (usage 55); raises if it does not decrypt."""
    key = cf2_key(armor_key, b"kdcchallengearmor", client_key, b"challengelongterm")
    enc = decode_encrypted_data(value)
    plain = enctype_by_id(key.keytype).decrypt(key.keyvalue, KU_ENC_CHALLENGE_KDC, enc.cipher)
    return decode_pa_enc_ts_enc(plain).patimestamp


def armor_request(
    req: KdcReq,
    armor: Armor,
    *,
    inner_padata: Sequence[PAData] = (),
    fast_options: int = 0,
    checksummed: bytes | None = None,
    tamper_checksum: bool = False,
) -> KdcReq:
    """``req`` armored: its body and ``inner_padata`` inside KrbFastReq (usage 51),
    req-checksum (usage 50) over the outer body (AS) or ``checksummed`` (TGS: the
    PA-TGS-REQ), the outer padata the request's own plus PA-FX-FAST."""
    key = armor.armor_key
    et = enctype_by_id(key.keytype)
    fast_req = KrbFastReq(
        fast_options=fast_options, padata=tuple(inner_padata), req_body=req.req_body
    )
    enc = EncryptedData(
        key.keytype, et.encrypt(key.keyvalue, KU_FAST_ENC, encode_krb_fast_req(fast_req))
    )
    data = checksummed if checksummed is not None else encode(req.req_body)
    ctype = checksum_for_enctype(key.keytype)
    value = ctype.checksum(key.keyvalue, KU_FAST_REQ_CHKSUM, data)
    if tamper_checksum:
        value = bytes((value[0] ^ 1,)) + value[1:]
    armored = KrbFastArmoredReq(
        armor=None if armor.ap_req is None else KrbFastArmor(1, armor.ap_req),
        req_checksum=Checksum(ctype.cksumtype, value),
        enc_fast_req=enc,
    )
    padata = (*req.padata, PAData(PA_FX_FAST, encode_pa_fx_fast_request(armored)))
    return KdcReq(msg_type=req.msg_type, req_body=req.req_body, padata=padata)


def fast_response(armor_key: EncryptionKey, padata: Sequence[PAData]) -> KrbFastResponse:
    """The KrbFastResponse of the PA-FX-FAST in ``padata`` (usage 52)."""
    value = next(p.padata_value for p in padata if p.padata_type == PA_FX_FAST)
    enc = decode_pa_fx_fast_reply(value)
    plain = enctype_by_id(armor_key.keytype).decrypt(armor_key.keyvalue, KU_FAST_REP, enc.cipher)
    return decode_krb_fast_response(plain)


@dataclass
class ArmoredError:
    outer: KrbError
    response: KrbFastResponse
    inner: KrbError

    @property
    def hint_types(self) -> list[int]:
        return [p.padata_type for p in self.response.padata]


def read_error(data: bytes, armor_key: EncryptionKey) -> ArmoredError:
    outer = decode_krb_error(data)
    response = fast_response(armor_key, decode_method_data(outer.e_data or b""))
    inner_der = next(p.padata_value for p in response.padata if p.padata_type == PA_FX_ERROR)
    return ArmoredError(outer, response, decode_krb_error(inner_der))


@dataclass
class ArmoredReply:
    rep: KdcRep
    response: KrbFastResponse
    enc_part: EncKdcRepPart
    reply_key: EncryptionKey


def read_as_rep(data: bytes, armor_key: EncryptionKey, client_key: EncryptionKey) -> ArmoredReply:
    """An armored AS-REP: the FAST response checked (finished over the ticket), the
    reply decrypted under KRB-FX-CF2(strengthen key, client key)."""
    rep = decode_kdc_rep(data)
    response = fast_response(armor_key, rep.padata)
    check_finished(response, armor_key, rep)
    reply_key = client_key
    if response.strengthen_key is not None:
        reply_key = cf2_key(response.strengthen_key, b"strengthenkey", client_key, b"replykey")
    et = enctype_by_id(rep.enc_part.etype)
    enc = decode_enc_kdc_rep_part(
        et.decrypt(reply_key.keyvalue, KU_AS_REP_ENC_PART, rep.enc_part.cipher)
    )
    return ArmoredReply(rep, response, enc, reply_key)


def check_finished(response: KrbFastResponse, armor_key: EncryptionKey, rep: KdcRep) -> None:
    finished = response.finished
    assert finished is not None, "FAST reply without finished"
    ctype = checksum_for_enctype(armor_key.keytype)
    assert finished.ticket_checksum.cksumtype == ctype.cksumtype
    ticket_der = rep.ticket.ticket_der or encode(rep.ticket)
    ctype.verify(
        armor_key.keyvalue, KU_FAST_FINISHED, ticket_der, finished.ticket_checksum.checksum
    )
    if rep.crealm != "WELLKNOWN:ANONYMOUS":  # hide-client-names: the name is only inside
        assert (finished.crealm, finished.cname) == (rep.crealm, rep.cname)


def armored_tgs_req(
    tgt: Credentials,
    req_sname,
    *,
    realm: str,
    now: float,
    ap_req_armor_from: Credentials | None = None,
    fast_options: int = 0,
) -> tuple[KdcReq, Armor, EncryptionKey]:
    """A TGS-REQ armored by its own PA-TGS-REQ (RFC 6113 §5.4.1.1): authenticator
    subkey + TGT session key. With ``ap_req_armor_from``, an AP-REQ armor is added,
    which a KDC must refuse."""
    subkey = random_key(tgt.session_key.keytype)
    plain = build_tgs_req(tgt, req_sname, realm=realm, subkey=subkey, now=now)
    pa_tgs_req = next(p.padata_value for p in plain.padata if p.padata_type == PA_TGS_REQ)
    armor = Armor(cf2_key(subkey, b"subkeyarmor", tgt.session_key, b"ticketarmor"), None)
    if ap_req_armor_from is not None:
        armor = Armor(armor.armor_key, ap_req_armor(ap_req_armor_from, now).ap_req)
    return (
        armor_request(plain, armor, checksummed=pa_tgs_req, fast_options=fast_options),
        armor,
        subkey,
    )


def read_tgs_rep(data: bytes, armor_key: EncryptionKey, subkey: EncryptionKey) -> ArmoredReply:
    rep = decode_kdc_rep(data)
    response = fast_response(armor_key, rep.padata)
    check_finished(response, armor_key, rep)
    assert response.strengthen_key is not None
    reply_key = cf2_key(response.strengthen_key, b"strengthenkey", subkey, b"replykey")
    et = enctype_by_id(rep.enc_part.etype)
    enc = decode_enc_kdc_rep_part(
        et.decrypt(reply_key.keyvalue, KU_TGS_REP_ENC_PART_SUBKEY, rep.enc_part.cipher)
    )
    return ArmoredReply(rep, response, enc, reply_key)


def is_error(data: bytes) -> bool:
    return data[:1] == bytes((KRB_ERROR_TAG,))
