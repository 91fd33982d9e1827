"""The Kerberos GSS-API mechanism (RFC 4121): framing, acceptor checks, initiator, replay."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
import time

import pytest

from has_kdc.asn1 import Checksum, PrincipalName, decode_ap_rep, decode_ap_req
from has_kdc.asn1.constants import (
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_NOKEY,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_REPEAT,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KU_AP_REP_ENC_PART,
    NT_PRINCIPAL,
)
from has_kdc.backend.model import KeyData, Principal
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.crypto import enctype_by_id
from has_kdc.formats import make_entry, write_keytab
from has_kdc.gss import (
    GSS_CHECKSUM_TYPE,
    KRB5_OID,
    MS_KRB5_OID,
    SPNEGO_OID,
    BackendKeys,
    GssChecksum,
    GssError,
    GssFlags,
    KeytabKeys,
    Krb5Acceptor,
    Krb5Initiator,
    ReplayCache,
    channel_bindings_hash,
    unwrap_token,
    wrap_token,
)
from has_kdc.gss.framing import encode_oid
from has_kdc.gss.krb5mech import TOK_AP_REP, parse_krb5_token
from tests.gss_fakes import (
    SERVICE,
    FakeKeys,
    ap_req_token,
    make_service_ticket,
    random_key,
)


@pytest.fixture
def service_key():
    return random_key(18)


@pytest.fixture
def acceptor(service_key):
    return Krb5Acceptor(FakeKeys({(SERVICE, 1): service_key}), services={SERVICE})


# ---------------------------------------------------------------- framing


@pytest.mark.parametrize(
    ("oid", "der"),
    [
        (KRB5_OID, "06092a864886f712010202"),  # RFC 1964 §1.1 lists these bytes
        (MS_KRB5_OID, "06092a864882f712010202"),
        (SPNEGO_OID, "06062b0601050502"),
    ],
)
def test_oid_encoding(oid, der):
    assert encode_oid(oid).hex() == der
    mech, inner = unwrap_token(wrap_token(oid, b"\x01\x00xyz"))
    assert (mech, inner) == (oid, b"\x01\x00xyz")


def test_framing_long_length_round_trip():
    inner = b"\x01\x00" + bytes(range(256)) * 8
    token = wrap_token(KRB5_OID, inner)
    assert token[:2] == b"\x60\x82"  # two-byte length form
    assert unwrap_token(token) == (KRB5_OID, inner)


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x30\x03\x06\x01\x00", b"\x60\x05\x06\x09\x2a", b"\x60\x02\x04\x00", b"\x60\x00junk"],
)
def test_framing_rejects_garbage(bad):
    with pytest.raises(GssError) as info:
        unwrap_token(bad)
    assert info.value.major == "GSS_S_DEFECTIVE_TOKEN"


def test_gss_checksum_round_trip_and_layout():
    ck = GssChecksum(flags=GssFlags.MUTUAL | GssFlags.INTEG, bindings=b"B" * 16)
    raw = ck.encode()
    assert raw[:4] == b"\x10\x00\x00\x00" and raw[4:20] == b"B" * 16
    assert struct.unpack("<I", raw[20:24])[0] == 0x22
    assert GssChecksum.decode(raw) == ck
    deleg = GssChecksum(flags=GssFlags.DELEG | GssFlags.MUTUAL, delegation=b"krb-cred")
    assert GssChecksum.decode(deleg.encode()).delegation == b"krb-cred"


# ---------------------------------------------------------------- acceptor


def test_round_trip_with_mutual_reply(acceptor, service_key):
    creds = make_service_ticket(service_key)
    init = Krb5Initiator(creds)
    ctx = acceptor.accept(init.initial_token())
    assert ctx.client == "alice@HADOOP.COM"
    assert ctx.service == SERVICE
    assert ctx.flags == GssFlags.MUTUAL | GssFlags.INTEG | GssFlags.SEQUENCE
    assert ctx.session_key == creds.session_key
    assert ctx.initiator_subkey == init.subkey and ctx.initiator_seq == init.seq_number
    assert ctx.context_key == init.subkey
    assert ctx.output_token is not None
    mech, tok_id, message = parse_krb5_token(ctx.output_token)
    assert (mech, tok_id) == (KRB5_OID, TOK_AP_REP)
    assert not init.established
    init.process_reply(ctx.output_token)
    assert init.established and init.acceptor_seq == ctx.acceptor_seq
    # The AP-REP is really under the session key, usage 12.
    ap_rep = decode_ap_rep(message)
    enctype_by_id(18).decrypt(
        creds.session_key.keyvalue, KU_AP_REP_ENC_PART, ap_rep.enc_part.cipher
    )


def test_no_mutual_flag_no_reply_token(acceptor, service_key):
    creds = make_service_ticket(service_key)
    init = Krb5Initiator(creds, flags=GssFlags.INTEG)
    token = init.initial_token()
    assert decode_ap_req(parse_krb5_token(token)[2]).ap_options == 0
    ctx = acceptor.accept(token)
    assert ctx.output_token is None and not ctx.mutual
    assert init.established


def test_microsoft_oid_accepted_and_echoed(acceptor, service_key):
    creds = make_service_ticket(service_key)
    init = Krb5Initiator(creds, mech=MS_KRB5_OID)
    ctx = acceptor.accept(init.initial_token())
    assert ctx.mech == MS_KRB5_OID
    assert parse_krb5_token(ctx.output_token)[0] == MS_KRB5_OID
    init.process_reply(ctx.output_token)


def test_other_mechanism_oid_refused(acceptor, service_key):
    token = ap_req_token(make_service_ticket(service_key), mech="1.3.6.1.4.1.311.2.2.10")
    with pytest.raises(GssError) as info:
        acceptor.accept(token)
    assert info.value.major == "GSS_S_BAD_MECH"


def test_tampered_ticket_is_integrity_error(acceptor, service_key):
    creds = make_service_ticket(service_key)
    enc = creds.ticket.enc_part
    flipped = bytearray(enc.cipher)
    flipped[40] ^= 0x01
    ticket = dataclasses.replace(
        creds.ticket, enc_part=dataclasses.replace(enc, cipher=bytes(flipped))
    )
    with pytest.raises(GssError) as info:
        acceptor.accept(ap_req_token(creds, ticket=ticket))
    assert info.value.minor == KRB_AP_ERR_BAD_INTEGRITY
    assert "does not decrypt" in info.value.message


def test_wrong_service_key(service_key):
    other = Krb5Acceptor(FakeKeys({(SERVICE, 1): random_key(18)}))
    with pytest.raises(GssError) as info:
        other.accept(ap_req_token(make_service_ticket(service_key)))
    assert info.value.minor == KRB_AP_ERR_BAD_INTEGRITY


def test_no_key_for_kvno(acceptor, service_key):
    with pytest.raises(GssError) as info:
        acceptor.accept(ap_req_token(make_service_ticket(service_key, kvno=7)))
    assert info.value.minor == KRB_AP_ERR_NOKEY
    assert "kvno 7" in info.value.message and "enctype 18" in info.value.message


def test_ticket_for_another_service(acceptor, service_key):
    creds = make_service_ticket(service_key, service=("HTTP", "other.hadoop.com"))
    with pytest.raises(GssError) as info:
        acceptor.accept(ap_req_token(creds))
    assert info.value.minor == KRB_AP_ERR_NOT_US


def test_error_messages_carry_no_key_bytes(acceptor, service_key):
    creds = make_service_ticket(service_key)
    with pytest.raises(GssError) as info:
        acceptor.accept(ap_req_token(creds, session_key=random_key(18)))
    text = str(info.value) + repr(info.value.args)
    for secret in (service_key.keyvalue, creds.session_key.keyvalue):
        assert secret.hex() not in text and repr(secret) not in text
    assert info.value.minor == KRB_AP_ERR_BAD_INTEGRITY


def test_clock_skew(service_key):
    now = time.time()
    acc = Krb5Acceptor(FakeKeys({(SERVICE, 1): service_key}), clock=lambda: now)
    creds = make_service_ticket(service_key, now=now)
    acc.accept(ap_req_token(creds, now=now - 299))  # inside the 300 s window
    with pytest.raises(GssError) as info:
        acc.accept(ap_req_token(creds, now=now - 301))
    assert info.value.minor == KRB_AP_ERR_SKEW
    assert "-301 s" in info.value.message or "-300 s" in info.value.message


def test_expired_and_not_yet_valid_tickets(service_key):
    now = time.time()
    keys = FakeKeys({(SERVICE, 1): service_key})
    old = make_service_ticket(service_key, now=now - 7200, lifetime=3600)
    acc = Krb5Acceptor(keys, clock=lambda: now)
    with pytest.raises(GssError) as info:
        acc.accept(ap_req_token(old, now=now))
    assert info.value.major == "GSS_S_CREDENTIALS_EXPIRED"
    assert info.value.minor == KRB_AP_ERR_TKT_EXPIRED
    # Expired by less than the skew: still accepted, as MIT does.
    recent = make_service_ticket(service_key, now=now - 3700, lifetime=3600)
    acc.accept(ap_req_token(recent, now=now))
    future = make_service_ticket(service_key, now=now, starttime=int(now) + 3600)
    with pytest.raises(GssError) as info:
        acc.accept(ap_req_token(future, now=now))
    assert info.value.minor == KRB_AP_ERR_TKT_NYV


def test_replay_refused(acceptor, service_key):
    token = ap_req_token(make_service_ticket(service_key))
    acceptor.accept(token)
    with pytest.raises(GssError) as info:
        acceptor.accept(token)
    assert info.value.major == "GSS_S_DUPLICATE_TOKEN"
    assert info.value.minor == KRB_AP_ERR_REPEAT


@pytest.mark.parametrize(
    ("cksum", "words"),
    [
        (None, "has no checksum"),
        (Checksum(16, b"\x00" * 12), "checksum type 16"),
        (Checksum(GSS_CHECKSUM_TYPE, b"\x10\x00\x00\x00" + b"\x00" * 16), "at least 24"),
        (Checksum(GSS_CHECKSUM_TYPE, b"\x18\x00\x00\x00" + b"\x00" * 20), "Lgth 24"),
        (
            Checksum(GSS_CHECKSUM_TYPE, GssChecksum(flags=GssFlags.DELEG).encode()),
            "no delegation field",
        ),
    ],
)
def test_bad_authenticator_checksum(acceptor, service_key, cksum, words):
    token = ap_req_token(make_service_ticket(service_key), cksum=cksum)
    with pytest.raises(GssError) as info:
        acceptor.accept(token)
    assert info.value.minor == KRB_AP_ERR_INAPP_CKSUM
    assert words in info.value.message


def test_authenticator_for_another_client(acceptor, service_key):
    token = ap_req_token(
        make_service_ticket(service_key), cname=PrincipalName(NT_PRINCIPAL, ("mallory",))
    )
    with pytest.raises(GssError) as info:
        acceptor.accept(token)
    assert info.value.minor == KRB_AP_ERR_BADMATCH
    assert "mallory@HADOOP.COM" in info.value.message


def test_channel_bindings(service_key):
    keys = FakeKeys({(SERVICE, 1): service_key})
    cb = b"tls-server-end-point:" + bytes(32)
    acc = Krb5Acceptor(keys, channel_bindings=cb)
    ctx = acc.accept(
        Krb5Initiator(make_service_ticket(service_key), channel_bindings=cb).initial_token()
    )
    assert ctx.channel_bound
    # A client that sends no bindings is accepted (as MIT does), but not marked bound.
    ctx = acc.accept(Krb5Initiator(make_service_ticket(service_key)).initial_token())
    assert not ctx.channel_bound
    wrong = Krb5Initiator(make_service_ticket(service_key), channel_bindings=b"other")
    with pytest.raises(GssError) as info:
        acc.accept(wrong.initial_token())
    assert info.value.major == "GSS_S_BAD_BINDINGS"


def test_channel_bindings_hash_layout():
    # 16 zero bytes of addresses, the 4-byte little-endian length, the data (RFC 4121 §4.1.1.2).
    data = b"tls-server-end-point:abc"
    expected = hashlib.md5(  # noqa: S324 (the RFC's hash)
        bytes(16) + struct.pack("<I", len(data)) + data
    ).digest()
    assert channel_bindings_hash(data) == expected


# ---------------------------------------------------------------- initiator


def test_initiator_refuses_forged_reply(acceptor, service_key):
    creds = make_service_ticket(service_key)
    init = Krb5Initiator(creds)
    token = init.initial_token()
    # A reply made for another ticket (another session key) must not verify.
    other_creds = make_service_ticket(service_key)
    other = acceptor.accept(Krb5Initiator(other_creds).initial_token())
    with pytest.raises(GssError) as info:
        init.process_reply(other.output_token)
    assert info.value.major == "GSS_S_BAD_SIG"
    # The genuine reply does.
    init.process_reply(acceptor.accept(token).output_token)
    assert init.established


def test_initiator_refuses_reply_with_other_time(service_key):
    now = [1_700_000_000.25]
    creds = make_service_ticket(service_key, now=now[0])
    keys = FakeKeys({(SERVICE, 1): service_key})
    acc = Krb5Acceptor(keys, clock=lambda: now[0])
    first = Krb5Initiator(creds, clock=lambda: now[0])
    t1 = first.initial_token()
    now[0] += 1
    second = Krb5Initiator(creds, clock=lambda: now[0])
    reply2 = acc.accept(second.initial_token()).output_token
    acc.accept(t1)
    with pytest.raises(GssError) as info:
        first.process_reply(reply2)  # same session key, but it echoes the other ctime
    assert "echo" in info.value.message


# ---------------------------------------------------------------- replay cache


def test_replay_cache_expires_after_skew():
    cache = ReplayCache(skew=300)
    assert cache.check_and_store("a@R", "s@R", 1000, 1, b"x", now=1000)
    assert not cache.check_and_store("a@R", "s@R", 1000, 1, b"x", now=1200)
    assert cache.check_and_store("a@R", "s@R", 1000, 1, b"y", now=1200)  # other bytes
    assert cache.check_and_store("a@R", "s@R", 1000, 1, b"x", now=1301)  # forgotten
    assert len(cache) == 1


def test_replay_cache_is_bounded():
    cache = ReplayCache(skew=300, max_entries=10)
    for i in range(25):
        assert cache.check_and_store("a@R", "s@R", 1000 + i, 0, b"x", now=1000)
    assert len(cache) == 10
    assert not cache.check_and_store("a@R", "s@R", 1024, 0, b"x", now=1000)
    assert cache.check_and_store("a@R", "s@R", 1000, 0, b"x", now=1000)  # oldest dropped


# ---------------------------------------------------------------- key sources


def test_keytab_keys_follow_the_file(tmp_path, service_key):
    path = tmp_path / "http.keytab"
    write_keytab(path, [make_entry(SERVICE, 1, 18, service_key.keyvalue)])
    keys = KeytabKeys(path)
    assert keys(SERVICE, 1, 18) == service_key
    assert keys(SERVICE, None, 18) == service_key
    assert keys(SERVICE, 2, 18) is None and keys(SERVICE, 1, 17) is None
    # Key rotation: a new kvno appended by ktadd is seen without a new KeytabKeys.
    rotated = random_key(18)
    write_keytab(
        path,
        [
            make_entry(SERVICE, 1, 18, service_key.keyvalue),
            make_entry(SERVICE, 2, 18, rotated.keyvalue, timestamp=1),
        ],
    )
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert keys(SERVICE, 2, 18) == rotated and keys(SERVICE, None, 18) == rotated
    assert repr(keys) == f"KeytabKeys({str(path)!r})"


def test_backend_keys(tmp_path, service_key):
    backend = SqliteBackend(tmp_path / "has.sqlite")
    backend.migrate()
    backend.add_principal(
        Principal(name=SERVICE, kvno=3, keys=[KeyData(18, 3, service_key.keyvalue)])
    )
    keys = BackendKeys(backend)
    assert keys(SERVICE, 3, 18) == service_key and keys(SERVICE, None, 18) == service_key
    assert keys(SERVICE, 2, 18) is None and keys("HTTP/other@HADOOP.COM", 3, 18) is None
    acceptor = Krb5Acceptor(keys, services={SERVICE})
    ctx = acceptor.accept(ap_req_token(make_service_ticket(service_key, kvno=3)))
    assert ctx.client == "alice@HADOOP.COM"
    backend.close()
