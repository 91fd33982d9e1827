"""SPNEGO (RFC 4178) tokens, and choosing Kerberos among the offered mechanisms.

::

    NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit,
                                  negTokenResp [1] NegTokenResp }
    NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags
                                OPTIONAL, mechToken [2] OCTET STRING OPTIONAL,
                                mechListMIC [3] OCTET STRING OPTIONAL, ... }
    NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1]
                                MechType OPTIONAL, responseToken [2] OCTET STRING OPTIONAL,
                                mechListMIC [3] OCTET STRING OPTIONAL, ... }

The initiator's first token is a negTokenInit inside the GSS-API framing with the
SPNEGO OID; every later token, either way, is a bare NegotiationToken.

What real clients do (MIT libgssapi behind curl and python-gssapi, Windows SSPI):
they list Kerberos first and send an optimistic Kerberos token in ``mechToken``. The
acceptor then answers in one round: ``accept-completed``, ``supportedMech`` echoing
the OID the client listed first (Windows lists Microsoft's Kerberos OID first and
expects it back), and the AP-REP token as ``responseToken`` when the client asked
for mutual authentication. When the preferred mechanism is accepted this way, the
mechListMIC exchange is optional (RFC 4178 §5) and MIT neither sends nor expects one.
"""

from __future__ import annotations

from dataclasses import dataclass

from has_kdc.asn1 import Asn1Error
from has_kdc.asn1.der import read_header
from has_kdc.gss.errors import DEFECTIVE_TOKEN, GssError
from has_kdc.gss.framing import (
    SPNEGO_OID,
    decode_oid_content,
    encode_oid,
    tlv,
    unwrap_token,
    wrap_token,
)

ACCEPT_COMPLETED = 0
ACCEPT_INCOMPLETE = 1
REJECT = 2
REQUEST_MIC = 3
NEG_STATE_NAMES = {
    ACCEPT_COMPLETED: "accept-completed",
    ACCEPT_INCOMPLETE: "accept-incomplete",
    REJECT: "reject",
    REQUEST_MIC: "request-mic",
}

_SEQUENCE = 0x30
_OCTET_STRING = 0x04
_BIT_STRING = 0x03
_ENUMERATED = 0x0A
_OID = 0x06


def _ctx(n: int) -> int:
    return 0xA0 | n


@dataclass(frozen=True)
class NegTokenInit:
    mech_types: tuple[str, ...]
    req_flags: bytes | None = None  # ContextFlags BIT STRING content, kept as sent
    mech_token: bytes | None = None
    mech_list_mic: bytes | None = None
    mech_types_der: bytes | None = None  # MechTypeList DER as received (the MIC covers it)

    def encode(self) -> bytes:
        """The initiator's first token: GSS framing with the SPNEGO OID around [0]."""
        fields = tlv(_ctx(0), tlv(_SEQUENCE, b"".join(encode_oid(m) for m in self.mech_types)))
        if self.req_flags is not None:
            fields += tlv(_ctx(1), tlv(_BIT_STRING, self.req_flags))
        if self.mech_token is not None:
            fields += tlv(_ctx(2), tlv(_OCTET_STRING, self.mech_token))
        if self.mech_list_mic is not None:
            fields += tlv(_ctx(3), tlv(_OCTET_STRING, self.mech_list_mic))
        return wrap_token(SPNEGO_OID, tlv(_ctx(0), tlv(_SEQUENCE, fields)))


@dataclass(frozen=True)
class NegTokenResp:
    neg_state: int | None = None
    supported_mech: str | None = None
    response_token: bytes | None = None
    mech_list_mic: bytes | None = None

    def encode(self) -> bytes:
        """A bare negTokenResp ([1]), as every token after the first travels."""
        fields = b""
        if self.neg_state is not None:
            fields += tlv(_ctx(0), tlv(_ENUMERATED, bytes((self.neg_state,))))
        if self.supported_mech is not None:
            fields += tlv(_ctx(1), encode_oid(self.supported_mech))
        if self.response_token is not None:
            fields += tlv(_ctx(2), tlv(_OCTET_STRING, self.response_token))
        if self.mech_list_mic is not None:
            fields += tlv(_ctx(3), tlv(_OCTET_STRING, self.mech_list_mic))
        return tlv(_ctx(1), tlv(_SEQUENCE, fields))

    @property
    def state_name(self) -> str:
        if self.neg_state is None:
            return "absent"
        return NEG_STATE_NAMES.get(self.neg_state, f"unknown ({self.neg_state})")


def _fields(data: bytes, start: int, end: int, what: str) -> dict[int, tuple[int, int, int]]:
    """The context-tagged fields of the SEQUENCE at ``data[start:end]``:
    tag number → (identifier of the inner element, its content start, content end)."""
    ident, _, s, e = read_header(data, start, end)
    if ident != _SEQUENCE or e != end:
        raise GssError(DEFECTIVE_TOKEN, f"{what} is not a SEQUENCE")
    out: dict[int, tuple[int, int, int]] = {}
    pos = s
    while pos < e:
        tag_ident, number, cs, ce = read_header(data, pos, e)
        if tag_ident != _ctx(number):
            raise GssError(DEFECTIVE_TOKEN, f"{what}: unexpected element 0x{tag_ident:02x}")
        inner_ident, _, is_, ie = read_header(data, cs, ce)
        if ie != ce:
            raise GssError(DEFECTIVE_TOKEN, f"{what}: field [{number}] has trailing bytes")
        out[number] = (inner_ident, is_, ie)
        pos = ce
    return out


def _element_start(data: bytes, start: int, end: int, number: int) -> int:
    """Where the element inside context tag ``[number]`` of the SEQUENCE starts."""
    _, _, pos, e = read_header(data, start, end)
    while pos < e:
        ident, _, cs, ce = read_header(data, pos, e)
        if ident == _ctx(number):
            return cs
        pos = ce
    raise GssError(DEFECTIVE_TOKEN, f"field [{number}] missing")


def _octets(data: bytes, field: tuple[int, int, int] | None, what: str) -> bytes | None:
    if field is None:
        return None
    ident, s, e = field
    if ident != _OCTET_STRING:
        raise GssError(DEFECTIVE_TOKEN, f"{what} is not an OCTET STRING")
    return data[s:e]


def _decode_init(data: bytes, start: int, end: int) -> NegTokenInit:
    f = _fields(data, start, end, "negTokenInit")
    if 0 not in f:
        raise GssError(DEFECTIVE_TOKEN, "negTokenInit has no mechTypes")
    ident, s, e = f[0]
    if ident != _SEQUENCE:
        raise GssError(DEFECTIVE_TOKEN, "negTokenInit mechTypes is not a SEQUENCE OF")
    mech_types_der = data[_element_start(data, start, end, 0) : e]
    mechs = []
    pos = s
    while pos < e:
        oid_ident, _, os_, oe = read_header(data, pos, e)
        if oid_ident != _OID:
            raise GssError(DEFECTIVE_TOKEN, "negTokenInit mechTypes holds a non-OID")
        mechs.append(decode_oid_content(data[os_:oe]))
        pos = oe
    flags = None
    if 1 in f:
        fi, fs, fe = f[1]
        if fi != _BIT_STRING:
            raise GssError(DEFECTIVE_TOKEN, "negTokenInit reqFlags is not a BIT STRING")
        flags = data[fs:fe]
    return NegTokenInit(
        mech_types=tuple(mechs),
        req_flags=flags,
        mech_token=_octets(data, f.get(2), "negTokenInit mechToken"),
        mech_list_mic=_octets(data, f.get(3), "negTokenInit mechListMIC"),
        mech_types_der=mech_types_der,
    )


def _decode_resp(data: bytes, start: int, end: int) -> NegTokenResp:
    f = _fields(data, start, end, "negTokenResp")
    state = None
    if 0 in f:
        ident, s, e = f[0]
        if ident != _ENUMERATED or e - s != 1:
            raise GssError(DEFECTIVE_TOKEN, "negTokenResp negState is not a small ENUMERATED")
        state = data[s]
    mech = None
    if 1 in f:
        ident, s, e = f[1]
        if ident != _OID:
            raise GssError(DEFECTIVE_TOKEN, "negTokenResp supportedMech is not an OID")
        mech = decode_oid_content(data[s:e])
    return NegTokenResp(
        neg_state=state,
        supported_mech=mech,
        response_token=_octets(data, f.get(2), "negTokenResp responseToken"),
        mech_list_mic=_octets(data, f.get(3), "negTokenResp mechListMIC"),
    )


def decode_negotiation_token(token: bytes) -> NegTokenInit | NegTokenResp:
    """A SPNEGO token: framed negTokenInit (first token) or a bare [0]/[1] choice."""
    try:
        if token[:1] == b"\x60":
            mech, inner = unwrap_token(token)
            if mech != SPNEGO_OID:
                raise GssError(DEFECTIVE_TOKEN, f"token is for mechanism {mech}, not SPNEGO")
            data = inner
        else:
            data = token
        ident, number, s, e = read_header(data, 0, len(data))
        if e != len(data):
            raise GssError(DEFECTIVE_TOKEN, "bytes after the SPNEGO NegotiationToken")
        if ident == _ctx(0) and number == 0:
            return _decode_init(data, s, e)
        if ident == _ctx(1) and number == 1:
            return _decode_resp(data, s, e)
        raise GssError(
            DEFECTIVE_TOKEN,
            f"not a SPNEGO NegotiationToken (element 0x{ident:02x}, expected [0] or [1])",
        )
    except Asn1Error as err:
        raise GssError(DEFECTIVE_TOKEN, f"malformed SPNEGO token: {err}") from None
