"""RFC 4120 messages as plain, immutable Python objects.

The rest of has-kdc speaks these dataclasses, never pyasn1 trees, so the codec
behind ``has_kdc.asn1.encode`` / ``decode_*`` can change (a hand-written DER path
for the hot messages) without touching the KDC.

Conventions, the same everywhere:

- Field names are the RFC's with ``-`` → ``_`` (``from`` is ``from_time``).
- KerberosTime is an ``int``: seconds since the Unix epoch, UTC. Microseconds are a
  separate ``int`` where the RFC has them (``cusec``, ``susec``, ``pausec``).
- KerberosFlags are ``int`` (``KDCOptions``/``TicketFlags``/``APOptions`` on decode):
  the 32-bit BIT STRING read as a big-endian number, Kerberos bit n = ``1 << (31-n)``.
- KerberosString (realm, name components, e-text) is ``str``: the bytes on the wire
  as UTF-8, with undecodable bytes kept by ``surrogateescape`` so they re-encode to
  the same bytes. The ETYPE-INFO2 salt stays ``bytes`` (see ``ETypeInfo2Entry``).
- SEQUENCE OF is a ``tuple``. An OPTIONAL field that is absent is ``None``, and
  only ``None`` is encoded as absent (``()`` or ``b""`` is encoded present and
  empty). Two exceptions where the RFC's "absent" and "empty" mean the same:
  ``padata`` and ``additional_tickets`` are ``()`` when absent and omitted when empty.
- Small value types take positional arguments; messages and message parts are
  keyword-only, with OPTIONAL fields defaulting to ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from has_kdc.asn1.constants import (
    APP_ENC_AS_REP_PART,
    KRB_AP_REP,
    KRB_AP_REQ,
    KRB_CRED,
    KRB_ERROR,
    PVNO,
)


@dataclass(frozen=True, slots=True)
class PrincipalName:
    name_type: int
    components: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HostAddress:
    addr_type: int
    address: bytes


@dataclass(frozen=True, slots=True)
class AuthorizationDataEntry:
    """One element of AuthorizationData; the whole is a tuple of these."""

    ad_type: int
    ad_data: bytes


@dataclass(frozen=True, slots=True)
class EncryptedData:
    etype: int
    cipher: bytes
    kvno: int | None = None


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    keytype: int
    keyvalue: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Checksum:
    cksumtype: int
    checksum: bytes


@dataclass(frozen=True, slots=True)
class PAData:
    padata_type: int
    padata_value: bytes


@dataclass(frozen=True, slots=True)
class TypedDataEntry:
    """One element of TYPED-DATA, the e-data of most KRB-ERRORs (RFC 4120 §5.9.1)."""

    data_type: int
    data_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class TransitedEncoding:
    tr_type: int
    contents: bytes


@dataclass(frozen=True, slots=True)
class LastReqEntry:
    lr_type: int
    lr_value: int


@dataclass(frozen=True, slots=True)
class PaEncTsEnc:
    """Plaintext of PA-ENC-TIMESTAMP (key usage 1)."""

    patimestamp: int
    pausec: int | None = None


@dataclass(frozen=True, slots=True)
class ETypeInfoEntry:
    etype: int
    salt: bytes | None = None


@dataclass(frozen=True, slots=True)
class ETypeInfo2Entry:
    """One ETYPE-INFO2 entry.

    The RFC types ``salt`` as KerberosString, but MIT puts the raw salt bytes there
    (a principal name in any encoding, or a random salt), and string-to-key wants
    bytes, so it stays ``bytes``.
    """

    etype: int
    salt: bytes | None = None
    s2kparams: bytes | None = None


@dataclass(frozen=True, slots=True)
class KerbPaPacRequest:
    include_pac: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    """Ticket ([APPLICATION 1]).

    ``ticket_der`` holds the exact bytes of the Ticket when it was decoded from the
    wire (a credential cache stores tickets as received); it is ``None`` on tickets
    built in code, is not compared, and is never used by ``encode`` (which encodes
    the fields).
    """

    realm: str
    sname: PrincipalName
    enc_part: EncryptedData
    tkt_vno: int = PVNO
    ticket_der: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class EncTicketPart:
    flags: int
    key: EncryptionKey
    crealm: str
    cname: PrincipalName
    transited: TransitedEncoding
    authtime: int
    endtime: int
    starttime: int | None = None
    renew_till: int | None = None
    caddr: tuple[HostAddress, ...] | None = None
    authorization_data: tuple[AuthorizationDataEntry, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KdcReqBody:
    kdc_options: int
    realm: str
    nonce: int
    etypes: tuple[int, ...]
    cname: PrincipalName | None = None
    sname: PrincipalName | None = None
    from_time: int | None = None
    till: int | None = None
    rtime: int | None = None
    addresses: tuple[HostAddress, ...] | None = None
    enc_authorization_data: EncryptedData | None = None
    additional_tickets: tuple[Ticket, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class KdcReq:
    """AS-REQ (msg_type 10) or TGS-REQ (12).

    ``req_body_der`` is the exact DER of req-body as received: the PA-TGS-REQ
    authenticator checksum and the PA-FX-FAST/PA-REQ-ENC-PA-REP checksums cover
    those bytes as the client sent them. It is filled by ``decode_kdc_req`` and is
    ``None`` on requests built in code (use ``encode(req.req_body)`` there).
    """

    msg_type: int
    req_body: KdcReqBody
    padata: tuple[PAData, ...] = ()
    pvno: int = PVNO
    req_body_der: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class KdcRep:
    """AS-REP (msg_type 11) or TGS-REP (13)."""

    msg_type: int
    crealm: str
    cname: PrincipalName
    ticket: Ticket
    enc_part: EncryptedData
    padata: tuple[PAData, ...] = ()
    pvno: int = PVNO


@dataclass(frozen=True, slots=True, kw_only=True)
class EncKdcRepPart:
    """EncKDCRepPart; ``application_tag`` says which wrapper: EncASRepPart (25) or
    EncTGSRepPart (26)."""

    key: EncryptionKey
    last_req: tuple[LastReqEntry, ...]
    nonce: int
    flags: int
    authtime: int
    endtime: int
    srealm: str
    sname: PrincipalName
    key_expiration: int | None = None
    starttime: int | None = None
    renew_till: int | None = None
    caddr: tuple[HostAddress, ...] | None = None
    encrypted_pa_data: tuple[PAData, ...] | None = None
    application_tag: int = APP_ENC_AS_REP_PART


@dataclass(frozen=True, slots=True, kw_only=True)
class ApReq:
    ap_options: int
    ticket: Ticket
    authenticator: EncryptedData
    pvno: int = PVNO
    msg_type: int = KRB_AP_REQ


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticator:
    crealm: str
    cname: PrincipalName
    cusec: int
    ctime: int
    cksum: Checksum | None = None
    subkey: EncryptionKey | None = None
    seq_number: int | None = None
    authorization_data: tuple[AuthorizationDataEntry, ...] | None = None
    authenticator_vno: int = PVNO


@dataclass(frozen=True, slots=True, kw_only=True)
class ApRep:
    enc_part: EncryptedData
    pvno: int = PVNO
    msg_type: int = KRB_AP_REP


@dataclass(frozen=True, slots=True, kw_only=True)
class EncApRepPart:
    ctime: int
    cusec: int
    subkey: EncryptionKey | None = None
    seq_number: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbError:
    """KRB-ERROR. ``e_data`` is raw bytes: METHOD-DATA for KDC_ERR_PREAUTH_REQUIRED /
    PREAUTH_FAILED (build with ``encode_method_data``), TYPED-DATA otherwise."""

    stime: int
    susec: int
    error_code: int
    realm: str
    sname: PrincipalName
    ctime: int | None = None
    cusec: int | None = None
    crealm: str | None = None
    cname: PrincipalName | None = None
    e_text: str | None = None
    e_data: bytes | None = None
    pvno: int = PVNO
    msg_type: int = KRB_ERROR


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbCredInfo:
    key: EncryptionKey
    prealm: str | None = None
    pname: PrincipalName | None = None
    flags: int | None = None
    authtime: int | None = None
    starttime: int | None = None
    endtime: int | None = None
    renew_till: int | None = None
    srealm: str | None = None
    sname: PrincipalName | None = None
    caddr: tuple[HostAddress, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbCred:
    tickets: tuple[Ticket, ...]
    enc_part: EncryptedData
    pvno: int = PVNO
    msg_type: int = KRB_CRED


@dataclass(frozen=True, slots=True, kw_only=True)
class EncKrbCredPart:
    ticket_info: tuple[KrbCredInfo, ...]
    nonce: int | None = None
    timestamp: int | None = None
    usec: int | None = None
    s_address: HostAddress | None = None
    r_address: HostAddress | None = None


# ---------------------------------------------------------------- RFC 6113 (FAST)


@dataclass(frozen=True, slots=True)
class KrbFastArmor:
    """KrbFastArmor: armor type 1 (FX_FAST_ARMOR_AP_REQUEST) carries an AP-REQ."""

    armor_type: int
    armor_value: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbFastArmoredReq:
    """KrbFastArmoredReq, the [0] choice of PA-FX-FAST-REQUEST (padata 136)."""

    req_checksum: Checksum
    enc_fast_req: EncryptedData
    armor: KrbFastArmor | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbFastReq:
    """KrbFastReq, the plaintext of enc-fast-req (key usage 51). ``req_body_der`` is
    the inner KDC-REQ-BODY as sent, as in ``KdcReq``."""

    fast_options: int
    padata: tuple[PAData, ...]
    req_body: KdcReqBody
    req_body_der: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbFastFinished:
    timestamp: int
    usec: int
    crealm: str
    cname: PrincipalName
    ticket_checksum: Checksum


@dataclass(frozen=True, slots=True, kw_only=True)
class KrbFastResponse:
    """KrbFastResponse, the plaintext of a PA-FX-FAST reply (key usage 52)."""

    padata: tuple[PAData, ...]
    nonce: int
    strengthen_key: EncryptionKey | None = None
    finished: KrbFastFinished | None = None
