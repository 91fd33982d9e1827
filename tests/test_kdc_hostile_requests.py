"""Requests a client crafts to hurt the KDC, each found by measurement or by the fuzzers
(tests/fuzz), each answered as MIT answers it, never with a traceback.

Names no principal can have (too long, not UTF-8, empty) are answered as MIT answers
them, never echoed back in full, never written into a log line whole.

MIT krb5kdc (1.20, DB2 back end) answers every one of these CLIENT_NOT_FOUND (6) or
SERVER_NOT_FOUND (7), as any name it does not find; ``test_the_same_codes_as_mit``
sends the same requests to both. has-kdc refuses them before the store is asked:
principal names are at most 1024 bytes (the store's name column), realms 255, and a
store holds only UTF-8. Before: a name with bytes that are not UTF-8 raised
UnicodeEncodeError in the SQLite back end, was answered KRB_ERR_GENERIC (60) and
wrote a 25-line traceback to the log for each 141-byte datagram.
"""

from __future__ import annotations

import socket

import pytest

from has_kdc.asn1 import encode
from has_kdc.asn1.codec import decode_krb_error
from has_kdc.asn1.constants import (
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    NT_ENTERPRISE,
    NT_PRINCIPAL,
    NT_SRV_INST,
)
from has_kdc.asn1.messages import PrincipalName
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.client.kdc_client import build_as_req
from has_kdc.conf.kdc import KdcConfig
from has_kdc.kdc.context import LOG_NAME_LIMIT, log_name
from has_kdc.kdc.handler import Kdc
from has_kdc.principal import (
    MAX_PRINCIPAL_BYTES,
    MAX_REALM_BYTES,
    PrincipalNameError,
    format_principal,
    parse_principal,
)
from tests.fuzz.kdc_wire import scan_log
from tests.hacluster import eventually
from tests.kdc_fakes import REALM, FakeClock, MemoryBackend, standard_realm


def as_req(
    client: tuple[str, ...] | PrincipalName,
    realm: str,
    server: PrincipalName | None = None,
) -> bytes:
    cname = client if isinstance(client, PrincipalName) else PrincipalName(NT_PRINCIPAL, client)
    return encode(build_as_req(cname, realm, server=server, nonce=0x40000000))


def with_bytes(packet: bytes, text: str, raw: bytes) -> bytes:
    """``packet`` with the first UTF-8 ``text`` in it replaced by ``raw`` (same length)."""
    old = text.encode()
    assert len(old) == len(raw) and old in packet
    return packet.replace(old, raw, 1)


def hostile_requests(realm: str, known_client: str) -> dict[str, tuple[bytes, int]]:
    """label -> (AS-REQ, the error MIT answers). ``known_client`` exists in the realm."""
    known = tuple(known_client.split("/"))
    return {
        "60 KB client name": (as_req(("a" * 60_000,), realm), KDC_ERR_C_PRINCIPAL_UNKNOWN),
        "2000-byte client name": (as_req(("a" * 2000,), realm), KDC_ERR_C_PRINCIPAL_UNKNOWN),
        "600 components": (as_req(("a",) * 600, realm), KDC_ERR_C_PRINCIPAL_UNKNOWN),
        "300-byte realm": (as_req(("user",), "R" * 300), KDC_ERR_C_PRINCIPAL_UNKNOWN),
        "60 KB server name": (
            as_req(known, realm, PrincipalName(NT_SRV_INST, ("host", "h" * 60_000))),
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
        ),
        "client name not UTF-8": (
            with_bytes(as_req(("userXYx",), realm), "XY", b"\xff\xfe"),
            KDC_ERR_C_PRINCIPAL_UNKNOWN,
        ),
        "client name with a bad continuation byte": (
            with_bytes(as_req(("userXYx",), realm), "XY", b"\xc3\x28"),
            KDC_ERR_C_PRINCIPAL_UNKNOWN,
        ),
        "server name not UTF-8": (
            with_bytes(
                as_req(known, realm, PrincipalName(NT_SRV_INST, ("hostXY", "a.b"))),
                "XY",
                b"\xff\xfe",
            ),
            KDC_ERR_S_PRINCIPAL_UNKNOWN,
        ),
        "enterprise name not UTF-8": (
            with_bytes(
                as_req(PrincipalName(NT_ENTERPRISE, (f"userXY@{realm}",)), realm),
                "XY",
                b"\xff\x80",
            ),
            KDC_ERR_C_PRINCIPAL_UNKNOWN,
        ),
    }


def udp_ask(host: str, port: int, request: bytes) -> bytes:
    from tests.test_kdc_memory_bound import TcpSession

    if len(request) > 65000:
        session = TcpSession(host, port)
        try:
            return session.ask(request)
        finally:
            session.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(request, (host, port))
        return sock.recv(65536)


# --- against a has-server (SQLite store) and MIT --------------------------------------


def test_hostile_names_get_the_not_found_error_and_leave_no_traceback(has_node):
    log_start = has_node.log_file.stat().st_size
    for label, (request, code) in hostile_requests(has_node.realm, "krbtgt/HADOOP.COM").items():
        reply = udp_ask(has_node.host, has_node.port, request)
        error = decode_krb_error(reply)
        assert error.error_code == code, label
        assert error.e_text in ("CLIENT_NOT_FOUND", "SERVER_NOT_FOUND"), label
    # still serving, and the log says what happened without a traceback
    probe = udp_ask(has_node.host, has_node.port, as_req(("kadmin", "HADOOP.COM"), "HADOOP.COM"))
    assert decode_krb_error(probe).error_code == KDC_ERR_PREAUTH_REQUIRED

    def logged() -> str:  # request lines are written in batches (has_kdc.logbuffer)
        text = has_node.log_text()[log_start:]
        assert "CLIENT_NOT_FOUND: user\\xff\\xfex@HADOOP.COM" in text
        assert "kadmin/HADOOP.COM@HADOOP.COM for" in text  # the probe, sent last
        return text

    text = eventually(logged)
    log = scan_log(has_node.log_file, log_start)
    assert (log.tracebacks, log.errors, log.not_utf8) == (0, 0, 0), log.samples
    assert "a" * 125 not in text  # cut as MIT's limit_string cuts


@pytest.mark.mit
def test_the_same_codes_as_mit(mit_realm, has_node):
    """The error codes MIT krb5kdc gives these requests are the ones has-kdc gives."""
    mit_requests = hostile_requests(mit_realm.realm, "user")
    ours = hostile_requests(has_node.realm, "krbtgt/HADOOP.COM")
    for label, (request, code) in mit_requests.items():
        mit_code = decode_krb_error(udp_ask(mit_realm.host, mit_realm.port, request)).error_code
        our_code = decode_krb_error(
            udp_ask(has_node.host, has_node.port, ours[label][0])
        ).error_code
        assert mit_code == code == our_code, label


# --- the KDC itself, over a store that counts its queries -----------------------------


@pytest.fixture
def kdc_and_store():
    backend = MemoryBackend()
    standard_realm(backend)
    return Kdc(KdcConfig(kdc_realm=REALM), backend, clock=FakeClock()), backend


def test_names_over_the_limits_are_refused_without_a_query_and_not_echoed(kdc_and_store):
    kdc, backend = kdc_and_store
    kdc.handle(as_req(("alice",), REALM), "udp")  # first poll done
    backend.reset_calls()
    for label, (request, code) in hostile_requests(REALM, "alice").items():
        if "UTF-8" in label:
            continue
        error = decode_krb_error(kdc.handle(request, "udp"))
        assert error.error_code == code, label
        assert error.cname is None and error.realm == REALM, label
        assert error.sname.components == ("krbtgt", REALM), label
    assert backend.calls["get_principal"] == 0
    assert len(kdc.principals) == 2  # alice and krbtgt, nothing of the flood


def test_a_name_at_the_limit_is_looked_up_and_echoed_like_any_other(kdc_and_store):
    kdc, backend = kdc_and_store
    longest = "a" * (MAX_PRINCIPAL_BYTES - len(REALM) - 1)
    backend.reset_calls()
    error = decode_krb_error(kdc.handle(as_req((longest,), REALM), "udp"))
    assert error.error_code == KDC_ERR_C_PRINCIPAL_UNKNOWN
    assert error.cname.components == (longest,)
    assert backend.calls["get_principal"] == 1


def test_a_name_that_is_not_utf8_is_not_found_and_not_queried(kdc_and_store):
    kdc, backend = kdc_and_store
    request = with_bytes(as_req(("aliceXY",), REALM), "XY", b"\xff\xfe")
    kdc.handle(as_req(("alice",), REALM), "udp")
    backend.reset_calls()
    error = decode_krb_error(kdc.handle(request, "udp"))
    assert (error.error_code, error.e_text) == (KDC_ERR_C_PRINCIPAL_UNKNOWN, "CLIENT_NOT_FOUND")
    assert backend.calls["get_principal"] == 0


def test_a_name_with_no_component_or_no_realm_is_not_found(kdc_and_store):
    """Both made format_principal raise in the KDC: a traceback and KRB_ERR_GENERIC."""
    kdc, _ = kdc_and_store
    for request in (as_req((), REALM), as_req(("alice",), ""), as_req(("alice", ""), REALM)):
        error = decode_krb_error(kdc.handle(request, "udp"))
        assert error.error_code == KDC_ERR_C_PRINCIPAL_UNKNOWN


def test_sqlite_finds_nothing_for_a_name_that_is_not_utf8(tmp_path):
    store = SqliteBackend(tmp_path / "has.sqlite")
    store.migrate()
    name = b"alice\xff@R".decode("utf-8", "surrogateescape")
    assert store.get_principal(name) is None
    assert store.get_principals([name, "nobody@R"]) == {}


# --- the limits themselves ---------------------------------------------------------------


def test_principal_names_have_length_limits():
    longest = "a" * (MAX_PRINCIPAL_BYTES - 2) + "@R"
    assert parse_principal(longest) == (("a" * (MAX_PRINCIPAL_BYTES - 2),), "R")
    with pytest.raises(PrincipalNameError, match="longer than 1024 bytes"):
        parse_principal("a" + longest)
    with pytest.raises(PrincipalNameError, match="longer than 1024 bytes"):
        parse_principal("é" * 600, "R")  # 1200 bytes of UTF-8 in 600 characters
    with pytest.raises(PrincipalNameError, match="longer than 1024 bytes"):
        format_principal(("a" * 60_000,), "R")
    with pytest.raises(PrincipalNameError, match="longer than 1024 bytes"):
        format_principal(("a/b",) * 400, "R")  # escapes count: 1,600 bytes written out
    assert format_principal(("a",), "R" * MAX_REALM_BYTES)
    with pytest.raises(PrincipalNameError, match="realm longer than 255 bytes"):
        format_principal(("a",), "R" * (MAX_REALM_BYTES + 1))


def test_error_messages_quote_only_the_start_of_a_long_name():
    with pytest.raises(PrincipalNameError) as err:
        parse_principal("x" * 60_000 + "@R")
    assert len(str(err.value)) < 200


def test_hadmin_cannot_create_a_name_the_kdc_would_refuse(has_node):
    proc = has_node.hadmin("addprinc", "-randkey", "a" * 1100, check=False)
    assert proc.returncode != 0
    assert "longer than 1024 bytes" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("name", "logged"),
    [
        ("alice@R", "alice@R"),
        ("a" * 127, "a" * 127),
        ("a" * 128, "a" * 124 + "..."),  # MIT's limit_string: 128 or more is cut to 124
        ("a" * 60_000, "a" * 124 + "..."),
        (b"user\xff\xfe@R".decode("utf-8", "surrogateescape"), "user\\xff\\xfe@R"),
        ("evil\r\nFAKE LOG LINE@R", "evil\\r\\nFAKE LOG LINE@R"),
        ("\x1b[31mred@R", "\\x1b[31mred@R"),
    ],
)
def test_log_lines_cut_and_escape_names(name, logged):
    assert log_name(name) == logged
    assert len(log_name(name)) < LOG_NAME_LIMIT


# --- other shapes the fuzzers found ------------------------------------------------------


def test_a_huge_integer_is_not_decoded_and_gets_no_answer(kdc_and_store):
    """A 30 KB etype made the log line raise (int to str is limited to 4300 digits):
    a traceback and KRB_ERR_GENERIC. INTEGERs over 64 bits are refused by the decoder
    now, as MIT's asn1_decode_int refuses them, and MIT sends nothing back then."""
    kdc, _ = kdc_and_store
    huge = 2 ** (8 * 30_000 - 1) - 1
    request = encode(
        build_as_req(PrincipalName(NT_PRINCIPAL, ("alice",)), REALM, etypes=(18, huge), nonce=1)
    )
    assert len(request) > 30_000
    assert kdc.handle(request, "udp") is None
    assert kdc.last_result is None


def test_a_message_of_many_tiny_elements_is_refused(kdc_and_store):
    """20,000 etypes: read by the pyasn1 model, up to 0.7 s of the KDC's time for one
    datagram; a message of more than 1024 elements is refused by both decode paths,
    and an undecodable request gets no answer. (MIT has no such limit: it would answer
    this one; no client sends a request of more than 70 elements.)"""
    kdc, _ = kdc_and_store
    request = encode(
        build_as_req(PrincipalName(NT_PRINCIPAL, ("alice",)), REALM, etypes=(18,) * 20_000, nonce=1)
    )
    assert kdc.handle(request, "udp") is None
    assert kdc.last_result is None
