"""Everything the handlers share: the node's service, metrics, the auth slot, the KDC state.

One `WebContext` per web server, stored in the aiohttp application under
``CONTEXT``. Handlers run blocking work (database queries, file writes) through
``await context.run(fn, ...)`` on a small thread pool, so the event loop that serves
HTTPS never waits on MySQL.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiohttp import web

from has_kdc.admin import admin_principal_name
from has_kdc.kdc.counters import KdcCounters
from has_kdc.node.service import HasService
from has_kdc.web.auth import Authenticator, request_is_local
from has_kdc.web.connlimits import ConnectionGate
from has_kdc.web.metrics import HttpMetrics
from has_kdc.web.setup_window import SetupWindow

__all__ = ["CONTEXT", "WebContext"]

T = TypeVar("T")

#: the application key under which create_app stores the WebContext
CONTEXT: web.AppKey[WebContext] = web.AppKey("has_context")

#: Threads for blocking work: a database round trip each; a handful is plenty for
#: an admin API and keeps a hung database from eating the process.
DEFAULT_THREADS = 4


class WebContext:
    """The web server's shared state; see the module docstring."""

    def __init__(
        self,
        service: HasService,
        *,
        kdc_listening: Callable[[], bool] = lambda: False,
        kdc_counters: KdcCounters | None = None,
        authenticator: Authenticator | None = None,
        admin_principals: Iterable[str] | None = None,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        self.service = service
        self.kdc_listening = kdc_listening
        self.kdc_counters = kdc_counters
        #: the authentication slot (filter_auth_type = kerberos installs SPNEGO here)
        self.authenticator = authenticator
        self._admin_principals = frozenset(admin_principals) if admin_principals else None
        self.http_metrics = HttpMetrics()
        #: kdcinit and conf/* before the realm exists (has_kdc.web.setup_window)
        self.setup_window = SetupWindow(service)
        #: whether a request comes from this node itself (it sees /health in full)
        self.is_local: Callable[[web.Request], bool] = request_is_local
        #: the HTTPS connection counts of the running server (has_kdc.web.connlimits)
        self.connections: ConnectionGate | None = None
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="has-web")
        #: what else to stop with the context (e.g. the TGT endpoint's hash pool)
        self.on_close: list[Callable[[], None]] = []

    def admin_principals(self) -> frozenset[str]:
        """Who is an administrator: the list given to the context, else kadmin/REALM@REALM,
        has-server.conf's ``admin_keytab_principal`` and its ``admin_principals`` list
        (read as the file is now, so an edit applies without a restart)."""
        if self._admin_principals is not None:
            return self._admin_principals
        conf = self.service.server_conf()
        realm = self.service.conf.kdc.kdc_realm
        names = {admin_principal_name(realm)}
        if conf.admin_keytab_principal:
            names.add(conf.admin_keytab_principal)
        names.update(conf.admin_principals)
        return frozenset(names)

    async def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run blocking ``fn`` on the context's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def database_error(self) -> None:
        self.http_metrics.database_errors += 1

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        for close in self.on_close:
            close()
        self.service.close()
