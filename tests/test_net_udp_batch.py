"""The UDP endpoint's wake-up: every waiting datagram received, then all answered,
then every reply sent (has_kdc/net/udp.py says why), each reply to its own sender.

The datagrams are queued on the server socket before the endpoint exists, so what one
wake-up sees is fixed; the socket is a subclass that writes each ``sendto`` into the
same event list as the handler's calls.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from has_kdc.net import KdcHandlers, ListenerLimits, NetStats, Transport
from has_kdc.net.dispatch import Dispatcher
from has_kdc.net.udp import DRAIN_BATCH, UdpEndpoint

CLIENTS = DRAIN_BATCH + 36


class RecordingSocket(socket.socket):
    """A UDP socket that notes each reply it sends, in the handler's event list."""

    events: list[tuple[str, bytes]]

    def sendto(self, data: Any, *args: Any) -> int:  # type: ignore[override]
        self.events.append(("send", bytes(data)))
        return super().sendto(data, *args)


def _serve_queued(requests: list[bytes]) -> tuple[list[tuple[str, bytes]], list[bytes | None]]:
    server = RecordingSocket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    events: list[tuple[str, bytes]] = []
    server.events = events
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in requests]
    try:
        for client, request in zip(clients, requests, strict=True):
            client.bind(("127.0.0.1", 0))
            client.sendto(request, server.getsockname())

        def handle(request: bytes, transport: Transport, peer: str | None) -> bytes | None:
            events.append(("handle", request))
            return None if request == b"REQ-none" else b"reply to " + request

        stats = NetStats()

        async def main() -> None:
            dispatcher = Dispatcher(KdcHandlers(handle=handle), ListenerLimits(), stats)
            endpoint = UdpEndpoint(server, dispatcher)
            while stats.requests_udp < len(requests):
                await asyncio.sleep(0.01)
            endpoint.close()

        asyncio.run(asyncio.wait_for(main(), 10))
        replies: list[bytes | None] = []
        for client in clients:
            client.settimeout(0.5)
            try:
                replies.append(client.recv(100))
            except TimeoutError:
                replies.append(None)
        return events, replies
    finally:
        server.close()
        for client in clients:
            client.close()


def test_a_wake_up_answers_every_waiting_datagram_before_sending_any_reply() -> None:
    requests = [b"REQ-%03d" % i for i in range(CLIENTS)]
    events, replies = _serve_queued(requests)
    kinds = [kind for kind, _ in events]
    # First wake-up: the batch's worth, handled, then sent; then the rest.
    assert kinds == (
        ["handle"] * DRAIN_BATCH
        + ["send"] * DRAIN_BATCH
        + ["handle"] * (CLIENTS - DRAIN_BATCH)
        + ["send"] * (CLIENTS - DRAIN_BATCH)
    )
    assert [data for kind, data in events if kind == "handle"] == requests
    # Each client got the answer to its own request, whatever the batching.
    assert replies == [b"reply to " + request for request in requests]


def test_a_request_answered_with_nothing_leaves_the_others_in_its_batch_alone() -> None:
    requests = [b"REQ-a", b"REQ-none", b"REQ-c"]
    events, replies = _serve_queued(requests)
    assert [kind for kind, _ in events] == ["handle"] * 3 + ["send"] * 2
    assert replies == [b"reply to REQ-a", None, b"reply to REQ-c"]
