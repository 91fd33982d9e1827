"""SPNEGO (RFC 4178) tokens and the Negotiate acceptor: MIT's real token, mechanism choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from has_kdc.asn1 import EncryptionKey, decode_ap_req
from has_kdc.asn1.constants import APOptions
from has_kdc.crypto import enctype_by_id
from has_kdc.gss import (
    KRB5_OID,
    MS_KRB5_OID,
    SPNEGO_OID,
    Acceptor,
    GssError,
    GssFlags,
    Krb5Acceptor,
    NegotiateInitiator,
    NegTokenInit,
    NegTokenResp,
    decode_negotiation_token,
    negotiate_header,
    parse_negotiate,
    unwrap_token,
)
from has_kdc.gss.krb5mech import parse_krb5_token
from has_kdc.gss.spnego import ACCEPT_COMPLETED, ACCEPT_INCOMPLETE, REJECT
from tests.gss_fakes import SERVICE, FakeKeys, make_service_ticket, random_key

DATA = Path(__file__).parent / "data" / "gss"
NTLMSSP = "1.3.6.1.4.1.311.2.2.10"


@pytest.fixture
def service_key():
    return random_key(18)


@pytest.fixture
def acceptor(service_key):
    return Acceptor(Krb5Acceptor(FakeKeys({(SERVICE, 1): service_key})))


def test_token_round_trips():
    init = NegTokenInit(mech_types=(KRB5_OID, MS_KRB5_OID), req_flags=b"\x01\x60", mech_token=b"t")
    back = decode_negotiation_token(init.encode())
    assert (back.mech_types, back.req_flags, back.mech_token) == (
        (KRB5_OID, MS_KRB5_OID),
        b"\x01\x60",
        b"t",
    )
    assert back.mech_types_der == bytes.fromhex("3016") + bytes.fromhex(
        "06092a864886f71201020206092a864882f712010202"
    )
    resp = NegTokenResp(
        neg_state=ACCEPT_COMPLETED, supported_mech=KRB5_OID, response_token=b"r", mech_list_mic=b"m"
    )
    assert resp.encode()[:1] == b"\xa1"  # a bare [1], no GSS framing
    assert decode_negotiation_token(resp.encode()) == resp
    assert decode_negotiation_token(NegTokenResp(neg_state=REJECT).encode()).state_name == "reject"


@pytest.mark.parametrize(
    "bad", [b"\xa2\x00", b"\xa0\x02\x30\x00", b"\xa1\x03\x30\x01\x00", b"\x30"]
)
def test_garbled_spnego(bad):
    with pytest.raises(GssError) as info:
        decode_negotiation_token(bad)
    assert info.value.major == "GSS_S_DEFECTIVE_TOKEN"


def test_mit_curl_token_decodes_as_documented():
    token = (DATA / "mit-curl-negotiate.der").read_bytes()
    assert unwrap_token(token)[0] == SPNEGO_OID
    init = decode_negotiation_token(token)
    assert isinstance(init, NegTokenInit)
    assert init.mech_types == (KRB5_OID,)
    assert init.req_flags is None and init.mech_list_mic is None
    mech, tok_id, message = parse_krb5_token(init.mech_token)
    assert (mech, tok_id) == (KRB5_OID, b"\x01\x00")
    ap_req = decode_ap_req(message)
    assert ap_req.ap_options & APOptions.MUTUAL_REQUIRED
    assert ap_req.ticket.sname.components == ("HTTP", "localhost")


def http_keys_from_password(principal: str, kvno: int | None, etype: int) -> EncryptionKey | None:
    """HTTP/localhost's keys as hadmin derived them from 'http-pw' (tests/data/gss/README.md)."""
    if principal != "HTTP/localhost@HADOOP.COM" or kvno not in (1, None):
        return None
    et = enctype_by_id(etype)
    return EncryptionKey(etype, et.string_to_key(b"http-pw", b"HADOOP.COMHTTPlocalhost"))


def test_mit_curl_token_accepted():
    token = (DATA / "mit-curl-negotiate.der").read_bytes()
    taken_at = int((DATA / "mit-curl-negotiate.time").read_text())
    krb5 = Krb5Acceptor(
        http_keys_from_password, services={"HTTP/localhost@HADOOP.COM"}, clock=lambda: taken_at
    )
    result = Acceptor(krb5).accept(token)
    assert result.complete and result.principal == "alice@HADOOP.COM"
    ctx = result.context
    # MIT asks for mutual authentication, integrity and confidentiality, sends a subkey.
    assert ctx.flags & (GssFlags.MUTUAL | GssFlags.INTEG | GssFlags.CONF) == (
        GssFlags.MUTUAL | GssFlags.INTEG | GssFlags.CONF
    )
    assert ctx.initiator_subkey is not None and ctx.initiator_seq is not None
    reply = decode_negotiation_token(result.output_token)
    assert (reply.neg_state, reply.supported_mech) == (ACCEPT_COMPLETED, KRB5_OID)
    assert parse_krb5_token(reply.response_token)[1] == b"\x02\x00"
    # The same token again is a replay; a day later it is an expired ticket.
    with pytest.raises(GssError, match="replay"):
        Acceptor(krb5).accept(token)
    later = Krb5Acceptor(http_keys_from_password, clock=lambda: taken_at + 2 * 86400)
    with pytest.raises(GssError, match="expired"):
        Acceptor(later).accept(token)


def test_spnego_round_trip_with_our_initiator(acceptor, service_key):
    init = NegotiateInitiator(make_service_ticket(service_key))
    result = acceptor.accept(parse_negotiate(init.authorization()))
    assert result.complete and result.spnego and result.principal == "alice@HADOOP.COM"
    assert not init.established
    init.verify(negotiate_header(result.output_token))
    assert init.established


def test_bare_krb5_token_without_spnego(acceptor, service_key):
    init = NegotiateInitiator(make_service_ticket(service_key), spnego=False)
    result = acceptor.accept(init.initial_token())
    assert result.complete and not result.spnego
    assert parse_krb5_token(result.output_token)[1] == b"\x02\x00"  # a bare AP-REP token
    init.process_reply(result.output_token)
    assert init.established


def test_without_mutual_no_response_token(acceptor, service_key):
    init = NegotiateInitiator(make_service_ticket(service_key), flags=GssFlags.INTEG)
    result = acceptor.accept(init.initial_token())
    assert result.complete and result.context.output_token is None
    reply = decode_negotiation_token(result.output_token)
    assert reply.neg_state == ACCEPT_COMPLETED and reply.response_token is None
    init.verify(None)  # nothing to check, and nothing was asked for
    bare = NegotiateInitiator(make_service_ticket(service_key), flags=0, spnego=False)
    assert acceptor.accept(bare.initial_token()).output_token is None


def test_microsoft_oid_listed_first_is_echoed(acceptor, service_key):
    creds = make_service_ticket(service_key)
    init = NegotiateInitiator(creds, mech=MS_KRB5_OID)
    token = NegTokenInit(
        mech_types=(MS_KRB5_OID, KRB5_OID, NTLMSSP), mech_token=init.krb5.initial_token()
    ).encode()
    result = acceptor.accept(token)
    reply = decode_negotiation_token(result.output_token)
    assert reply.supported_mech == MS_KRB5_OID
    assert parse_krb5_token(reply.response_token)[0] == MS_KRB5_OID
    init.process_reply(result.output_token)


def test_kerberos_not_first_takes_a_second_round(acceptor, service_key):
    first = NegTokenInit(mech_types=(NTLMSSP, KRB5_OID), mech_token=b"NTLMSSP\x00\x01").encode()
    result = acceptor.accept(first)
    assert not result.complete and result.principal is None
    reply = decode_negotiation_token(result.output_token)
    assert (reply.neg_state, reply.supported_mech) == (ACCEPT_INCOMPLETE, KRB5_OID)
    init = NegotiateInitiator(make_service_ticket(service_key))
    second = NegTokenResp(response_token=init.krb5.initial_token()).encode()
    result = acceptor.accept(second)
    assert result.complete and result.principal == "alice@HADOOP.COM"
    init.process_reply(result.output_token)
    assert init.established


def test_no_kerberos_offered_is_rejected(acceptor):
    with pytest.raises(GssError) as info:
        acceptor.accept(NegTokenInit(mech_types=(NTLMSSP,), mech_token=b"x").encode())
    assert info.value.major == "GSS_S_BAD_MECH" and NTLMSSP in info.value.message
    assert decode_negotiation_token(info.value.output_token).neg_state == REJECT


def test_garbage_and_oversized_tokens(acceptor):
    for bad in (b"", b"garbage", b"\x60\x03\x06\x01\x00", b"\x00" * 70000):
        with pytest.raises(GssError):
            acceptor.accept(bad)


def test_negotiate_headers():
    assert negotiate_header(b"\x01\x02") == "Negotiate AQI="
    assert negotiate_header(None) == "Negotiate"
    assert parse_negotiate("Negotiate AQI=") == b"\x01\x02"
    assert parse_negotiate("negotiate   AQI=") == b"\x01\x02"
    assert parse_negotiate('Basic realm="x", Negotiate AQI=') == b"\x01\x02"
    assert parse_negotiate("Negotiate") is None
    assert parse_negotiate("Basic dXNlcjpwdw==") is None
    assert parse_negotiate(None) is None
    with pytest.raises(GssError, match="base64"):
        parse_negotiate("Negotiate !!!")
