"""Real packets from MIT Kerberos decode, and requests re-encode byte for byte.

Two sources, checked by the same functions:

- the packets stored in tests/data/asn1/ (MIT kinit/kvno 1.20.1 against MIT krb5kdc
  1.20.1; see the README there), so the checks run without any server;
- a live capture: MIT krb5kdc in a throwaway realm, ``tests.packet_relay`` between it
  and MIT ``kinit``/``kvno``, recording a fresh conversation of this machine's MIT.

The conversation is: AS-REQ without pre-authentication → KRB-ERROR
KDC_ERR_PREAUTH_REQUIRED (METHOD-DATA with ETYPE-INFO2); AS-REQ with
PA-ENC-TIMESTAMP → AS-REP; TGS-REQ (PA-TGS-REQ, and PA-FX-FAST since MIT armours
TGS requests with the TGT) → TGS-REP. Knowing the two passwords, the test walks the
whole key chain: password → client key → PA-ENC-TIMESTAMP and EncASRepPart → TGT
session key → the TGS authenticator, whose checksum must cover ``req_body_der`` →
and the service password → the service ticket's EncTicketPart.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from has_kdc import asn1
from has_kdc.asn1 import KdcReq, PrincipalName
from has_kdc.asn1 import constants as c
from has_kdc.crypto import enctype_by_id
from tests.mitkrb import MitClient, MitRealm
from tests.packet_relay import PacketRelay

DATA = Path(__file__).parent / "data" / "asn1"
REALM = "MIT.TEST"
USER_PASSWORD = b"user-pw"
SERVICE = ("HTTP", "svc.mit.test")
SERVICE_PASSWORD = b"svc-pw"

# file name → role in the conversation, in the order the relay sees them
FILES = {
    "as_req_1": "mit-as-req-no-preauth.der",
    "krb_error": "mit-krb-error-preauth-required.der",
    "as_req_2": "mit-as-req-enc-timestamp.der",
    "as_rep": "mit-as-rep.der",
    "tgs_req": "mit-tgs-req.der",
    "tgs_rep": "mit-tgs-rep.der",
}


def stored_conversation() -> dict[str, bytes]:
    return {role: (DATA / name).read_bytes() for role, name in FILES.items()}


def padata(req_padata: tuple[asn1.PAData, ...], padata_type: int) -> bytes:
    values = [p.padata_value for p in req_padata if p.padata_type == padata_type]
    assert len(values) == 1, f"expected one PA-DATA {padata_type}, found {len(values)}"
    return values[0]


def check_request_reencodes(packet: bytes) -> KdcReq:
    """Decode a KDC-REQ; re-encoding gives the packet back; req_body_der is its slice."""
    req = asn1.decode_kdc_req(packet)
    assert asn1.encode(req) == packet
    assert req.req_body_der is not None
    assert packet.endswith(req.req_body_der)  # req-body [4] is the last field
    assert asn1.encode(req.req_body) == req.req_body_der
    assert asn1.decode_kdc_req_body(req.req_body_der) == req.req_body
    return req


def check_conversation(packets: dict[str, bytes], *, now: int | None = None) -> None:
    """Every assertion about one MIT conversation (stored or live)."""
    user = PrincipalName(c.NT_PRINCIPAL, ("user",))
    krbtgt = PrincipalName(c.NT_SRV_INST, ("krbtgt", REALM))

    # 1. AS-REQ without pre-authentication
    assert asn1.message_type(packets["as_req_1"]) == c.KRB_AS_REQ
    as_req_1 = check_request_reencodes(packets["as_req_1"])
    body = as_req_1.req_body
    assert as_req_1.msg_type == c.KRB_AS_REQ and as_req_1.pvno == 5
    assert (body.cname, body.realm, body.sname) == (user, REALM, krbtgt)
    assert 18 in body.etypes and 17 in body.etypes
    assert body.kdc_options & c.KDCOptions.RENEWABLE_OK
    assert c.PA_ENC_TIMESTAMP not in {p.padata_type for p in as_req_1.padata}
    assert c.PA_REQ_ENC_PA_REP in {p.padata_type for p in as_req_1.padata}
    if now is not None:
        assert abs(body.till - (now + 86400)) < 600  # MIT's default ticket_lifetime, 1 day

    # 2. KRB-ERROR PREAUTH_REQUIRED with METHOD-DATA carrying ETYPE-INFO2
    error = asn1.decode_krb_error(packets["krb_error"])
    assert asn1.encode(error) == packets["krb_error"]
    assert error.error_code == c.KDC_ERR_PREAUTH_REQUIRED
    assert c.error_name(error.error_code) == "KDC_ERR_PREAUTH_REQUIRED"
    assert (error.crealm, error.cname, error.realm, error.sname) == (REALM, user, REALM, krbtgt)
    assert error.e_data is not None
    method_data = asn1.decode_method_data(error.e_data)
    assert asn1.encode_method_data(method_data) == error.e_data
    types = [p.padata_type for p in method_data]
    assert c.PA_ETYPE_INFO2 in types and c.PA_ENC_TIMESTAMP in types
    etype_info2 = asn1.decode_etype_info2(padata(method_data, c.PA_ETYPE_INFO2))
    assert asn1.encode_etype_info2(etype_info2) == padata(method_data, c.PA_ETYPE_INFO2)
    entry = etype_info2[0]
    assert entry.etype == 18 and entry.salt == b"MIT.TESTuser"

    # 3. AS-REQ with PA-ENC-TIMESTAMP, decrypted with the key from the password
    as_req_2 = check_request_reencodes(packets["as_req_2"])
    et = enctype_by_id(entry.etype)
    user_key = et.string_to_key(USER_PASSWORD, entry.salt, entry.s2kparams)
    enc_ts = asn1.decode_encrypted_data(padata(as_req_2.padata, c.PA_ENC_TIMESTAMP))
    assert enc_ts.etype == entry.etype
    ts = asn1.decode_pa_enc_ts_enc(et.decrypt(user_key, c.KU_PA_ENC_TIMESTAMP, enc_ts.cipher))
    assert abs(ts.patimestamp - error.stime) < 60 and 0 <= (ts.pausec or 0) < 1_000_000
    if now is not None:
        assert abs(ts.patimestamp - now) < 600
    assert padata(as_req_2.padata, c.PA_FX_COOKIE) == padata(method_data, c.PA_FX_COOKIE)

    # 4. AS-REP: ticket kept raw; EncASRepPart decrypted with the same client key
    as_rep = asn1.decode_kdc_rep(packets["as_rep"])
    assert asn1.encode(as_rep) == packets["as_rep"]
    assert (as_rep.msg_type, as_rep.crealm, as_rep.cname) == (c.KRB_AS_REP, REALM, user)
    assert as_rep.ticket.sname == krbtgt and as_rep.ticket.ticket_der is not None
    assert as_rep.ticket.ticket_der in packets["as_rep"]
    assert asn1.decode_ticket(as_rep.ticket.ticket_der) == as_rep.ticket
    plain = et.decrypt(user_key, c.KU_AS_REP_ENC_PART, as_rep.enc_part.cipher)
    part = asn1.decode_enc_kdc_rep_part(plain)
    # MIT krb5kdc wraps the AS reply part in EncTGSRepPart [APPLICATION 26], the
    # RFC 4120 §5.4.2 compatibility case clients must accept.
    assert part.application_tag in (c.APP_ENC_AS_REP_PART, c.APP_ENC_TGS_REP_PART)
    assert asn1.encode(part) == plain
    assert part.nonce == as_req_2.req_body.nonce
    assert (part.srealm, part.sname) == (REALM, krbtgt)
    assert part.flags & c.TicketFlags.INITIAL and part.flags & c.TicketFlags.PRE_AUTHENT
    assert part.authtime <= part.endtime
    assert part.endtime == as_req_2.req_body.till  # within max_life, so granted as asked
    # PA-REQ-ENC-PA-REP: the KDC's checksum over the AS-REQ as sent (RFC 6806 §11)
    assert part.flags & c.TicketFlags.ENC_PA_REP and part.encrypted_pa_data is not None
    cksum = asn1.decode_checksum(padata(part.encrypted_pa_data, c.PA_REQ_ENC_PA_REP))
    assert cksum.cksumtype == et.checksum_type
    assert cksum.checksum == et.checksum(user_key, c.KU_AS_REQ, packets["as_req_2"])
    session_key = part.key

    # 5. TGS-REQ: re-encodes; the PA-TGS-REQ AP-REQ carries the TGT and an
    #    authenticator whose checksum covers req_body_der exactly
    tgs_req = check_request_reencodes(packets["tgs_req"])
    assert tgs_req.msg_type == c.KRB_TGS_REQ
    assert tgs_req.req_body.sname == PrincipalName(c.NT_PRINCIPAL, SERVICE)
    ap_req_der = padata(tgs_req.padata, c.PA_TGS_REQ)
    ap_req = asn1.decode_ap_req(ap_req_der)
    assert asn1.encode(ap_req) == ap_req_der
    assert ap_req.ticket == as_rep.ticket
    assert ap_req.ticket.ticket_der == as_rep.ticket.ticket_der
    session_et = enctype_by_id(session_key.keytype)
    auth_plain = session_et.decrypt(
        session_key.keyvalue, c.KU_TGS_REQ_AUTH, ap_req.authenticator.cipher
    )
    authenticator = asn1.decode_authenticator(auth_plain)
    assert asn1.encode(authenticator) == auth_plain
    assert (authenticator.crealm, authenticator.cname) == (REALM, user)
    assert authenticator.cksum is not None
    assert authenticator.cksum.cksumtype == session_et.checksum_type
    expected = session_et.checksum(
        session_key.keyvalue, c.KU_TGS_REQ_AUTH_CKSUM, tgs_req.req_body_der
    )
    assert authenticator.cksum.checksum == expected

    # 6. TGS-REP: decoded fully; the service ticket opens with the service's key. (Its
    #    enc-part is under MIT's FAST strengthened reply key, which needs FAST.)
    tgs_rep = asn1.decode_kdc_rep(packets["tgs_rep"])
    assert asn1.encode(tgs_rep) == packets["tgs_rep"]
    assert (tgs_rep.msg_type, tgs_rep.crealm, tgs_rep.cname) == (c.KRB_TGS_REP, REALM, user)
    assert tgs_rep.ticket.sname == PrincipalName(c.NT_PRINCIPAL, SERVICE)
    assert c.PA_FX_FAST in {p.padata_type for p in tgs_rep.padata}
    svc_et = enctype_by_id(tgs_rep.ticket.enc_part.etype)
    svc_salt = (REALM + "".join(SERVICE)).encode()
    svc_key = svc_et.string_to_key(SERVICE_PASSWORD, svc_salt, None)
    ticket_plain = svc_et.decrypt(svc_key, c.KU_TICKET, tgs_rep.ticket.enc_part.cipher)
    enc_ticket = asn1.decode_enc_ticket_part(ticket_plain)
    assert asn1.encode(enc_ticket) == ticket_plain
    assert (enc_ticket.crealm, enc_ticket.cname) == (REALM, user)
    assert enc_ticket.authtime == part.authtime
    assert enc_ticket.flags & c.TicketFlags.PRE_AUTHENT
    assert enc_ticket.transited.tr_type == c.DOMAIN_X500_COMPRESS
    assert enc_ticket.authorization_data  # MIT 1.20 puts its PAC in AD-IF-RELEVANT
    assert enc_ticket.authorization_data[0].ad_type == c.AD_IF_RELEVANT
    inner = asn1.decode_authorization_data(enc_ticket.authorization_data[0].ad_data)
    assert inner[0].ad_type == c.AD_WIN2K_PAC


def test_stored_mit_conversation():
    check_conversation(stored_conversation())


@pytest.mark.parametrize("role", ["as_req_1", "as_req_2", "tgs_req"])
def test_stored_requests_reencode_byte_identical(role):
    check_request_reencodes(stored_conversation()[role])


@pytest.mark.mit
def test_live_mit_conversation(tmp_path):
    """Capture kinit + kvno against MIT krb5kdc through the relay, then check it all."""
    realm = MitRealm(tmp_path / "mit", REALM)
    realm.create()
    realm.addprinc("user", USER_PASSWORD.decode())
    realm.addprinc("/".join(SERVICE), SERVICE_PASSWORD.decode())
    realm.start()
    try:
        with PacketRelay((realm.host, realm.port)) as relay:
            client = MitClient(tmp_path / "client", REALM, [f"127.0.0.1:{relay.port}"])
            now = int(time.time())
            client.kinit("user", USER_PASSWORD.decode())
            client.kvno("/".join(SERVICE))
    finally:
        realm.stop()
    got = [(asn1.message_type(x.request), asn1.message_type(x.reply)) for x in relay.exchanges]
    assert got == [
        (c.KRB_AS_REQ, c.KRB_ERROR),
        (c.KRB_AS_REQ, c.KRB_AS_REP),
        (c.KRB_TGS_REQ, c.KRB_TGS_REP),
    ]
    (req1, err), (req2, rep), (tgs_req, tgs_rep) = [(x.request, x.reply) for x in relay.exchanges]
    packets = {
        "as_req_1": req1,
        "krb_error": err,
        "as_req_2": req2,
        "as_rep": rep,
        "tgs_req": tgs_req,
        "tgs_rep": tgs_rep,
    }
    check_conversation(packets, now=now)


@pytest.mark.mit
def test_live_krb_error_for_unknown_client(tmp_path, mit_realm):
    """MIT's answer to an unknown client decodes, with its RFC error code."""
    with PacketRelay((mit_realm.host, mit_realm.port)) as relay:
        client = mit_realm.client(tmp_path / "client")
        client.write_conf([f"127.0.0.1:{relay.port}"])
        proc = client.kinit("nobody", "x", check=False)
    assert proc.returncode != 0
    error = asn1.decode_krb_error(relay.exchanges[-1].reply)
    assert asn1.encode(error) == relay.exchanges[-1].reply
    assert error.error_code == c.KDC_ERR_C_PRINCIPAL_UNKNOWN
    assert error.cname == PrincipalName(c.NT_PRINCIPAL, ("nobody",))
