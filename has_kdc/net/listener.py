"""The KDC listeners of one process: UDP and TCP on every address of ``kdc_host``.

``KdcListener`` binds (``start``), tells the caller it is bound (``ready``), and
stops (``stop``). ``serve`` is the whole life of a one-process KDC: start, signal
readiness, run until SIGTERM/SIGINT or an event, stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any

from has_kdc.net.dispatch import Dispatcher, KdcHandlers, Transport
from has_kdc.net.limits import ListenerLimits
from has_kdc.net.sockets import BindAddress, bind_socket, resolve_bind_addresses
from has_kdc.net.stats import NetStats
from has_kdc.net.tcp import KdcStreamProtocol, TcpConnections
from has_kdc.net.udp import UdpEndpoint

log = logging.getLogger(__name__)


class KdcListener:
    """UDP and TCP listeners for one KDC in one process.

    ``host`` is an IP address, a name (every address it resolves to is used), or
    None for all addresses. ``udp_port`` or ``tcp_port`` None leaves that transport
    out; 0 takes a free port (read it back from :attr:`addresses`). ``addresses``
    may be given instead of ``host`` when they were resolved once already (the
    worker processes of one KDC do so, so they all bind the same ones).
    """

    def __init__(
        self,
        handlers: KdcHandlers,
        *,
        host: str | None = None,
        udp_port: int | None = None,
        tcp_port: int | None = None,
        limits: ListenerLimits | None = None,
        stats: NetStats | None = None,
        reuse_port: bool = False,
        addresses: list[BindAddress] | None = None,
    ) -> None:
        if udp_port is None and tcp_port is None:
            raise ValueError("a KDC listener needs a UDP port, a TCP port, or both")
        self.limits = limits or ListenerLimits()
        self.stats = stats or NetStats()
        self.dispatcher = Dispatcher(handlers, self.limits, self.stats)
        self.host = host
        self.udp_port = udp_port
        self.tcp_port = tcp_port
        self.reuse_port = reuse_port
        self._bind_addresses = addresses
        #: Set once every socket is bound and serving.
        self.ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._udp: list[UdpEndpoint] = []
        self._tcp: list[asyncio.Server] = []
        self._connections = TcpConnections(self.dispatcher)
        self._addresses: list[tuple[Transport, tuple[str, int]]] = []

    @property
    def addresses(self) -> list[tuple[Transport, tuple[str, int]]]:
        """(transport, (address, port)) of every bound socket, with real port numbers."""
        return list(self._addresses)

    def port(self, transport: Transport) -> int:
        """The port bound for ``transport`` (the first one, if addresses differ)."""
        for kind, sockaddr in self._addresses:
            if kind == transport:
                return sockaddr[1]
        raise LookupError(f"not listening on {transport}")

    async def start(self) -> None:
        """Bind every socket; on any failure close what was bound and raise NetBindError."""
        if self.ready.is_set():
            return
        loop = asyncio.get_running_loop()
        bind_addresses = self._bind_addresses or resolve_bind_addresses(self.host)
        try:
            for address in bind_addresses:
                if self.udp_port is not None:
                    sock = bind_socket(address, self.udp_port, "udp", reuse_port=self.reuse_port)
                    self._remember("udp", sock)
                    self._udp.append(UdpEndpoint(sock, self.dispatcher))
                if self.tcp_port is not None:
                    sock = bind_socket(address, self.tcp_port, "tcp", reuse_port=self.reuse_port)
                    self._remember("tcp", sock)
                    server = await loop.create_server(
                        lambda: KdcStreamProtocol(self._connections), sock=sock
                    )
                    self._tcp.append(server)
        except BaseException:
            await self._close_sockets()
            raise
        for kind, (host, port) in self._addresses:
            log.info("KDC listening on %s %s port %d", kind.upper(), host, port)
        self.ready.set()

    def stop(self) -> None:
        """Stop accepting and answering; :meth:`wait_closed` waits for the sockets."""
        if self._closed.is_set():
            return
        for server in self._tcp:
            server.close()
        for endpoint in self._udp:
            endpoint.close()
        self._connections.close_all()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Wait until :meth:`stop` was called and the listening sockets are closed."""
        await self._closed.wait()
        for server in self._tcp:
            await server.wait_closed()
        for endpoint in self._udp:
            await endpoint.closed

    async def serve_forever(self) -> None:
        """Start if needed, then serve until :meth:`stop`."""
        await self.start()
        await self.wait_closed()

    async def __aenter__(self) -> KdcListener:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        await self.wait_closed()

    def _remember(self, kind: Transport, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        self._addresses.append((kind, (host, port)))

    async def _close_sockets(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            await self.wait_closed()


async def serve(
    handlers: KdcHandlers,
    *,
    host: str | None = None,
    udp_port: int | None = None,
    tcp_port: int | None = None,
    limits: ListenerLimits | None = None,
    stats: NetStats | None = None,
    reuse_port: bool = False,
    addresses: list[BindAddress] | None = None,
    on_ready: Callable[[KdcListener], None] | None = None,
    stop_event: asyncio.Event | None = None,
    stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
) -> NetStats:
    """Run a KDC listener until one of ``stop_signals`` arrives or ``stop_event`` is set.

    ``on_ready(listener)`` is called once every socket is bound. Signal handlers are
    installed only when this runs in the main thread. Returns the final counters.
    """
    listener = KdcListener(
        handlers,
        host=host,
        udp_port=udp_port,
        tcp_port=tcp_port,
        limits=limits,
        stats=stats,
        reuse_port=reuse_port,
        addresses=addresses,
    )
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    waiter: asyncio.Future[Any] | None = None
    try:
        for signum in stop_signals:
            try:
                loop.add_signal_handler(signum, listener.stop)
            except (ValueError, RuntimeError):  # not the main thread
                break
            installed.append(signum)
        await listener.start()
        if on_ready is not None:
            on_ready(listener)
        if stop_event is not None:
            waiter = stopped = asyncio.ensure_future(stop_event.wait())
            stopped.add_done_callback(lambda _: listener.stop())
        await listener.wait_closed()
    finally:
        if waiter is not None:
            waiter.cancel()
        listener.stop()
        for signum in installed:
            loop.remove_signal_handler(signum)
    log.info("KDC listeners stopped: %s", listener.stats.snapshot())
    return listener.stats
