"""DER of the RFC 6113 (FAST) messages, between bytes and the dataclasses of ``messages``.

The FAST messages wrap RFC 4120 parts (KDC-REQ-BODY, PA-DATA, EncryptedData,
Checksum, EncryptionKey, PrincipalName); those go through ``codec`` as everywhere
else, so this module only lays out the few SEQUENCEs RFC 6113 §5.4 adds:

    PA-FX-FAST-REQUEST ::= CHOICE { armored-data [0] KrbFastArmoredReq }
    KrbFastArmoredReq ::= SEQUENCE { armor [0] KrbFastArmor OPTIONAL,
        req-checksum [1] Checksum, enc-fast-req [2] EncryptedData }
    KrbFastArmor ::= SEQUENCE { armor-type [0] Int32, armor-value [1] OCTET STRING }
    KrbFastReq ::= SEQUENCE { fast-options [0] FastOptions,
        padata [1] SEQUENCE OF PA-DATA, req-body [2] KDC-REQ-BODY }
    PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep }
    KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData }
    KrbFastResponse ::= SEQUENCE { padata [0] SEQUENCE OF PA-DATA,
        strengthen-key [1] EncryptionKey OPTIONAL,
        finished [2] KrbFastFinished OPTIONAL, nonce [3] UInt32 }
    KrbFastFinished ::= SEQUENCE { timestamp [0] KerberosTime, usec [1] Microseconds,
        crealm [2] Realm, cname [3] PrincipalName, ticket-checksum [4] Checksum }

Decoding is as strict as ``codec``'s: one element, every field where it belongs,
every failure an ``Asn1Error``.
"""

from __future__ import annotations

import calendar
import time

from has_kdc.asn1 import der
from has_kdc.asn1.codec import (
    decode_checksum,
    decode_encrypted_data,
    decode_kdc_req_body,
    decode_method_data,
    decode_principal_name,
    encode,
    encode_method_data,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import (
    EncryptedData,
    EncryptionKey,
    KrbFastArmor,
    KrbFastArmoredReq,
    KrbFastFinished,
    KrbFastReq,
    KrbFastResponse,
)

__all__ = [
    "decode_krb_fast_finished",
    "decode_krb_fast_req",
    "decode_krb_fast_response",
    "decode_pa_fx_fast_reply",
    "decode_pa_fx_fast_request",
    "encode_krb_fast_req",
    "encode_krb_fast_response",
    "encode_pa_fx_fast_reply",
    "encode_pa_fx_fast_request",
]

_SEQUENCE = 0x30
_INTEGER = 0x02
_BIT_STRING = 0x03
_OCTET_STRING = 0x04
_GENERAL_STRING = 0x1B
_GENERALIZED_TIME = 0x18


# ---------------------------------------------------------------- writing


def _tlv(identifier: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((identifier, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((identifier, 0x80 | len(size))) + size + content


def _ctx(number: int, element: bytes) -> bytes:
    return _tlv(der.CLASS_CONTEXT | der.CONSTRUCTED | number, element)


def _seq(*fields: bytes) -> bytes:
    return _tlv(_SEQUENCE, b"".join(fields))


def _int(value: int) -> bytes:
    length = max(1, (value.bit_length() + 8) // 8)
    return _tlv(_INTEGER, value.to_bytes(length, "big", signed=True))


def _uint32(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise Asn1Error(f"{name} must be a 32-bit unsigned int, got {value!r}")
    return _int(value)


def _flags(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise Asn1Error(f"{name}: KerberosFlags must be a 32-bit unsigned int, got {value!r}")
    return _tlv(_BIT_STRING, b"\x00" + value.to_bytes(4, "big"))


def _time(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 253402300799:
        raise Asn1Error(f"{name}: KerberosTime must be an int in 1970..9999, got {value!r}")
    return _tlv(_GENERALIZED_TIME, time.strftime("%Y%m%d%H%M%SZ", time.gmtime(value)).encode())


def encode_pa_fx_fast_request(req: KrbFastArmoredReq) -> bytes:
    """The padata-value of PA-FX-FAST in a request."""
    fields = []
    if req.armor is not None:
        armor = _seq(
            _ctx(0, _int(req.armor.armor_type)),
            _ctx(1, _tlv(_OCTET_STRING, req.armor.armor_value)),
        )
        fields.append(_ctx(0, armor))
    fields.append(_ctx(1, encode(req.req_checksum)))
    fields.append(_ctx(2, encode(req.enc_fast_req)))
    return _ctx(0, _seq(*fields))


def encode_krb_fast_req(req: KrbFastReq) -> bytes:
    """KrbFastReq, to be encrypted under the armor key (usage 51)."""
    return _seq(
        _ctx(0, _flags(req.fast_options, "fast-options")),
        _ctx(1, encode_method_data(req.padata)),
        _ctx(2, encode(req.req_body)),
    )


def encode_krb_fast_response(rep: KrbFastResponse) -> bytes:
    """KrbFastResponse, to be encrypted under the armor key (usage 52)."""
    fields = [_ctx(0, encode_method_data(rep.padata))]
    if rep.strengthen_key is not None:
        fields.append(_ctx(1, encode(rep.strengthen_key)))
    if rep.finished is not None:
        f = rep.finished
        fields.append(
            _ctx(
                2,
                _seq(
                    _ctx(0, _time(f.timestamp, "timestamp")),
                    _ctx(1, _int(f.usec)),
                    _ctx(2, _tlv(_GENERAL_STRING, f.crealm.encode("utf-8", "surrogateescape"))),
                    _ctx(3, encode(f.cname)),
                    _ctx(4, encode(f.ticket_checksum)),
                ),
            )
        )
    fields.append(_ctx(3, _uint32(rep.nonce, "nonce")))
    return _seq(*fields)


def encode_pa_fx_fast_reply(enc_fast_rep: EncryptedData) -> bytes:
    """The padata-value of PA-FX-FAST in a reply or in a KRB-ERROR's METHOD-DATA."""
    return _ctx(0, _seq(_ctx(0, encode(enc_fast_rep))))


# ---------------------------------------------------------------- reading


def _whole(data: bytes, identifier: int, what: str) -> tuple[int, int]:
    """Content span of ``data``, which must be exactly one element tagged ``identifier``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    ident, _, start, end = der.read_header(data, 0, len(data))
    if ident != identifier:
        raise Asn1Error(f"{what}: expected tag 0x{identifier:02x}, got 0x{ident:02x}")
    if end != len(data):
        raise Asn1Error(f"{what}: {len(data) - end} bytes after the element")
    return start, end


def _fields(data: bytes, start: int, end: int, what: str) -> dict[int, bytes]:
    """The SEQUENCE content ``data[start:end]`` as {context number: inner element},
    in strictly increasing order, each [n] holding exactly one element."""
    out: dict[int, bytes] = {}
    last = -1
    for a, b in der.children(data, start, end):
        ident, number, s, e = der.read_header(data, a, b)
        if ident != der.CLASS_CONTEXT | der.CONSTRUCTED | number or number <= last:
            raise Asn1Error(f"{what}: unexpected field 0x{ident:02x} at offset {a}")
        inner = der.children(data, s, e)
        if len(inner) != 1:
            raise Asn1Error(f"{what}: field [{number}] must hold one element")
        out[number] = data[inner[0][0] : inner[0][1]]
        last = number
    return out


def _need(fields: dict[int, bytes], number: int, what: str) -> bytes:
    value = fields.get(number)
    if value is None:
        raise Asn1Error(f"{what}: required field [{number}] is missing")
    return value


def _primitive(element: bytes, identifier: int, what: str) -> bytes:
    s, e = _whole(element, identifier, what)
    return element[s:e]


def _read_int(element: bytes, what: str) -> int:
    raw = _primitive(element, _INTEGER, what)
    if not raw or len(raw) > der.MAX_INTEGER_BYTES:
        raise Asn1Error(f"{what}: INTEGER of {len(raw)} bytes")
    return int.from_bytes(raw, "big", signed=True)


def _read_uint32(element: bytes, what: str) -> int:
    value = _read_int(element, what)
    if not 0 <= value <= 0xFFFFFFFF:
        raise Asn1Error(f"{what}: {value} is not a UInt32")
    return value


def _read_flags(element: bytes, what: str) -> int:
    raw = _primitive(element, _BIT_STRING, what)
    if not raw or raw[0] > 7:
        raise Asn1Error(f"{what}: malformed BIT STRING")
    bits = (raw[1:] + bytes(4))[:4]
    return int.from_bytes(bits, "big")


def _read_time(element: bytes, what: str) -> int:
    raw = _primitive(element, _GENERALIZED_TIME, what)
    if len(raw) != 15 or raw[14:] != b"Z" or not raw[:14].isdigit():
        raise Asn1Error(f"{what}: KerberosTime must be YYYYMMDDHHMMSSZ")
    try:
        return calendar.timegm(time.strptime(raw[:14].decode(), "%Y%m%d%H%M%S"))
    except ValueError:
        raise Asn1Error(f"{what}: {raw.decode()} is not a valid date") from None


def decode_pa_fx_fast_request(data: bytes) -> KrbFastArmoredReq:
    """PA-FX-FAST-REQUEST (the padata-value of PA-FX-FAST in a request)."""
    what = "PA-FX-FAST-REQUEST"
    data = bytes(data)
    s, e = _whole(data, der.CLASS_CONTEXT | der.CONSTRUCTED | 0, what)
    inner = data[s:e]
    s, e = _whole(inner, _SEQUENCE, "KrbFastArmoredReq")
    f = _fields(inner, s, e, "KrbFastArmoredReq")
    armor = None
    if 0 in f:
        a = f[0]
        s, e = _whole(a, _SEQUENCE, "KrbFastArmor")
        af = _fields(a, s, e, "KrbFastArmor")
        armor = KrbFastArmor(
            _read_int(_need(af, 0, "KrbFastArmor"), "armor-type"),
            _primitive(_need(af, 1, "KrbFastArmor"), _OCTET_STRING, "armor-value"),
        )
    return KrbFastArmoredReq(
        armor=armor,
        req_checksum=decode_checksum(_need(f, 1, "KrbFastArmoredReq")),
        enc_fast_req=decode_encrypted_data(_need(f, 2, "KrbFastArmoredReq")),
    )


def decode_krb_fast_req(data: bytes) -> KrbFastReq:
    """KrbFastReq (the decrypted enc-fast-req)."""
    data = bytes(data)
    s, e = _whole(data, _SEQUENCE, "KrbFastReq")
    f = _fields(data, s, e, "KrbFastReq")
    body_der = _need(f, 2, "KrbFastReq")
    return KrbFastReq(
        fast_options=_read_flags(_need(f, 0, "KrbFastReq"), "fast-options"),
        padata=decode_method_data(_need(f, 1, "KrbFastReq")),
        req_body=decode_kdc_req_body(body_der),
        req_body_der=body_der,
    )


def decode_pa_fx_fast_reply(data: bytes) -> EncryptedData:
    """PA-FX-FAST-REPLY: the enc-fast-rep it carries."""
    data = bytes(data)
    s, e = _whole(data, der.CLASS_CONTEXT | der.CONSTRUCTED | 0, "PA-FX-FAST-REPLY")
    inner = data[s:e]
    s, e = _whole(inner, _SEQUENCE, "KrbFastArmoredRep")
    f = _fields(inner, s, e, "KrbFastArmoredRep")
    return decode_encrypted_data(_need(f, 0, "KrbFastArmoredRep"))


def decode_krb_fast_finished(data: bytes) -> KrbFastFinished:
    data = bytes(data)
    s, e = _whole(data, _SEQUENCE, "KrbFastFinished")
    f = _fields(data, s, e, "KrbFastFinished")
    realm = _primitive(_need(f, 2, "KrbFastFinished"), _GENERAL_STRING, "crealm")
    return KrbFastFinished(
        timestamp=_read_time(_need(f, 0, "KrbFastFinished"), "timestamp"),
        usec=_read_int(_need(f, 1, "KrbFastFinished"), "usec"),
        crealm=realm.decode("utf-8", "surrogateescape"),
        cname=decode_principal_name(_need(f, 3, "KrbFastFinished")),
        ticket_checksum=decode_checksum(_need(f, 4, "KrbFastFinished")),
    )


def decode_krb_fast_response(data: bytes) -> KrbFastResponse:
    """KrbFastResponse (the decrypted enc-fast-rep)."""
    data = bytes(data)
    s, e = _whole(data, _SEQUENCE, "KrbFastResponse")
    f = _fields(data, s, e, "KrbFastResponse")
    key = None
    if 1 in f:
        k = f[1]
        s, e = _whole(k, _SEQUENCE, "EncryptionKey")
        kf = _fields(k, s, e, "EncryptionKey")
        key = EncryptionKey(
            _read_int(_need(kf, 0, "EncryptionKey"), "keytype"),
            _primitive(_need(kf, 1, "EncryptionKey"), _OCTET_STRING, "keyvalue"),
        )
    return KrbFastResponse(
        padata=decode_method_data(_need(f, 0, "KrbFastResponse")),
        strengthen_key=key,
        finished=None if 2 not in f else decode_krb_fast_finished(f[2]),
        nonce=_read_uint32(_need(f, 3, "KrbFastResponse"), "nonce"),
    )
