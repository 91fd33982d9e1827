"""GSS-API token framing (RFC 2743 §3.1) and the object identifiers it names.

The first token of a context is an InitialContextToken::

    [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OBJECT IDENTIFIER, innerToken ANY }

The Kerberos mechanism frames its AP-REP reply the same way (MIT and Windows both
expect it), SPNEGO frames only its first token. Inner tokens are not DER-encoded
objects in general (the Kerberos one starts with a two-byte TOK_ID), so the
innerToken is simply whatever follows the OID up to the end of the outer element.

Also here: the few DER helpers SPNEGO needs (tag-length-value encoding, OID
encoding), built on ``has_kdc.asn1.der`` for reading.
"""

from __future__ import annotations

from has_kdc.asn1 import Asn1Error
from has_kdc.asn1.der import read_header
from has_kdc.gss.errors import DEFECTIVE_TOKEN, GssError

#: RFC 1964 / RFC 4121 Kerberos V5 mechanism.
KRB5_OID = "1.2.840.113554.1.2.2"
#: The Kerberos mechanism under the OID Microsoft mistakenly shipped; Windows
#: clients list it first, and it must be answered as Kerberos.
MS_KRB5_OID = "1.2.840.48018.1.2.2"
#: RFC 4178 SPNEGO pseudo-mechanism.
SPNEGO_OID = "1.3.6.1.5.5.2"

KRB5_OIDS = frozenset({KRB5_OID, MS_KRB5_OID})

_APPLICATION_0 = 0x60  # [APPLICATION 0], constructed
_OID_TAG = 0x06


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: a single-byte tag, its definite length, ``content``."""
    return bytes((tag,)) + der_length(len(content)) + content


def encode_oid(dotted: str) -> bytes:
    """DER of OBJECT IDENTIFIER ``dotted`` (tag and length included)."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"not an object identifier: {dotted!r}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(_OID_TAG, bytes(body))


def decode_oid_content(content: bytes) -> str:
    """The dotted form of the content octets of an OBJECT IDENTIFIER."""
    if not content or content[-1] & 0x80:
        raise GssError(DEFECTIVE_TOKEN, "malformed object identifier in token")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def wrap_token(mech: str, inner: bytes) -> bytes:
    """``inner`` framed as an InitialContextToken for mechanism ``mech``."""
    return tlv(_APPLICATION_0, encode_oid(mech) + inner)


def is_framed(token: bytes) -> bool:
    """Whether ``token`` starts like an InitialContextToken."""
    return token[:1] == bytes((_APPLICATION_0,))


def unwrap_token(token: bytes) -> tuple[str, bytes]:
    """The mechanism OID and inner token of an InitialContextToken."""
    try:
        ident, _, start, end = read_header(token, 0, len(token))
        if ident != _APPLICATION_0:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"not a GSS-API initial context token (first byte 0x{ident:02x}, "
                "expected 0x60 [APPLICATION 0])",
            )
        if end != len(token):
            raise GssError(
                DEFECTIVE_TOKEN, f"{len(token) - end} bytes after the GSS-API token framing"
            )
        oid_ident, _, oid_start, oid_end = read_header(token, start, end)
    except Asn1Error as err:
        raise GssError(DEFECTIVE_TOKEN, f"malformed GSS-API token framing: {err}") from None
    if oid_ident != _OID_TAG:
        raise GssError(DEFECTIVE_TOKEN, "GSS-API token framing does not start with a mechanism OID")
    return decode_oid_content(token[oid_start:oid_end]), token[oid_end:end]
