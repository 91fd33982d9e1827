"""bench/loadgen.py against a trivial echo KDC (our listener with an echo handler).

The echo returns each request as its reply, so the classifier sees what was sent:
captured MIT packets (tests/data/asn1, see its README) are counted by their
Kerberos message type and error code.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loadgen import (
    kdc_req_nonce_offset,
    kerberos_reply_kind,
    krb_error_code,
    read_packets,
    run_load,
    write_packets,
)
from tests.mitkrb import free_port

ROOT = Path(__file__).resolve().parent.parent
ASN1_DATA = ROOT / "tests" / "data" / "asn1"

ECHO_SCRIPT = """
import asyncio, sys
from has_kdc.net import KdcHandlers, serve
port = int(sys.argv[1])
asyncio.run(serve(KdcHandlers(handle=lambda request, transport, peer: request), host="127.0.0.1",
                  udp_port=port, tcp_port=port, on_ready=lambda _: print("READY", flush=True)))
"""


def packet(name: str) -> bytes:
    return (ASN1_DATA / name).read_bytes()


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", ECHO_SCRIPT, str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY"
        yield port
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]


def test_classifier_names_mit_replies() -> None:
    assert kerberos_reply_kind(packet("mit-as-rep.der")) == "AS-REP"
    assert kerberos_reply_kind(packet("mit-tgs-rep.der")) == "TGS-REP"
    error = packet("mit-krb-error-preauth-required.der")
    assert krb_error_code(error) == 25
    assert kerberos_reply_kind(error) == "KRB-ERROR 25 KDC_ERR_PREAUTH_REQUIRED"
    assert kerberos_reply_kind(b"") == "empty"
    assert kerberos_reply_kind(b"\x7e\x03\x30\x01") == "KRB-ERROR (undecodable)"


def test_nonce_offset_points_at_the_req_body_nonce() -> None:
    for name in ("mit-as-req-no-preauth.der", "mit-as-req-enc-timestamp.der"):
        request = packet(name)
        offset = kdc_req_nonce_offset(request)
        assert offset is not None
        # The four bytes follow an INTEGER header of length 4 inside context tag [7].
        assert request[offset - 2 : offset] == b"\x02\x04"
        assert request[offset - 4] == 0xA7
    assert kdc_req_nonce_offset(packet("mit-as-rep.der")) is None


def test_packets_file_round_trips(tmp_path: Path) -> None:
    packets = [packet("mit-as-req-no-preauth.der"), b"", b"x" * 70000]
    write_packets(tmp_path / "p.bin", packets)
    assert read_packets(tmp_path / "p.bin") == packets
    (tmp_path / "cut.bin").write_bytes((tmp_path / "p.bin").read_bytes()[:-1])
    with pytest.raises(ValueError, match="runs past the end"):
        read_packets(tmp_path / "cut.bin")


def test_udp_load_counts_every_reply_by_class(echo_port: int) -> None:
    packets = [packet("mit-as-rep.der"), packet("mit-krb-error-preauth-required.der")]
    result = run_load(
        packets, "127.0.0.1", echo_port, in_flight=16, processes=2, count=2000, duration=10
    )
    assert result.sent == 2000
    assert result.replies == 2000
    assert result.lost == 0
    assert result.by_class == {"AS-REP": 1000, "KRB-ERROR 25 KDC_ERR_PREAUTH_REQUIRED": 1000}
    assert result.rate > 0
    assert 0 < result.p50 <= result.p99 < 1.0
    assert len(result.latencies) == 2000


def test_tcp_load_gets_every_reply(echo_port: int) -> None:
    result = run_load(
        [packet("mit-tgs-rep.der")],
        "127.0.0.1",
        echo_port,
        transport="tcp",
        in_flight=4,
        processes=1,
        count=200,
    )
    assert (result.sent, result.replies, result.lost) == (200, 200, 0)
    assert result.by_class == {"TGS-REP": 200}


def test_unique_nonce_makes_every_request_different() -> None:
    # The echo server is not needed here: collect what one sender would send.
    request = packet("mit-as-req-no-preauth.der")
    offset = kdc_req_nonce_offset(request)
    assert offset is not None
    from bench.loadgen import _Sender, _SenderSpec

    spec = _SenderSpec([request], [offset], 0, None, ("127.0.0.1", 1), "udp", 1, 10, 1, 1, 0, str)  # type: ignore[arg-type]
    sender = _Sender(spec)
    try:
        sent = [sender.packet() for _ in range(1000)]
    finally:
        sender.close()
    assert len(set(sent)) == 1000
    for each in sent:
        assert each[:offset] == request[:offset]
        assert each[offset + 4 :] == request[offset + 4 :]
        assert kdc_req_nonce_offset(each) == offset


def test_duration_bounds_the_run(echo_port: int) -> None:
    result = run_load(
        [b"\x6b\x00"],
        "127.0.0.1",
        echo_port,
        in_flight=8,
        processes=1,
        count=10_000_000,
        duration=0.5,
    )
    assert result.elapsed < 2.0
    assert 0 < result.replies < 10_000_000


def test_unanswered_requests_are_lost_not_hung() -> None:
    silent = free_port()  # nothing listens: ICMP refusals or timeouts, never a hang
    result = run_load(
        [b"\x6a\x00"],
        "127.0.0.1",
        silent,
        in_flight=2,
        processes=1,
        count=20,
        duration=2,
        timeout=0.2,
    )
    assert result.replies == 0
    assert result.lost >= 1


def test_only_loopback_targets_are_accepted() -> None:
    with pytest.raises(ValueError, match="loopback"):
        run_load([b"x"], "192.0.2.1", 88, count=1)
