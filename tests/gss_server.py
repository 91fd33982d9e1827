"""A tiny aiohttp server with the Negotiate middleware, in a background thread.

``/admin/whoami`` is protected (admins only) and answers the principal as JSON;
``/public`` is not protected. ``clock_offset`` shifts the acceptor's clock, so a
test can present a real ticket to a server that sees it as expired; ``corrupt_reply``
flips a byte of the mutual-authentication token, so a test can see that a client
really checks it.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Collection

from aiohttp import hdrs, web

from has_kdc.gss import Acceptor, KeyLookup, Krb5Acceptor
from has_kdc.web.negotiate import negotiate_middleware
from tests.mitkrb import free_port


class NegotiateServer:
    def __init__(self, keys: KeyLookup, admins: Collection[str]) -> None:
        self.clock_offset = 0.0
        self.corrupt_reply = False
        self.accepted: list[bytes] = []
        krb5 = Krb5Acceptor(keys, clock=lambda: time.time() + self.clock_offset)
        acceptor = Acceptor(krb5)
        self.acceptor = acceptor
        server = self

        class Recording:
            def accept(self, token: bytes):
                server.accepted.append(token)
                return acceptor.accept(token)

        @web.middleware
        async def corrupt(request, handler):
            response = await handler(request)
            value = response.headers.get(hdrs.WWW_AUTHENTICATE, "")
            if self.corrupt_reply and value.startswith("Negotiate "):
                raw = bytearray(base64.b64decode(value.split()[1]))
                raw[-3] ^= 0x01
                response.headers[hdrs.WWW_AUTHENTICATE] = (
                    "Negotiate " + base64.b64encode(bytes(raw)).decode()
                )
            return response

        async def whoami(request: web.Request) -> web.Response:
            return web.json_response({"principal": request["principal"]})

        async def public(request: web.Request) -> web.Response:
            return web.json_response({"public": True})

        app = web.Application(
            middlewares=[
                corrupt,
                negotiate_middleware(
                    Recording(),  # type: ignore[arg-type]
                    lambda r: r.path.startswith("/admin/"),
                    admins,
                ),
            ]
        )
        app.router.add_get("/admin/whoami", whoami)
        app.router.add_get("/public", public)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
