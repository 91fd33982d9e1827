"""The KDC over TCP (RFC 4120 §7.2.2): length-prefixed records, several per connection.

MIT krb5kdc closes a connection after each reply; RFC 4120 allows more, so a client
may send requests one after another on one connection, and we answer them in order.
What one client can make us hold is bounded: one request of ``max_tcp_request``
bytes, ``tcp_idle_timeout`` seconds per request, and ``max_tcp_connections`` open
connections per process, the oldest closed to admit a new one (MIT's rule).
"""

from __future__ import annotations

import asyncio
import logging

from has_kdc.net.dispatch import Dispatcher
from has_kdc.net.framing import FramingError, RecordReader, encode_record

log = logging.getLogger(__name__)


class TcpConnections:
    """The open connections of one process, oldest first, for the connection cap."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._open: dict[KdcStreamProtocol, None] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, connection: KdcStreamProtocol) -> None:
        stats = self.dispatcher.stats
        while len(self._open) >= self.dispatcher.limits.max_tcp_connections:
            oldest = next(iter(self._open))
            self.discard(oldest)
            stats.tcp_evicted += 1
            log.info("too many TCP connections: closing the oldest, from %s", oldest.peer)
            oldest.close()
        self._open[connection] = None
        stats.tcp_accepted += 1
        stats.tcp_open = len(self._open)

    def discard(self, connection: KdcStreamProtocol) -> None:
        if connection in self._open:
            del self._open[connection]
            self.dispatcher.stats.tcp_open = len(self._open)

    def close_all(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self.dispatcher.stats.tcp_open = 0


class KdcStreamProtocol(asyncio.Protocol):
    """One client connection: reassemble records, answer each, enforce the limits."""

    def __init__(self, connections: TcpConnections) -> None:
        self._connections = connections
        self._dispatcher = connections.dispatcher
        self._reader = RecordReader(self._dispatcher.limits.max_tcp_request)
        self._transport: asyncio.Transport | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]} port {peer[1]}" if peer else "?"
        self.peer_host: str | None = peer[0] if peer else None
        self._connections.add(self)
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        try:
            requests = self._reader.feed(data)
        except FramingError as exc:
            log.info("closing TCP connection from %s: %s", self.peer, exc)
            reply = self._dispatcher.field_toolong()
            if reply is not None:
                transport.write(encode_record(reply))
            self.close()
            return
        for request in requests:
            reply = self._dispatcher.answer_tcp(request, self.peer_host)
            if reply is None:
                self.close()
                return
            transport.write(encode_record(reply))
        if requests:
            self._arm_idle_timer()

    def eof_received(self) -> bool | None:
        # The client is done sending; replies already written still go out.
        return None

    def pause_writing(self) -> None:
        # A client that sends requests without reading replies: stop reading its
        # requests until it drains, so replies do not pile up in memory.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_idle_timer()
        self._connections.discard(self)
        self._transport = None

    def close(self) -> None:
        """Close after writing what is queued (the FIELD_TOOLONG error, say)."""
        self._cancel_idle_timer()
        if self._transport is not None:
            self._transport.close()

    def _arm_idle_timer(self) -> None:
        self._cancel_idle_timer()
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(
            self._dispatcher.limits.tcp_idle_timeout, self._idle_timeout
        )

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_timeout(self) -> None:
        self._idle_timer = None
        self._dispatcher.stats.tcp_idle_closed += 1
        log.debug("closing idle TCP connection from %s", self.peer)
        if self._transport is not None:
            self._transport.abort()
