"""Decoding flags from the wire must not grow enum's cache: any client could exhaust memory."""

import random
from dataclasses import replace

from has_kdc.asn1 import decode_kdc_req, encode
from has_kdc.asn1.constants import KDCOptions, TicketFlags, flags_from_wire
from has_kdc.asn1.messages import KdcReq, KdcReqBody, PrincipalName


def test_flags_from_wire_keeps_value_but_not_cache():
    before = len(KDCOptions._value2member_map_)
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.getrandbits(32)
        flag = flags_from_wire(KDCOptions, value)
        assert int(flag) == value
        assert bool(flag & KDCOptions.FORWARDABLE) == bool(value & 0x40000000)
    assert len(KDCOptions._value2member_map_) <= before + 1
    assert flags_from_wire(TicketFlags, int(TicketFlags.INITIAL)) is TicketFlags.INITIAL


def test_decoding_many_option_values_does_not_grow_the_cache():
    body = KdcReqBody(
        kdc_options=0,
        cname=PrincipalName(1, ("user",)),
        realm="HADOOP.COM",
        sname=PrincipalName(2, ("krbtgt", "HADOOP.COM")),
        till=2_000_000_000,
        nonce=1,
        etypes=(18,),
    )
    before = len(KDCOptions._value2member_map_)
    for value in range(0x1000, 0x1000 + 500):
        req = KdcReq(msg_type=10, padata=(), req_body=replace(body, kdc_options=value))
        packet = encode(req)
        assert int(decode_kdc_req(packet).req_body.kdc_options) == value
    assert len(KDCOptions._value2member_map_) <= before + 1
