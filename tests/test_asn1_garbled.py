"""Bad input never escapes as anything but Asn1Error, and the message says what and where.

A KDC decodes bytes from anyone on the network: truncated, garbled, random or
mistyped input must come back as one exception type (so the KDC can answer or drop it)
with a message naming what was expected and the offset, never an IndexError or a
pyasn1 exception, and never key material.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from has_kdc import asn1
from has_kdc.asn1 import Asn1Error, EncryptionKey, PrincipalName
from has_kdc.asn1 import constants as c

DATA = Path(__file__).parent / "data" / "asn1"
AS_REQ = (DATA / "mit-as-req-enc-timestamp.der").read_bytes()
AS_REP = (DATA / "mit-as-rep.der").read_bytes()
TGS_REQ = (DATA / "mit-tgs-req.der").read_bytes()
KRB_ERROR = (DATA / "mit-krb-error-preauth-required.der").read_bytes()

ALL_DECODERS = [
    asn1.decode_kdc_req,
    asn1.decode_kdc_rep,
    asn1.decode_krb_error,
    asn1.decode_ap_req,
    asn1.decode_ap_rep,
    asn1.decode_ticket,
    asn1.decode_enc_ticket_part,
    asn1.decode_enc_kdc_rep_part,
    asn1.decode_authenticator,
    asn1.decode_enc_ap_rep_part,
    asn1.decode_krb_cred,
    asn1.decode_enc_krb_cred_part,
    asn1.decode_pa_enc_ts_enc,
    asn1.decode_etype_info2,
    asn1.decode_etype_info,
    asn1.decode_method_data,
    asn1.decode_typed_data,
    asn1.decode_authorization_data,
    asn1.decode_encrypted_data,
    asn1.decode_checksum,
    asn1.decode_principal_name,
    asn1.decode_kdc_req_body,
    asn1.decode_pa_pac_request,
    asn1.message_type,
]


def test_as_req_truncated_at_every_offset():
    for cut in range(len(AS_REQ)):
        with pytest.raises(Asn1Error) as info:
            asn1.decode_kdc_req(AS_REQ[:cut])
        text = str(info.value)
        assert "KDC-REQ" in text
        if cut:
            assert "truncated" in text and "offset" in text, (cut, text)


@pytest.mark.parametrize("packet", [AS_REP, TGS_REQ, KRB_ERROR], ids=["as-rep", "tgs-req", "err"])
def test_other_packets_truncated_at_every_offset(packet):
    decoder = {0x6B: asn1.decode_kdc_rep, 0x6C: asn1.decode_kdc_req, 0x7E: asn1.decode_krb_error}
    for cut in range(len(packet)):
        with pytest.raises(Asn1Error):
            decoder[packet[0]](packet[:cut])


def test_trailing_bytes_are_an_error_with_their_offset():
    with pytest.raises(Asn1Error, match=f"1 trailing bytes .* offset {len(AS_REQ)}"):
        asn1.decode_kdc_req(AS_REQ + b"\x00")


@pytest.mark.parametrize("decoder", ALL_DECODERS, ids=lambda d: d.__name__)
def test_random_bytes_raise_only_asn1error(decoder):
    rng = random.Random(4120)
    for _ in range(300):
        blob = rng.randbytes(rng.randrange(0, 64))
        with contextlib.suppress(Asn1Error):
            decoder(blob)


@pytest.mark.parametrize(
    "packet", [AS_REQ, AS_REP, TGS_REQ, KRB_ERROR], ids=["as-req", "as-rep", "tgs-req", "err"]
)
def test_mutated_packets_decode_or_raise_asn1error(packet):
    """Flip, replace, insert and delete bytes of real packets: every outcome is either a
    decoded object (which then encodes) or Asn1Error."""
    decoders = [asn1.decode_kdc_req, asn1.decode_kdc_rep, asn1.decode_krb_error]
    rng = random.Random(len(packet))
    outcomes = {"decoded": 0, "error": 0}
    for _ in range(400):
        data = bytearray(packet)
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(data))
            op = rng.randrange(4)
            if op == 0:
                data[pos] ^= 1 << rng.randrange(8)
            elif op == 1:
                data[pos] = rng.randrange(256)
            elif op == 2:
                data.insert(pos, rng.randrange(256))
            else:
                del data[pos]
        for decoder in decoders:
            try:
                message = decoder(bytes(data))
            except Asn1Error:
                outcomes["error"] += 1
                continue
            outcomes["decoded"] += 1
            # whatever decodes also encodes, to the same message
            assert decoder(asn1.encode(message)) == message
    assert outcomes["error"] > 0 and outcomes["decoded"] > 0


@pytest.mark.parametrize(
    ("decoder", "packet", "expected", "got"),
    [
        (asn1.decode_kdc_req, KRB_ERROR, "KDC-REQ", r"\[APPLICATION 30\] \(KRB-ERROR\)"),
        (asn1.decode_kdc_rep, AS_REQ, "KDC-REP", r"\[APPLICATION 10\] \(AS-REQ\)"),
        (asn1.decode_krb_error, AS_REP, "KRB-ERROR", r"\[APPLICATION 11\] \(AS-REP\)"),
        (asn1.decode_ap_req, TGS_REQ, "AP-REQ", r"\[APPLICATION 12\] \(TGS-REQ\)"),
        (asn1.decode_ticket, AS_REQ, "Ticket", r"\[APPLICATION 10\]"),
        (asn1.decode_enc_kdc_rep_part, AS_REP, "EncKDCRepPart", r"\[APPLICATION 11\]"),
        (asn1.decode_enc_ticket_part, b"\x30\x00", "EncTicketPart", r"\[UNIVERSAL 16\]"),
    ],
)
def test_wrong_application_tag_names_expected_and_found(decoder, packet, expected, got):
    with pytest.raises(Asn1Error, match=rf"^{expected}: expected .*got {got}.* at offset 0"):
        decoder(packet)


def test_msg_type_must_match_the_application_tag():
    req = asn1.decode_kdc_req(AS_REQ)
    # put the AS-REQ body under [APPLICATION 12] by flipping the tag byte only
    relabelled = bytes([0x6C]) + AS_REQ[1:]
    with pytest.raises(Asn1Error, match=r"msg-type 10 inside \[APPLICATION 12\]"):
        asn1.decode_kdc_req(relabelled)
    assert req.msg_type == c.KRB_AS_REQ


def test_schema_mismatch_is_reported_as_such():
    # A well-formed DER SEQUENCE that is not a PrincipalName
    with pytest.raises(Asn1Error, match="PrincipalName: does not match"):
        asn1.decode_principal_name(bytes.fromhex("3003020101"))


def test_indefinite_length_is_not_der():
    with pytest.raises(Asn1Error, match="indefinite length at offset 1"):
        asn1.decode_kdc_req(b"\x6a\x80" + AS_REQ[3:] + b"\x00\x00")


def test_bad_kerberos_time_is_named():
    good = asn1.encode(asn1.PaEncTsEnc(1_700_000_000))
    for bad in (b"20231314221320Z", b"2023111422132.Z", b"20231114221320X"):
        with pytest.raises(Asn1Error, match="patimestamp"):
            asn1.decode_pa_enc_ts_enc(good.replace(b"20231114221320Z", bad))


def test_errors_from_secret_parts_do_not_quote_key_bytes():
    key = EncryptionKey(18, b"K" * 32)
    part = asn1.encode(
        asn1.EncTicketPart(
            flags=0,
            key=key,
            crealm="R",
            cname=PrincipalName(1, ("u",)),
            transited=asn1.TransitedEncoding(1, b""),
            authtime=0,
            endtime=0,
        )
    )
    # Corrupt the endtime's tag so pyasn1 rejects it after having read the key.
    broken = part.replace(b"\xa7\x11\x18\x0f", b"\xa7\x11\x04\x0f")
    with pytest.raises(Asn1Error) as info:
        asn1.decode_enc_ticket_part(broken)
    assert "KKKK" not in str(info.value) and "4b4b" not in str(info.value)


def test_message_type_of_non_messages():
    assert asn1.message_type(AS_REQ) == c.KRB_AS_REQ
    assert asn1.message_type(KRB_ERROR) == c.KRB_ERROR
    for bad in (b"", b"\x30\x00", b"\x04\x00", b"\x7f\x81\x00"):
        with pytest.raises(Asn1Error):
            asn1.message_type(bad)


def test_non_bytes_input_is_a_type_error():
    with pytest.raises(TypeError):
        asn1.decode_kdc_req("6a00")  # type: ignore[arg-type]
    assert asn1.decode_kdc_req(bytearray(AS_REQ)) == asn1.decode_kdc_req(memoryview(AS_REQ))
