"""Running the web application: HTTPS (and plain HTTP only if configured) on its own thread.

has-server runs the KDC in the main thread (``run_workers``: one in-process KDC, or a
supervisor of worker processes). The web server gets a thread with its own event
loop, started before the KDC: so it binds first (a port conflict stops start-up with
a clear error), database waits of the web handlers never stall the KDC's loop, and
with several KDC workers the HTTPS service still runs once, in the supervisor.
Because that thread exists before the workers start, has-server then starts them
with the "spawn" method (see has_kdc.net.workers on fork and threads).
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
from has_kdc.web.app import AccessLogger, create_app
from has_kdc.web.context import WebContext
from has_kdc.web.routes import Route

__all__ = ["WebServer", "WebServerThread", "WebStartupError"]

log = logging.getLogger("has_kdc.web")
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
        self.app = create_app(context, extra_routes=extra_routes)
        self._runner: web.AppRunner | None = None
        #: (scheme, host, port) of every bound site, with real port numbers
        self.addresses: list[tuple[str, str, int]] = []

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app, access_log=access_log, access_log_class=AccessLogger, handle_signals=False
        )
        await runner.setup()
        self._runner = runner
        conf = self.server_conf
        sites = [("https", conf.https_host, conf.https_port, self.ssl_context)]
        if conf.http_enabled:
            sites.append(("http", conf.http_host or "0.0.0.0", conf.http_port or 0, None))  # noqa: S104
        try:
            for scheme, host, port, ctx in sites:
                site = web.TCPSite(runner, host, port, ssl_context=ctx, reuse_address=True)
                try:
                    await site.start()
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    raise WebStartupError(
                        f"cannot listen for {scheme.upper()} on {host}:{port}: {reason}"
                    ) from None
                server = site._server  # the asyncio server: its sockets hold the real ports
                for sock in getattr(server, "sockets", None) or ():
                    bound = sock.getsockname()
                    self.addresses.append((scheme, bound[0], bound[1]))
                    log.info("%s listening on %s port %d", scheme.upper(), bound[0], bound[1])
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
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
