"""Client-chosen names cannot buy memory or log space: a has-server under a flood of
AS-REQs with distinct 60 KB unknown names stays within a fixed number of bytes.

Measured before the byte bounds: 6,000 such requests over TCP took has-server from
42 MB to 1,522 MB resident, never released, and wrote 362 MB of log (60 KB per line).
Here the same flood, the same over UDP (a 60,000-byte name fits in a datagram), names
just under the length limit (which the KDC does look up, and remembers as unknown),
and oversized realms and server names must leave the resident memory within
``MAX_RSS_GROWTH`` and the log within ``MAX_LOG_BYTES_PER_REQUEST`` a request.
"""

from __future__ import annotations

import socket
import struct

import pytest

from has_kdc.asn1 import encode
from has_kdc.asn1.codec import decode_krb_error
from has_kdc.asn1.constants import (
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    NT_PRINCIPAL,
    NT_SRV_INST,
)
from has_kdc.asn1.messages import PrincipalName
from has_kdc.client.kdc_client import build_as_req
from has_kdc.principal import MAX_PRINCIPAL_BYTES
from tests.fuzz.kdc_wire import rss_bytes, scan_log

REALM = "HADOOP.COM"
FLOOD = 6000
BIG = 60_000
#: What the whole flood (16,000 requests) may add to has-server's resident memory:
#: the caches' byte budgets (unknown names 8 MiB, name texts 16 MiB, codec memos) and
#: allocator slack. Before the bounds the TCP part alone added 1.5 GB.
MAX_RSS_GROWTH = 48 * 1024 * 1024
#: One log line per request, names cut to 127 characters: about 420 bytes.
MAX_LOG_BYTES_PER_REQUEST = 512
_LENGTH = struct.Struct("!I")


def as_req_template(
    client: tuple[str, ...], realm: str = REALM, server: PrincipalName | None = None
) -> bytes:
    return encode(
        build_as_req(PrincipalName(NT_PRINCIPAL, client), realm, server=server, nonce=0x40000000)
    )


def distinct(template: bytes, marker: bytes, count: int):
    """``count`` copies of ``template`` with ``marker`` replaced by a counter of its length."""
    offset = template.index(marker)
    for i in range(count):
        packet = bytearray(template)
        packet[offset : offset + len(marker)] = b"%0*x" % (len(marker), i)
        yield bytes(packet)


class TcpSession:
    """Requests one after another on one TCP connection (RFC 4120 §7.2.2 framing)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)

    def ask(self, request: bytes) -> bytes:
        self.sock.sendall(_LENGTH.pack(len(request)) + request)
        (length,) = _LENGTH.unpack(self._read(4))
        return self._read(length)

    def _read(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self.sock.recv(left)
            if not chunk:
                raise ConnectionError("the KDC closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.sock.close()


def udp_ask(host: str, port: int, request: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(request, (host, port))
        return sock.recv(65536)


def error_code(reply: bytes) -> int:
    return decode_krb_error(reply).error_code


@pytest.fixture
def flood_node(has_node):
    """The node, warmed up: every code path the flood takes has run once."""
    session = TcpSession(has_node.host, has_node.port)
    try:
        for packet in distinct(as_req_template(("warm-0000",)), b"0000", 300):
            session.ask(packet)
    finally:
        session.close()
    return has_node


def test_a_flood_of_distinct_huge_names_stays_within_fixed_memory_and_log(flood_node):
    node = flood_node
    pid = node.pid
    rss_before = rss_bytes(pid)
    log_before = node.log_file.stat().st_size
    requests = 0
    marker = b"Z" * 16

    # 6,000 distinct 60 KB unknown client names on one TCP connection (the measured case)
    session = TcpSession(node.host, node.port)
    template = as_req_template(("Z" * 16 + "a" * (BIG - 16),))
    try:
        for packet in distinct(template, marker, FLOOD):
            reply = session.ask(packet)
            assert error_code(reply) == KDC_ERR_C_PRINCIPAL_UNKNOWN
            # not echoed back: the error is as small as for any unknown name
            assert len(reply) < 1024
            requests += 1
        # names just under the limit: looked up, remembered as unknown, within bytes
        longest = MAX_PRINCIPAL_BYTES - len(REALM) - 1
        for packet in distinct(as_req_template(("Z" * 16 + "b" * (longest - 16),)), marker, FLOOD):
            assert error_code(session.ask(packet)) == KDC_ERR_C_PRINCIPAL_UNKNOWN
            requests += 1
        # oversized realms, oversized server names
        for packet in distinct(as_req_template(("user",), "Z" * 16 + "R" * BIG), marker, 1000):
            assert error_code(session.ask(packet)) == KDC_ERR_C_PRINCIPAL_UNKNOWN
            requests += 1
        server = PrincipalName(NT_SRV_INST, ("host", "Z" * 16 + "h" * BIG))
        known_client = ("krbtgt", REALM)  # exists, so the server name is what is refused
        for packet in distinct(as_req_template(known_client, server=server), marker, 1000):
            assert error_code(session.ask(packet)) == KDC_ERR_S_PRINCIPAL_UNKNOWN
            requests += 1
    finally:
        session.close()

    # and 2,000 over UDP, one datagram each
    for packet in distinct(template, marker, 2000):
        assert error_code(udp_ask(node.host, node.port, packet)) == KDC_ERR_C_PRINCIPAL_UNKNOWN
        requests += 1

    rss_after = rss_bytes(pid)
    log = scan_log(node.log_file, log_before)
    growth = rss_after - rss_before
    print(
        f"{requests} requests: RSS {rss_before / 1e6:.1f} MB -> {rss_after / 1e6:.1f} MB, "
        f"log +{log.bytes} bytes ({log.bytes / requests:.0f} a request)"
    )
    assert growth < MAX_RSS_GROWTH, f"resident memory grew {growth / 1e6:.1f} MB"
    assert log.bytes < MAX_LOG_BYTES_PER_REQUEST * requests
    assert (log.tracebacks, log.errors, log.not_utf8) == (0, 0, 0), log.samples
