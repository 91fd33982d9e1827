"""``Kdc.handle`` as the network layer sees it: what gets an answer, what does not, and
that nothing raises."""

from __future__ import annotations

import logging
import random
from dataclasses import replace

import pytest

from has_kdc.asn1.codec import decode_krb_error, encode
from has_kdc.asn1.constants import (
    KRB_ERR_FIELD_TOOLONG,
    KRB_ERR_GENERIC,
    KRB_ERR_RESPONSE_TOO_BIG,
    NT_PRINCIPAL,
)
from has_kdc.asn1.messages import PrincipalName
from has_kdc.client.kdc_client import KdcClient, build_as_req
from tests.kdc_fakes import REALM, make_kdc

ALICE = PrincipalName(NT_PRINCIPAL, ("alice",))


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x00",
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x6a",  # AS-REQ tag, nothing else
        b"\x6a\x03\x30\x01\x00",  # AS-REQ tag, garbage inside
        b"\x6c\x84\xff\xff\xff\xff",  # TGS-REQ tag, absurd length
        b"\x7e\x00",  # a KRB-ERROR sent to the KDC
    ],
)
def test_what_is_not_a_decodable_kdc_request_gets_no_answer(message: bytes) -> None:
    kdc, _, _ = make_kdc()
    assert kdc.handle(message, "udp") is None
    assert kdc.dropped == 1


def test_mangled_requests_are_answered_or_dropped_without_internal_errors(caplog) -> None:
    kdc, _, _ = make_kdc()
    caplog.set_level(logging.ERROR, logger="has_kdc.kdc")
    valid = encode(build_as_req(ALICE, REALM))
    rng = random.Random(4120)
    answered = 0
    for _ in range(300):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        reply = kdc.handle(bytes(data), "udp")
        if reply is not None:
            answered += 1
            assert reply[0] in (0x6B, 0x7E)  # AS-REP or KRB-ERROR
    for _ in range(100):
        assert kdc.handle(b"\x6c" + rng.randbytes(rng.randint(0, 80)), "tcp") is None
    assert answered > 0
    assert not caplog.records  # no request reached the "KDC failed" path


def test_request_without_server_gets_no_answer() -> None:
    kdc, _, _ = make_kdc()
    req = build_as_req(ALICE, REALM)
    req = replace(req, req_body=replace(req.req_body, sname=None))
    assert kdc.handle(encode(req), "udp") is None


def test_a_bug_becomes_krb_err_generic_not_an_exception(monkeypatch) -> None:
    kdc, _, _ = make_kdc()

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("has_kdc.kdc.handler.process_as_req", broken)
    reply = kdc.handle(encode(build_as_req(ALICE, REALM)), "udp")
    err = decode_krb_error(reply)
    assert err.error_code == KRB_ERR_GENERIC
    assert err.sname.components == ("krbtgt", REALM) and err.realm == REALM


def test_response_too_big_and_field_toolong_name_the_tgs() -> None:
    kdc, _, clock = make_kdc()
    err = decode_krb_error(kdc.response_too_big(b"anything"))
    assert err.error_code == KRB_ERR_RESPONSE_TOO_BIG
    assert err.realm == REALM and err.sname.components == ("krbtgt", REALM)
    assert err.cname is None and err.e_text is None
    assert err.stime == int(clock())
    assert decode_krb_error(kdc.field_toolong()).error_code == KRB_ERR_FIELD_TOOLONG


def test_one_log_line_per_request_in_mit_format(caplog) -> None:
    kdc, _, clock = make_kdc()
    caplog.set_level(logging.INFO, logger="has_kdc.kdc")
    client = KdcClient(lambda b: kdc.handle(b, "udp", peer="192.0.2.7"), REALM, clock=clock)
    tgt = client.get_tgt("alice", "alice-pw", etypes=(17, 18))
    client.get_service_ticket(tgt, "host/server.example.com", etypes=(18,))
    lines = [r.getMessage() for r in caplog.records if r.name == "has_kdc.kdc"]
    etypes = "2 etypes {aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha1-96(18)}"
    tgs = f"krbtgt/{REALM}@{REALM}"
    authtime = int(clock())
    assert lines == [
        f"AS_REQ ({etypes}) 192.0.2.7: NEEDED_PREAUTH: alice@{REALM} for {tgs}, "
        "Additional pre-authentication required",
        f"AS_REQ ({etypes}) 192.0.2.7: ISSUE: authtime {authtime}, etypes "
        "{rep=aes128-cts-hmac-sha1-96(17), tkt=aes256-cts-hmac-sha1-96(18), "
        f"ses=aes128-cts-hmac-sha1-96(17)}}, alice@{REALM} for {tgs}",
        "TGS_REQ (1 etypes {aes256-cts-hmac-sha1-96(18)}) 192.0.2.7: ISSUE: authtime "
        f"{authtime}, etypes {{rep=aes128-cts-hmac-sha1-96(17), "
        "tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}, "
        f"alice@{REALM} for host/server.example.com@{REALM}",
    ]


def test_log_lines_carry_no_secrets(caplog) -> None:
    kdc, backend, clock = make_kdc()
    caplog.set_level(logging.DEBUG)
    client = KdcClient(lambda b: kdc.handle(b, "udp"), REALM, clock=clock)
    tgt = client.get_tgt("alice", "alice-pw")
    text = caplog.text
    assert "alice-pw" not in text
    for principal in (backend.get_principal(f"alice@{REALM}"),):
        for key in principal.keys:
            assert key.key.hex() not in text and repr(key.key) not in text
    assert tgt.session_key.keyvalue.hex() not in text
    assert "keyvalue" not in repr(tgt)
