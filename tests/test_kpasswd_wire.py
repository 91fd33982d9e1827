"""The password change protocol (RFC 3244) byte by byte, and what hostile input gets.

A client written here from the RFC (AP-REQ with a subkey and sequence number,
KRB-PRIV under the subkey, both request versions) talks to ``KpasswdService`` over
a real SQLite realm made by ``init_realm``; tickets for ``kadmin/changepw`` are made
with that principal's key from the store, as the KDC would issue them, so each test
chooses the ticket's flags and times. One test sends over UDP and TCP to a real
has-server (MIT's kpasswd prefers TCP: tests/test_kpasswd_mit.py).
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from has_kdc.admin import Actor, PrincipalAdmin, init_realm
from has_kdc.asn1 import (
    ApReq,
    Authenticator,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    HostAddress,
    PrincipalName,
    Ticket,
    TransitedEncoding,
    decode_ap_rep,
    decode_enc_ap_rep_part,
    decode_krb_error,
    encode,
)
from has_kdc.asn1.constants import (
    ADDRTYPE_IPV4,
    KDC_ERR_BAD_PVNO,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_REPEAT,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KU_AP_REP_ENC_PART,
    KU_AP_REQ_AUTH,
    KU_KRB_PRIV_ENC_PART,
    KU_TICKET,
    NT_PRINCIPAL,
    NT_SRV_INST,
    TicketFlags,
)
from has_kdc.asn1.kpasswd import (
    ChangePasswdData,
    EncKrbPrivPart,
    decode_enc_krb_priv_part,
    decode_krb_priv,
    encode_change_passwd_data,
    encode_enc_krb_priv_part,
    encode_krb_priv,
)
from has_kdc.backend import open_backend
from has_kdc.backend.model import AuditQuery
from has_kdc.conf import load_conf_dir
from has_kdc.crypto import enctype_by_id
from has_kdc.kpasswd import KpasswdService
from has_kdc.kpasswd.protocol import (
    KPASSWD_ACCESSDENIED,
    KPASSWD_AUTHERROR,
    KPASSWD_BAD_VERSION,
    KPASSWD_HARDERROR,
    KPASSWD_INITIAL_FLAG_NEEDED,
    KPASSWD_MALFORMED,
    KPASSWD_SOFTERROR,
    KPASSWD_SUCCESS,
    VERSION_CHANGEPW,
    VERSION_SETPW,
)
from has_kdc.net.framing import encode_record
from tests.hasnode import HasNode

REALM = "WIRE.TEST"
ACTOR = Actor("tester", "test")
AES256 = 18


@pytest.fixture
def realm(tmp_path: Path) -> Iterator[tuple[KpasswdService, PrincipalAdmin]]:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "kdc.conf").write_text(
        f"[kdcdefaults]\n  kdc_realm = {REALM}\n  data_dir = {tmp_path}\n"
    )
    (conf_dir / "backend.conf").write_text(
        f"kdc_identity_backend = sqlite\nsqlite_path = {tmp_path / 'has.sqlite'}\n"
    )
    conf = load_conf_dir(conf_dir)
    backend = open_backend(conf.backend)
    try:
        init_realm(backend, conf.kdc, ACTOR)
        admin = PrincipalAdmin(backend, conf.kdc, ACTOR)
        admin.add_principal("alice", password="Alice-pw-1")
        admin.add_principal("bob", password="Bob-pw-1")
        yield KpasswdService(conf.kdc, backend, local_host="127.0.0.1"), admin
    finally:
        backend.close()


@dataclass
class Exchange:
    """One request as a client builds it, and what it needs to read the reply."""

    message: bytes
    session: EncryptionKey
    subkey: EncryptionKey


def _key() -> EncryptionKey:
    return EncryptionKey(AES256, os.urandom(32))


def request(
    admin: PrincipalAdmin,
    client: str,
    user_data: bytes,
    *,
    version: int = VERSION_CHANGEPW,
    flags: int = TicketFlags.INITIAL,
    endtime_offset: int = 300,
    ctime_offset: int = 0,
    service: tuple[str, ...] = ("kadmin", "changepw"),
    seq: int = 12345,
    priv_seq: int | None = None,
    priv_key: EncryptionKey | None = None,
) -> Exchange:
    """A kpasswd request of ``client`` (``a/b`` for two components) carrying
    ``user_data`` in its KRB-PRIV."""
    now = int(time.time())
    cname = PrincipalName(NT_PRINCIPAL, tuple(client.split("/")))
    changepw = admin.get_principal("kadmin/changepw")
    service_key = next(k for k in changepw.keys if k.enctype == AES256)
    session, subkey = _key(), _key()
    part = EncTicketPart(
        flags=flags,
        key=session,
        crealm=REALM,
        cname=cname,
        transited=TransitedEncoding(0, b""),
        authtime=now,
        endtime=now + endtime_offset,
    )
    et = enctype_by_id(AES256)
    ticket = Ticket(
        realm=REALM,
        sname=PrincipalName(NT_SRV_INST, service),
        enc_part=EncryptedData(
            AES256, et.encrypt(service_key.key, KU_TICKET, encode(part)), changepw.kvno
        ),
    )
    auth = Authenticator(
        crealm=REALM,
        cname=cname,
        cusec=random.randrange(1_000_000),
        ctime=now + ctime_offset,
        subkey=subkey,
        seq_number=seq,
    )
    ap_req = encode(
        ApReq(
            ap_options=0,
            ticket=ticket,
            authenticator=EncryptedData(
                AES256, et.encrypt(session.keyvalue, KU_AP_REQ_AUTH, encode(auth))
            ),
        )
    )
    priv_part = EncKrbPrivPart(
        user_data=user_data,
        s_address=HostAddress(ADDRTYPE_IPV4, bytes([127, 0, 0, 1])),
        seq_number=seq if priv_seq is None else priv_seq,
    )
    key = priv_key or subkey
    priv = encode_krb_priv(
        EncryptedData(
            AES256,
            et.encrypt(key.keyvalue, KU_KRB_PRIV_ENC_PART, encode_enc_krb_priv_part(priv_part)),
        )
    )
    body = struct.pack(">HH", version, len(ap_req)) + ap_req + priv
    return Exchange(struct.pack(">H", len(body) + 2) + body, session, subkey)


def read_reply(exchange: Exchange, reply: bytes) -> tuple[int, str]:
    """(result code, result string) of a reply, checking its framing and AP-REP."""
    length, version, ap_rep_length = struct.unpack_from(">HHH", reply)
    assert length == len(reply) and version == 1
    if ap_rep_length == 0:
        error = decode_krb_error(reply[6:])
        data = error.e_data or b""
        return struct.unpack(">H", data[:2])[0], data[2:].decode()
    ap_rep = decode_ap_rep(reply[6 : 6 + ap_rep_length])
    et = enctype_by_id(AES256)
    rep_part = decode_enc_ap_rep_part(
        et.decrypt(exchange.session.keyvalue, KU_AP_REP_ENC_PART, ap_rep.enc_part.cipher)
    )
    enc = decode_krb_priv(reply[6 + ap_rep_length :])
    part = decode_enc_krb_priv_part(
        et.decrypt(exchange.subkey.keyvalue, KU_KRB_PRIV_ENC_PART, enc.cipher)
    )
    assert part.seq_number == rep_part.seq_number  # what MIT's krb5_rd_priv checks
    return struct.unpack(">H", part.user_data[:2])[0], part.user_data[2:].decode()


def error_code(reply: bytes) -> int:
    assert struct.unpack_from(">H", reply, 4)[0] == 0
    return decode_krb_error(reply[6:]).error_code


def answer(service: KpasswdService, exchange: Exchange) -> tuple[int, str]:
    reply = service.handle(exchange.message, "udp", "127.0.0.1")
    assert reply is not None
    return read_reply(exchange, reply)


def kinit_keys_match(admin: PrincipalAdmin, name: str, password: str) -> bool:
    principal = admin.get_principal(name)
    key = next(k for k in principal.keys if k.enctype == AES256)
    et = enctype_by_id(AES256)
    return key.key == et.string_to_key(password.encode(), key.salt, key.s2kparams)


# -- the two request forms ---------------------------------------------------------


def test_change_password_version_1(realm) -> None:
    service, admin = realm
    assert answer(service, request(admin, "alice", b"New-alice-2")) == (KPASSWD_SUCCESS, "")
    assert kinit_keys_match(admin, "alice", "New-alice-2")
    records = admin.audit.records(AuditQuery(action="kpasswd"))
    assert [(r.actor, r.via, r.target, r.result) for r in records] == [
        (f"alice@{REALM}", "kpasswd", f"alice@{REALM}", "success")
    ]
    assert "New-alice-2" not in records[0].detail


def test_set_password_own_without_target(realm) -> None:
    service, admin = realm
    data = encode_change_passwd_data(ChangePasswdData(b"Set-alice-3"))
    assert answer(service, request(admin, "alice", data, version=VERSION_SETPW)) == (
        KPASSWD_SUCCESS,
        "",
    )
    assert kinit_keys_match(admin, "alice", "Set-alice-3")


def test_set_password_of_another_needs_an_administrator(realm) -> None:
    service, admin = realm
    target = ChangePasswdData(b"Set-by-alice", PrincipalName(NT_PRINCIPAL, ("bob",)), REALM)
    data = encode_change_passwd_data(target)
    assert answer(service, request(admin, "alice", data, version=VERSION_SETPW)) == (
        KPASSWD_ACCESSDENIED,
        "Unauthorized request",
    )
    assert kinit_keys_match(admin, "bob", "Bob-pw-1")
    # kadmin/REALM is an administrator; it may set bob's password without INITIAL
    exchange = request(admin, f"kadmin/{REALM}", data, version=VERSION_SETPW, flags=0)
    assert answer(service, exchange) == (KPASSWD_SUCCESS, "")
    assert kinit_keys_match(admin, "bob", "Set-by-alice")
    [record] = admin.audit.records(AuditQuery(via="kpasswd", target=f"bob@{REALM}"))
    assert (record.actor, record.action) == (f"kadmin/{REALM}@{REALM}", "cpw")


def test_own_change_needs_an_initial_ticket(realm) -> None:
    service, admin = realm
    assert answer(service, request(admin, "alice", b"New-alice-2", flags=0)) == (
        KPASSWD_INITIAL_FLAG_NEEDED,
        "Ticket must be derived from a password",
    )
    assert kinit_keys_match(admin, "alice", "Alice-pw-1")


def test_policy_refusal_is_a_soft_error_with_mit_words(realm) -> None:
    service, admin = realm
    admin.policies.add("strict", min_length=12)
    admin.modify_principal("alice", {"policy": "strict"})
    code, text = answer(service, request(admin, "alice", b"short-1"))
    assert code == KPASSWD_SOFTERROR
    assert text == (
        "New password is too short.\nPlease choose a password which is at least 12 characters long."
    )
    [record] = admin.audit.records(AuditQuery(action="kpasswd"))
    assert record.result == "failure" and "short-1" not in record.detail


# -- refusals before and after authentication ---------------------------------------


def test_bad_version_gets_bad_version(realm) -> None:
    service, admin = realm
    exchange = request(admin, "alice", b"x", version=2)
    reply = service.handle(exchange.message, "udp")
    assert error_code(reply) == KDC_ERR_BAD_PVNO
    assert read_reply(exchange, reply)[0] == KPASSWD_BAD_VERSION


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"service": ("kadmin", "admin")}, KRB_AP_ERR_NOT_US),
        ({"endtime_offset": -3600}, KRB_AP_ERR_TKT_EXPIRED),
        ({"ctime_offset": -3600}, KRB_AP_ERR_SKEW),
    ],
)
def test_unusable_ticket_gets_the_rfc_code(realm, changes, code) -> None:
    service, admin = realm
    exchange = request(admin, "alice", b"New-alice-2", **changes)
    reply = service.handle(exchange.message, "udp")
    assert error_code(reply) == code
    assert read_reply(exchange, reply)[0] == KPASSWD_AUTHERROR


def test_replayed_request_is_refused(realm) -> None:
    service, admin = realm
    exchange = request(admin, "alice", b"New-alice-2")
    assert answer(service, exchange)[0] == KPASSWD_SUCCESS
    reply = service.handle(exchange.message, "udp")
    assert error_code(reply) == KRB_AP_ERR_REPEAT


def test_krb_priv_under_another_key_or_sequence_is_a_hard_error(realm) -> None:
    service, admin = realm
    wrong_key = request(admin, "alice", b"New-alice-2", priv_key=_key())
    assert answer(service, wrong_key) == (KPASSWD_HARDERROR, "Failed decrypting request")
    wrong_seq = request(admin, "alice", b"New-alice-2", priv_seq=99)
    assert answer(service, wrong_seq) == (KPASSWD_HARDERROR, "Failed decrypting request")
    assert kinit_keys_match(admin, "alice", "Alice-pw-1")


def test_undecodable_change_passwd_data_is_malformed(realm) -> None:
    service, admin = realm
    exchange = request(admin, "alice", b"\x30\x03\x02\x01", version=VERSION_SETPW)
    assert answer(service, exchange) == (KPASSWD_MALFORMED, "Failed decoding ChangePasswdData")


def test_tampered_ticket_is_bad_integrity(realm) -> None:
    service, admin = realm
    exchange = request(admin, "alice", b"New-alice-2")
    message = bytearray(exchange.message)
    message[200] ^= 0xFF  # inside the ticket's cipher text
    reply = service.handle(bytes(message), "udp")
    assert error_code(reply) in (KRB_AP_ERR_BAD_INTEGRITY, KRB_AP_ERR_MODIFIED)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\xff" * 40, b"\x00\x05\x00\x01\x00", b"\x00\x07\x00\x01\x00\x00"],
)
def test_unframed_bytes_get_no_answer(realm, data) -> None:
    service, _admin = realm
    assert service.handle(data, "udp") is None


@pytest.mark.parametrize(
    "message",
    [b"\x00\x0a\x00\x01\x00\x10\x6e\x02\x00\x00", b"\x00\x06\x00\x01\x00\x00"],
)
def test_truncated_ap_req_is_malformed(realm, message) -> None:
    service, _admin = realm
    reply = service.handle(message, "udp")
    assert error_code(reply) == KRB_AP_ERR_MODIFIED
    length, _version, _ap = struct.unpack_from(">HHH", reply)
    data = decode_krb_error(reply[6:]).e_data
    assert length == len(reply) and data[:2] == struct.pack(">H", KPASSWD_MALFORMED)


def test_random_and_mutated_input_never_raises(realm) -> None:
    """Seeded mutations of a valid request: every answer is a framed reply or nothing."""
    service, admin = realm
    valid = request(admin, "alice", b"New-alice-2").message
    rng = random.Random(3244)
    for _ in range(400):
        message = bytearray(valid)
        for _ in range(rng.randrange(1, 6)):
            message[rng.randrange(len(message))] = rng.randrange(256)
        if rng.random() < 0.3:
            message = message[: rng.randrange(len(message))]
        reply = service.handle(bytes(message), "udp")
        if reply is not None:
            assert struct.unpack_from(">H", reply)[0] == len(reply)
    assert service.handle(os.urandom(20_000), "udp") is None


# -- over the network ----------------------------------------------------------------


def test_udp_and_tcp_to_a_running_node(tmp_path: Path) -> None:
    port = _free_udp_tcp_port()
    node = HasNode(tmp_path, REALM, "127.0.0.1", kdc_extra={"kpasswd_port": str(port)})
    node.init()
    node.start()
    try:
        conf = load_conf_dir(node.conf_dir)
        backend = open_backend(conf.backend)
        admin = PrincipalAdmin(backend, conf.kdc, ACTOR)
        admin.add_principal("carol", password="Carol-pw-1")
        udp = request(admin, "carol", b"Carol-udp-2")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(10)
            sock.sendto(udp.message, ("127.0.0.1", port))
            assert read_reply(udp, sock.recv(65536)) == (KPASSWD_SUCCESS, "")
        tcp = request(admin, "carol", b"Carol-tcp-3")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(encode_record(tcp.message))
            header = _recv_exact(sock, 4)
            reply = _recv_exact(sock, struct.unpack(">I", header)[0])
        assert read_reply(tcp, reply) == (KPASSWD_SUCCESS, "")
        assert kinit_keys_match(admin, "carol", "Carol-tcp-3")
        backend.close()
    finally:
        node.stop()
    assert "Traceback" not in node.log_text()


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def _free_udp_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
