"""Between the sockets and the KDC: call the handler, apply transport rules, never fail.

The KDC is a plain function from request bytes to reply bytes. This module wraps it
with what only the transport knows: a UDP reply too big for a datagram becomes
KRB_ERR_RESPONSE_TOO_BIG (the KDC builds that error, so no ASN.1 lives here), an
exception becomes the generic error reply or silence, and every outcome is counted.
Like MIT's ``dispatch()``/``finish_dispatch()`` in src/kdc/dispatch.c.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from has_kdc.net.limits import ListenerLimits
from has_kdc.net.stats import NetStats

log = logging.getLogger(__name__)

Transport = Literal["udp", "tcp"]
#: ``handle(request, transport, peer) -> reply | None``: the KDC; peer is the client's IP
#: address or None. Synchronous and CPU-only;
#: None means "send nothing" (over TCP the connection is then closed, as MIT does, so
#: the client is not left waiting).
Handler = Callable[[bytes, Transport, "str | None"], "bytes | None"]
#: Builds an error reply from the request it answers (None: send nothing).
ErrorReplyBuilder = Callable[[bytes], "bytes | None"]


@dataclass(frozen=True, slots=True)
class KdcHandlers:
    """What the KDC layer gives the transport: the handler and its error builders.

    - ``handle``: the KDC itself.
    - ``too_big_reply(request)``: KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (52) for a
      request whose UDP reply exceeded ``max_dgram_reply_size``; the client retries
      over TCP. Without it such replies are dropped, and the client times out to TCP.
    - ``field_toolong_reply()``: KRB-ERROR KRB_ERR_FIELD_TOOLONG (61), sent before
      closing a TCP stream whose length prefix has the high bit set or is over the
      limit (RFC 4120 §7.2.2). There is no request to build it from.
    - ``generic_error_reply(request)``: KRB-ERROR KRB_ERR_GENERIC (60) for a request
      on which ``handle`` raised. Without it the request gets no answer.

    A builder that raises is treated as returning None.
    """

    handle: Handler
    too_big_reply: ErrorReplyBuilder | None = None
    field_toolong_reply: Callable[[], bytes | None] | None = None
    generic_error_reply: ErrorReplyBuilder | None = None


class _RateLimitedLog:
    """At most ``burst`` error records per ``period`` seconds, then a count.

    One malformed packet that trips a bug can arrive ten thousand times a second; the
    log must show the bug, not drown in it.
    """

    __slots__ = ("_burst", "_count", "_period", "_suppressed", "_window_start")

    def __init__(self, burst: int = 10, period: float = 60.0) -> None:
        self._burst = burst
        self._period = period
        self._window_start = float("-inf")
        self._count = 0
        self._suppressed = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= self._period:
            if self._suppressed:
                log.error("%d more KDC transport errors were not logged", self._suppressed)
            self._window_start = now
            self._count = 0
            self._suppressed = 0
        if self._count < self._burst:
            self._count += 1
            return True
        self._suppressed += 1
        return False


class Dispatcher:
    """Turns one request into at most one reply, applying transport rules and counting."""

    __slots__ = ("_error_log", "_udp_limit", "handlers", "limits", "stats")

    def __init__(
        self,
        handlers: KdcHandlers,
        limits: ListenerLimits,
        stats: NetStats,
    ) -> None:
        self.handlers = handlers
        self.limits = limits
        self.stats = stats
        self._udp_limit = limits.udp_reply_limit
        self._error_log = _RateLimitedLog()

    def answer_udp(self, batch: list[tuple[bytes, Any]]) -> list[tuple[bytes, Any]]:
        """The datagrams to send back for a batch of ``(request, address)`` received
        together, as ``(reply, address)`` in the same order; a request answered with
        nothing has no pair. The peer the handler sees is the address's host.

        One call per batch (``has_kdc.net.udp``): the counting, the lookups and the
        calls around the handler are paid once per batch, not per datagram."""
        handle = self.handlers.handle
        limit = self._udp_limit
        replies: list[tuple[bytes, Any]] = []
        for request, address in batch:
            try:
                reply = handle(request, "udp", address[0])
            except Exception:
                reply = self._failed(request, "udp")
            if reply is not None:
                if len(reply) > limit:
                    reply = self._too_big(request)
                    if reply is None:
                        continue
                replies.append((reply, address))
        stats = self.stats
        stats.requests_udp += len(batch)
        stats.replies_udp += len(replies)
        stats.dropped += len(batch) - len(replies)
        return replies

    def _too_big(self, request: bytes) -> bytes | None:
        self.stats.too_big += 1
        reply = self._build(self.handlers.too_big_reply, request, "too_big_reply")
        if reply is not None and len(reply) > self._udp_limit:
            self._log_error("too_big_reply gave %d bytes, over the UDP limit", len(reply))
            return None
        return reply

    def answer_tcp(self, request: bytes, peer: str | None = None) -> bytes | None:
        """The record payload to send back for ``request``, or None (close)."""
        stats = self.stats
        stats.requests_tcp += 1
        reply = self._call(request, "tcp", peer)
        if reply is None:
            stats.dropped += 1
        else:
            stats.replies_tcp += 1
        return reply

    def field_toolong(self) -> bytes | None:
        """The KRB_ERR_FIELD_TOOLONG reply for a bad TCP length, or None."""
        self.stats.framing_errors += 1
        builder = self.handlers.field_toolong_reply
        if builder is None:
            return None
        try:
            return builder()
        except Exception:
            self._log_error("field_toolong_reply raised", exc_info=True)
            return None

    def _call(self, request: bytes, transport: Transport, peer: str | None) -> bytes | None:
        try:
            return self.handlers.handle(request, transport, peer)
        except Exception:
            return self._failed(request, transport)

    def _failed(self, request: bytes, transport: Transport) -> bytes | None:
        """After the handler raised on ``request`` (called while handling that exception,
        so the log has the traceback): the generic error reply, or None."""
        self.stats.handler_errors += 1
        # The length only: request bytes may carry encrypted timestamps or tickets.
        self._log_error(
            "KDC handler raised on a %d-byte %s request", len(request), transport, exc_info=True
        )
        return self._build(self.handlers.generic_error_reply, request, "generic_error_reply")

    def _build(self, builder: ErrorReplyBuilder | None, request: bytes, name: str) -> bytes | None:
        if builder is None:
            return None
        try:
            return builder(request)
        except Exception:
            self._log_error("%s raised on a %d-byte request", name, len(request), exc_info=True)
            return None

    def _log_error(self, message: str, *args: object, exc_info: bool = False) -> None:
        if self._error_log.allow():
            log.error(message, *args, exc_info=exc_info)
