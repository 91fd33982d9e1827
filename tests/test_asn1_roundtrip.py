"""Every RFC 4120 message and part survives encode → decode unchanged, and the DER is
canonical: decoding and encoding again gives the same bytes.

``SAMPLES`` (each message type with all OPTIONAL fields present and with none) is also
the corpus a faster DER path must reproduce byte for byte.
"""

from __future__ import annotations

import dataclasses

import pytest

from has_kdc import asn1
from has_kdc.asn1 import (
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
from has_kdc.asn1 import constants as c
from has_kdc.asn1 import der as der_reader

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
USER = PrincipalName(c.NT_PRINCIPAL, ("user",))
TGS = PrincipalName(c.NT_SRV_INST, ("krbtgt", "EXAMPLE.COM"))
HTTP = PrincipalName(c.NT_SRV_HST, ("HTTP", "emr-header-1.cluster"))
KEY = EncryptionKey(18, bytes(range(32)))
SUBKEY = EncryptionKey(17, bytes(range(16, 32)))
ADDRS = (HostAddress(c.ADDRTYPE_IPV4, b"\x7f\x00\x00\x01"), HostAddress(c.ADDRTYPE_IPV6, bytes(16)))
AUTHZ = (AuthorizationDataEntry(c.AD_IF_RELEVANT, b"\x30\x00"),)
TICKET = Ticket(realm="EXAMPLE.COM", sname=TGS, enc_part=EncryptedData(18, b"\xaa" * 60, kvno=3))
TICKET2 = Ticket(realm="EXAMPLE.COM", sname=HTTP, enc_part=EncryptedData(17, b"\xbb" * 44))

FULL_BODY = KdcReqBody(
    kdc_options=c.KDCOptions.FORWARDABLE | c.KDCOptions.RENEWABLE | c.KDCOptions.CANONICALIZE,
    cname=USER,
    realm="EXAMPLE.COM",
    sname=TGS,
    from_time=T0,
    till=T0 + 86400,
    rtime=T0 + 7 * 86400,
    nonce=0x7FFFFFFF,
    etypes=(18, 17, 20, 19),
    addresses=ADDRS,
    enc_authorization_data=EncryptedData(18, b"\x01" * 40),
    additional_tickets=(TICKET, TICKET2),
)
MIN_BODY = KdcReqBody(kdc_options=0, realm="EXAMPLE.COM", nonce=0, etypes=(18,))

SAMPLES: list[object] = [
    USER,
    PrincipalName(c.NT_UNKNOWN, ()),
    PrincipalName(c.NT_ENTERPRISE, ("üser@example.com",)),  # UTF-8 on the wire
    PrincipalName(c.NT_PRINCIPAL, ("\udcff\udcfe",)),  # raw non-UTF-8 bytes kept as-is
    ADDRS[0],
    AUTHZ[0],
    EncryptedData(18, b"\x00" * 28),
    EncryptedData(18, b"cipher", kvno=4294967295),
    KEY,
    Checksum(16, b"\x11" * 12),
    PAData(c.PA_ENC_TIMESTAMP, b"\x30\x00"),
    PAData(c.PA_REQ_ENC_PA_REP, b""),
    TypedDataEntry(c.TD_REQ_NONCE, b"\x02\x01\x05"),
    TypedDataEntry(c.TD_REQ_SEQ),
    TransitedEncoding(c.DOMAIN_X500_COMPRESS, b""),
    LastReqEntry(c.LR_NONE, 0),
    PaEncTsEnc(T0, 999_999),
    PaEncTsEnc(T0),
    ETypeInfoEntry(23, b"salt"),
    ETypeInfoEntry(23),
    ETypeInfo2Entry(18, b"EXAMPLE.COMuser", b"\x00\x00\x10\x00"),
    ETypeInfo2Entry(18),
    KerbPaPacRequest(True),
    KerbPaPacRequest(False),
    TICKET,
    TICKET2,
    FULL_BODY,
    MIN_BODY,
    KdcReq(
        msg_type=c.KRB_AS_REQ,
        padata=(PAData(c.PA_PAC_REQUEST, b"\x30\x05\xa0\x03\x01\x01\xff"), PAData(149, b"")),
        req_body=FULL_BODY,
    ),
    KdcReq(msg_type=c.KRB_AS_REQ, req_body=MIN_BODY),
    KdcReq(msg_type=c.KRB_TGS_REQ, padata=(PAData(c.PA_TGS_REQ, b"\x6e\x00"),), req_body=FULL_BODY),
    KdcRep(
        msg_type=c.KRB_AS_REP,
        padata=(PAData(c.PA_ETYPE_INFO2, b"\x30\x00"),),
        crealm="EXAMPLE.COM",
        cname=USER,
        ticket=TICKET,
        enc_part=EncryptedData(18, b"\xcc" * 200, kvno=1),
    ),
    KdcRep(
        msg_type=c.KRB_TGS_REP,
        crealm="EXAMPLE.COM",
        cname=USER,
        ticket=TICKET2,
        enc_part=EncryptedData(18, b"\xdd" * 200),
    ),
    EncKdcRepPart(
        key=KEY,
        last_req=(LastReqEntry(c.LR_INITIAL_TGT, T0), LastReqEntry(c.LR_PW_EXPTIME, T0 + 9)),
        nonce=123456789,
        key_expiration=T0 + 3600,
        flags=c.TicketFlags.INITIAL | c.TicketFlags.PRE_AUTHENT | c.TicketFlags.ENC_PA_REP,
        authtime=T0,
        starttime=T0 + 1,
        endtime=T0 + 86400,
        renew_till=T0 + 7 * 86400,
        srealm="EXAMPLE.COM",
        sname=TGS,
        caddr=ADDRS,
        encrypted_pa_data=(PAData(c.PA_REQ_ENC_PA_REP, b"\x30\x00"),),
        application_tag=c.APP_ENC_AS_REP_PART,
    ),
    EncKdcRepPart(
        key=KEY,
        last_req=(),
        nonce=1,
        flags=0,
        authtime=T0,
        endtime=T0 + 60,
        srealm="EXAMPLE.COM",
        sname=HTTP,
        application_tag=c.APP_ENC_TGS_REP_PART,
    ),
    EncTicketPart(
        flags=c.TicketFlags.FORWARDABLE | c.TicketFlags.RENEWABLE | c.TicketFlags.INITIAL,
        key=KEY,
        crealm="EXAMPLE.COM",
        cname=USER,
        transited=TransitedEncoding(c.DOMAIN_X500_COMPRESS, b"OTHER.REALM,"),
        authtime=T0,
        starttime=T0,
        endtime=T0 + 86400,
        renew_till=T0 + 86400 * 7,
        caddr=ADDRS,
        authorization_data=AUTHZ,
    ),
    EncTicketPart(
        flags=0,
        key=KEY,
        crealm="EXAMPLE.COM",
        cname=USER,
        transited=TransitedEncoding(c.DOMAIN_X500_COMPRESS, b""),
        authtime=T0,
        endtime=T0 + 1,
    ),
    ApReq(
        ap_options=c.APOptions.MUTUAL_REQUIRED,
        ticket=TICKET,
        authenticator=EncryptedData(18, b"\xee" * 100),
    ),
    Authenticator(
        crealm="EXAMPLE.COM",
        cname=USER,
        cksum=Checksum(16, b"\x22" * 12),
        cusec=654321,
        ctime=T0,
        subkey=SUBKEY,
        seq_number=42,
        authorization_data=AUTHZ,
    ),
    Authenticator(crealm="EXAMPLE.COM", cname=USER, cusec=0, ctime=T0),
    ApRep(enc_part=EncryptedData(18, b"\x33" * 50)),
    EncApRepPart(ctime=T0, cusec=5, subkey=SUBKEY, seq_number=7),
    EncApRepPart(ctime=T0, cusec=5),
    KrbError(
        ctime=T0,
        cusec=1,
        stime=T0 + 1,
        susec=999_999,
        error_code=c.KDC_ERR_PREAUTH_REQUIRED,
        crealm="EXAMPLE.COM",
        cname=USER,
        realm="EXAMPLE.COM",
        sname=TGS,
        e_text="NEEDED_PREAUTH",
        e_data=b"\x30\x00",
    ),
    KrbError(
        stime=T0,
        susec=0,
        error_code=c.KDC_ERR_C_PRINCIPAL_UNKNOWN,
        realm="EXAMPLE.COM",
        sname=TGS,
    ),
    KrbCred(tickets=(TICKET, TICKET2), enc_part=EncryptedData(0, b"\x30\x00")),
    KrbCredInfo(
        key=KEY,
        prealm="EXAMPLE.COM",
        pname=USER,
        flags=c.TicketFlags.FORWARDED,
        authtime=T0,
        starttime=T0,
        endtime=T0 + 10,
        renew_till=T0 + 20,
        srealm="EXAMPLE.COM",
        sname=TGS,
        caddr=ADDRS,
    ),
    EncKrbCredPart(
        ticket_info=(KrbCredInfo(key=KEY), KrbCredInfo(key=SUBKEY, prealm="EXAMPLE.COM")),
        nonce=9,
        timestamp=T0,
        usec=10,
        s_address=ADDRS[0],
        r_address=ADDRS[1],
    ),
    EncKrbCredPart(ticket_info=()),
    # present but empty OPTIONAL fields stay present (None is the only "absent")
    EncKrbCredPart(ticket_info=(KrbCredInfo(key=KEY, caddr=(), prealm=""),)),
    KdcReq(msg_type=c.KRB_AS_REQ, req_body=dataclasses.replace(MIN_BODY, addresses=())),
    KrbError(stime=T0, susec=0, error_code=60, realm="R", sname=TGS, e_text="", e_data=b""),
    EncTicketPart(
        flags=0,
        key=KEY,
        crealm="R",
        cname=USER,
        transited=TransitedEncoding(c.DOMAIN_X500_COMPRESS, b""),
        authtime=T0,
        endtime=T0,
        caddr=(),
        authorization_data=(),
    ),
]

DECODERS = {
    PrincipalName: asn1.decode_principal_name,
    EncryptedData: asn1.decode_encrypted_data,
    PaEncTsEnc: asn1.decode_pa_enc_ts_enc,
    Checksum: asn1.decode_checksum,
    KerbPaPacRequest: asn1.decode_pa_pac_request,
    Ticket: asn1.decode_ticket,
    KdcReqBody: asn1.decode_kdc_req_body,
    KdcReq: asn1.decode_kdc_req,
    KdcRep: asn1.decode_kdc_rep,
    EncKdcRepPart: asn1.decode_enc_kdc_rep_part,
    EncTicketPart: asn1.decode_enc_ticket_part,
    ApReq: asn1.decode_ap_req,
    Authenticator: asn1.decode_authenticator,
    ApRep: asn1.decode_ap_rep,
    EncApRepPart: asn1.decode_enc_ap_rep_part,
    KrbError: asn1.decode_krb_error,
    KrbCred: asn1.decode_krb_cred,
    EncKrbCredPart: asn1.decode_enc_krb_cred_part,
}

# Sequence-of forms: (encoder, decoder, items)
SEQUENCE_OF = [
    (asn1.encode_method_data, asn1.decode_method_data, (PAData(2, b"x"), PAData(19, b""))),
    (asn1.encode_method_data, asn1.decode_method_data, ()),
    (
        asn1.encode_etype_info2,
        asn1.decode_etype_info2,
        (ETypeInfo2Entry(18, b"EXAMPLE.COMuser"), ETypeInfo2Entry(20, None, b"\x00\x00\x80\x00")),
    ),
    (asn1.encode_etype_info, asn1.decode_etype_info, (ETypeInfoEntry(17, b"s"),)),
    (asn1.encode_typed_data, asn1.decode_typed_data, (TypedDataEntry(107, b"\x02\x01\x01"),)),
    (asn1.encode_authorization_data, asn1.decode_authorization_data, AUTHZ),
]


def _id(obj: object) -> str:
    return type(obj).__name__


@pytest.mark.parametrize("obj", [s for s in SAMPLES if type(s) in DECODERS], ids=_id)
def test_roundtrip_equal_and_byte_identical(obj):
    der = asn1.encode(obj)
    back = DECODERS[type(obj)](der)
    assert back == obj
    assert asn1.encode(back) == der


@pytest.mark.parametrize("obj", SAMPLES, ids=_id)
def test_every_sample_encodes_to_one_der_element(obj):
    der = asn1.encode(obj)
    # one element whose outer length covers exactly the rest of the bytes
    assert der_reader.element_span(der, 0) == (0, len(der))


@pytest.mark.parametrize(
    ("enc", "dec", "items"), SEQUENCE_OF, ids=lambda x: getattr(x, "__name__", "")
)
def test_sequence_of_roundtrip(enc, dec, items):
    der = enc(items)
    assert dec(der) == tuple(items)
    assert enc(dec(der)) == der


def test_decoded_kdc_req_carries_its_req_body_bytes():
    req = next(s for s in SAMPLES if isinstance(s, KdcReq) and s.msg_type == c.KRB_TGS_REQ)
    der = asn1.encode(req)
    back = asn1.decode_kdc_req(der)
    assert back.req_body_der == asn1.encode(req.req_body)
    assert der.count(back.req_body_der) == 1


def test_decoded_tickets_carry_their_bytes():
    rep = next(s for s in SAMPLES if isinstance(s, KdcRep))
    back = asn1.decode_kdc_rep(asn1.encode(rep))
    assert back.ticket.ticket_der == asn1.encode(rep.ticket)
    body = asn1.decode_kdc_req(asn1.encode(KdcReq(msg_type=12, req_body=FULL_BODY))).req_body
    assert [t.ticket_der for t in body.additional_tickets] == [
        asn1.encode(TICKET),
        asn1.encode(TICKET2),
    ]
    cred = asn1.decode_krb_cred(asn1.encode(KrbCred(tickets=(TICKET2,), enc_part=KEY_ED)))
    assert cred.tickets[0].ticket_der == asn1.encode(TICKET2)


KEY_ED = EncryptedData(18, b"\x44" * 30)


def test_message_type_peeks_at_the_application_tag():
    for obj in SAMPLES:
        if isinstance(obj, KdcReq | KdcRep | KrbError | ApReq | ApRep | KrbCred):
            assert asn1.message_type(asn1.encode(obj)) == obj.msg_type


# --- the encoding rules themselves, checked against bytes worked out from X.690 ---


def test_kerberos_flags_are_32_bit_big_endian_bit_strings():
    assert int(c.KDCOptions.FORWARDABLE) == 0x40000000
    assert int(c.KDCOptions.VALIDATE) == 0x00000001
    assert int(c.TicketFlags.ANONYMOUS) == 1 << (31 - 16)
    req = KdcReq(
        msg_type=10,
        req_body=KdcReqBody(
            kdc_options=c.KDCOptions.FORWARDABLE | c.KDCOptions.RENEWABLE_OK,
            realm="R",
            nonce=1,
            etypes=(18,),
        ),
    )
    der = asn1.encode(req)
    # [0] { BIT STRING, 0 unused bits, 40 00 00 10 }: bits 1 and 27
    assert bytes.fromhex("a00703050040000010") in der
    assert asn1.decode_kdc_req(der).req_body.kdc_options == 0x40000010


def test_zero_flags_keep_all_32_bits():
    der = asn1.encode(KrbCredInfo(key=KEY, flags=0))
    assert bytes.fromhex("a30703050000000000") in der


def test_kerberos_time_is_generalized_time_without_fraction():
    der = asn1.encode(PaEncTsEnc(T0))
    assert der == bytes.fromhex("3013a011180f") + b"20231114221320Z"
    assert asn1.decode_pa_enc_ts_enc(der).patimestamp == T0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, b"19700101000000Z"),
        (951782400, b"20000229000000Z"),  # leap day
        (4102444799, b"20991231235959Z"),
        (253402300799, b"99991231235959Z"),
    ],
)
def test_kerberos_time_calendar(seconds, text):
    der = asn1.encode(PaEncTsEnc(seconds))
    assert text in der
    assert asn1.decode_pa_enc_ts_enc(der).patimestamp == seconds


def test_principal_name_bytes():
    der = asn1.encode(PrincipalName(1, ("user",)))
    assert der == bytes.fromhex("300fa003020101a10830061b0475736572")


def test_kdc_req_uses_application_10_or_12_and_tags_from_1():
    der = asn1.encode(KdcReq(msg_type=c.KRB_TGS_REQ, req_body=MIN_BODY))
    assert der[0] == 0x6C
    assert der[der.index(b"\x30") + 2] == 0xA1  # pvno is [1] in KDC-REQ, unlike KDC-REP


def test_enc_kdc_rep_part_application_tag_follows_the_field():
    part = next(s for s in SAMPLES if isinstance(s, EncKdcRepPart))
    assert asn1.encode(part)[0] == 0x79  # [APPLICATION 25]
    der = asn1.encode(dataclasses.replace(part, application_tag=26))
    assert der[0] == 0x7A  # [APPLICATION 26]
    assert asn1.decode_enc_kdc_rep_part(der).application_tag == 26


def test_keys_do_not_appear_in_reprs():
    assert KEY.keyvalue.hex() not in repr(KEY)
    assert repr(bytes(range(32))) not in repr(SAMPLES)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (PaEncTsEnc(-1), "patimestamp"),
        (PaEncTsEnc(253402300800), "patimestamp"),
        (KrbCredInfo(key=KEY, flags=1 << 32), "flags"),
        (KdcReq(msg_type=11, req_body=MIN_BODY), "msg_type"),
        (
            EncKdcRepPart(
                key=KEY,
                last_req=(),
                nonce=1,
                flags=0,
                authtime=0,
                endtime=0,
                srealm="R",
                sname=USER,
                application_tag=27,
            ),
            "application_tag",
        ),
        (PrincipalName(1, (None,)), "PrincipalName"),  # type: ignore[arg-type]
    ],
)
def test_unencodable_values_raise_asn1error(obj, message):
    with pytest.raises(asn1.Asn1Error, match=message):
        asn1.encode(obj)


def test_encode_refuses_foreign_types():
    with pytest.raises(TypeError, match="dict"):
        asn1.encode({})
