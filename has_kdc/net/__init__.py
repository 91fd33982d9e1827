"""The KDC on the network: RFC 4120 §7.2 UDP and TCP listeners and worker processes.

This package is transport only. The KDC itself is a plain synchronous function that
the caller hands in; nothing here parses ASN.1.

The interface the KDC layer provides
------------------------------------
``KdcHandlers(handle, too_big_reply=None, field_toolong_reply=None,
generic_error_reply=None)``:

- ``handle(request: bytes, transport: Literal["udp", "tcp"], peer: str | None) -> bytes | None`` —
  the KDC. It must be fast and must not block (CPU work only: it runs on the event
  loop). ``None`` means send nothing; over TCP the connection is then closed, as MIT
  krb5kdc does, so the client is not left waiting. It may raise: the exception is
  logged (the request's length only, never its bytes) and the request gets
  ``generic_error_reply``.
- ``too_big_reply(request) -> bytes | None`` — KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (52),
  sent instead of a UDP reply longer than ``ListenerLimits.max_dgram_reply_size``
  (MIT's ``kdc_max_dgram_reply_size``: 65536 in MIT's code, and never above 65507,
  the largest UDP payload). The client then retries over TCP.
- ``field_toolong_reply() -> bytes | None`` — KRB-ERROR KRB_ERR_FIELD_TOOLONG (61),
  written before closing a TCP stream whose length prefix has the reserved high bit
  set or exceeds ``max_tcp_request`` (RFC 4120 §7.2.2; MIT answers both so).
- ``generic_error_reply(request) -> bytes | None`` — KRB-ERROR KRB_ERR_GENERIC (60)
  for a request on which ``handle`` raised.

Every builder is optional; a missing one (or one that raises) means silence.

What this package provides
--------------------------
- ``KdcListener(handlers, *, host, udp_port, tcp_port, limits, stats, reuse_port)``:
  ``await start()`` binds UDP and TCP on every address ``host`` resolves to (IPv4 and
  IPv6; None for all), then sets ``ready`` (an ``asyncio.Event``); ``addresses``
  lists what is bound; ``stop()`` and ``await wait_closed()`` end it. Also an
  async context manager.
- ``serve(handlers, *, host, udp_port, tcp_port, limits, stats, on_ready,
  stop_event)``: a listener for the life of the process, stopped by SIGTERM/SIGINT
  or ``stop_event``; ``on_ready(listener)`` once bound.
- ``run_workers(n, make_handlers, *, host, udp_port, tcp_port, limits,
  start_method="fork", on_ready)``: ``n`` processes sharing the ports with
  SO_REUSEPORT, each calling the picklable ``make_handlers()`` itself; the parent
  supervises (restart with backoff, SIGTERM/SIGINT passed on). n == 1 runs in-process.
- ``ListenerLimits``: max_dgram_reply_size, max_tcp_request (128 KiB),
  tcp_idle_timeout (30 s per request), max_tcp_connections (256, oldest evicted).
- ``NetStats``: per-process counters (requests per transport, replies, dropped,
  too_big, handler_errors, framing_errors, TCP accepted/idle-closed/evicted/open).
- ``NetBindError``: a port that cannot be bound, with the address and the reason.

UDP is served straight from the loop's selector (``loop.add_reader``), so the event
loop must be a selector loop: asyncio's default on Linux.
"""

from has_kdc.net.dispatch import ErrorReplyBuilder, Handler, KdcHandlers, Transport
from has_kdc.net.framing import FramingError, RecordReader, encode_record
from has_kdc.net.limits import ListenerLimits
from has_kdc.net.listener import KdcListener, serve
from has_kdc.net.sockets import NetBindError
from has_kdc.net.stats import NetStats
from has_kdc.net.workers import WorkerStartupError, run_workers

__all__ = [
    "ErrorReplyBuilder",
    "FramingError",
    "Handler",
    "KdcHandlers",
    "KdcListener",
    "ListenerLimits",
    "NetBindError",
    "NetStats",
    "RecordReader",
    "Transport",
    "WorkerStartupError",
    "encode_record",
    "run_workers",
    "serve",
]
