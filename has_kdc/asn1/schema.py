"""RFC 4120's types described once: which field sits under which tag, holding what.

Both DER paths read these descriptions instead of spelling each message out twice:
``fast.py`` compiles every description into a reader and a writer of DER, and
``codec.py`` walks them to move values between pyasn1 trees and the dataclasses of
``messages.py``. ``spec.py`` (the pyasn1 model) is written apart from them, from the
RFC's module, so the differential tests compare two independent readings of the
RFC; ``tests/test_asn1_schema.py`` checks that tags, order and optionality agree.

A ``Sequence`` lists its fields in the RFC's order, each ``[n] EXPLICIT``; its
position in that list is the pyasn1 component position. The value types are the
conventions of ``messages.py``: ``INTEGER`` an int (Int32, UInt32, Microseconds),
``OCTET_STRING`` bytes, ``KERBEROS_STRING`` str (UTF-8, surrogateescape),
``GENERAL_STRING_BYTES`` a GeneralString kept as bytes (the ETYPE-INFO2 salt),
``KERBEROS_TIME`` seconds since the epoch, ``Flags(enum)`` a KerberosFlags as that
enum, ``SequenceOf(x)`` a tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from has_kdc.asn1 import constants as c
from has_kdc.asn1.constants import APOptions, KDCOptions, TicketFlags
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
    "BOOLEAN",
    "GENERAL_STRING_BYTES",
    "INTEGER",
    "KERBEROS_STRING",
    "KERBEROS_TIME",
    "OCTET_STRING",
    "SEQUENCES",
    "Field",
    "Flags",
    "Leaf",
    "Sequence",
    "SequenceOf",
    "Type",
]


@dataclass(frozen=True)
class Leaf:
    """A universal type read into a plain Python value."""

    name: str


@dataclass(frozen=True)
class Flags:
    """KerberosFlags, decoded as a member of ``enum``."""

    enum: type


@dataclass(frozen=True)
class SequenceOf:
    item: Type
    needs_spans: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs_spans", _needs_spans(self.item))


@dataclass(frozen=True)
class Field:
    """``name [tag] type`` of a SEQUENCE, held by the dataclass attribute ``attr``
    (the RFC name with ``-`` as ``_`` unless given).

    ``empty_is_absent``: read as ``()`` when absent and left out when empty (padata,
    additional-tickets). ``der_attr``: the attribute that also keeps the bytes of the
    field's value as received (``req_body_der``).
    """

    tag: int
    name: str
    type: Type
    optional: bool = False
    attr: str = ""
    empty_is_absent: bool = False
    der_attr: str | None = None

    def __post_init__(self) -> None:
        if not self.attr:
            object.__setattr__(self, "attr", self.name.replace("-", "_"))


@dataclass(frozen=True)
class Sequence:
    """A SEQUENCE held by the dataclass ``cls``, maybe inside ``[APPLICATION n]``.

    ``application``: the possible APPLICATION tag numbers (none, one, or a choice);
    with a choice, ``application_attr`` names the attribute that says which (the
    ``msg_type`` of KDC-REQ, the ``application_tag`` of EncKDCRepPart). A field named
    ``msg-type`` must hold the message's APPLICATION number. ``der_attr``: the
    attribute keeping the whole element's bytes as received (``ticket_der``).
    """

    name: str
    cls: type
    fields: tuple[Field, ...]
    application: tuple[int, ...] = ()
    application_attr: str | None = None
    der_attr: str | None = None
    needs_spans: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs_spans", _needs_spans(self))


Type = Union[Leaf, Flags, SequenceOf, Sequence]  # noqa: UP007 (a runtime alias)


def _needs_spans(t: Type) -> bool:
    """Whether decoding ``t`` keeps the bytes of some part of it (so byte offsets count)."""
    if isinstance(t, SequenceOf):
        return _needs_spans(t.item)
    if not isinstance(t, Sequence):
        return False
    if t.der_attr:
        return True
    return any(f.der_attr or _needs_spans(f.type) for f in t.fields)


INTEGER = Leaf("INTEGER")
OCTET_STRING = Leaf("OCTETSTRING")
KERBEROS_STRING = Leaf("KerberosString")
GENERAL_STRING_BYTES = Leaf("GeneralStringBytes")
KERBEROS_TIME = Leaf("KerberosTime")
BOOLEAN = Leaf("BOOLEAN")


def _pair(name: str, cls: type, first: str, second: str, leaf: Leaf = OCTET_STRING) -> Sequence:
    """SEQUENCE { first [0] Int32, second [1] ... }: the shape of half the RFC's types."""
    return Sequence(name, cls, (Field(0, first, INTEGER), Field(1, second, leaf)))


PRINCIPAL_NAME = Sequence(
    "PrincipalName",
    PrincipalName,
    (
        Field(0, "name-type", INTEGER),
        Field(1, "name-string", SequenceOf(KERBEROS_STRING), attr="components"),
    ),
)
HOST_ADDRESS = _pair("HostAddress", HostAddress, "addr-type", "address")
HOST_ADDRESSES = SequenceOf(HOST_ADDRESS)
AUTHORIZATION_DATA_ENTRY = _pair("AuthorizationData", AuthorizationDataEntry, "ad-type", "ad-data")
AUTHORIZATION_DATA = SequenceOf(AUTHORIZATION_DATA_ENTRY)
PA_DATA = Sequence(
    "PA-DATA",
    PAData,
    (Field(1, "padata-type", INTEGER), Field(2, "padata-value", OCTET_STRING)),
)
METHOD_DATA = SequenceOf(PA_DATA)
TYPED_DATA_ENTRY = Sequence(
    "TYPED-DATA",
    TypedDataEntry,
    (Field(0, "data-type", INTEGER), Field(1, "data-value", OCTET_STRING, optional=True)),
)
TYPED_DATA = SequenceOf(TYPED_DATA_ENTRY)
ENCRYPTED_DATA = Sequence(
    "EncryptedData",
    EncryptedData,
    (
        Field(0, "etype", INTEGER),
        Field(1, "kvno", INTEGER, optional=True),
        Field(2, "cipher", OCTET_STRING),
    ),
)
ENCRYPTION_KEY = _pair("EncryptionKey", EncryptionKey, "keytype", "keyvalue")
CHECKSUM = _pair("Checksum", Checksum, "cksumtype", "checksum")
TRANSITED_ENCODING = _pair("TransitedEncoding", TransitedEncoding, "tr-type", "contents")
LAST_REQ_ENTRY = _pair("LastReq", LastReqEntry, "lr-type", "lr-value", KERBEROS_TIME)

TICKET = Sequence(
    "Ticket",
    Ticket,
    (
        Field(0, "tkt-vno", INTEGER),
        Field(1, "realm", KERBEROS_STRING),
        Field(2, "sname", PRINCIPAL_NAME),
        Field(3, "enc-part", ENCRYPTED_DATA),
    ),
    application=(c.APP_TICKET,),
    der_attr="ticket_der",
)
TICKETS = SequenceOf(TICKET)

ENC_TICKET_PART = Sequence(
    "EncTicketPart",
    EncTicketPart,
    (
        Field(0, "flags", Flags(TicketFlags)),
        Field(1, "key", ENCRYPTION_KEY),
        Field(2, "crealm", KERBEROS_STRING),
        Field(3, "cname", PRINCIPAL_NAME),
        Field(4, "transited", TRANSITED_ENCODING),
        Field(5, "authtime", KERBEROS_TIME),
        Field(6, "starttime", KERBEROS_TIME, optional=True),
        Field(7, "endtime", KERBEROS_TIME),
        Field(8, "renew-till", KERBEROS_TIME, optional=True),
        Field(9, "caddr", HOST_ADDRESSES, optional=True),
        Field(10, "authorization-data", AUTHORIZATION_DATA, optional=True),
    ),
    application=(c.APP_ENC_TICKET_PART,),
)

KDC_REQ_BODY = Sequence(
    "KDC-REQ-BODY",
    KdcReqBody,
    (
        Field(0, "kdc-options", Flags(KDCOptions)),
        Field(1, "cname", PRINCIPAL_NAME, optional=True),
        Field(2, "realm", KERBEROS_STRING),
        Field(3, "sname", PRINCIPAL_NAME, optional=True),
        Field(4, "from", KERBEROS_TIME, optional=True, attr="from_time"),
        Field(5, "till", KERBEROS_TIME, optional=True),  # OPTIONAL as in Heimdal: see spec.py
        Field(6, "rtime", KERBEROS_TIME, optional=True),
        Field(7, "nonce", INTEGER),
        Field(8, "etype", SequenceOf(INTEGER), attr="etypes"),
        Field(9, "addresses", HOST_ADDRESSES, optional=True),
        Field(10, "enc-authorization-data", ENCRYPTED_DATA, optional=True),
        Field(11, "additional-tickets", TICKETS, optional=True, empty_is_absent=True),
    ),
)
KDC_REQ = Sequence(
    "KDC-REQ",
    KdcReq,
    (
        Field(1, "pvno", INTEGER),
        Field(2, "msg-type", INTEGER),
        Field(3, "padata", METHOD_DATA, optional=True, empty_is_absent=True),
        Field(4, "req-body", KDC_REQ_BODY, der_attr="req_body_der"),
    ),
    application=(c.KRB_AS_REQ, c.KRB_TGS_REQ),
    application_attr="msg_type",
)
KDC_REP = Sequence(
    "KDC-REP",
    KdcRep,
    (
        Field(0, "pvno", INTEGER),
        Field(1, "msg-type", INTEGER),
        Field(2, "padata", METHOD_DATA, optional=True, empty_is_absent=True),
        Field(3, "crealm", KERBEROS_STRING),
        Field(4, "cname", PRINCIPAL_NAME),
        Field(5, "ticket", TICKET),
        Field(6, "enc-part", ENCRYPTED_DATA),
    ),
    application=(c.KRB_AS_REP, c.KRB_TGS_REP),
    application_attr="msg_type",
)
ENC_KDC_REP_PART = Sequence(
    "EncKDCRepPart",
    EncKdcRepPart,
    (
        Field(0, "key", ENCRYPTION_KEY),
        Field(1, "last-req", SequenceOf(LAST_REQ_ENTRY)),
        Field(2, "nonce", INTEGER),
        Field(3, "key-expiration", KERBEROS_TIME, optional=True),
        Field(4, "flags", Flags(TicketFlags)),
        Field(5, "authtime", KERBEROS_TIME),
        Field(6, "starttime", KERBEROS_TIME, optional=True),
        Field(7, "endtime", KERBEROS_TIME),
        Field(8, "renew-till", KERBEROS_TIME, optional=True),
        Field(9, "srealm", KERBEROS_STRING),
        Field(10, "sname", PRINCIPAL_NAME),
        Field(11, "caddr", HOST_ADDRESSES, optional=True),
        Field(12, "encrypted-pa-data", METHOD_DATA, optional=True),  # RFC 6806
    ),
    # either tag in either reply, as MIT clients accept (RFC 4120 §5.4.2)
    application=(c.APP_ENC_AS_REP_PART, c.APP_ENC_TGS_REP_PART),
    application_attr="application_tag",
)

AP_REQ = Sequence(
    "AP-REQ",
    ApReq,
    (
        Field(0, "pvno", INTEGER),
        Field(1, "msg-type", INTEGER),
        Field(2, "ap-options", Flags(APOptions)),
        Field(3, "ticket", TICKET),
        Field(4, "authenticator", ENCRYPTED_DATA),
    ),
    application=(c.KRB_AP_REQ,),
)
AUTHENTICATOR = Sequence(
    "Authenticator",
    Authenticator,
    (
        Field(0, "authenticator-vno", INTEGER),
        Field(1, "crealm", KERBEROS_STRING),
        Field(2, "cname", PRINCIPAL_NAME),
        Field(3, "cksum", CHECKSUM, optional=True),
        Field(4, "cusec", INTEGER),
        Field(5, "ctime", KERBEROS_TIME),
        Field(6, "subkey", ENCRYPTION_KEY, optional=True),
        Field(7, "seq-number", INTEGER, optional=True),
        Field(8, "authorization-data", AUTHORIZATION_DATA, optional=True),
    ),
    application=(c.APP_AUTHENTICATOR,),
)
AP_REP = Sequence(
    "AP-REP",
    ApRep,
    (
        Field(0, "pvno", INTEGER),
        Field(1, "msg-type", INTEGER),
        Field(2, "enc-part", ENCRYPTED_DATA),
    ),
    application=(c.KRB_AP_REP,),
)
ENC_AP_REP_PART = Sequence(
    "EncAPRepPart",
    EncApRepPart,
    (
        Field(0, "ctime", KERBEROS_TIME),
        Field(1, "cusec", INTEGER),
        Field(2, "subkey", ENCRYPTION_KEY, optional=True),
        Field(3, "seq-number", INTEGER, optional=True),
    ),
    application=(c.APP_ENC_AP_REP_PART,),
)

KRB_CRED_INFO = Sequence(
    "KrbCredInfo",
    KrbCredInfo,
    (
        Field(0, "key", ENCRYPTION_KEY),
        Field(1, "prealm", KERBEROS_STRING, optional=True),
        Field(2, "pname", PRINCIPAL_NAME, optional=True),
        Field(3, "flags", Flags(TicketFlags), optional=True),
        Field(4, "authtime", KERBEROS_TIME, optional=True),
        Field(5, "starttime", KERBEROS_TIME, optional=True),
        Field(6, "endtime", KERBEROS_TIME, optional=True),
        Field(7, "renew-till", KERBEROS_TIME, optional=True),
        Field(8, "srealm", KERBEROS_STRING, optional=True),
        Field(9, "sname", PRINCIPAL_NAME, optional=True),
        Field(10, "caddr", HOST_ADDRESSES, optional=True),
    ),
)
KRB_CRED = Sequence(
    "KRB-CRED",
    KrbCred,
    (
        Field(0, "pvno", INTEGER),
        Field(1, "msg-type", INTEGER),
        Field(2, "tickets", TICKETS),
        Field(3, "enc-part", ENCRYPTED_DATA),
    ),
    application=(c.KRB_CRED,),
)
ENC_KRB_CRED_PART = Sequence(
    "EncKrbCredPart",
    EncKrbCredPart,
    (
        Field(0, "ticket-info", SequenceOf(KRB_CRED_INFO)),
        Field(1, "nonce", INTEGER, optional=True),
        Field(2, "timestamp", KERBEROS_TIME, optional=True),
        Field(3, "usec", INTEGER, optional=True),
        Field(4, "s-address", HOST_ADDRESS, optional=True),
        Field(5, "r-address", HOST_ADDRESS, optional=True),
    ),
    application=(c.APP_ENC_KRB_CRED_PART,),
)

KRB_ERROR = Sequence(
    "KRB-ERROR",
    KrbError,
    (
        Field(0, "pvno", INTEGER),
        Field(1, "msg-type", INTEGER),
        Field(2, "ctime", KERBEROS_TIME, optional=True),
        Field(3, "cusec", INTEGER, optional=True),
        Field(4, "stime", KERBEROS_TIME),
        Field(5, "susec", INTEGER),
        Field(6, "error-code", INTEGER),
        Field(7, "crealm", KERBEROS_STRING, optional=True),
        Field(8, "cname", PRINCIPAL_NAME, optional=True),
        Field(9, "realm", KERBEROS_STRING),
        Field(10, "sname", PRINCIPAL_NAME),
        Field(11, "e-text", KERBEROS_STRING, optional=True),
        Field(12, "e-data", OCTET_STRING, optional=True),
    ),
    application=(c.KRB_ERROR,),
)

PA_ENC_TS_ENC = Sequence(
    "PA-ENC-TS-ENC",
    PaEncTsEnc,
    (Field(0, "patimestamp", KERBEROS_TIME), Field(1, "pausec", INTEGER, optional=True)),
)
ETYPE_INFO_ENTRY = Sequence(
    "ETYPE-INFO",
    ETypeInfoEntry,
    (Field(0, "etype", INTEGER), Field(1, "salt", OCTET_STRING, optional=True)),
)
ETYPE_INFO = SequenceOf(ETYPE_INFO_ENTRY)
ETYPE_INFO2_ENTRY = Sequence(
    "ETYPE-INFO2",
    ETypeInfo2Entry,
    (
        Field(0, "etype", INTEGER),
        Field(1, "salt", GENERAL_STRING_BYTES, optional=True),  # MIT's raw salt bytes
        Field(2, "s2kparams", OCTET_STRING, optional=True),
    ),
)
ETYPE_INFO2 = SequenceOf(ETYPE_INFO2_ENTRY)
KERB_PA_PAC_REQUEST = Sequence(
    "KERB-PA-PAC-REQUEST",
    KerbPaPacRequest,
    (Field(0, "include-pac", BOOLEAN),),
)

#: Every SEQUENCE by the dataclass that holds it.
SEQUENCES: dict[type, Sequence] = {
    s.cls: s
    for s in (
        PRINCIPAL_NAME,
        HOST_ADDRESS,
        AUTHORIZATION_DATA_ENTRY,
        PA_DATA,
        TYPED_DATA_ENTRY,
        ENCRYPTED_DATA,
        ENCRYPTION_KEY,
        CHECKSUM,
        TRANSITED_ENCODING,
        LAST_REQ_ENTRY,
        TICKET,
        ENC_TICKET_PART,
        KDC_REQ_BODY,
        KDC_REQ,
        KDC_REP,
        ENC_KDC_REP_PART,
        AP_REQ,
        AUTHENTICATOR,
        AP_REP,
        ENC_AP_REP_PART,
        KRB_CRED_INFO,
        KRB_CRED,
        ENC_KRB_CRED_PART,
        KRB_ERROR,
        PA_ENC_TS_ENC,
        ETYPE_INFO_ENTRY,
        ETYPE_INFO2_ENTRY,
        KERB_PA_PAC_REQUEST,
    )
}
