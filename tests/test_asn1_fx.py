"""The RFC 6113 (FAST) messages: round trips, and hostile bytes give Asn1Error only.

MIT krb5kdc's own armored replies and errors are decoded by these functions in
``test_fast_vs_mit.py``; here each message is built, encoded, decoded back, and
then cut short at every offset and garbled.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from has_kdc.asn1 import Asn1Error
from has_kdc.asn1.fx import (
    decode_krb_fast_finished,
    decode_krb_fast_req,
    decode_krb_fast_response,
    decode_pa_fx_fast_reply,
    decode_pa_fx_fast_request,
    encode_krb_fast_req,
    encode_krb_fast_response,
    encode_pa_fx_fast_reply,
    encode_pa_fx_fast_request,
)
from has_kdc.asn1.messages import (
    Checksum,
    EncryptedData,
    EncryptionKey,
    KdcReqBody,
    KrbFastArmor,
    KrbFastArmoredReq,
    KrbFastFinished,
    KrbFastReq,
    KrbFastResponse,
    PAData,
    PrincipalName,
)

BODY = KdcReqBody(
    kdc_options=0x40000010,
    cname=PrincipalName(1, ("user",)),
    realm="EXAMPLE.COM",
    sname=PrincipalName(2, ("krbtgt", "EXAMPLE.COM")),
    till=1_700_086_400,
    nonce=12345,
    etypes=(18, 17),
)
ARMORED = KrbFastArmoredReq(
    armor=KrbFastArmor(1, b"\x6e\x03\x02\x01\x05"),
    req_checksum=Checksum(16, bytes(12)),
    enc_fast_req=EncryptedData(18, b"\x01" * 60),
)
FAST_REQ = KrbFastReq(fast_options=0, padata=(PAData(138, b"\x30\x00"),), req_body=BODY)
FINISHED = KrbFastFinished(
    timestamp=1_700_000_000,
    usec=250_000,
    crealm="EXAMPLE.COM",
    cname=PrincipalName(1, ("user",)),
    ticket_checksum=Checksum(16, bytes(range(12))),
)
RESPONSE = KrbFastResponse(
    padata=(PAData(138, b"\x30\x00"), PAData(19, b"\x30\x00")),
    strengthen_key=EncryptionKey(18, bytes(range(32))),
    finished=FINISHED,
    nonce=4_000_000_000,
)


def test_round_trips() -> None:
    assert decode_pa_fx_fast_request(encode_pa_fx_fast_request(ARMORED)) == ARMORED
    unarmored = KrbFastArmoredReq(
        req_checksum=ARMORED.req_checksum, enc_fast_req=ARMORED.enc_fast_req
    )
    assert decode_pa_fx_fast_request(encode_pa_fx_fast_request(unarmored)) == unarmored
    fast_req = decode_krb_fast_req(encode_krb_fast_req(FAST_REQ))
    assert fast_req == FAST_REQ and fast_req.req_body_der is not None
    assert decode_krb_fast_response(encode_krb_fast_response(RESPONSE)) == RESPONSE
    bare = KrbFastResponse(padata=(), nonce=1)
    assert decode_krb_fast_response(encode_krb_fast_response(bare)) == bare
    enc = EncryptedData(18, b"\x02" * 40)
    assert decode_pa_fx_fast_reply(encode_pa_fx_fast_reply(enc)) == enc


def test_a_large_reply_uses_long_lengths() -> None:
    response = KrbFastResponse(padata=(PAData(19, b"\x04" * 70_000),), nonce=7)
    assert decode_krb_fast_response(encode_krb_fast_response(response)) == response


DECODERS = [
    (decode_pa_fx_fast_request, encode_pa_fx_fast_request(ARMORED)),
    (decode_krb_fast_req, encode_krb_fast_req(FAST_REQ)),
    (decode_krb_fast_response, encode_krb_fast_response(RESPONSE)),
    (decode_pa_fx_fast_reply, encode_pa_fx_fast_reply(EncryptedData(18, b"\x02" * 40))),
]


@pytest.mark.parametrize(("decoder", "data"), DECODERS, ids=lambda x: getattr(x, "__name__", ""))
def test_truncated_or_extended_input_is_asn1error(decoder, data: bytes) -> None:
    for cut in range(len(data)):
        with pytest.raises(Asn1Error):
            decoder(data[:cut])
    with pytest.raises(Asn1Error):
        decoder(data + b"\x00")


@pytest.mark.parametrize(("decoder", "data"), DECODERS, ids=lambda x: getattr(x, "__name__", ""))
def test_garbled_input_raises_only_asn1error(decoder, data: bytes) -> None:
    rng = random.Random(6113)
    for _ in range(2000):
        garbled = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            garbled[rng.randrange(len(garbled))] = rng.randrange(256)
        with contextlib.suppress(Asn1Error):
            decoder(bytes(garbled))


def test_fields_out_of_order_or_missing_are_refused() -> None:
    data = encode_krb_fast_response(KrbFastResponse(padata=(), nonce=1))
    # [0] padata then [3] nonce: swap them
    swapped = data[:2] + data[6:] + data[2:6]
    with pytest.raises(Asn1Error):
        decode_krb_fast_response(swapped)
    with pytest.raises(Asn1Error):
        decode_krb_fast_finished(b"\x30\x00")
