"""bench/packets.py: the request pools patched in place must be real, distinct requests.

Each pool entry is decoded with the codec and checked against what the client code
would have built: the right principals, a fresh timestamp, a nonce of its own, and
for TGS an authenticator that decrypts under the TGT session key and whose checksum
covers the entry's own request body. No server needed.
"""

from __future__ import annotations

import time

import pytest

from bench.loadgen import kdc_req_nonce_offset
from bench.packets import FIRST_ITEM, AsEncTimestampPool, TgsReqPool, as_req, field_span
from has_kdc.asn1 import (
    decode_ap_req,
    decode_authenticator,
    decode_encrypted_data,
    decode_kdc_req,
    decode_pa_enc_ts_enc,
    encode,
)
from has_kdc.asn1.constants import (
    KRB_AS_REQ,
    KRB_TGS_REQ,
    KU_PA_ENC_TIMESTAMP,
    KU_TGS_REQ_AUTH,
    KU_TGS_REQ_AUTH_CKSUM,
    NT_PRINCIPAL,
    NT_SRV_INST,
    PA_ENC_TIMESTAMP,
    PA_TGS_REQ,
)
from has_kdc.asn1.messages import EncryptedData, EncryptionKey, PrincipalName, Ticket
from has_kdc.client.kdc_client import Credentials
from has_kdc.crypto import ChecksumMismatch, checksum_by_type, enctype_by_id

REALM = "BENCH.TEST"
AES256 = enctype_by_id(18)


def _key() -> EncryptionKey:
    return EncryptionKey(18, AES256.random_key())


def _tgt() -> Credentials:
    """A TGT as a client holds it; the ticket's cipher is opaque to the client."""
    now = int(time.time())
    krbtgt = PrincipalName(NT_SRV_INST, ("krbtgt", REALM))
    ticket = Ticket(realm=REALM, sname=krbtgt, enc_part=EncryptedData(18, b"\x01" * 180, kvno=1))
    return Credentials(
        crealm=REALM,
        cname=PrincipalName(NT_PRINCIPAL, ("user",)),
        srealm=REALM,
        sname=krbtgt,
        ticket=ticket,
        session_key=_key(),
        flags=0,
        authtime=now,
        endtime=now + 3600,
    )


def test_as_req_without_padata_has_a_patchable_nonce() -> None:
    req = decode_kdc_req(as_req("user", REALM))
    assert req.msg_type == KRB_AS_REQ
    assert req.padata == ()
    assert req.req_body.cname == PrincipalName(NT_PRINCIPAL, ("user",))
    assert req.req_body.sname == PrincipalName(NT_SRV_INST, ("krbtgt", REALM))
    assert kdc_req_nonce_offset(as_req("user", REALM)) is not None


def test_enc_timestamp_pool_entries_are_distinct_fresh_and_decrypt() -> None:
    key = _key()
    before = int(time.time())
    packets = AsEncTimestampPool("user", REALM, key).make(300)
    after = int(time.time())
    assert len(set(packets)) == 300
    assert len({len(p) for p in packets}) == 1
    nonces, stamps = set(), set()
    for packet in packets:
        req = decode_kdc_req(packet)
        assert req.msg_type == KRB_AS_REQ
        assert req.req_body.cname == PrincipalName(NT_PRINCIPAL, ("user",))
        assert req.req_body.etypes == (18,)
        (pa,) = req.padata
        assert pa.padata_type == PA_ENC_TIMESTAMP
        enc = decode_encrypted_data(pa.padata_value)
        assert enc.etype == 18
        ts = decode_pa_enc_ts_enc(AES256.decrypt(key.keyvalue, KU_PA_ENC_TIMESTAMP, enc.cipher))
        assert before <= ts.patimestamp <= after
        assert ts.pausec is not None and 0 <= ts.pausec < 1_000_000
        nonces.add(req.req_body.nonce)
        stamps.add((ts.patimestamp, ts.pausec))
    assert len(nonces) == 300
    assert len(stamps) == 300


def test_tgs_pool_entries_carry_a_valid_authenticator_over_their_own_body() -> None:
    tgt = _tgt()
    session = tgt.session_key
    before = int(time.time())
    packets = TgsReqPool(tgt, "host/svc.bench.test").make(200)
    after = int(time.time())
    assert len(set(packets)) == 200
    cksum_type = checksum_by_type(AES256.checksum_type)
    nonces, times = set(), set()
    for packet in packets:
        req = decode_kdc_req(packet)
        assert req.msg_type == KRB_TGS_REQ
        assert req.req_body.sname == PrincipalName(NT_SRV_INST, ("host", "svc.bench.test"))
        (pa,) = req.padata
        assert pa.padata_type == PA_TGS_REQ
        ap_req = decode_ap_req(pa.padata_value)
        assert encode(ap_req.ticket) == encode(tgt.ticket)
        plain = AES256.decrypt(session.keyvalue, KU_TGS_REQ_AUTH, ap_req.authenticator.cipher)
        auth = decode_authenticator(plain)
        assert auth.cname == tgt.cname and auth.crealm == REALM
        assert before <= auth.ctime <= after
        assert auth.cksum is not None and auth.cksum.cksumtype == cksum_type.cksumtype
        assert req.req_body_der is not None
        cksum_type.verify(
            session.keyvalue, KU_TGS_REQ_AUTH_CKSUM, req.req_body_der, auth.cksum.checksum
        )
        nonces.add(req.req_body.nonce)
        times.add((auth.ctime, auth.cusec))
    assert len(nonces) == 200
    assert len(times) == 200


def test_tgs_pool_checksum_would_fail_on_another_body() -> None:
    """The checksum really depends on the body: swap two entries' bodies and it breaks."""
    tgt = _tgt()
    a, b = (decode_kdc_req(p) for p in TgsReqPool(tgt, "host/svc.bench.test").make(2))
    auth = decode_authenticator(
        AES256.decrypt(
            tgt.session_key.keyvalue,
            KU_TGS_REQ_AUTH,
            decode_ap_req(a.padata[0].padata_value).authenticator.cipher,
        )
    )
    assert auth.cksum is not None and b.req_body_der is not None
    with pytest.raises(ChecksumMismatch):
        checksum_by_type(auth.cksum.cksumtype).verify(
            tgt.session_key.keyvalue, KU_TGS_REQ_AUTH_CKSUM, b.req_body_der, auth.cksum.checksum
        )


def test_field_span_finds_fields_and_names_missing_ones() -> None:
    packet = as_req("user", REALM, key=_key())
    start, end = field_span(packet, (3, FIRST_ITEM, 2))
    assert decode_encrypted_data(packet[start:end]).etype == 18
    with pytest.raises(ValueError, match=r"field \[9\] absent"):
        field_span(packet, (9,))
