"""DER encode and decode between RFC 4120 bytes and the dataclasses of ``messages``.

Every way in and out of the wire format goes through the functions here: ``encode``
for any message or part, ``encode_<sequence-of>`` for the bare SEQUENCE OF forms
(METHOD-DATA, ETYPE-INFO2, TYPED-DATA, ...), and one ``decode_<thing>`` per thing a
peer can send.

Two paths lie behind them. The pyasn1 model (``spec.py``, the ``_..._model``
functions here) is the reference and handles everything. The hand-written DER of
``fast.py`` takes the messages of the KDC's hot path first and declines (``Fallback``)
anything that is not the well-formed common case, which then goes to the model; so
results, errors and their messages are the model's either way, 20 to 40 times
faster for the common case. ``use_der_path("pyasn1")`` or ``HAS_KDC_ASN1=pyasn1`` in
the environment switches the fast path off (differential tests, benchmarks).

Decoding is strict: the input must be exactly one DER element of the expected type
(trailing bytes are an error), every length must nest, and every failure is an
``Asn1Error`` that names what was expected and where. Decoding tolerates what MIT
clients tolerate: EncKDCRepPart under either [APPLICATION 25] or [APPLICATION 26]
(RFC 4120 §5.4.2 compatibility note), KerberosFlags shorter or longer than 32 bits,
and a KDC-REQ-BODY without ``till``.
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Callable
from typing import Any

from pyasn1.codec.der import decoder as _der_decoder
from pyasn1.codec.der import encoder as _der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ

from has_kdc.asn1 import der, fast, spec
from has_kdc.asn1.constants import (
    APP_ENC_AS_REP_PART,
    APP_ENC_TGS_REP_PART,
    KRB_AP_REP,
    KRB_AP_REQ,
    KRB_AS_REP,
    KRB_AS_REQ,
    KRB_CRED,
    KRB_ERROR,
    KRB_TGS_REP,
    KRB_TGS_REQ,
    APOptions,
    KDCOptions,
    TicketFlags,
    flags_from_wire,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import (
    ApRep,
    ApReq,
    Authenticator,
    AuthorizationDataEntry,
    Checksum,
    EncApRepPart,
    EncKdcRepPart,
    EncKrbCredPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    ETypeInfo2Entry,
    ETypeInfoEntry,
    HostAddress,
    KdcRep,
    KdcReq,
    KdcReqBody,
    KerbPaPacRequest,
    KrbCred,
    KrbCredInfo,
    KrbError,
    LastReqEntry,
    PAData,
    PaEncTsEnc,
    PrincipalName,
    Ticket,
    TransitedEncoding,
    TypedDataEntry,
)

__all__ = [
    "decode_ap_rep",
    "decode_ap_req",
    "decode_authenticator",
    "decode_authorization_data",
    "decode_checksum",
    "decode_enc_ap_rep_part",
    "decode_enc_kdc_rep_part",
    "decode_enc_krb_cred_part",
    "decode_enc_ticket_part",
    "decode_encrypted_data",
    "decode_etype_info",
    "decode_etype_info2",
    "decode_kdc_rep",
    "decode_kdc_req",
    "decode_kdc_req_body",
    "decode_krb_cred",
    "decode_krb_error",
    "decode_method_data",
    "decode_pa_enc_ts_enc",
    "decode_pa_pac_request",
    "decode_principal_name",
    "decode_ticket",
    "decode_typed_data",
    "der_path",
    "encode",
    "encode_authorization_data",
    "encode_etype_info",
    "encode_etype_info2",
    "encode_method_data",
    "encode_typed_data",
    "message_type",
    "use_der_path",
]

_MESSAGE_NAMES = {
    KRB_AS_REQ: "AS-REQ",
    KRB_AS_REP: "AS-REP",
    KRB_TGS_REQ: "TGS-REQ",
    KRB_TGS_REP: "TGS-REP",
    KRB_AP_REQ: "AP-REQ",
    KRB_AP_REP: "AP-REP",
    KRB_CRED: "KRB-CRED",
    KRB_ERROR: "KRB-ERROR",
    1: "Ticket",
    2: "Authenticator",
    3: "EncTicketPart",
    25: "EncASRepPart",
    26: "EncTGSRepPart",
    27: "EncAPRepPart",
    29: "EncKrbCredPart",
}

# ---------------------------------------------------------------- scalar values


def _text(node: Any) -> str:
    return node.asOctets().decode("utf-8", "surrogateescape")


def _text_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _time_from(node: Any, name: str) -> int:
    raw = node.asOctets()
    if len(raw) != 15 or raw[14] != 0x5A or not raw[:14].isdigit():
        raise Asn1Error(f"{name}: KerberosTime must be YYYYMMDDHHMMSSZ, got {raw[:32]!r}")
    year, month, day = int(raw[0:4]), int(raw[4:6]), int(raw[6:8])
    hour, minute, second = int(raw[8:10]), int(raw[10:12]), int(raw[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise Asn1Error(f"{name}: KerberosTime {raw.decode()} is not a valid date")
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _time_to(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 253402300799:
        raise Asn1Error(f"{name}: KerberosTime must be an int in 1970..9999, got {value!r}")
    days, rem = divmod(value, 86400)
    year, month, day = _civil_from_days(days)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    return b"%04d%02d%02d%02d%02d%02dZ" % (year, month, day, hour, minute, second)


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _flags_from(node: Any) -> int:
    """KerberosFlags → the first 32 bits as a big-endian int (short strings zero-padded)."""
    n = len(node)
    value = node.asInteger() if n else 0
    if n >= 32:
        return value >> (n - 32)
    return value << (32 - n)


def _flags_to(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise Asn1Error(f"{name}: KerberosFlags must be a 32-bit unsigned int, got {value!r}")
    return int(value).to_bytes(4, "big")


def _opt(node: Any, idx: int) -> Any:
    """The component at ``idx`` or None when the OPTIONAL field is absent."""
    return node.getComponentByPosition(idx, default=None, instantiate=False)


# ---------------------------------------------------------------- pyasn1 → dataclass


def _principal_from(node: Any) -> PrincipalName:
    return PrincipalName(int(node[0]), tuple(_text(c) for c in node[1]))


def _addresses_from(node: Any) -> tuple[HostAddress, ...] | None:
    if node is None:
        return None
    return tuple(HostAddress(int(a[0]), a[1].asOctets()) for a in node)


def _address_from(node: Any) -> HostAddress | None:
    if node is None:
        return None
    return HostAddress(int(node[0]), node[1].asOctets())


def _authz_from(node: Any) -> tuple[AuthorizationDataEntry, ...] | None:
    if node is None:
        return None
    return tuple(AuthorizationDataEntry(int(e[0]), e[1].asOctets()) for e in node)


def _enc_data_from(node: Any) -> EncryptedData:
    kvno = _opt(node, 1)
    return EncryptedData(int(node[0]), node[2].asOctets(), None if kvno is None else int(kvno))


def _key_from(node: Any) -> EncryptionKey:
    return EncryptionKey(int(node[0]), node[1].asOctets())


def _checksum_from(node: Any) -> Checksum:
    return Checksum(int(node[0]), node[1].asOctets())


def _padata_from(node: Any) -> tuple[PAData, ...]:
    if node is None:
        return ()
    return tuple(PAData(int(p[0]), p[1].asOctets()) for p in node)


def _opt_time(node: Any, idx: int, name: str) -> int | None:
    value = _opt(node, idx)
    return None if value is None else _time_from(value, name)


def _opt_int(node: Any, idx: int) -> int | None:
    value = _opt(node, idx)
    return None if value is None else int(value)


def _ticket_from(node: Any, raw: bytes | None) -> Ticket:
    return Ticket(
        tkt_vno=int(node[0]),
        realm=_text(node[1]),
        sname=_principal_from(node[2]),
        enc_part=_enc_data_from(node[3]),
        ticket_der=raw,
    )


def _tickets_from(node: Any, data: bytes, span: tuple[int, int] | None) -> tuple[Ticket, ...]:
    """Tickets of a SEQUENCE OF Ticket, each with its raw bytes from ``span``."""
    if node is None:
        return ()
    raws: list[bytes | None] = [None] * len(node)
    if span is not None:
        s, e = der.content_span(data, span[0])
        raws = [data[a:b] for a, b in der.children(data, s, e)]
    return tuple(_ticket_from(t, raw) for t, raw in zip(node, raws, strict=True))


def _req_body_from(node: Any, data: bytes, span: tuple[int, int] | None) -> KdcReqBody:
    cname = _opt(node, 1)
    sname = _opt(node, 3)
    enc_authz = _opt(node, 10)
    tickets_span = None
    if span is not None:
        s, e = der.content_span(data, span[0])
        tickets_span = der.context_field(data, s, e, 11)
    return KdcReqBody(
        kdc_options=flags_from_wire(KDCOptions, _flags_from(node[0])),
        cname=None if cname is None else _principal_from(cname),
        realm=_text(node[2]),
        sname=None if sname is None else _principal_from(sname),
        from_time=_opt_time(node, 4, "from"),
        till=_opt_time(node, 5, "till"),
        rtime=_opt_time(node, 6, "rtime"),
        nonce=int(node[7]),
        etypes=tuple(int(e) for e in node[8]),
        addresses=_addresses_from(_opt(node, 9)),
        enc_authorization_data=None if enc_authz is None else _enc_data_from(enc_authz),
        additional_tickets=_tickets_from(_opt(node, 11), data, tickets_span),
    )


def _enc_ticket_part_from(node: Any) -> EncTicketPart:
    return EncTicketPart(
        flags=flags_from_wire(TicketFlags, _flags_from(node[0])),
        key=_key_from(node[1]),
        crealm=_text(node[2]),
        cname=_principal_from(node[3]),
        transited=TransitedEncoding(int(node[4][0]), node[4][1].asOctets()),
        authtime=_time_from(node[5], "authtime"),
        starttime=_opt_time(node, 6, "starttime"),
        endtime=_time_from(node[7], "endtime"),
        renew_till=_opt_time(node, 8, "renew-till"),
        caddr=_addresses_from(_opt(node, 9)),
        authorization_data=_authz_from(_opt(node, 10)),
    )


def _enc_kdc_rep_part_from(node: Any, application_tag: int) -> EncKdcRepPart:
    encrypted_pa_data = _opt(node, 12)
    return EncKdcRepPart(
        key=_key_from(node[0]),
        last_req=tuple(LastReqEntry(int(e[0]), _time_from(e[1], "lr-value")) for e in node[1]),
        nonce=int(node[2]),
        key_expiration=_opt_time(node, 3, "key-expiration"),
        flags=flags_from_wire(TicketFlags, _flags_from(node[4])),
        authtime=_time_from(node[5], "authtime"),
        starttime=_opt_time(node, 6, "starttime"),
        endtime=_time_from(node[7], "endtime"),
        renew_till=_opt_time(node, 8, "renew-till"),
        srealm=_text(node[9]),
        sname=_principal_from(node[10]),
        caddr=_addresses_from(_opt(node, 11)),
        encrypted_pa_data=None if encrypted_pa_data is None else _padata_from(encrypted_pa_data),
        application_tag=application_tag,
    )


def _authenticator_from(node: Any) -> Authenticator:
    cksum = _opt(node, 3)
    subkey = _opt(node, 6)
    return Authenticator(
        authenticator_vno=int(node[0]),
        crealm=_text(node[1]),
        cname=_principal_from(node[2]),
        cksum=None if cksum is None else _checksum_from(cksum),
        cusec=int(node[4]),
        ctime=_time_from(node[5], "ctime"),
        subkey=None if subkey is None else _key_from(subkey),
        seq_number=_opt_int(node, 7),
        authorization_data=_authz_from(_opt(node, 8)),
    )


def _krb_cred_info_from(node: Any) -> KrbCredInfo:
    prealm = _opt(node, 1)
    pname = _opt(node, 2)
    flags = _opt(node, 3)
    srealm = _opt(node, 8)
    sname = _opt(node, 9)
    return KrbCredInfo(
        key=_key_from(node[0]),
        prealm=None if prealm is None else _text(prealm),
        pname=None if pname is None else _principal_from(pname),
        flags=None if flags is None else flags_from_wire(TicketFlags, _flags_from(flags)),
        authtime=_opt_time(node, 4, "authtime"),
        starttime=_opt_time(node, 5, "starttime"),
        endtime=_opt_time(node, 6, "endtime"),
        renew_till=_opt_time(node, 7, "renew-till"),
        srealm=None if srealm is None else _text(srealm),
        sname=None if sname is None else _principal_from(sname),
        caddr=_addresses_from(_opt(node, 10)),
    )


# ---------------------------------------------------------------- dataclass → pyasn1
# Each _put_* fills an already instantiated (correctly tagged) pyasn1 node in place.


def _put_principal(node: Any, p: PrincipalName) -> None:
    node.setComponentByPosition(0, p.name_type)
    names = node.getComponentByPosition(1)
    names.clear()
    for c in p.components:
        names.append(_text_bytes(c))


def _put_address(node: Any, a: HostAddress) -> None:
    node.setComponentByPosition(0, a.addr_type)
    node.setComponentByPosition(1, a.address)


def _put_addresses(node: Any, addresses: tuple[HostAddress, ...]) -> None:
    node.clear()
    for i, a in enumerate(addresses):
        _put_address(node.getComponentByPosition(i), a)


def _put_authz(node: Any, entries: tuple[AuthorizationDataEntry, ...]) -> None:
    node.clear()
    for i, e in enumerate(entries):
        item = node.getComponentByPosition(i)
        item.setComponentByPosition(0, e.ad_type)
        item.setComponentByPosition(1, e.ad_data)


def _put_enc_data(node: Any, d: EncryptedData) -> None:
    node.setComponentByPosition(0, d.etype)
    if d.kvno is not None:
        node.setComponentByPosition(1, d.kvno)
    node.setComponentByPosition(2, d.cipher)


def _put_key(node: Any, k: EncryptionKey) -> None:
    node.setComponentByPosition(0, k.keytype)
    node.setComponentByPosition(1, k.keyvalue)


def _put_checksum(node: Any, c: Checksum) -> None:
    node.setComponentByPosition(0, c.cksumtype)
    node.setComponentByPosition(1, c.checksum)


def _put_padata(node: Any, padata: tuple[PAData, ...]) -> None:
    node.clear()
    for i, p in enumerate(padata):
        item = node.getComponentByPosition(i)
        item.setComponentByPosition(0, p.padata_type)
        item.setComponentByPosition(1, p.padata_value)


def _put_time(node: Any, idx: int, value: int | None, name: str) -> None:
    if value is not None:
        node.setComponentByPosition(idx, _time_to(value, name))


def _put_flags(node: Any, idx: int, value: int, name: str) -> None:
    bits = univ.BitString.fromOctetString(_flags_to(value, name), internalFormat=True)
    node.setComponentByPosition(idx, bits)


def _put_ticket(node: Any, t: Ticket) -> None:
    node.setComponentByPosition(0, t.tkt_vno)
    node.setComponentByPosition(1, _text_bytes(t.realm))
    _put_principal(node.getComponentByPosition(2), t.sname)
    _put_enc_data(node.getComponentByPosition(3), t.enc_part)


def _put_tickets(node: Any, tickets: tuple[Ticket, ...]) -> None:
    node.clear()
    for i, t in enumerate(tickets):
        _put_ticket(node.getComponentByPosition(i), t)


def _put_req_body(node: Any, b: KdcReqBody) -> None:
    _put_flags(node, 0, b.kdc_options, "kdc-options")
    if b.cname is not None:
        _put_principal(node.getComponentByPosition(1), b.cname)
    node.setComponentByPosition(2, _text_bytes(b.realm))
    if b.sname is not None:
        _put_principal(node.getComponentByPosition(3), b.sname)
    _put_time(node, 4, b.from_time, "from")
    _put_time(node, 5, b.till, "till")
    _put_time(node, 6, b.rtime, "rtime")
    node.setComponentByPosition(7, b.nonce)
    etypes = node.getComponentByPosition(8)
    etypes.clear()
    for e in b.etypes:
        etypes.append(e)
    if b.addresses is not None:
        _put_addresses(node.getComponentByPosition(9), b.addresses)
    if b.enc_authorization_data is not None:
        _put_enc_data(node.getComponentByPosition(10), b.enc_authorization_data)
    if b.additional_tickets:
        _put_tickets(node.getComponentByPosition(11), b.additional_tickets)


def _put_kdc_req(node: Any, r: KdcReq) -> None:
    node.setComponentByPosition(0, r.pvno)
    node.setComponentByPosition(1, r.msg_type)
    if r.padata:
        _put_padata(node.getComponentByPosition(2), r.padata)
    _put_req_body(node.getComponentByPosition(3), r.req_body)


def _put_kdc_rep(node: Any, r: KdcRep) -> None:
    node.setComponentByPosition(0, r.pvno)
    node.setComponentByPosition(1, r.msg_type)
    if r.padata:
        _put_padata(node.getComponentByPosition(2), r.padata)
    node.setComponentByPosition(3, _text_bytes(r.crealm))
    _put_principal(node.getComponentByPosition(4), r.cname)
    _put_ticket(node.getComponentByPosition(5), r.ticket)
    _put_enc_data(node.getComponentByPosition(6), r.enc_part)


def _put_enc_kdc_rep_part(node: Any, p: EncKdcRepPart) -> None:
    _put_key(node.getComponentByPosition(0), p.key)
    last_req = node.getComponentByPosition(1)
    last_req.clear()
    for i, entry in enumerate(p.last_req):
        item = last_req.getComponentByPosition(i)
        item.setComponentByPosition(0, entry.lr_type)
        item.setComponentByPosition(1, _time_to(entry.lr_value, "lr-value"))
    node.setComponentByPosition(2, p.nonce)
    _put_time(node, 3, p.key_expiration, "key-expiration")
    _put_flags(node, 4, p.flags, "flags")
    _put_time(node, 5, p.authtime, "authtime")
    _put_time(node, 6, p.starttime, "starttime")
    _put_time(node, 7, p.endtime, "endtime")
    _put_time(node, 8, p.renew_till, "renew-till")
    node.setComponentByPosition(9, _text_bytes(p.srealm))
    _put_principal(node.getComponentByPosition(10), p.sname)
    if p.caddr is not None:
        _put_addresses(node.getComponentByPosition(11), p.caddr)
    if p.encrypted_pa_data is not None:
        _put_padata(node.getComponentByPosition(12), p.encrypted_pa_data)


def _put_enc_ticket_part(node: Any, p: EncTicketPart) -> None:
    _put_flags(node, 0, p.flags, "flags")
    _put_key(node.getComponentByPosition(1), p.key)
    node.setComponentByPosition(2, _text_bytes(p.crealm))
    _put_principal(node.getComponentByPosition(3), p.cname)
    transited = node.getComponentByPosition(4)
    transited.setComponentByPosition(0, p.transited.tr_type)
    transited.setComponentByPosition(1, p.transited.contents)
    _put_time(node, 5, p.authtime, "authtime")
    _put_time(node, 6, p.starttime, "starttime")
    _put_time(node, 7, p.endtime, "endtime")
    _put_time(node, 8, p.renew_till, "renew-till")
    if p.caddr is not None:
        _put_addresses(node.getComponentByPosition(9), p.caddr)
    if p.authorization_data is not None:
        _put_authz(node.getComponentByPosition(10), p.authorization_data)


def _put_ap_req(node: Any, r: ApReq) -> None:
    node.setComponentByPosition(0, r.pvno)
    node.setComponentByPosition(1, r.msg_type)
    _put_flags(node, 2, r.ap_options, "ap-options")
    _put_ticket(node.getComponentByPosition(3), r.ticket)
    _put_enc_data(node.getComponentByPosition(4), r.authenticator)


def _put_authenticator(node: Any, a: Authenticator) -> None:
    node.setComponentByPosition(0, a.authenticator_vno)
    node.setComponentByPosition(1, _text_bytes(a.crealm))
    _put_principal(node.getComponentByPosition(2), a.cname)
    if a.cksum is not None:
        _put_checksum(node.getComponentByPosition(3), a.cksum)
    node.setComponentByPosition(4, a.cusec)
    _put_time(node, 5, a.ctime, "ctime")
    if a.subkey is not None:
        _put_key(node.getComponentByPosition(6), a.subkey)
    if a.seq_number is not None:
        node.setComponentByPosition(7, a.seq_number)
    if a.authorization_data is not None:
        _put_authz(node.getComponentByPosition(8), a.authorization_data)


def _put_ap_rep(node: Any, r: ApRep) -> None:
    node.setComponentByPosition(0, r.pvno)
    node.setComponentByPosition(1, r.msg_type)
    _put_enc_data(node.getComponentByPosition(2), r.enc_part)


def _put_enc_ap_rep_part(node: Any, p: EncApRepPart) -> None:
    _put_time(node, 0, p.ctime, "ctime")
    node.setComponentByPosition(1, p.cusec)
    if p.subkey is not None:
        _put_key(node.getComponentByPosition(2), p.subkey)
    if p.seq_number is not None:
        node.setComponentByPosition(3, p.seq_number)


def _put_krb_error(node: Any, e: KrbError) -> None:
    node.setComponentByPosition(0, e.pvno)
    node.setComponentByPosition(1, e.msg_type)
    _put_time(node, 2, e.ctime, "ctime")
    if e.cusec is not None:
        node.setComponentByPosition(3, e.cusec)
    _put_time(node, 4, e.stime, "stime")
    node.setComponentByPosition(5, e.susec)
    node.setComponentByPosition(6, e.error_code)
    if e.crealm is not None:
        node.setComponentByPosition(7, _text_bytes(e.crealm))
    if e.cname is not None:
        _put_principal(node.getComponentByPosition(8), e.cname)
    node.setComponentByPosition(9, _text_bytes(e.realm))
    _put_principal(node.getComponentByPosition(10), e.sname)
    if e.e_text is not None:
        node.setComponentByPosition(11, _text_bytes(e.e_text))
    if e.e_data is not None:
        node.setComponentByPosition(12, e.e_data)


def _put_krb_cred_info(node: Any, i: KrbCredInfo) -> None:
    _put_key(node.getComponentByPosition(0), i.key)
    if i.prealm is not None:
        node.setComponentByPosition(1, _text_bytes(i.prealm))
    if i.pname is not None:
        _put_principal(node.getComponentByPosition(2), i.pname)
    if i.flags is not None:
        _put_flags(node, 3, i.flags, "flags")
    _put_time(node, 4, i.authtime, "authtime")
    _put_time(node, 5, i.starttime, "starttime")
    _put_time(node, 6, i.endtime, "endtime")
    _put_time(node, 7, i.renew_till, "renew-till")
    if i.srealm is not None:
        node.setComponentByPosition(8, _text_bytes(i.srealm))
    if i.sname is not None:
        _put_principal(node.getComponentByPosition(9), i.sname)
    if i.caddr is not None:
        _put_addresses(node.getComponentByPosition(10), i.caddr)


def _put_krb_cred(node: Any, c: KrbCred) -> None:
    node.setComponentByPosition(0, c.pvno)
    node.setComponentByPosition(1, c.msg_type)
    _put_tickets(node.getComponentByPosition(2), c.tickets)
    _put_enc_data(node.getComponentByPosition(3), c.enc_part)


def _put_enc_krb_cred_part(node: Any, p: EncKrbCredPart) -> None:
    infos = node.getComponentByPosition(0)
    infos.clear()
    for i, info in enumerate(p.ticket_info):
        _put_krb_cred_info(infos.getComponentByPosition(i), info)
    if p.nonce is not None:
        node.setComponentByPosition(1, p.nonce)
    _put_time(node, 2, p.timestamp, "timestamp")
    if p.usec is not None:
        node.setComponentByPosition(3, p.usec)
    if p.s_address is not None:
        _put_address(node.getComponentByPosition(4), p.s_address)
    if p.r_address is not None:
        _put_address(node.getComponentByPosition(5), p.r_address)


def _put_pa_enc_ts_enc(node: Any, p: PaEncTsEnc) -> None:
    _put_time(node, 0, p.patimestamp, "patimestamp")
    if p.pausec is not None:
        node.setComponentByPosition(1, p.pausec)


def _put_etype_info2_entry(node: Any, e: ETypeInfo2Entry) -> None:
    node.setComponentByPosition(0, e.etype)
    if e.salt is not None:
        node.setComponentByPosition(1, e.salt)
    if e.s2kparams is not None:
        node.setComponentByPosition(2, e.s2kparams)


def _put_etype_info_entry(node: Any, e: ETypeInfoEntry) -> None:
    node.setComponentByPosition(0, e.etype)
    if e.salt is not None:
        node.setComponentByPosition(1, e.salt)


def _put_typed_data_entry(node: Any, e: TypedDataEntry) -> None:
    node.setComponentByPosition(0, e.data_type)
    if e.data_value is not None:
        node.setComponentByPosition(1, e.data_value)


def _put_single_padata(node: Any, p: PAData) -> None:
    node.setComponentByPosition(0, p.padata_type)
    node.setComponentByPosition(1, p.padata_value)


def _put_authz_entry(node: Any, e: AuthorizationDataEntry) -> None:
    node.setComponentByPosition(0, e.ad_type)
    node.setComponentByPosition(1, e.ad_data)


def _put_transited(node: Any, t: TransitedEncoding) -> None:
    node.setComponentByPosition(0, t.tr_type)
    node.setComponentByPosition(1, t.contents)


def _put_last_req_entry(node: Any, e: LastReqEntry) -> None:
    node.setComponentByPosition(0, e.lr_type)
    node.setComponentByPosition(1, _time_to(e.lr_value, "lr-value"))


def _put_pa_pac_request(node: Any, p: KerbPaPacRequest) -> None:
    node.setComponentByPosition(0, bool(p.include_pac))


# ---------------------------------------------------------------- encode


def _encode_node(node: Any, what: str) -> bytes:
    try:
        # pyasn1's DER encoder drops OPTIONAL fields whose value is empty (b"", an empty
        # SEQUENCE OF); here a field is absent only when it is None, as in the dataclass.
        return _der_encoder.encode(node, omitEmptyOptionals=False)
    except PyAsn1Error as e:
        # pyasn1 names the schema, not the values, so the text carries no key bytes.
        raise Asn1Error(f"cannot encode {what}: {_short(e)}") from None


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= 160 else text[:157] + "..."


_ENCODERS: dict[type, tuple[Callable[[], Any], Callable[[Any, Any], None]]] = {
    PrincipalName: (spec.PrincipalName, _put_principal),
    HostAddress: (spec.HostAddress, _put_address),
    AuthorizationDataEntry: (spec.AuthorizationDataEntry, _put_authz_entry),
    EncryptedData: (spec.EncryptedData, _put_enc_data),
    EncryptionKey: (spec.EncryptionKey, _put_key),
    Checksum: (spec.Checksum, _put_checksum),
    PAData: (spec.PaData, _put_single_padata),
    TypedDataEntry: (spec.TypedDataEntry, _put_typed_data_entry),
    TransitedEncoding: (spec.TransitedEncoding, _put_transited),
    LastReqEntry: (spec.LastReqEntry, _put_last_req_entry),
    PaEncTsEnc: (spec.PaEncTsEnc, _put_pa_enc_ts_enc),
    ETypeInfoEntry: (spec.ETypeInfoEntry, _put_etype_info_entry),
    ETypeInfo2Entry: (spec.ETypeInfo2Entry, _put_etype_info2_entry),
    KerbPaPacRequest: (spec.KerbPaPacRequest, _put_pa_pac_request),
    Ticket: (spec.Ticket, _put_ticket),
    EncTicketPart: (spec.EncTicketPart, _put_enc_ticket_part),
    KdcReqBody: (spec.KdcReqBody, _put_req_body),
    ApReq: (spec.ApReq, _put_ap_req),
    Authenticator: (spec.Authenticator, _put_authenticator),
    ApRep: (spec.ApRep, _put_ap_rep),
    EncApRepPart: (spec.EncApRepPart, _put_enc_ap_rep_part),
    KrbError: (spec.KrbError, _put_krb_error),
    KrbCredInfo: (spec.KrbCredInfo, _put_krb_cred_info),
    KrbCred: (spec.KrbCred, _put_krb_cred),
    EncKrbCredPart: (spec.EncKrbCredPart, _put_enc_krb_cred_part),
}

_KDC_REQ_SPECS = {KRB_AS_REQ: spec.AsReq, KRB_TGS_REQ: spec.TgsReq}
_KDC_REP_SPECS = {KRB_AS_REP: spec.AsRep, KRB_TGS_REP: spec.TgsRep}
_ENC_KDC_REP_PART_SPECS = {
    APP_ENC_AS_REP_PART: spec.EncAsRepPart,
    APP_ENC_TGS_REP_PART: spec.EncTgsRepPart,
}


def _encode_model(obj: object) -> bytes:
    """``encode`` on the pyasn1 model: every type, every check, every error message."""
    name = type(obj).__name__
    if isinstance(obj, KdcReq):
        factory = _pick(_KDC_REQ_SPECS, obj.msg_type, "KdcReq.msg_type")
        filler: Callable[[Any, Any], None] = _put_kdc_req
    elif isinstance(obj, KdcRep):
        factory = _pick(_KDC_REP_SPECS, obj.msg_type, "KdcRep.msg_type")
        filler = _put_kdc_rep
    elif isinstance(obj, EncKdcRepPart):
        factory = _pick(
            _ENC_KDC_REP_PART_SPECS, obj.application_tag, "EncKdcRepPart.application_tag"
        )
        filler = _put_enc_kdc_rep_part
    else:
        try:
            factory, filler = _ENCODERS[type(obj)]
        except KeyError:
            raise TypeError(f"encode: no DER encoding for {name}") from None
    node = factory()
    try:
        filler(node, obj)
    except Asn1Error as e:
        raise Asn1Error(f"cannot encode {name}: {e}") from None
    except (PyAsn1Error, TypeError, ValueError, AttributeError) as e:
        raise Asn1Error(f"cannot encode {name}: {_short(e)}") from None
    return _encode_node(node, name)


def _pick(table: dict[int, Callable[[], Any]], key: int, what: str) -> Callable[[], Any]:
    try:
        return table[key]
    except KeyError:
        allowed = " or ".join(str(k) for k in table)
        raise Asn1Error(f"{what} must be {allowed}, got {key!r}") from None


def _encode_sequence_of(
    factory: Callable[[], Any], filler: Callable[[Any, Any], None], items: Any, what: str
) -> bytes:
    node = factory()
    node.clear()
    try:
        for i, item in enumerate(items):
            filler(node.getComponentByPosition(i), item)
    except Asn1Error as e:
        raise Asn1Error(f"cannot encode {what}: {e}") from None
    except (PyAsn1Error, TypeError, ValueError, AttributeError) as e:
        raise Asn1Error(f"cannot encode {what}: {_short(e)}") from None
    return _encode_node(node, what)


def _encode_method_data_model(padata: tuple[PAData, ...] | list[PAData]) -> bytes:
    """``encode_method_data`` on the pyasn1 model."""
    return _encode_sequence_of(spec.MethodData, _put_single_padata, padata, "METHOD-DATA")


def _encode_etype_info2_model(
    entries: tuple[ETypeInfo2Entry, ...] | list[ETypeInfo2Entry],
) -> bytes:
    """``encode_etype_info2`` on the pyasn1 model."""
    return _encode_sequence_of(spec.ETypeInfo2, _put_etype_info2_entry, entries, "ETYPE-INFO2")


def encode_etype_info(entries: tuple[ETypeInfoEntry, ...] | list[ETypeInfoEntry]) -> bytes:
    """ETYPE-INFO: the padata-value of PA-ETYPE-INFO (11)."""
    return _encode_sequence_of(spec.ETypeInfo, _put_etype_info_entry, entries, "ETYPE-INFO")


def encode_typed_data(entries: tuple[TypedDataEntry, ...] | list[TypedDataEntry]) -> bytes:
    """TYPED-DATA: the e-data of KRB-ERRORs other than the pre-authentication ones."""
    return _encode_sequence_of(spec.TypedData, _put_typed_data_entry, entries, "TYPED-DATA")


def encode_authorization_data(
    entries: tuple[AuthorizationDataEntry, ...] | list[AuthorizationDataEntry],
) -> bytes:
    """AuthorizationData, e.g. the ad-data of AD-IF-RELEVANT."""
    return _encode_sequence_of(
        spec.AuthorizationData, _put_authz_entry, entries, "AuthorizationData"
    )


# ---------------------------------------------------------------- decode


def _as_bytes(data: bytes | bytearray | memoryview, what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"{what}: expected bytes, got {type(data).__name__}")


def _expect_application(data: bytes, allowed: tuple[int, ...]) -> int:
    """Check the outer APPLICATION tag is one of ``allowed``; return its number."""
    identifier, number, _, _ = der.read_header(data, 0, len(data))
    if identifier & 0xE0 == der.CLASS_APPLICATION | der.CONSTRUCTED and number in allowed:
        return number
    got = der.describe_tag(identifier, number)
    if identifier & 0xC0 == der.CLASS_APPLICATION and number in _MESSAGE_NAMES:
        got += f" ({_MESSAGE_NAMES[number]})"
    want = " or ".join(f"[APPLICATION {n}]" for n in allowed)
    raise Asn1Error(f"expected {want}, got {got} at offset 0")


def _run(data: Any, what: str, secret: bool, decode: Callable[[bytes], Any]) -> Any:
    """Shared decode frame: structure check, then ``decode``; all failures → Asn1Error.

    ``secret`` marks plaintexts that hold keys: their errors never quote pyasn1,
    whose messages could echo decoded values.
    """
    raw = _as_bytes(data, what)
    der.check_structure(raw, what)
    try:
        return decode(raw)
    except Asn1Error as e:
        if str(e).startswith(what):
            raise
        raise Asn1Error(f"{what}: {e}") from None
    except (PyAsn1Error, ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
        detail = "does not match its RFC 4120 definition"
        if not secret:
            detail += f" ({_short(e)})"
        raise Asn1Error(f"{what}: {detail}") from None


def _pyasn1(raw: bytes, asn1_spec: Any) -> Any:
    tree, rest = _der_decoder.decode(raw, asn1Spec=asn1_spec)
    if rest:  # already excluded by check_structure; kept as a guard
        raise Asn1Error(f"{len(rest)} trailing bytes at offset {len(raw) - len(rest)}")
    return tree


def _simple_decoder(
    asn1_spec: Any, convert: Callable[[Any], Any], what: str, secret: bool = False
) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        return _run(data, what, secret, lambda raw: convert(_pyasn1(raw, asn1_spec)))

    decode.__doc__ = f"Decode {what} from DER; Asn1Error on anything else."
    return decode


def _named(name: str, function: Callable[[bytes], Any]) -> Any:
    """Give a decoder built by a factory its public name (for tracebacks and docs)."""
    function.__name__ = function.__qualname__ = name
    return function


_SPEC = {  # pyasn1 decoders take a spec instance; one each is enough (never mutated)
    "AsReq": spec.AsReq(),
    "TgsReq": spec.TgsReq(),
    "AsRep": spec.AsRep(),
    "TgsRep": spec.TgsRep(),
    "EncAsRepPart": spec.EncAsRepPart(),
    "EncTgsRepPart": spec.EncTgsRepPart(),
}


def message_type(data: bytes | bytearray | memoryview) -> int:
    """The APPLICATION tag number of a message (10 AS-REQ, 12 TGS-REQ, 30 KRB-ERROR, ...)
    from its first bytes, without decoding the rest."""
    raw = _as_bytes(data, "message")
    if not raw:
        raise Asn1Error("message: empty input")
    identifier, number = raw[0], raw[0] & 0x1F
    if identifier & 0xE0 != der.CLASS_APPLICATION | der.CONSTRUCTED or number == 0x1F:
        raise Asn1Error(
            f"message: expected an [APPLICATION n] Kerberos message, got "
            f"{der.describe_tag(identifier, number)} at offset 0"
        )
    return number


def _decode_kdc_req_model(data: bytes | bytearray | memoryview) -> KdcReq:
    """AS-REQ or TGS-REQ (by APPLICATION tag), with ``req_body_der`` sliced from ``data``."""

    def run(raw: bytes) -> KdcReq:
        tag_number = _expect_application(raw, (KRB_AS_REQ, KRB_TGS_REQ))
        tree = _pyasn1(raw, _SPEC["AsReq" if tag_number == KRB_AS_REQ else "TgsReq"])
        msg_type = int(tree[1])
        if msg_type != tag_number:
            raise Asn1Error(f"msg-type {msg_type} inside [APPLICATION {tag_number}]")
        seq_start, seq_end = der.content_span(raw, der.content_span(raw, 0)[0])
        body_span = der.context_field(raw, seq_start, seq_end, 4)
        assert body_span is not None  # req-body is mandatory and pyasn1 found it
        return KdcReq(
            pvno=int(tree[0]),
            msg_type=msg_type,
            padata=_padata_from(_opt(tree, 2)),
            req_body=_req_body_from(tree[3], raw, body_span),
            req_body_der=raw[body_span[0] : body_span[1]],
        )

    return _run(data, "KDC-REQ", False, run)


def _decode_kdc_rep_model(data: bytes | bytearray | memoryview) -> KdcRep:
    """AS-REP or TGS-REP (by APPLICATION tag); the ticket keeps its raw bytes."""

    def run(raw: bytes) -> KdcRep:
        tag_number = _expect_application(raw, (KRB_AS_REP, KRB_TGS_REP))
        tree = _pyasn1(raw, _SPEC["AsRep" if tag_number == KRB_AS_REP else "TgsRep"])
        msg_type = int(tree[1])
        if msg_type != tag_number:
            raise Asn1Error(f"msg-type {msg_type} inside [APPLICATION {tag_number}]")
        seq_start, seq_end = der.content_span(raw, der.content_span(raw, 0)[0])
        ticket_span = der.context_field(raw, seq_start, seq_end, 5)
        assert ticket_span is not None
        return KdcRep(
            pvno=int(tree[0]),
            msg_type=msg_type,
            padata=_padata_from(_opt(tree, 2)),
            crealm=_text(tree[3]),
            cname=_principal_from(tree[4]),
            ticket=_ticket_from(tree[5], raw[ticket_span[0] : ticket_span[1]]),
            enc_part=_enc_data_from(tree[6]),
        )

    return _run(data, "KDC-REP", False, run)


def _fixed_message(
    asn1_spec: Any, tag_number: int, what: str, convert: Callable[[Any, bytes], Any], secret: bool
) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        def run(raw: bytes) -> Any:
            _expect_application(raw, (tag_number,))
            return convert(_pyasn1(raw, asn1_spec), raw)

        return _run(data, what, secret, run)

    decode.__doc__ = f"Decode {what} ([APPLICATION {tag_number}]) from DER."
    return decode


def _check_msg_type(tree: Any, expected: int) -> int:
    msg_type = int(tree[1])
    if msg_type != expected:
        raise Asn1Error(f"msg-type {msg_type} inside [APPLICATION {expected}]")
    return msg_type


def _krb_error_from(tree: Any, raw: bytes) -> KrbError:
    crealm = _opt(tree, 7)
    cname = _opt(tree, 8)
    e_text = _opt(tree, 11)
    e_data = _opt(tree, 12)
    return KrbError(
        pvno=int(tree[0]),
        msg_type=_check_msg_type(tree, KRB_ERROR),
        ctime=_opt_time(tree, 2, "ctime"),
        cusec=_opt_int(tree, 3),
        stime=_time_from(tree[4], "stime"),
        susec=int(tree[5]),
        error_code=int(tree[6]),
        crealm=None if crealm is None else _text(crealm),
        cname=None if cname is None else _principal_from(cname),
        realm=_text(tree[9]),
        sname=_principal_from(tree[10]),
        e_text=None if e_text is None else _text(e_text),
        e_data=None if e_data is None else e_data.asOctets(),
    )


def _ap_req_from(tree: Any, raw: bytes) -> ApReq:
    seq_start, seq_end = der.content_span(raw, der.content_span(raw, 0)[0])
    span = der.context_field(raw, seq_start, seq_end, 3)
    assert span is not None
    return ApReq(
        pvno=int(tree[0]),
        msg_type=_check_msg_type(tree, KRB_AP_REQ),
        ap_options=flags_from_wire(APOptions, _flags_from(tree[2])),
        ticket=_ticket_from(tree[3], raw[span[0] : span[1]]),
        authenticator=_enc_data_from(tree[4]),
    )


def _ap_rep_from(tree: Any, raw: bytes) -> ApRep:
    return ApRep(
        pvno=int(tree[0]),
        msg_type=_check_msg_type(tree, KRB_AP_REP),
        enc_part=_enc_data_from(tree[2]),
    )


def _krb_cred_from(tree: Any, raw: bytes) -> KrbCred:
    seq_start, seq_end = der.content_span(raw, der.content_span(raw, 0)[0])
    return KrbCred(
        pvno=int(tree[0]),
        msg_type=_check_msg_type(tree, KRB_CRED),
        tickets=_tickets_from(tree[2], raw, der.context_field(raw, seq_start, seq_end, 2)),
        enc_part=_enc_data_from(tree[3]),
    )


def _enc_krb_cred_part_from(tree: Any, raw: bytes) -> EncKrbCredPart:
    return EncKrbCredPart(
        ticket_info=tuple(_krb_cred_info_from(i) for i in tree[0]),
        nonce=_opt_int(tree, 1),
        timestamp=_opt_time(tree, 2, "timestamp"),
        usec=_opt_int(tree, 3),
        s_address=_address_from(_opt(tree, 4)),
        r_address=_address_from(_opt(tree, 5)),
    )


def _enc_ap_rep_part_from(tree: Any, raw: bytes) -> EncApRepPart:
    subkey = _opt(tree, 2)
    return EncApRepPart(
        ctime=_time_from(tree[0], "ctime"),
        cusec=int(tree[1]),
        subkey=None if subkey is None else _key_from(subkey),
        seq_number=_opt_int(tree, 3),
    )


_decode_krb_error_model: Callable[[bytes], KrbError] = _named(
    "decode_krb_error",
    _fixed_message(spec.KrbError(), KRB_ERROR, "KRB-ERROR", _krb_error_from, secret=False),
)
_decode_ap_req_model: Callable[[bytes], ApReq] = _named(
    "decode_ap_req",
    _fixed_message(spec.ApReq(), KRB_AP_REQ, "AP-REQ", _ap_req_from, secret=False),
)
decode_ap_rep: Callable[[bytes], ApRep] = _named(
    "decode_ap_rep",
    _fixed_message(spec.ApRep(), KRB_AP_REP, "AP-REP", _ap_rep_from, secret=False),
)
decode_krb_cred: Callable[[bytes], KrbCred] = _named(
    "decode_krb_cred",
    _fixed_message(spec.KrbCred(), KRB_CRED, "KRB-CRED", _krb_cred_from, secret=False),
)
_decode_ticket_model: Callable[[bytes], Ticket] = _named(
    "decode_ticket",
    _fixed_message(
        spec.Ticket(), 1, "Ticket", lambda tree, raw: _ticket_from(tree, raw), secret=False
    ),
)
_decode_authenticator_model: Callable[[bytes], Authenticator] = _named(
    "decode_authenticator",
    _fixed_message(
        spec.Authenticator(),
        2,
        "Authenticator",
        lambda tree, raw: _authenticator_from(tree),
        secret=True,
    ),
)
_decode_enc_ticket_part_model: Callable[[bytes], EncTicketPart] = _named(
    "decode_enc_ticket_part",
    _fixed_message(
        spec.EncTicketPart(),
        3,
        "EncTicketPart",
        lambda tree, raw: _enc_ticket_part_from(tree),
        secret=True,
    ),
)
decode_enc_ap_rep_part: Callable[[bytes], EncApRepPart] = _named(
    "decode_enc_ap_rep_part",
    _fixed_message(spec.EncApRepPart(), 27, "EncAPRepPart", _enc_ap_rep_part_from, secret=True),
)
decode_enc_krb_cred_part: Callable[[bytes], EncKrbCredPart] = _named(
    "decode_enc_krb_cred_part",
    _fixed_message(
        spec.EncKrbCredPart(), 29, "EncKrbCredPart", _enc_krb_cred_part_from, secret=True
    ),
)


def _decode_enc_kdc_rep_part_model(data: bytes | bytearray | memoryview) -> EncKdcRepPart:
    """EncKDCRepPart under [APPLICATION 25] (EncASRepPart) or [APPLICATION 26]
    (EncTGSRepPart), whichever the message is: as MIT clients do, either tag is accepted
    in either reply (RFC 4120 §5.4.2); ``application_tag`` records which was used."""

    def run(raw: bytes) -> EncKdcRepPart:
        tag_number = _expect_application(raw, (APP_ENC_AS_REP_PART, APP_ENC_TGS_REP_PART))
        name = "EncAsRepPart" if tag_number == APP_ENC_AS_REP_PART else "EncTgsRepPart"
        return _enc_kdc_rep_part_from(_pyasn1(raw, _SPEC[name]), tag_number)

    return _run(data, "EncKDCRepPart", True, run)


# Untagged types: decoded where a PA-DATA value or e-data carries them.

_decode_kdc_req_body_model: Callable[[bytes], KdcReqBody] = _named(
    "decode_kdc_req_body",
    _simple_decoder(
        spec.KdcReqBody(), lambda tree: _req_body_from(tree, b"", None), "KDC-REQ-BODY"
    ),
)
_decode_principal_name_model: Callable[[bytes], PrincipalName] = _named(
    "decode_principal_name",
    _simple_decoder(spec.PrincipalName(), _principal_from, "PrincipalName"),
)
_decode_checksum_model: Callable[[bytes], Checksum] = _named(
    "decode_checksum", _simple_decoder(spec.Checksum(), _checksum_from, "Checksum")
)
_decode_encrypted_data_model: Callable[[bytes], EncryptedData] = _named(
    "decode_encrypted_data",
    _simple_decoder(spec.EncryptedData(), _enc_data_from, "EncryptedData"),
)
_decode_pa_enc_ts_enc_model: Callable[[bytes], PaEncTsEnc] = _named(
    "decode_pa_enc_ts_enc",
    _simple_decoder(
        spec.PaEncTsEnc(),
        lambda tree: PaEncTsEnc(_time_from(tree[0], "patimestamp"), _opt_int(tree, 1)),
        "PA-ENC-TS-ENC",
    ),
)
_decode_method_data_model: Callable[[bytes], tuple[PAData, ...]] = _named(
    "decode_method_data",
    _simple_decoder(spec.MethodData(), _padata_from, "METHOD-DATA"),
)
_decode_etype_info2_model: Callable[[bytes], tuple[ETypeInfo2Entry, ...]] = _named(
    "decode_etype_info2",
    _simple_decoder(
        spec.ETypeInfo2(),
        lambda tree: tuple(
            ETypeInfo2Entry(
                int(e[0]),
                None if (s := _opt(e, 1)) is None else s.asOctets(),
                None if (p := _opt(e, 2)) is None else p.asOctets(),
            )
            for e in tree
        ),
        "ETYPE-INFO2",
    ),
)
decode_etype_info: Callable[[bytes], tuple[ETypeInfoEntry, ...]] = _named(
    "decode_etype_info",
    _simple_decoder(
        spec.ETypeInfo(),
        lambda tree: tuple(
            ETypeInfoEntry(int(e[0]), None if (s := _opt(e, 1)) is None else s.asOctets())
            for e in tree
        ),
        "ETYPE-INFO",
    ),
)
decode_typed_data: Callable[[bytes], tuple[TypedDataEntry, ...]] = _named(
    "decode_typed_data",
    _simple_decoder(
        spec.TypedData(),
        lambda tree: tuple(
            TypedDataEntry(int(e[0]), None if (v := _opt(e, 1)) is None else v.asOctets())
            for e in tree
        ),
        "TYPED-DATA",
    ),
)
decode_authorization_data: Callable[[bytes], tuple[AuthorizationDataEntry, ...]] = _named(
    "decode_authorization_data",
    _simple_decoder(
        spec.AuthorizationData(), lambda tree: _authz_from(tree) or (), "AuthorizationData"
    ),
)
decode_pa_pac_request: Callable[[bytes], KerbPaPacRequest] = _named(
    "decode_pa_pac_request",
    _simple_decoder(
        spec.KerbPaPacRequest(),
        lambda tree: KerbPaPacRequest(bool(tree[0])),
        "KERB-PA-PAC-REQUEST",
    ),
)


# ---------------------------------------------------------------- the fast DER path
# The public names of the hot messages: fast path first, the model on Fallback.

DER_PATHS = ("fast", "pyasn1")


def _der_path_from_environment() -> str:
    value = os.environ.get("HAS_KDC_ASN1", "").strip().lower() or "fast"
    if value not in DER_PATHS:
        raise ValueError(f"HAS_KDC_ASN1 must be 'fast' or 'pyasn1', got {value!r}")
    return value


_fast_enabled = _der_path_from_environment() == "fast"


def der_path() -> str:
    """``"fast"`` (hand-written DER first, pyasn1 for the rest) or ``"pyasn1"`` (the
    model alone)."""
    return "fast" if _fast_enabled else "pyasn1"


def use_der_path(path: str) -> str:
    """Switch every decode/encode function to ``path`` (``"fast"`` or ``"pyasn1"``);
    returns the previous setting. Process-wide; meant for tests and benchmarks."""
    global _fast_enabled
    if path not in DER_PATHS:
        raise ValueError(f"DER path must be 'fast' or 'pyasn1', got {path!r}")
    previous = der_path()
    _fast_enabled = path == "fast"
    return previous


def _fast_first(
    name: str, fast_function: Callable[[Any], Any], model_function: Callable[[Any], Any]
) -> Any:
    """Public decoder ``name``: the fast path on bytes-like input, else or on its
    Fallback the model (which also turns anything not bytes-like into TypeError)."""

    def decode(data: Any) -> Any:
        if _fast_enabled:
            raw = data
            if type(raw) is not bytes and isinstance(raw, bytes | bytearray | memoryview):
                raw = bytes(raw)
            if type(raw) is bytes:
                try:
                    return fast_function(raw)
                except fast.Fallback:
                    pass
        return model_function(data)

    decode.__name__ = decode.__qualname__ = name
    decode.__doc__ = model_function.__doc__
    return decode


decode_kdc_req: Callable[[bytes | bytearray | memoryview], KdcReq] = _fast_first(
    "decode_kdc_req", fast.decode_kdc_req, _decode_kdc_req_model
)
decode_kdc_req_body: Callable[[bytes], KdcReqBody] = _fast_first(
    "decode_kdc_req_body", fast.decode_kdc_req_body, _decode_kdc_req_body_model
)
decode_kdc_rep: Callable[[bytes | bytearray | memoryview], KdcRep] = _fast_first(
    "decode_kdc_rep", fast.decode_kdc_rep, _decode_kdc_rep_model
)
decode_ap_req: Callable[[bytes], ApReq] = _fast_first(
    "decode_ap_req", fast.decode_ap_req, _decode_ap_req_model
)
decode_ticket: Callable[[bytes], Ticket] = _fast_first(
    "decode_ticket", fast.decode_ticket, _decode_ticket_model
)
decode_authenticator: Callable[[bytes], Authenticator] = _fast_first(
    "decode_authenticator", fast.decode_authenticator, _decode_authenticator_model
)
decode_enc_ticket_part: Callable[[bytes], EncTicketPart] = _fast_first(
    "decode_enc_ticket_part", fast.decode_enc_ticket_part, _decode_enc_ticket_part_model
)
decode_enc_kdc_rep_part: Callable[[bytes | bytearray | memoryview], EncKdcRepPart] = _fast_first(
    "decode_enc_kdc_rep_part", fast.decode_enc_kdc_rep_part, _decode_enc_kdc_rep_part_model
)
decode_krb_error: Callable[[bytes], KrbError] = _fast_first(
    "decode_krb_error", fast.decode_krb_error, _decode_krb_error_model
)
decode_pa_enc_ts_enc: Callable[[bytes], PaEncTsEnc] = _fast_first(
    "decode_pa_enc_ts_enc", fast.decode_pa_enc_ts_enc, _decode_pa_enc_ts_enc_model
)
decode_method_data: Callable[[bytes], tuple[PAData, ...]] = _fast_first(
    "decode_method_data", fast.decode_method_data, _decode_method_data_model
)
decode_etype_info2: Callable[[bytes], tuple[ETypeInfo2Entry, ...]] = _fast_first(
    "decode_etype_info2", fast.decode_etype_info2, _decode_etype_info2_model
)
decode_principal_name: Callable[[bytes], PrincipalName] = _fast_first(
    "decode_principal_name", fast.decode_principal_name, _decode_principal_name_model
)
decode_encrypted_data: Callable[[bytes], EncryptedData] = _fast_first(
    "decode_encrypted_data", fast.decode_encrypted_data, _decode_encrypted_data_model
)
decode_checksum: Callable[[bytes], Checksum] = _fast_first(
    "decode_checksum", fast.decode_checksum, _decode_checksum_model
)


def encode(obj: object) -> bytes:
    """DER of any message or message part of ``has_kdc.asn1.messages``.

    KdcReq/KdcRep are wrapped in the APPLICATION tag of their ``msg_type`` and
    EncKdcRepPart in its ``application_tag``. A value that cannot be represented (a
    time before 1970, flags wider than 32 bits, a missing required field) raises
    Asn1Error; an object of a type that has no encoding raises TypeError.
    """
    if _fast_enabled:
        fast_encode = fast.ENCODERS.get(type(obj))
        if fast_encode is not None:
            try:
                return fast_encode(obj)
            except fast.Fallback:
                pass
    return _encode_model(obj)


def encode_method_data(padata: tuple[PAData, ...] | list[PAData]) -> bytes:
    """METHOD-DATA (SEQUENCE OF PA-DATA): the e-data of KDC_ERR_PREAUTH_REQUIRED."""
    if _fast_enabled:
        try:
            return fast.encode_method_data(padata)
        except fast.Fallback:
            pass
    return _encode_method_data_model(padata)


def encode_etype_info2(entries: tuple[ETypeInfo2Entry, ...] | list[ETypeInfo2Entry]) -> bytes:
    """ETYPE-INFO2: the padata-value of PA-ETYPE-INFO2 (19)."""
    if _fast_enabled:
        try:
            return fast.encode_etype_info2(entries)
        except fast.Fallback:
            pass
    return _encode_etype_info2_model(entries)
