"""The test hosts' apt proxy (tests/hosts/aptproxy.py) forwards Debian's package hosts only.

The hosts reach nothing else through it; requests for any other host, or to tunnel
(CONNECT), are refused before any connection leaves the machine.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.hosts import aptproxy


@pytest.fixture
def proxy() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), aptproxy._Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _ask(port: int, method: str, target: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "target",
    [
        "http://example.org/debian/dists/bookworm/Release",
        "http://deb.debian.org.example.org/debian/",
        "https://deb.debian.org/debian/",
        "/debian/dists/bookworm/Release",
    ],
)
def test_other_hosts_and_schemes_are_refused(proxy, target):
    status, body = _ask(proxy, "GET", target)
    assert status == 403
    assert b"not a Debian package URL" in body


def test_tunnels_are_refused(proxy):
    assert _ask(proxy, "CONNECT", "pypi.org:443")[0] == 403
