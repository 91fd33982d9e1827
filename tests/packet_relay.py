"""A recording Kerberos relay for tests: clients talk to it, it talks to a real KDC.

Put it between MIT `kinit`/`kvno` and a KDC to capture the exact packets both sides
send (RFC 4120 §7.2: one datagram per message over UDP; a 4-byte big-endian length
before each message over TCP). Every request/reply pair is kept in ``exchanges`` in
the order the relay saw them.

    with PacketRelay(("127.0.0.1", kdc_port)) as relay:
        client = MitClient(tmp, realm, [f"127.0.0.1:{relay.port}"])
        client.kinit(...)
    relay.exchanges  # [Exchange(transport="udp", request=b"...", reply=b"..."), ...]
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from dataclasses import dataclass

from tests.mitkrb import free_port

UPSTREAM_TIMEOUT = 10.0
MAX_MESSAGE = 1 << 20


@dataclass(frozen=True)
class Exchange:
    transport: str  # "udp" or "tcp"
    request: bytes
    reply: bytes


class PacketRelay:
    """UDP and TCP relay on one free loopback port, recording every exchange."""

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.port = free_port(host)
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []

    def _record(self, transport: str, request: bytes, reply: bytes) -> None:
        with self._lock:
            self.exchanges.append(Exchange(transport, request, reply))

    def start(self) -> PacketRelay:
        relay = self

        class UdpHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                request, sock = self.request
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                    up.settimeout(UPSTREAM_TIMEOUT)
                    up.sendto(request, relay.upstream)
                    try:
                        reply = up.recv(65536)
                    except TimeoutError:
                        return
                relay._record("udp", request, reply)
                sock.sendto(reply, self.client_address)

        class TcpHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                request = _read_frame(self.request)
                if request is None:
                    return
                with socket.create_connection(relay.upstream, timeout=UPSTREAM_TIMEOUT) as up:
                    up.sendall(struct.pack(">I", len(request)) + request)
                    reply = _read_frame(up)
                if reply is None:
                    return
                relay._record("tcp", request, reply)
                self.request.sendall(struct.pack(">I", len(reply)) + reply)

        class Udp(socketserver.ThreadingUDPServer):
            daemon_threads = True
            allow_reuse_address = True

        class Tcp(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._servers = [
            Udp((self.host, self.port), UdpHandler),
            Tcp((self.host, self.port), TcpHandler),
        ]
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> PacketRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_frame(sock: socket.socket) -> bytes | None:
    header = _read_exact(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if length > MAX_MESSAGE:
        return None
    return _read_exact(sock, length)
