"""HTTPS resource limits, for real over TLS: connection caps per node and per client
address, and clients too slow with the handshake, the headers or the body.

has-server.conf sets the limits (tests/webnode.py writes them); the clients are raw
sockets, so a test can stop half-way through a request. The timeouts are set to one
second; what is checked is that the server closes the connection, not how fast
(bench/http_flood.py measures that).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.client.has_client import client_ssl_context
from tests.webnode import Node, make_node

#: How long a test waits for the server to act before it calls the server stuck.
PATIENCE = 60.0


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[Node]:
    node = make_node(
        tmp_path,
        server_conf={"https_max_connections": "5", "https_max_connections_per_client": "3"},
    )
    try:
        yield node
    finally:
        node.thread.stop()


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Node]:
    node = make_node(
        tmp_path,
        server_conf={
            "https_handshake_timeout": "1",
            "https_header_timeout": "1",
            "https_body_timeout": "1",
        },
    )
    try:
        yield node
    finally:
        node.thread.stop()


def tcp(node: Node, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", node.port), timeout=PATIENCE, source_address=(source, 0)
    )
    return sock


def tls(node: Node, source: str = "127.0.0.1") -> ssl.SSLSocket:
    """A TLS connection with the handshake done (raises if the server refuses it)."""
    context = client_ssl_context(node.ca_file)
    return context.wrap_socket(tcp(node, source), server_hostname="127.0.0.1")


def refused(node: Node, source: str = "127.0.0.1") -> bool:
    """Whether the server drops a new connection from ``source`` before TLS."""
    try:
        sock = tls(node, source)
    except (OSError, ssl.SSLError):
        return True
    sock.close()
    return False


def closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes; True when it did (EOF or reset)."""
    sock.settimeout(PATIENCE)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return True


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# ------------------------------------------------------------------ caps


def test_per_client_cap_resets_the_extra_connection_before_tls(capped, caplog):
    gate = capped.thread.server.gate
    with caplog.at_level(logging.WARNING):
        held = [tls(capped) for _ in range(3)]
        try:
            assert refused(capped)
            assert not refused(capped, "127.0.0.2")  # another client is not affected
            assert gate.refused == {"node": 0, "client": 1}
            held.pop().close()
            wait_until(lambda: gate.per_client.get("127.0.0.1") == 2, "slot not released")
            held.append(tls(capped))  # room again
        finally:
            for sock in held:
                sock.close()
    assert "already holds 3 connections" in caplog.text
    wait_until(lambda: gate.open == 0, "connections still counted after they closed")
    metrics = capped.client.get("/metrics").text()
    assert 'has_http_connections_refused_total{cap="client"} 1' in metrics


def test_per_node_cap_counts_every_client(capped):
    gate = capped.thread.server.gate
    held = [tls(capped, f"127.0.0.{n}") for n in (1, 1, 2, 2, 3)]
    try:
        assert gate.open == 5
        assert refused(capped, "127.0.0.9")
        assert gate.refused["node"] == 1
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: gate.open == 0, "connections still counted after they closed")
    status, _, _ = capped.raw("GET", "/has/v1/openapi.json")
    assert status == 200


def test_requests_still_work_under_the_caps(capped):
    for _ in range(20):  # one connection per request: every slot is given back
        status, _, _ = capped.raw("GET", "/has/v1/health")
        assert status == 503  # realm not initialized yet


# ------------------------------------------------------------------ timeouts


def test_a_client_that_never_starts_tls_is_dropped(impatient):
    sock = tcp(impatient)
    try:
        sock.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
        assert closed_by_server(sock)
    finally:
        sock.close()
    wait_until(lambda: impatient.thread.server.gate.open == 0, "slot not released")


def test_headers_that_never_end_are_dropped(impatient):
    sock = tls(impatient)
    try:
        sock.sendall(b"GET /has/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
        assert closed_by_server(sock)
    finally:
        sock.close()


def test_headers_sent_a_byte_at_a_time_are_dropped(impatient):
    sock = tls(impatient)
    request = b"GET /has/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
    try:
        deadline = time.monotonic() + PATIENCE
        for byte in request:
            assert time.monotonic() < deadline, "the server kept a dribbling client"
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                break  # dropped while still sending
            time.sleep(0.05)
        else:
            raise AssertionError("the server read 4 KB of headers at 20 bytes a second")
    finally:
        sock.close()


def test_a_body_that_never_arrives_gets_408_and_the_connection_closes(impatient):
    sock = tls(impatient)
    try:
        sock.sendall(
            b"PUT /has/v1/conf/setplugin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"plugin":'
        )
        sock.settimeout(PATIENCE)
        answer = b""
        with contextlib.suppress(ConnectionResetError, ssl.SSLError):
            while chunk := sock.recv(4096):
                answer += chunk
    finally:
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert json.loads(body)["error"] == "request_timeout"


def test_an_idle_connection_after_an_answer_is_closed(impatient):
    sock = tls(impatient)
    try:
        sock.sendall(b"GET /has/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(PATIENCE)
        assert sock.recv(12).startswith(b"HTTP/1.1 200")
        assert closed_by_server(sock)  # keep-alive, then nothing: closed
    finally:
        sock.close()
