"""pyasn1 specifications of the RFC 4120 ASN.1 module (Appendix A), DER.

The module is ``DEFINITIONS EXPLICIT TAGS``: every ``[n]`` below is an explicit
context tag and every ``[APPLICATION n]`` wraps the whole SEQUENCE. Names are the
RFC's with the hyphens dropped (``KDC-REQ-BODY`` → ``KdcReqBody``).

These classes are the reference model of the wire format. Nothing outside
``has_kdc.asn1`` uses them: the codec turns them into the dataclasses of
``messages.py``, so a faster hand-written DER path can replace pyasn1 on the hot
messages without the rest of the code noticing.

Deliberate relaxations, each one what MIT or Heimdal also accept:

- ``till`` in KDC-REQ-BODY is OPTIONAL (as in Heimdal's module; RFC 1510 clients
  that omit it are still answerable).
- integer ranges (Int32, UInt32, Microseconds) are not constrained here; the codec
  checks what must be checked, and a nonce outside 0..2**32-1 is echoed as sent.
- ``encrypted-pa-data [12]`` of EncKDCRepPart is RFC 6806's extension.
"""

from __future__ import annotations

from pyasn1.type import char, namedtype, tag, univ, useful


def _ctx(n: int, asn1_type: univ.Asn1Item) -> univ.Asn1Item:
    """``[n] EXPLICIT asn1_type``."""
    return asn1_type.subtype(explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, n))


def _app(n: int) -> tag.TagSet:
    """Tag set of ``[APPLICATION n] EXPLICIT SEQUENCE``."""
    return univ.Sequence.tagSet.tagExplicitly(
        tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, n)
    )


def _field(n: int, name: str, asn1_type: univ.Asn1Item) -> namedtype.NamedType:
    return namedtype.NamedType(name, _ctx(n, asn1_type))


def _optional(n: int, name: str, asn1_type: univ.Asn1Item) -> namedtype.OptionalNamedType:
    return namedtype.OptionalNamedType(name, _ctx(n, asn1_type))


class Int32(univ.Integer):
    pass


class UInt32(univ.Integer):
    pass


class Microseconds(univ.Integer):
    pass


class KerberosString(char.GeneralString):
    """GeneralString restricted to IA5 by the RFC; carried here as raw bytes."""


class Realm(KerberosString):
    pass


class KerberosTime(useful.GeneralizedTime):
    """GeneralizedTime "YYYYMMDDHHMMSSZ", UTC, no fractional seconds."""


class KerberosFlags(univ.BitString):
    """BIT STRING of at least 32 bits; bit 0 is the first (most significant) bit."""


class PrincipalName(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "name-type", Int32()),
        _field(1, "name-string", univ.SequenceOf(componentType=KerberosString())),
    )


class HostAddress(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "addr-type", Int32()),
        _field(1, "address", univ.OctetString()),
    )


class HostAddresses(univ.SequenceOf):
    componentType = HostAddress()


class AuthorizationDataEntry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "ad-type", Int32()),
        _field(1, "ad-data", univ.OctetString()),
    )


class AuthorizationData(univ.SequenceOf):
    componentType = AuthorizationDataEntry()


class PaData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(1, "padata-type", Int32()),
        _field(2, "padata-value", univ.OctetString()),
    )


class MethodData(univ.SequenceOf):
    componentType = PaData()


class TypedDataEntry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "data-type", Int32()),
        _optional(1, "data-value", univ.OctetString()),
    )


class TypedData(univ.SequenceOf):
    componentType = TypedDataEntry()


class EncryptedData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "etype", Int32()),
        _optional(1, "kvno", UInt32()),
        _field(2, "cipher", univ.OctetString()),
    )


class EncryptionKey(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "keytype", Int32()),
        _field(1, "keyvalue", univ.OctetString()),
    )


class Checksum(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "cksumtype", Int32()),
        _field(1, "checksum", univ.OctetString()),
    )


class Ticket(univ.Sequence):
    tagSet = _app(1)
    componentType = namedtype.NamedTypes(
        _field(0, "tkt-vno", univ.Integer()),
        _field(1, "realm", Realm()),
        _field(2, "sname", PrincipalName()),
        _field(3, "enc-part", EncryptedData()),
    )


class Tickets(univ.SequenceOf):
    componentType = Ticket()


class TransitedEncoding(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "tr-type", Int32()),
        _field(1, "contents", univ.OctetString()),
    )


class EncTicketPart(univ.Sequence):
    tagSet = _app(3)
    componentType = namedtype.NamedTypes(
        _field(0, "flags", KerberosFlags()),
        _field(1, "key", EncryptionKey()),
        _field(2, "crealm", Realm()),
        _field(3, "cname", PrincipalName()),
        _field(4, "transited", TransitedEncoding()),
        _field(5, "authtime", KerberosTime()),
        _optional(6, "starttime", KerberosTime()),
        _field(7, "endtime", KerberosTime()),
        _optional(8, "renew-till", KerberosTime()),
        _optional(9, "caddr", HostAddresses()),
        _optional(10, "authorization-data", AuthorizationData()),
    )


class KdcReqBody(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "kdc-options", KerberosFlags()),
        _optional(1, "cname", PrincipalName()),
        _field(2, "realm", Realm()),
        _optional(3, "sname", PrincipalName()),
        _optional(4, "from", KerberosTime()),
        _optional(5, "till", KerberosTime()),
        _optional(6, "rtime", KerberosTime()),
        _field(7, "nonce", UInt32()),
        _field(8, "etype", univ.SequenceOf(componentType=Int32())),
        _optional(9, "addresses", HostAddresses()),
        _optional(10, "enc-authorization-data", EncryptedData()),
        _optional(11, "additional-tickets", Tickets()),
    )


_KDC_REQ_FIELDS = namedtype.NamedTypes(
    _field(1, "pvno", univ.Integer()),
    _field(2, "msg-type", univ.Integer()),
    _optional(3, "padata", MethodData()),
    _field(4, "req-body", KdcReqBody()),
)


class AsReq(univ.Sequence):
    tagSet = _app(10)
    componentType = _KDC_REQ_FIELDS


class TgsReq(univ.Sequence):
    tagSet = _app(12)
    componentType = _KDC_REQ_FIELDS


_KDC_REP_FIELDS = namedtype.NamedTypes(
    _field(0, "pvno", univ.Integer()),
    _field(1, "msg-type", univ.Integer()),
    _optional(2, "padata", MethodData()),
    _field(3, "crealm", Realm()),
    _field(4, "cname", PrincipalName()),
    _field(5, "ticket", Ticket()),
    _field(6, "enc-part", EncryptedData()),
)


class AsRep(univ.Sequence):
    tagSet = _app(11)
    componentType = _KDC_REP_FIELDS


class TgsRep(univ.Sequence):
    tagSet = _app(13)
    componentType = _KDC_REP_FIELDS


class LastReqEntry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "lr-type", Int32()),
        _field(1, "lr-value", KerberosTime()),
    )


class LastReq(univ.SequenceOf):
    componentType = LastReqEntry()


_ENC_KDC_REP_PART_FIELDS = namedtype.NamedTypes(
    _field(0, "key", EncryptionKey()),
    _field(1, "last-req", LastReq()),
    _field(2, "nonce", UInt32()),
    _optional(3, "key-expiration", KerberosTime()),
    _field(4, "flags", KerberosFlags()),
    _field(5, "authtime", KerberosTime()),
    _optional(6, "starttime", KerberosTime()),
    _field(7, "endtime", KerberosTime()),
    _optional(8, "renew-till", KerberosTime()),
    _field(9, "srealm", Realm()),
    _field(10, "sname", PrincipalName()),
    _optional(11, "caddr", HostAddresses()),
    _optional(12, "encrypted-pa-data", MethodData()),
)


class EncAsRepPart(univ.Sequence):
    tagSet = _app(25)
    componentType = _ENC_KDC_REP_PART_FIELDS


class EncTgsRepPart(univ.Sequence):
    tagSet = _app(26)
    componentType = _ENC_KDC_REP_PART_FIELDS


class ApReq(univ.Sequence):
    tagSet = _app(14)
    componentType = namedtype.NamedTypes(
        _field(0, "pvno", univ.Integer()),
        _field(1, "msg-type", univ.Integer()),
        _field(2, "ap-options", KerberosFlags()),
        _field(3, "ticket", Ticket()),
        _field(4, "authenticator", EncryptedData()),
    )


class Authenticator(univ.Sequence):
    tagSet = _app(2)
    componentType = namedtype.NamedTypes(
        _field(0, "authenticator-vno", univ.Integer()),
        _field(1, "crealm", Realm()),
        _field(2, "cname", PrincipalName()),
        _optional(3, "cksum", Checksum()),
        _field(4, "cusec", Microseconds()),
        _field(5, "ctime", KerberosTime()),
        _optional(6, "subkey", EncryptionKey()),
        _optional(7, "seq-number", UInt32()),
        _optional(8, "authorization-data", AuthorizationData()),
    )


class ApRep(univ.Sequence):
    tagSet = _app(15)
    componentType = namedtype.NamedTypes(
        _field(0, "pvno", univ.Integer()),
        _field(1, "msg-type", univ.Integer()),
        _field(2, "enc-part", EncryptedData()),
    )


class EncApRepPart(univ.Sequence):
    tagSet = _app(27)
    componentType = namedtype.NamedTypes(
        _field(0, "ctime", KerberosTime()),
        _field(1, "cusec", Microseconds()),
        _optional(2, "subkey", EncryptionKey()),
        _optional(3, "seq-number", UInt32()),
    )


class KrbCredInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "key", EncryptionKey()),
        _optional(1, "prealm", Realm()),
        _optional(2, "pname", PrincipalName()),
        _optional(3, "flags", KerberosFlags()),
        _optional(4, "authtime", KerberosTime()),
        _optional(5, "starttime", KerberosTime()),
        _optional(6, "endtime", KerberosTime()),
        _optional(7, "renew-till", KerberosTime()),
        _optional(8, "srealm", Realm()),
        _optional(9, "sname", PrincipalName()),
        _optional(10, "caddr", HostAddresses()),
    )


class KrbCred(univ.Sequence):
    tagSet = _app(22)
    componentType = namedtype.NamedTypes(
        _field(0, "pvno", univ.Integer()),
        _field(1, "msg-type", univ.Integer()),
        _field(2, "tickets", Tickets()),
        _field(3, "enc-part", EncryptedData()),
    )


class EncKrbCredPart(univ.Sequence):
    tagSet = _app(29)
    componentType = namedtype.NamedTypes(
        _field(0, "ticket-info", univ.SequenceOf(componentType=KrbCredInfo())),
        _optional(1, "nonce", UInt32()),
        _optional(2, "timestamp", KerberosTime()),
        _optional(3, "usec", Microseconds()),
        _optional(4, "s-address", HostAddress()),
        _optional(5, "r-address", HostAddress()),
    )


class KrbError(univ.Sequence):
    tagSet = _app(30)
    componentType = namedtype.NamedTypes(
        _field(0, "pvno", univ.Integer()),
        _field(1, "msg-type", univ.Integer()),
        _optional(2, "ctime", KerberosTime()),
        _optional(3, "cusec", Microseconds()),
        _field(4, "stime", KerberosTime()),
        _field(5, "susec", Microseconds()),
        _field(6, "error-code", Int32()),
        _optional(7, "crealm", Realm()),
        _optional(8, "cname", PrincipalName()),
        _field(9, "realm", Realm()),
        _field(10, "sname", PrincipalName()),
        _optional(11, "e-text", KerberosString()),
        _optional(12, "e-data", univ.OctetString()),
    )


class PaEncTsEnc(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "patimestamp", KerberosTime()),
        _optional(1, "pausec", Microseconds()),
    )


class ETypeInfoEntry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "etype", Int32()),
        _optional(1, "salt", univ.OctetString()),
    )


class ETypeInfo(univ.SequenceOf):
    componentType = ETypeInfoEntry()


class ETypeInfo2Entry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "etype", Int32()),
        _optional(1, "salt", KerberosString()),
        _optional(2, "s2kparams", univ.OctetString()),
    )


class ETypeInfo2(univ.SequenceOf):
    componentType = ETypeInfo2Entry()


class KerbPaPacRequest(univ.Sequence):
    """KERB-PA-PAC-REQUEST (MS-KILE §2.2.3), the value of PA-PAC-REQUEST (128)."""

    componentType = namedtype.NamedTypes(
        _field(0, "include-pac", univ.Boolean()),
    )
