"""The KDC of a node whose realm may not be initialized yet, and a worker's handlers.

A realm that is not initialized yet does not stop the server (HAS starts servers
first, then runs init): until any node initializes the realm, every AS/TGS request
gets KRB-ERROR KDC_ERR_SVC_UNAVAILABLE (29) — a prompt answer that makes MIT
clients try their next KDC instead of timing out — and anything else gets no
answer. Each worker checks the shared ``initialized`` entry at most once a second
while waiting (`RealmGate`), and not at all afterwards; so a node answers within
about a second of ``kdcinit init`` on any node, without a restart.

`kdc_handlers` is what every KDC worker process builds for itself: its own store
connection (`open_backend_deferred`: nothing touches the database while it starts),
the `Kdc` and the gate in front of it. The counting is the caller's (has-server
passes the worker's row of `has_kdc.kdc.counters.KdcCounters`); the gate knows it only
as `GateCounters`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from has_kdc.admin import is_initialized
from has_kdc.asn1.constants import KDC_ERR_SVC_UNAVAILABLE
from has_kdc.backend import BackendError, IdentityBackend
from has_kdc.conf import ConfDir
from has_kdc.kdc.errors import build_krb_error
from has_kdc.kdc.handler import Kdc
from has_kdc.net import KdcHandlers
from has_kdc.node.backend_startup import open_backend_deferred

__all__ = ["INIT_POLL_INTERVAL", "GateCounters", "RealmGate", "kdc_handlers"]

log = logging.getLogger("has_kdc.server")

_perf_counter = time.perf_counter
#: How often a waiting worker re-reads the shared ``initialized`` entry (seconds).
INIT_POLL_INTERVAL = 1.0
_KDC_REQ_TAGS = (0x6A, 0x6C)  # [APPLICATION 10] AS-REQ, [APPLICATION 12] TGS-REQ


class GateCounters(Protocol):
    """Where a gate counts what its KDC answers (`has_kdc.kdc.counters.KdcCounters`)."""

    def observe(
        self, request: bytes, reply: bytes | None, seconds: float, code: int | None = None
    ) -> None: ...
    def database_error(self) -> None: ...
    def store_state(self, synced_at: float | None, down_since: float | None) -> None: ...


class RealmGate:
    """The KDC handler, held back with error 29 until the realm is initialized."""

    def __init__(
        self,
        kdc: Kdc,
        backend: IdentityBackend,
        clock: Callable[[], float] = time.monotonic,
        poll_interval: float = INIT_POLL_INTERVAL,
        counters: GateCounters | None = None,
    ) -> None:
        self.kdc = kdc
        self.backend = backend
        self.counters = counters
        self._clock = clock
        self._poll_interval = poll_interval
        self._open = False
        self._checked_at = float("-inf")
        self._store_state: tuple[float | None, float | None] = (None, None)

    def is_open(self) -> bool:
        if self._open:
            return True
        now = self._clock()
        if now - self._checked_at >= self._poll_interval:
            self._checked_at = now
            try:
                self._open = is_initialized(self.backend)
            except BackendError as exc:
                log.warning("cannot read whether the realm is initialized: %s", exc)
                if self.counters is not None:
                    self.counters.database_error()
            if self._open:
                log.info("realm %s is initialized: KDC answering", self.kdc.realm.realm)
        return self._open

    def handle(self, request: bytes, transport: str, peer: str | None = None) -> bytes | None:
        counters = self.counters
        if counters is None:
            return self._answer(request, transport, peer)
        start = _perf_counter()
        kdc = self.kdc
        if self._open or self.is_open():
            reply = kdc.handle(request, transport, peer=peer)
            code = kdc.last_result  # known to the Kdc: no need to re-read the reply
        else:
            reply = self._answer(request, transport, peer)
            code = None  # the gate's own error 29: counted from the reply
        counters.observe(request, reply, _perf_counter() - start, code)
        cache = kdc.principals
        state = self._store_state
        if cache.synced_at is not state[0] or cache.down_since is not state[1]:
            # at most once per change poll: for /health, /metrics and the heartbeat
            self._store_state = (cache.synced_at, cache.down_since)
            counters.store_state(*self._store_state)
        return reply

    def _answer(self, request: bytes, transport: str, peer: str | None) -> bytes | None:
        if self.is_open():
            return self.kdc.handle(request, transport, peer=peer)
        if not request or request[0] not in _KDC_REQ_TAGS:
            return None
        return build_krb_error(
            KDC_ERR_SVC_UNAVAILABLE,
            now=time.time(),
            realm=self.kdc.realm.realm,
            sname=self.kdc.realm.tgs_name,
            e_text="realm not initialized yet",
        )


def kdc_handlers(conf: ConfDir, counters: GateCounters | None = None) -> KdcHandlers:
    """One worker's KDC over its own store connection, behind the realm gate."""
    backend = open_backend_deferred(conf.backend)
    kdc = Kdc(conf.kdc, backend)
    gate = RealmGate(kdc, backend, counters=counters)
    return KdcHandlers(
        handle=gate.handle,
        too_big_reply=kdc.response_too_big,
        field_toolong_reply=kdc.field_toolong,
        generic_error_reply=kdc.generic_error,
    )
