"""Running the web application: HTTPS (and plain HTTP only if configured) on its own thread.

has-server runs the KDC in the main thread (``run_workers``: one in-process KDC, or a
supervisor of worker processes). The web server gets a thread with its own event
loop, started before the KDC: so it binds first (a port conflict stops start-up with
a clear error), database waits of the web handlers never stall the KDC's loop, and
with several KDC workers the HTTPS service still runs once, in the supervisor.
Because that thread exists before the workers start, has-server then starts them
with the "spawn" method (see has_kdc.net.workers on fork and threads).

Every site has the connection limits and timeouts of `connlimits` (has-server.conf's
``https_max_connections``, ``https_max_connections_per_client`` and
``https_*_timeout``), logs go through `redact` (no query strings), and while the
realm is not initialized a watcher keeps the setup window (`setup_window`) in step
with the shared store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import Iterable

from aiohttp import web

from has_kdc.conf import HasServerConfig
from has_kdc.web import redact
from has_kdc.web.app import AccessLogger, create_app
from has_kdc.web.connlimits import ConnectionGate, HttpLimits, LimitedSite
from has_kdc.web.context import WebContext
from has_kdc.web.routes import Route
from has_kdc.web.setup_window import WATCH_INTERVAL

__all__ = ["WebServer", "WebServerThread", "WebStartupError"]

log = logging.getLogger("has_kdc.web")
#: How long start-up waits for the store to say whether the realm is initialized.
FIRST_REFRESH_WAIT = 5.0
LINGER_SECONDS = 2.0
access_log = logging.getLogger("has_kdc.web.access")


class WebStartupError(RuntimeError):
    """The HTTPS (or HTTP) listener could not be started; the message says where and why."""


class WebServer:
    """The aiohttp runner and its sites, in the current event loop."""

    def __init__(
        self,
        context: WebContext,
        server_conf: HasServerConfig,
        ssl_context: ssl.SSLContext,
        *,
        extra_routes: Iterable[Route] = (),
    ) -> None:
        self.context = context
        self.server_conf = server_conf
        self.ssl_context = ssl_context
        self.limits = HttpLimits.from_server_conf(server_conf)
        self.app = create_app(context, extra_routes=extra_routes, limits=self.limits)
        #: open connections and refusals, shared by every site of this server
        self.gate = ConnectionGate(self.limits)
        context.connections = self.gate
        self._runner: web.AppRunner | None = None
        self._watcher: asyncio.Task[None] | None = None
        #: (scheme, host, port) of every bound site, with real port numbers
        self.addresses: list[tuple[str, str, int]] = []

    async def start(self) -> None:
        redact.install()
        # The new run decides afresh whether a setup window opens: now if the store
        # answers quickly, else the watcher (below) does once it does.
        window = self.context.setup_window
        await self.context.run(window.discard_stale_tokens)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.shield(self.context.run(window.refresh)), FIRST_REFRESH_WAIT
            )
        runner = web.AppRunner(
            self.app,
            access_log=access_log,
            access_log_class=AccessLogger,
            handle_signals=False,
            # aiohttp's keep-alive timer runs from the end of the TLS handshake and of
            # every answer: the next request's headers must be in before it fires.
            keepalive_timeout=self.limits.header_timeout,
            # After an answer to a request whose body was not read (408, 413), aiohttp
            # drains the rest before closing, so the client sees the answer; briefly.
            lingering_time=LINGER_SECONDS,
        )
        await runner.setup()
        self._runner = runner
        conf = self.server_conf
        sites: list[tuple[str, str, int, ssl.SSLContext | None]] = [
            ("https", conf.https_host, conf.https_port, self.ssl_context)
        ]
        if conf.http_enabled:
            sites.append(("http", conf.http_host or "0.0.0.0", conf.http_port or 0, None))  # noqa: S104
        try:
            for scheme, host, port, ctx in sites:
                site = LimitedSite(runner, host, port, gate=self.gate, ssl_context=ctx)
                try:
                    await site.start()
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    raise WebStartupError(
                        f"cannot listen for {scheme.upper()} on {host}:{port}: {reason}"
                    ) from None
                for sock in getattr(site.server, "sockets", None) or ():
                    bound = sock.getsockname()
                    self.addresses.append((scheme, bound[0], bound[1]))
                    log.info("%s listening on %s port %d", scheme.upper(), bound[0], bound[1])
        except BaseException:
            await self.stop()
            raise
        self._watcher = asyncio.get_running_loop().create_task(self._watch_setup_window())

    async def _watch_setup_window(self) -> None:
        """Open the setup window once the store says the realm is not initialized, and
        close it as soon as any node (or Ansible, or kdcinit --local) initializes it."""
        window = self.context.setup_window
        while window.state != "closed":
            try:
                state = await self.context.run(window.refresh)
            except RuntimeError:  # the thread pool is shut down: the server is stopping
                return
            if state == "closed":
                return
            await asyncio.sleep(WATCH_INTERVAL)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class WebServerThread:
    """A `WebServer` on a daemon thread with its own loop; ``start()`` returns once bound."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="has-web", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise WebStartupError(f"the web server did not start within {timeout:.0f} s")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        self.server.context.close()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(), or logged once running
            if not self._started.is_set():
                self._error = exc
                self._started.set()
            else:
                log.exception("the web server stopped on an error")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self.server.start()
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()
