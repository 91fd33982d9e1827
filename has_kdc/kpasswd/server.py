"""The password change service on the network: UDP and TCP on the kpasswd addresses.

It runs on a thread of has-server's main process, with an event loop of its own,
beside the KDC workers and the HTTPS thread: password changes are rare, and each
costs a string-to-key per enctype, which must not hold up the KDC's loop. The
transport is the KDC's (`has_kdc.net`): the same RFC 4120 §7.2 TCP record framing
(MIT's kpasswd speaks it on port 464 too), the same size and connection limits.

An address that cannot be bound (a port below 1024 without the right, an address
taken by another node on one machine) is an error in the log, not a reason to
stop the KDC: the node keeps issuing tickets without the password service.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection

from has_kdc.backend import IdentityBackend
from has_kdc.conf import KdcConfig
from has_kdc.kpasswd.protocol import MAX_REQUEST
from has_kdc.kpasswd.service import KpasswdService
from has_kdc.net import KdcHandlers, KdcListener, ListenerLimits, NetBindError

__all__ = ["KpasswdServer"]

log = logging.getLogger("has_kdc.kpasswd")


class KpasswdServer:
    """The kpasswd listeners of one node, on a daemon thread (``start``/``stop``)."""

    def __init__(
        self,
        config: KdcConfig,
        backend: IdentityBackend,
        *,
        admins: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.admins = admins
        #: (transport, (address, port)) of every bound socket, once ``start`` returned
        self.addresses: list[tuple[str, tuple[str, int]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[KdcListener] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kpasswd", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Bind and serve; returns once every address was tried."""
        self._thread.start()
        self._ready.wait(timeout)

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for listener in self._listeners:
                loop.call_soon_threadsafe(listener.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        limits = ListenerLimits(max_tcp_request=MAX_REQUEST, max_tcp_connections=64)
        for host, port in self.config.kpasswd_addresses():
            service = KpasswdService(self.config, self.backend, admins=self.admins, local_host=host)
            handlers = KdcHandlers(handle=service.handle, field_toolong_reply=service.field_toolong)
            listener = KdcListener(handlers, host=host, udp_port=port, tcp_port=port, limits=limits)
            try:
                await listener.start()
            except (NetBindError, OSError) as exc:
                log.error("kpasswd not served on %s port %d: %s", host, port, exc)
                continue
            self._listeners.append(listener)
            self.addresses.extend(listener.addresses)
            for kind, (address, bound) in listener.addresses:
                log.info("kpasswd listening on %s %s port %d", kind.upper(), address, bound)
        self._ready.set()
        for listener in self._listeners:
            await listener.wait_closed()
