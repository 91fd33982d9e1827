"""HTTPS connection limits: how many, from whom, and how long a client may take.

A TLS connection costs the server a few hundred kilobytes (OpenSSL's state and
asyncio's 256 KiB read buffer) from the moment it is accepted, and aiohttp waits
for request headers as long as a client likes. So a client that opens connections
and sends nothing, or a byte now and then, could hold the node's memory and sockets
for ever. `LimitedSite` serves the aiohttp application with:

- a cap on open connections per node and per client address, checked when the TCP
  connection is accepted, before any TLS work: a connection over a cap is reset at
  once and costs nothing more;
- a TLS handshake timeout;
- a header timeout: the request line and headers must be complete within it, counted
  from the end of the handshake or of the previous answer on the connection (aiohttp's
  keep-alive timer, which also closes idle connections);
- a body timeout: the body must arrive within it once the headers are in
  (``body_timeout_middleware``; bodies are small JSON documents).

Refusals are counted (``ConnectionGate.refused``) and logged at most once a minute,
with the number refused since the last line.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from has_kdc.conf import HasServerConfig
from has_kdc.web.errors import ApiError

__all__ = [
    "DEFAULT_LIMITS",
    "ConnectionGate",
    "HttpLimits",
    "LimitedSite",
    "body_timeout_middleware",
]

log = logging.getLogger("has_kdc.web")

#: Seconds between two log lines about refused connections.
_REFUSAL_LOG_INTERVAL = 60.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class HttpLimits:
    """The limits of one node's HTTPS (and plain HTTP) service; times in seconds.
    has-server.conf sets them (``https_max_connections`` ...; defaults there)."""

    max_connections: int
    max_connections_per_client: int
    handshake_timeout: float
    header_timeout: float
    body_timeout: float

    @classmethod
    def from_server_conf(cls, conf: HasServerConfig) -> HttpLimits:
        return cls(
            max_connections=conf.https_max_connections,
            max_connections_per_client=conf.https_max_connections_per_client,
            handshake_timeout=conf.https_handshake_timeout,
            header_timeout=conf.https_header_timeout,
            body_timeout=conf.https_body_timeout,
        )


DEFAULT_LIMITS = HttpLimits.from_server_conf(HasServerConfig())


class ConnectionGate:
    """Counts open connections per node and per client address; admits or refuses."""

    def __init__(self, limits: HttpLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.open = 0
        self.per_client: dict[str, int] = {}
        #: connections refused since start, by reason ("node", "client")
        self.refused = {"node": 0, "client": 0}
        self._clock = clock
        self._unlogged = 0
        self._logged_at = float("-inf")

    def admit(self, address: str) -> bool:
        if self.open >= self.limits.max_connections:
            self._refuse("node", address)
            return False
        if self.per_client.get(address, 0) >= self.limits.max_connections_per_client:
            self._refuse("client", address)
            return False
        self.open += 1
        self.per_client[address] = self.per_client.get(address, 0) + 1
        return True

    def release(self, address: str) -> None:
        self.open -= 1
        left = self.per_client.get(address, 1) - 1
        if left > 0:
            self.per_client[address] = left
        else:
            self.per_client.pop(address, None)

    def _refuse(self, reason: str, address: str) -> None:
        self.refused[reason] += 1
        self._unlogged += 1
        now = self._clock()
        if now - self._logged_at < _REFUSAL_LOG_INTERVAL:
            return
        self._logged_at = now
        if reason == "node":
            what = f"this node's {self.limits.max_connections} connections are all open"
        else:
            what = f"{address} already holds {self.limits.max_connections_per_client} connections"
        log.warning(
            "refused %d HTTPS connection(s) in the last minute; latest: %s",
            self._unlogged,
            what,
        )
        self._unlogged = 0


class _Connection(asyncio.Protocol):
    """One accepted TCP connection: admitted or reset, then TLS, then aiohttp's handler.

    Until the handshake is done the TCP transport belongs to asyncio's TLS protocol;
    after it, this object is the application protocol on the TLS transport and hands
    everything to aiohttp's request handler, noting when the connection ends.
    """

    def __init__(
        self,
        gate: ConnectionGate,
        make_handler: Callable[[], asyncio.Protocol],
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self._gate = gate
        self._make_handler = make_handler
        self._ssl_context = ssl_context
        self._address: str | None = None
        self._inner: asyncio.Protocol | None = None
        self._task: asyncio.Task[None] | None = None
        #: what TLS delivered between the handshake and ``_attach`` (a pipelined request)
        self._early: list[bytes] = []
        self._early_eof = False

    # -- the TCP connection ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._inner is not None:  # pragma: no cover - set up once
            return
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self._gate.admit(address):
            transport.abort()  # type: ignore[attr-defined]
            return
        self._address = address
        if self._ssl_context is None:
            self._attach(transport)
            return
        transport.pause_reading()  # type: ignore[attr-defined]
        self._task = asyncio.get_running_loop().create_task(self._handshake(transport))

    async def _handshake(self, transport: asyncio.BaseTransport) -> None:
        assert self._ssl_context is not None
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(
                transport,  # type: ignore[arg-type]
                self,
                self._ssl_context,
                server_side=True,
                ssl_handshake_timeout=self._gate.limits.handshake_timeout,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError, EOFError):
            self._release()
            return
        except asyncio.CancelledError:
            transport.abort()  # type: ignore[attr-defined]
            self._release()
            raise
        if tls is None or tls.is_closing():
            self._release()
            return
        self._attach(tls)

    def _attach(self, transport: asyncio.BaseTransport) -> None:
        inner = self._inner = self._make_handler()
        inner.connection_made(transport)
        early, self._early = self._early, []
        for data in early:
            inner.data_received(data)
        if self._early_eof and not inner.eof_received():
            transport.close()

    def _release(self) -> None:
        if self._address is not None:
            self._gate.release(self._address)
            self._address = None

    # -- the application side, forwarded to aiohttp ----------------------------------

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)
        elif self._address is not None:
            self._early.append(data)

    def eof_received(self) -> bool | None:
        if self._inner is not None:
            return self._inner.eof_received()
        self._early_eof = True
        return True  # keep the transport until aiohttp's handler has seen the data

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        inner, self._inner = self._inner, None
        self._early = []
        self._release()
        if inner is not None:
            inner.connection_lost(exc)


class LimitedSite(web.TCPSite):
    """aiohttp's TCP site with `HttpLimits` (see the module docstring)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        gate: ConnectionGate,
        ssl_context: ssl.SSLContext | None = None,
        reuse_address: bool = True,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=reuse_address)
        self.gate = gate

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        gate, tls = self.gate, self._ssl_context
        self._server = await loop.create_server(
            lambda: _Connection(gate, server, tls),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
        )

    @property
    def server(self) -> Any:
        """The asyncio server (its sockets hold the bound addresses)."""
        return self._server


def body_timeout_middleware(timeout: float) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Reads a request's body before any handler, giving the client ``timeout`` seconds.

    The body is kept by aiohttp (``request.read()`` answers it again from memory), so
    handlers read as before; its size is capped by the application's client_max_size.
    """

    @web.middleware
    async def body_timeout(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(timeout):
                    await request.read()
            except TimeoutError:
                request.protocol.close()  # the rest of the body will not be waited for
                raise ApiError(
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {timeout:g} s",
                ) from None
        return await handler(request)

    return body_timeout
