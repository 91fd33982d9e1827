"""Hand-written DER for the messages a KDC decodes and encodes on every request.

pyasn1 (``spec.py``) stays the model of the wire format; this module is a faster
road to the same place for the common, well-formed case. It walks the bytes with an
index (decode) and builds bytes by joining parts (encode), and knows only the
messages on the KDC's hot path: KDC-REQ and its body, AP-REQ, Ticket, Authenticator,
EncTicketPart, PA-ENC-TS-ENC, KDC-REP, EncKDCRepPart, KRB-ERROR, METHOD-DATA,
ETYPE-INFO2 and the small types inside them.

The one rule: this path never decides anything the model would decide differently.
It accepts a strict subset of DER (definite minimal lengths, minimal INTEGERs, every
tag exactly as the RFC 4120 module has it, KerberosFlags of exactly 32 bits,
KerberosTime of exactly ``YYYYMMDDHHMMSSZ`` with a valid date, values of exactly the
expected Python types on encode) and raises ``Fallback`` on anything else, so the
codec hands that input to the pyasn1 path, which accepts, rejects and words its
errors as it always did. A ``Fallback`` is therefore never an error: it only means
"not the common case". ``tests/test_asn1_fast_differential.py`` checks that the two
paths agree on every captured and generated message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from has_kdc.asn1.constants import (
    APP_ENC_AS_REP_PART,
    APP_ENC_TGS_REP_PART,
    KRB_AP_REQ,
    KRB_AS_REP,
    KRB_AS_REQ,
    KRB_ERROR,
    KRB_TGS_REP,
    KRB_TGS_REQ,
    APOptions,
    KDCOptions,
    TicketFlags,
    flags_from_wire,
)
from has_kdc.asn1.der import MAX_ELEMENTS, too_many_elements
from has_kdc.asn1.memo import ENTRY_OVERHEAD, Memo
from has_kdc.asn1.messages import (
    ApReq,
    Authenticator,
    AuthorizationDataEntry,
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
    KrbError,
    LastReqEntry,
    PAData,
    PaEncTsEnc,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)


class Fallback(Exception):
    """This input (or object) is not the common case; use the pyasn1 path."""


# Identifier octets (X.690 §8.1.2): universal types, context [n] and APPLICATION n,
# all explicit tags being constructed.
_INTEGER = 0x02
_BIT_STRING = 0x03
_OCTET_STRING = 0x04
_GENERAL_STRING = 0x1B
_GENERALIZED_TIME = 0x18
_SEQUENCE = 0x30
_APP = {n: 0x60 | n for n in (1, 2, 3, 10, 11, 12, 13, 14, 25, 26, 30)}

# KerberosTime range the model can encode (1970-01-01 .. 9999-12-31T23:59:59Z)
_TIME_MAX = 253402300799
# Memos of values a KDC sees again and again (times, names, tickets): at most
# ``_MEMO_SIZE`` items each, and those whose keys come in any size (names, tickets,
# texts) also at most so many bytes (``memo.Memo``): a client sending new 60 KB names
# costs recomputation, never memory. Times are keyed by 15 bytes or an int, so their
# entry count is already a byte bound (about 1 MB each).
_MEMO_SIZE = 4096
_MEMO_BYTES = 4 * 1024 * 1024
#: Names longer than this (DER) are decoded or encoded each time: real ones are
#: a few dozen bytes, and a decoded name holds an object per component besides.
_NAME_MEMO_ITEM = 512

# ================================================================ decoding
# Every reader takes (data, pos, end): ``end`` is where the enclosing element's content
# stops, and no element may cross it. Readers return (value, next_pos).


def _header(d: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """Content span (start, stop) of the element at ``p``, which must have identifier
    ``tag``, a minimal definite length, and end by ``end``."""
    if d[p] != tag:
        raise Fallback
    n = d[p + 1]
    if n < 0x80:
        s = p + 2
    elif n == 0x81:
        n = d[p + 2]
        if n < 0x80:
            raise Fallback
        s = p + 3
    elif n == 0x82:
        n = d[p + 2] << 8 | d[p + 3]
        if n < 0x100:
            raise Fallback
        s = p + 4
    elif n == 0x83:
        n = d[p + 2] << 16 | d[p + 3] << 8 | d[p + 4]
        if n < 0x10000:
            raise Fallback
        s = p + 5
    else:
        raise Fallback
    e = s + n
    if e > end:  # also catches a header that itself runs past ``end`` (e >= s > p)
        raise Fallback
    return s, e


# An explicit tag [n] is an element whose content is the one element it tags: its
# content span is (start of the tagged element, end of both). Same reader, own name.
_explicit = _header


def _int_value(d: bytes, s: int, e: int) -> int:
    n = e - s
    if n == 0 or n > 8:  # longer than 64 bits: refused by the model (der.MAX_INTEGER_BYTES)
        raise Fallback
    if n == 1:
        return int.from_bytes(d[s:e], "big", signed=True)
    first, second = d[s], d[s + 1]
    if first == 0 and second < 0x80:
        raise Fallback  # not minimal
    if first == 0xFF and second >= 0x80 and (second != 0x80 or any(d[s + 2 : e])):
        # not minimal; the one exception is how pyasn1 writes -2**(8k-1), with one
        # 0xFF too many (see _put_int), which the model reads back like any other
        raise Fallback
    return int.from_bytes(d[s:e], "big", signed=True)


def _ctx_int(d: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """``[n] INTEGER``."""
    # the usual case, a one-byte INTEGER: A<n> 03 02 01 vv
    if d[p] == tag and d[p + 1] == 3 and d[p + 2] == _INTEGER and d[p + 3] == 1 and p + 5 <= end:
        v = d[p + 4]
        return (v - 256 if v & 0x80 else v), p + 5
    # any other short one (a nonce, a microsecond count): A<n> L 02 L-2 vv..
    n = d[p + 1]
    if d[p] == tag and 2 < n < 0x80 and d[p + 2] == _INTEGER and d[p + 3] == n - 2:
        e = p + 2 + n
        if e <= end:
            return _int_value(d, p + 4, e), e
    s, e = _header(d, p, end, tag)
    s2, e2 = _header(d, s, e, _INTEGER)
    if e2 != e:
        raise Fallback
    return _int_value(d, s2, e2), e


def _ctx_bytes(d: bytes, p: int, end: int, tag: int, inner: int) -> tuple[bytes, int]:
    """``[n] OCTET STRING`` / ``[n] GeneralString`` as bytes."""
    # the usual case, short lengths: A<n> L <inner> L-2 ..
    n = d[p + 1]
    if d[p] == tag and 1 < n < 0x80 and d[p + 2] == inner and d[p + 3] == n - 2:
        e = p + 2 + n
        if e <= end:
            return d[p + 4 : e], e
    s, e = _header(d, p, end, tag)
    s2, e2 = _header(d, s, e, inner)
    if e2 != e:
        raise Fallback
    return d[s2:e2], e


def _ctx_text(d: bytes, p: int, end: int, tag: int) -> tuple[str, int]:
    """``[n] KerberosString`` as str (UTF-8, undecodable bytes kept by surrogateescape)."""
    raw, e = _ctx_bytes(d, p, end, tag, _GENERAL_STRING)
    return raw.decode("utf-8", "surrogateescape"), e


_time_memo: dict[bytes, int] = {}


def _time_value(raw: bytes) -> int:
    """Seconds since the epoch of a 15-byte ``YYYYMMDDHHMMSSZ``; Fallback unless valid
    by the model's rules (month 1-12, day 1-31, hour < 24, minute < 60, second < 61;
    year 0 is refused by the model's calendar)."""
    seconds = _time_memo.get(raw)
    if seconds is not None:
        return seconds
    if raw[14] != 0x5A or not raw[:14].isdigit():
        raise Fallback
    year, month, day = int(raw[0:4]), int(raw[4:6]), int(raw[6:8])
    hour, minute, second = int(raw[8:10]), int(raw[10:12]), int(raw[12:14])
    if not (
        year >= 1
        and 1 <= month <= 12
        and 1 <= day <= 31
        and hour < 24
        and minute < 60
        and second < 61
    ):
        raise Fallback
    # days from the civil date (proleptic Gregorian), linear in ``day`` like timegm
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    seconds = days * 86400 + hour * 3600 + minute * 60 + second
    if len(_time_memo) >= _MEMO_SIZE:
        _time_memo.clear()
    _time_memo[raw] = seconds
    return seconds


def _ctx_time(d: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """``[n] KerberosTime``: A<n> 11 18 0F YYYYMMDDHHMMSSZ, nothing else."""
    if d[p] != tag or d[p + 1] != 17 or d[p + 2] != _GENERALIZED_TIME or d[p + 3] != 15:
        raise Fallback
    e = p + 19
    if e > end:
        raise Fallback
    return _time_value(d[p + 4 : e]), e


def _ctx_flags(d: bytes, p: int, end: int, tag: int) -> int:
    """``[n] KerberosFlags`` of exactly 32 bits: A<n> 07 03 05 00 xx xx xx xx."""
    if d[p] != tag or d[p + 1] != 7 or d[p + 2] != _BIT_STRING or d[p + 3] != 5 or d[p + 4]:
        raise Fallback
    if p + 9 > end:
        raise Fallback
    return int.from_bytes(d[p + 5 : p + 9], "big")


# Building an ``enum.Flag`` member from a number costs 2 to 5 µs (``Flag._missing_``
# decomposes it bit by bit), as much as the rest of a small message's decode, and a
# TGS-REQ carries three flag fields. Clients send the same few option values over and
# over, so the members are remembered here, per class. Bounded (cleared when full)
# because ``flags_from_wire`` exists precisely so that a client sending every possible
# value cannot grow a cache without limit.
_FLAGS_MEMO_SIZE = 256
_kdc_options_memo: dict[int, KDCOptions] = {}
_ticket_flags_memo: dict[int, TicketFlags] = {}
_ap_options_memo: dict[int, APOptions] = {}


def _flags(cls: Any, memo: dict[int, Any], value: int) -> Any:
    """``flags_from_wire(cls, value)``, from ``memo`` when this value was seen lately."""
    member = memo.get(value)
    if member is None:
        member = flags_from_wire(cls, value)
        if len(memo) >= _FLAGS_MEMO_SIZE:
            memo.clear()
        memo[value] = member
    return member


def _end(q: int, e: int) -> None:
    """An element's content must be used up exactly."""
    if q != e:
        raise Fallback


def _principal(d: bytes, p: int, end: int) -> tuple[PrincipalName, int]:
    s, e = _header(d, p, end, _SEQUENCE)
    name_type, q = _ctx_int(d, s, e, 0xA0)
    s1, e1 = _explicit(d, q, e, 0xA1)
    _end(e1, e)
    s2, e2 = _header(d, s1, e1, _SEQUENCE)
    _end(e2, e1)
    names = []
    q = s2
    while q < e2:
        a, q = _header(d, q, e2, _GENERAL_STRING)
        names.append(d[a:q].decode("utf-8", "surrogateescape"))
    return PrincipalName(name_type, tuple(names)), e


# The same few names come in every request (the user, krbtgt/REALM, the services), and
# a PrincipalName's DER decodes to one value only: decoded names are remembered by
# their bytes, bounded like the other memos. About a fifth of an AS-REQ's decode.
_principal_by_der = Memo(_MEMO_SIZE, _MEMO_BYTES, _NAME_MEMO_ITEM * 4 + ENTRY_OVERHEAD)


def _ctx_principal(d: bytes, p: int, end: int, tag: int) -> tuple[PrincipalName, int]:
    n = d[p + 1]
    if d[p] == tag and n < 0x80:  # the usual short header, read here
        s = p + 2
        e = s + n
        if e > end:
            raise Fallback
    else:
        s, e = _explicit(d, p, end, tag)
    der = d[s:e]
    value = _principal_by_der.get(der)
    if value is None:
        value, q = _principal(d, s, e)
        _end(q, e)
        # the bytes twice (key, text) and an object per component (at least 2 bytes each)
        _principal_by_der.remember(der, value, len(der) * 4 + ENTRY_OVERHEAD)
    return value, e


def _enc_data(d: bytes, p: int, end: int) -> tuple[EncryptedData, int]:
    s, e = _header(d, p, end, _SEQUENCE)
    etype, q = _ctx_int(d, s, e, 0xA0)
    kvno = None
    if q < e and d[q] == 0xA1:
        kvno, q = _ctx_int(d, q, e, 0xA1)
    cipher, q = _ctx_bytes(d, q, e, 0xA2, _OCTET_STRING)
    _end(q, e)
    return EncryptedData(etype, cipher, kvno), e


def _ctx_enc_data(d: bytes, p: int, end: int, tag: int) -> tuple[EncryptedData, int]:
    s, e = _explicit(d, p, end, tag)
    value, q = _enc_data(d, s, e)
    _end(q, e)
    return value, e


def _int_and_octets(d: bytes, p: int, end: int, t0: int, t1: int) -> tuple[int, bytes, int]:
    """SEQUENCE { [t0] Int32, [t1] OCTET STRING }: the shape of half the RFC's types."""
    s, e = _header(d, p, end, _SEQUENCE)
    number, q = _ctx_int(d, s, e, t0)
    value, q = _ctx_bytes(d, q, e, t1, _OCTET_STRING)
    _end(q, e)
    return number, value, e


def _ctx_pair(d: bytes, p: int, end: int, tag: int) -> tuple[int, bytes, int]:
    """``[n] SEQUENCE { [0] Int32, [1] OCTET STRING }`` (EncryptionKey, Checksum, ...)."""
    s, e = _explicit(d, p, end, tag)
    number, value, q = _int_and_octets(d, s, e, 0xA0, 0xA1)
    _end(q, e)
    return number, value, e


def _ctx_pairs(d: bytes, p: int, end: int, tag: int, t0: int, t1: int) -> tuple[list, int]:
    """``[n] SEQUENCE OF SEQUENCE { [t0] Int32, [t1] OCTET STRING }`` as (int, bytes)
    pairs (HostAddresses, AuthorizationData, METHOD-DATA)."""
    s, e = _explicit(d, p, end, tag)
    items, q = _pairs(d, s, e, t0, t1)
    _end(q, e)
    return items, e


def _pairs(d: bytes, p: int, end: int, t0: int, t1: int) -> tuple[list, int]:
    s, e = _header(d, p, end, _SEQUENCE)
    items = []
    q = s
    while q < e:
        number, value, q = _int_and_octets(d, q, e, t0, t1)
        items.append((number, value))
    return items, e


def _ticket(d: bytes, p: int, end: int, keep_der: bool) -> tuple[Ticket, int]:
    s0, e0 = _header(d, p, end, 0x61)
    s, e = _header(d, s0, e0, _SEQUENCE)
    _end(e, e0)
    tkt_vno, q = _ctx_int(d, s, e, 0xA0)
    realm, q = _ctx_text(d, q, e, 0xA1)
    sname, q = _ctx_principal(d, q, e, 0xA2)
    enc_part, q = _ctx_enc_data(d, q, e, 0xA3)
    _end(q, e)
    ticket = Ticket(
        tkt_vno=tkt_vno,
        realm=realm,
        sname=sname,
        enc_part=enc_part,
        ticket_der=d[p:e0] if keep_der else None,
    )
    return ticket, e0


# A client presents the same TGT in every TGS-REQ for hours: decoded tickets are
# remembered by their bytes too (fewer of them, as they are larger than names). Any
# client can send ticket-shaped bytes, so these are bounded in bytes like the rest.
_TICKET_MEMO_SIZE = 1024
_TICKET_MEMO_BYTES = 8 * 1024 * 1024
_ticket_by_der = Memo(_TICKET_MEMO_SIZE, _TICKET_MEMO_BYTES, 64 * 1024)


def _ctx_ticket(d: bytes, p: int, end: int, tag: int) -> tuple[Ticket, int]:
    s, e = _explicit(d, p, end, tag)
    der = d[s:e]
    value = _ticket_by_der.get(der)
    if value is None:
        value, q = _ticket(d, s, e, True)
        _end(q, e)
        # the key, the ticket's own bytes and its ciphertext: three copies
        _ticket_by_der.remember(der, value, len(der) * 3 + 2 * ENTRY_OVERHEAD)
    return value, e


def _addresses(items: list) -> tuple[HostAddress, ...]:
    return tuple([HostAddress(t, v) for t, v in items])


def _authz(items: list) -> tuple[AuthorizationDataEntry, ...]:
    return tuple([AuthorizationDataEntry(t, v) for t, v in items])


def _padata(items: list) -> tuple[PAData, ...]:
    return tuple([PAData(t, v) for t, v in items])


def _req_body(d: bytes, p: int, end: int, keep_ticket_der: bool) -> tuple[KdcReqBody, int]:
    s, e = _header(d, p, end, _SEQUENCE)
    kdc_options = _ctx_flags(d, s, e, 0xA0)
    q = s + 9
    cname = sname = from_time = till = rtime = addresses = enc_authz = None
    tickets: tuple[Ticket, ...] = ()
    if q < e and d[q] == 0xA1:
        cname, q = _ctx_principal(d, q, e, 0xA1)
    realm, q = _ctx_text(d, q, e, 0xA2)
    if q < e and d[q] == 0xA3:
        sname, q = _ctx_principal(d, q, e, 0xA3)
    if q < e and d[q] == 0xA4:
        from_time, q = _ctx_time(d, q, e, 0xA4)
    if q < e and d[q] == 0xA5:
        till, q = _ctx_time(d, q, e, 0xA5)
    if q < e and d[q] == 0xA6:
        rtime, q = _ctx_time(d, q, e, 0xA6)
    nonce, q = _ctx_int(d, q, e, 0xA7)
    s8, e8 = _explicit(d, q, e, 0xA8)
    s8, q = _header(d, s8, e8, _SEQUENCE)
    _end(q, e8)
    etypes = []
    while s8 < e8:
        # SEQUENCE OF Int32, nearly always one-byte values: 02 01 vv
        if d[s8] == _INTEGER and d[s8 + 1] == 1 and s8 + 3 <= e8:
            v = d[s8 + 2]
            etypes.append(v - 256 if v & 0x80 else v)
            s8 += 3
        else:
            a, s8 = _header(d, s8, e8, _INTEGER)
            etypes.append(_int_value(d, a, s8))
    if q < e and d[q] == 0xA9:
        pairs, q = _ctx_pairs(d, q, e, 0xA9, 0xA0, 0xA1)
        addresses = _addresses(pairs)
    if q < e and d[q] == 0xAA:
        enc_authz, q = _ctx_enc_data(d, q, e, 0xAA)
    if q < e and d[q] == 0xAB:
        s11, e11 = _explicit(d, q, e, 0xAB)
        s11, q = _header(d, s11, e11, _SEQUENCE)
        _end(q, e11)
        found = []
        while s11 < e11:
            ticket, s11 = _ticket(d, s11, e11, keep_ticket_der)
            found.append(ticket)
        tickets = tuple(found)
    _end(q, e)
    body = KdcReqBody(
        kdc_options=_flags(KDCOptions, _kdc_options_memo, kdc_options),
        cname=cname,
        realm=realm,
        sname=sname,
        from_time=from_time,
        till=till,
        rtime=rtime,
        nonce=nonce,
        etypes=tuple(etypes),
        addresses=addresses,
        enc_authorization_data=enc_authz,
        additional_tickets=tickets,
    )
    return body, e


def _application(d: bytes, tag: int) -> tuple[int, int]:
    """Content span of the SEQUENCE inside the APPLICATION tag that is the whole input."""
    end = len(d)
    s, e = _header(d, 0, end, tag)
    _end(e, end)
    s, e2 = _header(d, s, e, _SEQUENCE)
    _end(e2, e)
    return s, e


#: Input this short cannot hold more than MAX_ELEMENTS elements (two bytes each at least).
_MANY_ELEMENTS_FROM = 2 * MAX_ELEMENTS


def _entry(function: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """Public decoder: bytes in; a read past the end of the input is just a Fallback,
    and so is input with more elements than ``der.MAX_ELEMENTS``, which the model
    refuses (it would read it slowly: a bound on its work is a bound on the answer)."""

    def decode(data: bytes) -> Any:
        if len(data) > _MANY_ELEMENTS_FROM and too_many_elements(data):
            raise Fallback
        try:
            return function(data)
        except IndexError:
            raise Fallback from None

    decode.__name__ = decode.__qualname__ = function.__name__.lstrip("_")
    decode.__doc__ = function.__doc__
    return decode


@_entry
def _decode_kdc_req(d: bytes) -> KdcReq:
    """AS-REQ or TGS-REQ, with ``req_body_der`` and the additional tickets' bytes."""
    tag = d[0]
    if tag == 0x6A:
        expected = KRB_AS_REQ
    elif tag == 0x6C:
        expected = KRB_TGS_REQ
    else:
        raise Fallback
    s, e = _application(d, tag)
    pvno, q = _ctx_int(d, s, e, 0xA1)
    msg_type, q = _ctx_int(d, q, e, 0xA2)
    if msg_type != expected:
        raise Fallback
    padata: tuple[PAData, ...] = ()
    if q < e and d[q] == 0xA3:
        pairs, q = _ctx_pairs(d, q, e, 0xA3, 0xA1, 0xA2)
        padata = _padata(pairs)
    s4, e4 = _explicit(d, q, e, 0xA4)
    _end(e4, e)
    body, q = _req_body(d, s4, e4, True)
    _end(q, e4)
    return KdcReq(pvno=pvno, msg_type=msg_type, padata=padata, req_body=body, req_body_der=d[s4:e4])


@_entry
def _decode_kdc_req_body(d: bytes) -> KdcReqBody:
    """KDC-REQ-BODY alone (its tickets carry no ``ticket_der``, as on the model path)."""
    body, q = _req_body(d, 0, len(d), False)
    _end(q, len(d))
    return body


@_entry
def _decode_kdc_rep(d: bytes) -> KdcRep:
    """AS-REP or TGS-REP; the ticket keeps its bytes."""
    tag = d[0]
    if tag == 0x6B:
        expected = KRB_AS_REP
    elif tag == 0x6D:
        expected = KRB_TGS_REP
    else:
        raise Fallback
    s, e = _application(d, tag)
    pvno, q = _ctx_int(d, s, e, 0xA0)
    msg_type, q = _ctx_int(d, q, e, 0xA1)
    if msg_type != expected:
        raise Fallback
    padata: tuple[PAData, ...] = ()
    if q < e and d[q] == 0xA2:
        pairs, q = _ctx_pairs(d, q, e, 0xA2, 0xA1, 0xA2)
        padata = _padata(pairs)
    crealm, q = _ctx_text(d, q, e, 0xA3)
    cname, q = _ctx_principal(d, q, e, 0xA4)
    ticket, q = _ctx_ticket(d, q, e, 0xA5)
    enc_part, q = _ctx_enc_data(d, q, e, 0xA6)
    _end(q, e)
    return KdcRep(
        pvno=pvno,
        msg_type=msg_type,
        padata=padata,
        crealm=crealm,
        cname=cname,
        ticket=ticket,
        enc_part=enc_part,
    )


@_entry
def _decode_ap_req(d: bytes) -> ApReq:
    """AP-REQ (the PA-TGS-REQ value); the ticket keeps its bytes."""
    s, e = _application(d, 0x6E)
    pvno, q = _ctx_int(d, s, e, 0xA0)
    msg_type, q = _ctx_int(d, q, e, 0xA1)
    if msg_type != KRB_AP_REQ:
        raise Fallback
    ap_options = _ctx_flags(d, q, e, 0xA2)
    ticket, q = _ctx_ticket(d, q + 9, e, 0xA3)
    authenticator, q = _ctx_enc_data(d, q, e, 0xA4)
    _end(q, e)
    return ApReq(
        pvno=pvno,
        msg_type=msg_type,
        ap_options=_flags(APOptions, _ap_options_memo, ap_options),
        ticket=ticket,
        authenticator=authenticator,
    )


@_entry
def _decode_ticket(d: bytes) -> Ticket:
    """Ticket; ``ticket_der`` is the input."""
    ticket, q = _ticket(d, 0, len(d), True)
    _end(q, len(d))
    return ticket


@_entry
def _decode_authenticator(d: bytes) -> Authenticator:
    """Authenticator (plaintext of an AP-REQ's authenticator)."""
    s, e = _application(d, 0x62)
    vno, q = _ctx_int(d, s, e, 0xA0)
    crealm, q = _ctx_text(d, q, e, 0xA1)
    cname, q = _ctx_principal(d, q, e, 0xA2)
    cksum = subkey = seq_number = authz = None
    if q < e and d[q] == 0xA3:
        cksumtype, value, q = _ctx_pair(d, q, e, 0xA3)
        cksum = Checksum(cksumtype, value)
    cusec, q = _ctx_int(d, q, e, 0xA4)
    ctime, q = _ctx_time(d, q, e, 0xA5)
    if q < e and d[q] == 0xA6:
        keytype, value, q = _ctx_pair(d, q, e, 0xA6)
        subkey = EncryptionKey(keytype, value)
    if q < e and d[q] == 0xA7:
        seq_number, q = _ctx_int(d, q, e, 0xA7)
    if q < e and d[q] == 0xA8:
        pairs, q = _ctx_pairs(d, q, e, 0xA8, 0xA0, 0xA1)
        authz = _authz(pairs)
    _end(q, e)
    return Authenticator(
        authenticator_vno=vno,
        crealm=crealm,
        cname=cname,
        cksum=cksum,
        cusec=cusec,
        ctime=ctime,
        subkey=subkey,
        seq_number=seq_number,
        authorization_data=authz,
    )


@_entry
def _decode_enc_ticket_part(d: bytes) -> EncTicketPart:
    """EncTicketPart (plaintext of a ticket's enc-part)."""
    s, e = _application(d, 0x63)
    flags = _ctx_flags(d, s, e, 0xA0)
    keytype, keyvalue, q = _ctx_pair(d, s + 9, e, 0xA1)
    crealm, q = _ctx_text(d, q, e, 0xA2)
    cname, q = _ctx_principal(d, q, e, 0xA3)
    tr_type, contents, q = _ctx_pair(d, q, e, 0xA4)
    authtime, q = _ctx_time(d, q, e, 0xA5)
    starttime = renew_till = caddr = authz = None
    if q < e and d[q] == 0xA6:
        starttime, q = _ctx_time(d, q, e, 0xA6)
    endtime, q = _ctx_time(d, q, e, 0xA7)
    if q < e and d[q] == 0xA8:
        renew_till, q = _ctx_time(d, q, e, 0xA8)
    if q < e and d[q] == 0xA9:
        pairs, q = _ctx_pairs(d, q, e, 0xA9, 0xA0, 0xA1)
        caddr = _addresses(pairs)
    if q < e and d[q] == 0xAA:
        pairs, q = _ctx_pairs(d, q, e, 0xAA, 0xA0, 0xA1)
        authz = _authz(pairs)
    _end(q, e)
    return EncTicketPart(
        flags=_flags(TicketFlags, _ticket_flags_memo, flags),
        key=EncryptionKey(keytype, keyvalue),
        crealm=crealm,
        cname=cname,
        transited=TransitedEncoding(tr_type, contents),
        authtime=authtime,
        starttime=starttime,
        endtime=endtime,
        renew_till=renew_till,
        caddr=caddr,
        authorization_data=authz,
    )


@_entry
def _decode_enc_kdc_rep_part(d: bytes) -> EncKdcRepPart:
    """EncASRepPart (25) or EncTGSRepPart (26)."""
    tag = d[0]
    if tag == 0x79:
        application_tag = APP_ENC_AS_REP_PART
    elif tag == 0x7A:
        application_tag = APP_ENC_TGS_REP_PART
    else:
        raise Fallback
    s, e = _application(d, tag)
    keytype, keyvalue, q = _ctx_pair(d, s, e, 0xA0)
    s1, e1 = _explicit(d, q, e, 0xA1)
    s1, q = _header(d, s1, e1, _SEQUENCE)
    _end(q, e1)
    last_req = []
    while s1 < e1:
        s2, e2 = _header(d, s1, e1, _SEQUENCE)
        lr_type, s1 = _ctx_int(d, s2, e2, 0xA0)
        lr_value, s1 = _ctx_time(d, s1, e2, 0xA1)
        _end(s1, e2)
        last_req.append(LastReqEntry(lr_type, lr_value))
    nonce, q = _ctx_int(d, q, e, 0xA2)
    key_expiration = starttime = renew_till = caddr = encrypted_pa_data = None
    if q < e and d[q] == 0xA3:
        key_expiration, q = _ctx_time(d, q, e, 0xA3)
    flags = _ctx_flags(d, q, e, 0xA4)
    authtime, q = _ctx_time(d, q + 9, e, 0xA5)
    if q < e and d[q] == 0xA6:
        starttime, q = _ctx_time(d, q, e, 0xA6)
    endtime, q = _ctx_time(d, q, e, 0xA7)
    if q < e and d[q] == 0xA8:
        renew_till, q = _ctx_time(d, q, e, 0xA8)
    srealm, q = _ctx_text(d, q, e, 0xA9)
    sname, q = _ctx_principal(d, q, e, 0xAA)
    if q < e and d[q] == 0xAB:
        pairs, q = _ctx_pairs(d, q, e, 0xAB, 0xA0, 0xA1)
        caddr = _addresses(pairs)
    if q < e and d[q] == 0xAC:
        pairs, q = _ctx_pairs(d, q, e, 0xAC, 0xA1, 0xA2)
        encrypted_pa_data = _padata(pairs)
    _end(q, e)
    return EncKdcRepPart(
        key=EncryptionKey(keytype, keyvalue),
        last_req=tuple(last_req),
        nonce=nonce,
        key_expiration=key_expiration,
        flags=_flags(TicketFlags, _ticket_flags_memo, flags),
        authtime=authtime,
        starttime=starttime,
        endtime=endtime,
        renew_till=renew_till,
        srealm=srealm,
        sname=sname,
        caddr=caddr,
        encrypted_pa_data=encrypted_pa_data,
        application_tag=application_tag,
    )


@_entry
def _decode_krb_error(d: bytes) -> KrbError:
    """KRB-ERROR."""
    s, e = _application(d, 0x7E)
    pvno, q = _ctx_int(d, s, e, 0xA0)
    msg_type, q = _ctx_int(d, q, e, 0xA1)
    if msg_type != KRB_ERROR:
        raise Fallback
    ctime = cusec = crealm = cname = e_text = e_data = None
    if q < e and d[q] == 0xA2:
        ctime, q = _ctx_time(d, q, e, 0xA2)
    if q < e and d[q] == 0xA3:
        cusec, q = _ctx_int(d, q, e, 0xA3)
    stime, q = _ctx_time(d, q, e, 0xA4)
    susec, q = _ctx_int(d, q, e, 0xA5)
    error_code, q = _ctx_int(d, q, e, 0xA6)
    if q < e and d[q] == 0xA7:
        crealm, q = _ctx_text(d, q, e, 0xA7)
    if q < e and d[q] == 0xA8:
        cname, q = _ctx_principal(d, q, e, 0xA8)
    realm, q = _ctx_text(d, q, e, 0xA9)
    sname, q = _ctx_principal(d, q, e, 0xAA)
    if q < e and d[q] == 0xAB:
        e_text, q = _ctx_text(d, q, e, 0xAB)
    if q < e and d[q] == 0xAC:
        e_data, q = _ctx_bytes(d, q, e, 0xAC, _OCTET_STRING)
    _end(q, e)
    return KrbError(
        pvno=pvno,
        msg_type=msg_type,
        ctime=ctime,
        cusec=cusec,
        stime=stime,
        susec=susec,
        error_code=error_code,
        crealm=crealm,
        cname=cname,
        realm=realm,
        sname=sname,
        e_text=e_text,
        e_data=e_data,
    )


@_entry
def _decode_pa_enc_ts_enc(d: bytes) -> PaEncTsEnc:
    """PA-ENC-TS-ENC (plaintext of PA-ENC-TIMESTAMP)."""
    end = len(d)
    s, e = _header(d, 0, end, _SEQUENCE)
    _end(e, end)
    patimestamp, q = _ctx_time(d, s, e, 0xA0)
    pausec = None
    if q < e:
        pausec, q = _ctx_int(d, q, e, 0xA1)
    _end(q, e)
    return PaEncTsEnc(patimestamp, pausec)


@_entry
def _decode_method_data(d: bytes) -> tuple[PAData, ...]:
    """METHOD-DATA (SEQUENCE OF PA-DATA)."""
    pairs, q = _pairs(d, 0, len(d), 0xA1, 0xA2)
    _end(q, len(d))
    return _padata(pairs)


@_entry
def _decode_etype_info2(d: bytes) -> tuple[ETypeInfo2Entry, ...]:
    """ETYPE-INFO2; the salt stays bytes."""
    end = len(d)
    s, e = _header(d, 0, end, _SEQUENCE)
    _end(e, end)
    entries = []
    while s < e:
        s1, e1 = _header(d, s, e, _SEQUENCE)
        etype, q = _ctx_int(d, s1, e1, 0xA0)
        salt = s2kparams = None
        if q < e1 and d[q] == 0xA1:
            salt, q = _ctx_bytes(d, q, e1, 0xA1, _GENERAL_STRING)
        if q < e1 and d[q] == 0xA2:
            s2kparams, q = _ctx_bytes(d, q, e1, 0xA2, _OCTET_STRING)
        _end(q, e1)
        entries.append(ETypeInfo2Entry(etype, salt, s2kparams))
        s = e1
    return tuple(entries)


@_entry
def _decode_principal_name(d: bytes) -> PrincipalName:
    """PrincipalName."""
    value, q = _principal(d, 0, len(d))
    _end(q, len(d))
    return value


@_entry
def _decode_encrypted_data(d: bytes) -> EncryptedData:
    """EncryptedData (e.g. the PA-ENC-TIMESTAMP value)."""
    value, q = _enc_data(d, 0, len(d))
    _end(q, len(d))
    return value


@_entry
def _decode_checksum(d: bytes) -> Checksum:
    """Checksum."""
    cksumtype, checksum, q = _int_and_octets(d, 0, len(d), 0xA0, 0xA1)
    _end(q, len(d))
    return Checksum(cksumtype, checksum)


decode_kdc_req = _decode_kdc_req
decode_kdc_req_body = _decode_kdc_req_body
decode_kdc_rep = _decode_kdc_rep
decode_ap_req = _decode_ap_req
decode_ticket = _decode_ticket
decode_authenticator = _decode_authenticator
decode_enc_ticket_part = _decode_enc_ticket_part
decode_enc_kdc_rep_part = _decode_enc_kdc_rep_part
decode_krb_error = _decode_krb_error
decode_pa_enc_ts_enc = _decode_pa_enc_ts_enc
decode_method_data = _decode_method_data
decode_etype_info2 = _decode_etype_info2
decode_principal_name = _decode_principal_name
decode_encrypted_data = _decode_encrypted_data
decode_checksum = _decode_checksum

# ================================================================ encoding
# Each _put_* returns the complete DER of its value. A value of an unexpected type or
# out of range raises Fallback: the model path then encodes it or names the problem.

_LENGTH = [bytes((n,)) for n in range(0x80)]
_CTX = [bytes((0xA0 | n,)) for n in range(13)]
_SMALL_INT = {v: bytes((_INTEGER, 1, v & 0xFF)) for v in range(-127, 128)}
_SMALL_INT[-128] = b"\x02\x02\xff\x80"  # as pyasn1 writes it, see _put_int
# Identifier and short-form length octets together, for contents under 128 bytes:
# most elements of a KDC message are that small, and one concatenation instead of two
# (and no call to _tlv) is a measurable share of encoding an AS-REP's sixty elements.
_CTX_SHORT = [[bytes((0xA0 | n, size)) for size in range(0x80)] for n in range(13)]
_SEQ_SHORT = [bytes((0x30, size)) for size in range(0x80)]
#: [n] around a KerberosTime, whose DER is always 17 bytes (18 0F YYYYMMDDHHMMSSZ).
_CTX_TIME = [bytes((0xA0 | n, 17)) for n in range(13)]
# Encodings of values a KDC writes into every reply (its realm, its principals):
# bounded memos, cleared when full, so a client sending new names cannot grow them.
_text_memo = Memo(_MEMO_SIZE, _MEMO_BYTES, _NAME_MEMO_ITEM * 2 + ENTRY_OVERHEAD)
_principal_memo = Memo(_MEMO_SIZE, _MEMO_BYTES, _NAME_MEMO_ITEM * 3 + ENTRY_OVERHEAD)


def _tlv(tag: bytes, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return tag + _LENGTH[n] + content
    if n < 0x100:
        return tag + b"\x81" + bytes((n,)) + content
    if n < 0x10000:
        return tag + b"\x82" + n.to_bytes(2, "big") + content
    return (
        tag
        + bytes((0x80 | (n.bit_length() + 7) // 8,))
        + n.to_bytes((n.bit_length() + 7) // 8, "big")
        + content
    )


def _ctx(n: int, inner: bytes) -> bytes:
    size = len(inner)
    if size < 0x80:
        return _CTX_SHORT[n][size] + inner
    return _tlv(_CTX[n], inner)


def _seq(parts: list[bytes]) -> bytes:
    content = b"".join(parts)
    size = len(content)
    if size < 0x80:
        return _SEQ_SHORT[size] + content
    return _tlv(b"\x30", content)


def _put_ctx_time(n: int, v: Any) -> bytes:
    """``[n] KerberosTime``."""
    return _CTX_TIME[n] + _put_time(v)


def _put_int(v: Any) -> bytes:
    if type(v) is not int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise Fallback
        v = int(v)
    small = _SMALL_INT.get(v)
    if small is not None:
        return small
    # pyasn1's length rule, byte for byte: minimal for every value except -2**(8k-1)
    # (-128, -32768, -2**31, ...), which it writes one byte longer (ff 80 00 ...).
    # X.690 wants the short form; the model is the reference, so the quirk is kept.
    n = (v if v >= 0 else -v).bit_length() // 8 + 1
    return _tlv(b"\x02", v.to_bytes(n, "big", signed=True))


def _put_octets(v: Any) -> bytes:
    if type(v) is not bytes:
        raise Fallback
    return _tlv(b"\x04", v)


def _put_text(v: Any) -> bytes:
    """KerberosString from str (UTF-8, surrogateescape as on decode)."""
    if type(v) is not str:
        raise Fallback
    der = _text_memo.get(v)
    if der is None:
        der = _tlv(b"\x1b", v.encode("utf-8", "surrogateescape"))
        _text_memo.remember(v, der, len(der) * 2 + ENTRY_OVERHEAD)
    return der


_time_der_memo: dict[int, bytes] = {}


def _put_time(v: Any) -> bytes:
    if type(v) is not int:
        raise Fallback
    der = _time_der_memo.get(v)
    if der is None:
        if not 0 <= v <= _TIME_MAX:
            raise Fallback
        t = time.gmtime(v)
        der = b"\x18\x0f%04d%02d%02d%02d%02d%02dZ" % (
            t.tm_year,
            t.tm_mon,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec,
        )
        if len(_time_der_memo) >= _MEMO_SIZE:
            _time_der_memo.clear()
        _time_der_memo[v] = der
    return der


def _put_flags(v: Any) -> bytes:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFFFFFF:
        raise Fallback
    return b"\x03\x05\x00" + int(v).to_bytes(4, "big")


def _items(v: Any, kind: type) -> Any:
    """A tuple or list whose items are all exactly ``kind``."""
    if type(v) is not tuple and type(v) is not list:
        raise Fallback
    for item in v:
        if type(item) is not kind:
            raise Fallback
    return v


def _put_principal(p: Any) -> bytes:
    if type(p) is not PrincipalName:
        raise Fallback
    names = p.components
    # Only the exact types are remembered (a list is not hashable; True equals 1 but
    # is not an Int32 here), so the memo never answers where the checks would decline.
    memo = type(names) is tuple and type(p.name_type) is int
    if memo:
        der = _principal_memo.get(p)
        if der is not None:
            return der
    elif type(names) is not list:
        raise Fallback
    der = _seq(
        [
            _ctx(0, _put_int(p.name_type)),
            _ctx(1, _seq([_put_text(n) for n in names])),
        ]
    )
    if memo:
        # the DER, the components it was made from and the name around them
        _principal_memo.remember(p, der, len(der) * 3 + ENTRY_OVERHEAD)
    return der


def _put_enc_data(v: Any) -> bytes:
    if type(v) is not EncryptedData:
        raise Fallback
    parts = [_ctx(0, _put_int(v.etype))]
    if v.kvno is not None:
        parts.append(_ctx(1, _put_int(v.kvno)))
    parts.append(_ctx(2, _put_octets(v.cipher)))
    return _seq(parts)


def _put_key(v: Any) -> bytes:
    if type(v) is not EncryptionKey:
        raise Fallback
    return _seq([_ctx(0, _put_int(v.keytype)), _ctx(1, _put_octets(v.keyvalue))])


def _put_checksum(v: Any) -> bytes:
    if type(v) is not Checksum:
        raise Fallback
    return _seq([_ctx(0, _put_int(v.cksumtype)), _ctx(1, _put_octets(v.checksum))])


def _put_address(v: HostAddress) -> bytes:
    return _seq([_ctx(0, _put_int(v.addr_type)), _ctx(1, _put_octets(v.address))])


def _put_addresses(v: Any) -> bytes:
    return _seq([_put_address(a) for a in _items(v, HostAddress)])


def _put_authz_entry(v: AuthorizationDataEntry) -> bytes:
    return _seq([_ctx(0, _put_int(v.ad_type)), _ctx(1, _put_octets(v.ad_data))])


def _put_authz(v: Any) -> bytes:
    return _seq([_put_authz_entry(e) for e in _items(v, AuthorizationDataEntry)])


def _put_padata(v: PAData) -> bytes:
    return _seq([_ctx(1, _put_int(v.padata_type)), _ctx(2, _put_octets(v.padata_value))])


def _put_method_data(v: Any) -> bytes:
    return _seq([_put_padata(p) for p in _items(v, PAData)])


def _put_transited(v: Any) -> bytes:
    if type(v) is not TransitedEncoding:
        raise Fallback
    return _seq([_ctx(0, _put_int(v.tr_type)), _ctx(1, _put_octets(v.contents))])


def _put_last_req_entry(v: LastReqEntry) -> bytes:
    return _seq([_ctx(0, _put_int(v.lr_type)), _put_ctx_time(1, v.lr_value)])


def _put_etype_info2_entry(v: ETypeInfo2Entry) -> bytes:
    parts = [_ctx(0, _put_int(v.etype))]
    if v.salt is not None:
        if type(v.salt) is not bytes:
            raise Fallback
        parts.append(_ctx(1, _tlv(b"\x1b", v.salt)))
    if v.s2kparams is not None:
        parts.append(_ctx(2, _put_octets(v.s2kparams)))
    return _seq(parts)


def _put_etype_info2(v: Any) -> bytes:
    return _seq([_put_etype_info2_entry(e) for e in _items(v, ETypeInfo2Entry)])


def _put_ticket(v: Any) -> bytes:
    if type(v) is not Ticket:
        raise Fallback
    return _tlv(
        b"\x61",
        _seq(
            [
                _ctx(0, _put_int(v.tkt_vno)),
                _ctx(1, _put_text(v.realm)),
                _ctx(2, _put_principal(v.sname)),
                _ctx(3, _put_enc_data(v.enc_part)),
            ]
        ),
    )


def _put_req_body(b: Any) -> bytes:
    if type(b) is not KdcReqBody:
        raise Fallback
    parts = [_ctx(0, _put_flags(b.kdc_options))]
    if b.cname is not None:
        parts.append(_ctx(1, _put_principal(b.cname)))
    parts.append(_ctx(2, _put_text(b.realm)))
    if b.sname is not None:
        parts.append(_ctx(3, _put_principal(b.sname)))
    if b.from_time is not None:
        parts.append(_put_ctx_time(4, b.from_time))
    if b.till is not None:
        parts.append(_put_ctx_time(5, b.till))
    if b.rtime is not None:
        parts.append(_put_ctx_time(6, b.rtime))
    parts.append(_ctx(7, _put_int(b.nonce)))
    etypes = b.etypes
    if type(etypes) is not tuple and type(etypes) is not list:
        raise Fallback
    parts.append(_ctx(8, _seq([_put_int(e) for e in etypes])))
    if b.addresses is not None:
        parts.append(_ctx(9, _put_addresses(b.addresses)))
    if b.enc_authorization_data is not None:
        parts.append(_ctx(10, _put_enc_data(b.enc_authorization_data)))
    if b.additional_tickets:
        tickets = _items(b.additional_tickets, Ticket)
        parts.append(_ctx(11, _seq([_put_ticket(t) for t in tickets])))
    return _seq(parts)


def _put_kdc_req(r: KdcReq) -> bytes:
    if r.msg_type == KRB_AS_REQ:
        tag = b"\x6a"
    elif r.msg_type == KRB_TGS_REQ:
        tag = b"\x6c"
    else:
        raise Fallback
    parts = [_ctx(1, _put_int(r.pvno)), _ctx(2, _put_int(r.msg_type))]
    if r.padata:
        parts.append(_ctx(3, _put_method_data(r.padata)))
    parts.append(_ctx(4, _put_req_body(r.req_body)))
    return _tlv(tag, _seq(parts))


def _reply_head(pvno: Any, msg_type: Any) -> list[bytes]:
    """``[0] pvno [1] msg-type`` of a KDC-REP or KRB-ERROR: the same bytes every time."""
    if type(pvno) is int and type(msg_type) is int:
        head = _REPLY_HEADS.get((pvno, msg_type))
        if head is not None:
            return [head]
    return [_ctx(0, _put_int(pvno)), _ctx(1, _put_int(msg_type))]


_REPLY_HEADS = {
    (5, kind): _ctx(0, _put_int(5)) + _ctx(1, _put_int(kind))
    for kind in (KRB_AS_REP, KRB_TGS_REP, KRB_ERROR)
}


def _put_kdc_rep(r: KdcRep) -> bytes:
    if r.msg_type == KRB_AS_REP:
        tag = b"\x6b"
    elif r.msg_type == KRB_TGS_REP:
        tag = b"\x6d"
    else:
        raise Fallback
    parts = _reply_head(r.pvno, r.msg_type)
    if r.padata:
        parts.append(_ctx(2, _put_method_data(r.padata)))
    parts.append(_ctx(3, _put_text(r.crealm)))
    parts.append(_ctx(4, _put_principal(r.cname)))
    parts.append(_ctx(5, _put_ticket(r.ticket)))
    parts.append(_ctx(6, _put_enc_data(r.enc_part)))
    return _tlv(tag, _seq(parts))


def _put_enc_kdc_rep_part(p: EncKdcRepPart) -> bytes:
    if p.application_tag == APP_ENC_AS_REP_PART:
        tag = b"\x79"
    elif p.application_tag == APP_ENC_TGS_REP_PART:
        tag = b"\x7a"
    else:
        raise Fallback
    last_req = _items(p.last_req, LastReqEntry)
    parts = [
        _ctx(0, _put_key(p.key)),
        _ctx(1, _seq([_put_last_req_entry(e) for e in last_req])),
        _ctx(2, _put_int(p.nonce)),
    ]
    if p.key_expiration is not None:
        parts.append(_put_ctx_time(3, p.key_expiration))
    parts.append(_ctx(4, _put_flags(p.flags)))
    parts.append(_put_ctx_time(5, p.authtime))
    if p.starttime is not None:
        parts.append(_put_ctx_time(6, p.starttime))
    parts.append(_put_ctx_time(7, p.endtime))
    if p.renew_till is not None:
        parts.append(_put_ctx_time(8, p.renew_till))
    parts.append(_ctx(9, _put_text(p.srealm)))
    parts.append(_ctx(10, _put_principal(p.sname)))
    if p.caddr is not None:
        parts.append(_ctx(11, _put_addresses(p.caddr)))
    if p.encrypted_pa_data is not None:
        parts.append(_ctx(12, _put_method_data(p.encrypted_pa_data)))
    return _tlv(tag, _seq(parts))


def _put_enc_ticket_part(p: EncTicketPart) -> bytes:
    parts = [
        _ctx(0, _put_flags(p.flags)),
        _ctx(1, _put_key(p.key)),
        _ctx(2, _put_text(p.crealm)),
        _ctx(3, _put_principal(p.cname)),
        _ctx(4, _put_transited(p.transited)),
        _put_ctx_time(5, p.authtime),
    ]
    if p.starttime is not None:
        parts.append(_put_ctx_time(6, p.starttime))
    parts.append(_put_ctx_time(7, p.endtime))
    if p.renew_till is not None:
        parts.append(_put_ctx_time(8, p.renew_till))
    if p.caddr is not None:
        parts.append(_ctx(9, _put_addresses(p.caddr)))
    if p.authorization_data is not None:
        parts.append(_ctx(10, _put_authz(p.authorization_data)))
    return _tlv(b"\x63", _seq(parts))


def _put_ap_req(r: ApReq) -> bytes:
    return _tlv(
        b"\x6e",
        _seq(
            [
                _ctx(0, _put_int(r.pvno)),
                _ctx(1, _put_int(r.msg_type)),
                _ctx(2, _put_flags(r.ap_options)),
                _ctx(3, _put_ticket(r.ticket)),
                _ctx(4, _put_enc_data(r.authenticator)),
            ]
        ),
    )


def _put_authenticator(a: Authenticator) -> bytes:
    parts = [
        _ctx(0, _put_int(a.authenticator_vno)),
        _ctx(1, _put_text(a.crealm)),
        _ctx(2, _put_principal(a.cname)),
    ]
    if a.cksum is not None:
        parts.append(_ctx(3, _put_checksum(a.cksum)))
    parts.append(_ctx(4, _put_int(a.cusec)))
    parts.append(_put_ctx_time(5, a.ctime))
    if a.subkey is not None:
        parts.append(_ctx(6, _put_key(a.subkey)))
    if a.seq_number is not None:
        parts.append(_ctx(7, _put_int(a.seq_number)))
    if a.authorization_data is not None:
        parts.append(_ctx(8, _put_authz(a.authorization_data)))
    return _tlv(b"\x62", _seq(parts))


_error_tail_memo = Memo(_MEMO_SIZE, _MEMO_BYTES, 8 * 1024)


def _put_krb_error(e: KrbError) -> bytes:
    parts = _reply_head(e.pvno, e.msg_type)
    if e.ctime is not None:
        parts.append(_put_ctx_time(2, e.ctime))
    if e.cusec is not None:
        parts.append(_ctx(3, _put_int(e.cusec)))
    parts.append(_put_ctx_time(4, e.stime))
    parts.append(_ctx(5, _put_int(e.susec)))
    # A KDC sends the same few errors over and over (PREAUTH_REQUIRED with the same
    # hints to the same user, C_PRINCIPAL_UNKNOWN to the same misspelled name): only
    # the time differs. Everything from error-code on is remembered as one template.
    if type(e.error_code) is int:
        key = (e.error_code, e.crealm, e.cname, e.realm, e.sname, e.e_text, e.e_data)
        try:
            tail = _error_tail_memo.get(key)
        except TypeError:  # unhashable, e.g. a list of name components
            tail = key = None
        if tail is None:
            tail = b"".join(_krb_error_tail(e))
            if key is not None:
                # every field of the key is in the tail too: twice its bytes
                _error_tail_memo.remember(key, tail, len(tail) * 2 + 2 * ENTRY_OVERHEAD)
        parts.append(tail)
    else:
        parts.extend(_krb_error_tail(e))
    return _tlv(b"\x7e", _seq(parts))


def _krb_error_tail(e: KrbError) -> list[bytes]:
    """The fields of a KRB-ERROR from error-code [6] on."""
    parts = [_ctx(6, _put_int(e.error_code))]
    if e.crealm is not None:
        parts.append(_ctx(7, _put_text(e.crealm)))
    if e.cname is not None:
        parts.append(_ctx(8, _put_principal(e.cname)))
    parts.append(_ctx(9, _put_text(e.realm)))
    parts.append(_ctx(10, _put_principal(e.sname)))
    if e.e_text is not None:
        parts.append(_ctx(11, _put_text(e.e_text)))
    if e.e_data is not None:
        parts.append(_ctx(12, _put_octets(e.e_data)))
    return parts


def _put_pa_enc_ts_enc(p: PaEncTsEnc) -> bytes:
    parts = [_put_ctx_time(0, p.patimestamp)]
    if p.pausec is not None:
        parts.append(_ctx(1, _put_int(p.pausec)))
    return _seq(parts)


def _guarded(function: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """Public encoder: a value this path cannot represent is a Fallback, whatever broke."""

    def encode(obj: Any) -> bytes:
        try:
            return function(obj)
        except (AttributeError, TypeError, ValueError, OverflowError):
            # e.g. a str with a lone surrogate, an attribute missing on a look-alike
            raise Fallback from None

    encode.__name__ = encode.__qualname__ = function.__name__.replace("_put_", "encode_")
    return encode


ENCODERS: dict[type, Callable[[Any], bytes]] = {
    cls: _guarded(function)
    for cls, function in {
        KdcReq: _put_kdc_req,
        KdcReqBody: _put_req_body,
        KdcRep: _put_kdc_rep,
        EncKdcRepPart: _put_enc_kdc_rep_part,
        Ticket: _put_ticket,
        EncTicketPart: _put_enc_ticket_part,
        ApReq: _put_ap_req,
        Authenticator: _put_authenticator,
        KrbError: _put_krb_error,
        PaEncTsEnc: _put_pa_enc_ts_enc,
        PrincipalName: _put_principal,
        EncryptedData: _put_enc_data,
        EncryptionKey: _put_key,
        Checksum: _put_checksum,
        HostAddress: _put_address,
        AuthorizationDataEntry: _put_authz_entry,
        PAData: _put_padata,
        TransitedEncoding: _put_transited,
        LastReqEntry: _put_last_req_entry,
        ETypeInfo2Entry: _put_etype_info2_entry,
    }.items()
}
"""``type(obj)`` → fast encoder of ``encode(obj)`` (raises Fallback when it declines)."""

encode_method_data = _guarded(_put_method_data)
"""METHOD-DATA from a tuple or list of PAData."""
encode_etype_info2 = _guarded(_put_etype_info2)
"""ETYPE-INFO2 from a tuple or list of ETypeInfo2Entry."""
