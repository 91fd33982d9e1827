"""The KDC over UDP (RFC 4120 §7.2.1): one datagram in, at most one datagram out.

Not an asyncio DatagramProtocol: that transport makes one selector round trip per
datagram and queues replies in user space. With an echo handler on one core of this
machine it answered about 26,000 requests/s; this endpoint, which registers the
socket with the loop's selector and drains up to ``DRAIN_BATCH`` datagrams per
wake-up, answers about 140,000/s, so the transport stays a small part of what a KDC
spends per request. A reply the kernel cannot take right now (send buffer full) is
dropped rather than queued: the client retransmits, and memory stays bounded under
a flood. Needs a selector event loop (asyncio's default on Linux).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from has_kdc.net.dispatch import Dispatcher

log = logging.getLogger(__name__)

#: Datagrams answered per readiness event before the loop serves others (TCP
#: connections, timers): bounded so a UDP flood cannot starve them.
DRAIN_BATCH = 64
#: Larger than any UDP payload (65507), so no datagram is truncated.
RECEIVE_SIZE = 65536


class UdpEndpoint:
    """One bound UDP socket served on the running event loop."""

    def __init__(self, sock: socket.socket, dispatcher: Dispatcher) -> None:
        self._sock = sock
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self._fd = sock.fileno()
        #: Resolved once the socket is closed.
        self.closed: asyncio.Future[None] = self._loop.create_future()
        sock.setblocking(False)
        self._loop.add_reader(self._fd, self._drain)

    def close(self) -> None:
        if self.closed.done():
            return
        self._loop.remove_reader(self._fd)
        self._sock.close()
        self.closed.set_result(None)

    def _drain(self) -> None:
        recvfrom = self._sock.recvfrom
        sendto = self._sock.sendto
        answer = self._dispatcher.answer_udp
        for _ in range(DRAIN_BATCH):
            try:
                request, address = recvfrom(RECEIVE_SIZE)
            except BlockingIOError:
                return
            except OSError as exc:
                # A pending ICMP error and the like: about an earlier exchange.
                log.debug("UDP receive error ignored: %s", exc)
                continue
            reply = answer(request, address[0])
            if reply is None:
                continue
            try:
                sendto(reply, address)
            except OSError as exc:
                # Full send buffer, or a client address the route refuses.
                stats = self._dispatcher.stats
                stats.replies_udp -= 1
                stats.dropped += 1
                log.debug("UDP reply of %d bytes not sent: %s", len(reply), exc)
