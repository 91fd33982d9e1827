"""has-server start-up against a store that may not be there yet: bind first, retry, recover.

Several HAS nodes share one MySQL database, and the database is often started by the
same automation, at the same time, or is simply down for maintenance when a node
(re)starts. A node that refused to start then would turn one outage into two. So:

* A **configuration error** (access denied, unknown database, a schema newer than
  this has-kdc, TLS refused) is final: retrying cannot fix it, and an operator must
  read it. ``open_backend_with_retry`` raises it at once, ``StoreStartup`` makes
  has-server stop with that message.
* **Unreachable** (``BackendUnavailable``: connection refused, timeouts, a busy or
  read-only server) is temporary. The KDC ports are bound anyway and answer
  KRB-ERROR 29 (KDC_ERR_SVC_UNAVAILABLE), which MIT clients take as "try the next
  KDC"; the store is tried again with exponential backoff (0.5 s doubling to 30 s by
  default), one clear line per attempt::

      MySQL at db1:3306/has unreachable: (2003, "Can't connect ..."); retrying in 4.0 s

  When the store answers, the node registers itself (``register_node``), creates its
  ``HTTP/<host>@REALM`` once the realm is initialized (``ensure_node_principals``)
  and the KDC starts answering within a second (its realm gate and principal cache
  poll the store once a second), without a restart.

Once registered, the node writes a heartbeat every ``HEARTBEAT_INTERVAL`` (10 s)
seconds: its last-seen time and a small status (KDC requests per second, errors,
whether the KDC serves from memory, the database host in use), which
``hadmin-local nodes``, ``kdcinit nodes`` and the admin page show for every node
(``has_kdc/admin/cluster.py``). A heartbeat that cannot be written (no database host
answers) is logged once per outage and tried again at the next one.

KDC workers must not touch the store while they start (they would fail, and the
supervisor would give up on them): ``open_backend_deferred`` gives them a MySQL
backend that connects on first use and reconnects by itself after a loss.

How has-server uses this (``has_kdc/cli/has_server.py``)::

    startup = node_startup(conf, server_conf, services, counters)   # a StoreStartup
    startup.first_attempt()        # config error: raises BackendError; unreachable: logs
    run_workers(..., on_ready=lambda: (on_ready(), startup.start_background()))
    startup.stop()
    startup.raise_fatal()          # a config error found later by the retries
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from has_kdc import __version__
from has_kdc.admin import Actor, ensure_node_principals, is_initialized, os_actor, register_node
from has_kdc.admin.cluster import HEARTBEAT_INTERVAL, kdc_view, node_status
from has_kdc.backend import BackendError, BackendUnavailable, IdentityBackend, open_backend
from has_kdc.backend.hosts import format_address
from has_kdc.conf import BackendConfig, ConfDir, HasServerConfig
from has_kdc.node.realm_view import kdc_port

__all__ = [
    "DEFAULT_INITIAL_DELAY",
    "DEFAULT_MAXIMUM_DELAY",
    "NodeCounters",
    "StoreStartup",
    "node_startup",
    "open_backend_deferred",
    "open_backend_with_retry",
    "store_location",
]

DEFAULT_INITIAL_DELAY = 0.5
DEFAULT_MAXIMUM_DELAY = 30.0

_log = logging.getLogger("has_kdc.server")


def store_location(config: BackendConfig) -> str:
    """``MySQL at host:port[,host:port...]/database`` or ``SQLite database FILE``."""
    if config.kind == "mysql":
        hosts = ",".join(format_address(h, p) for h, p in config.database_hosts())
        return f"MySQL at {hosts}/{config.mysql_database}"
    return f"SQLite database {config.sqlite_path}"


def _reason(config: BackendConfig, exc: BaseException) -> str:
    """The part of a backend message after its own "cannot reach <where>: " prefix."""
    text = str(exc)
    where = store_location(config)
    for prefix in (f"cannot reach {where}: ", f"cannot connect to {where}: ", f"{where}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def open_backend_with_retry(
    config: BackendConfig,
    *,
    log: logging.Logger = _log,
    stop_event: threading.Event,
    initial: float = DEFAULT_INITIAL_DELAY,
    maximum: float = DEFAULT_MAXIMUM_DELAY,
    migrate: bool = True,
    opener: Callable[..., IdentityBackend] | None = None,
) -> IdentityBackend | None:
    """Open the store, waiting with backoff while it is unreachable; None once stopped.

    ``BackendUnavailable`` is logged (WARNING, with the next delay) and retried after
    ``initial`` seconds, doubling up to ``maximum``; any other ``BackendError`` is a
    configuration problem and is raised at once. ``stop_event`` ends the waiting.
    ``opener`` (default ``open_backend``) is what is tried.
    """
    if initial <= 0 or maximum < initial:
        raise ValueError(f"retry delays must satisfy 0 < initial <= maximum ({initial}, {maximum})")
    open_store = opener if opener is not None else open_backend
    delay = initial
    first_failure: float | None = None
    where = store_location(config)
    while not stop_event.is_set():
        try:
            backend = open_store(config, migrate=migrate)
        except BackendUnavailable as exc:
            if first_failure is None:
                first_failure = time.monotonic()
            log.warning(
                "%s unreachable: %s; retrying in %.1f s", where, _reason(config, exc), delay
            )
            if stop_event.wait(delay):
                return None
            delay = min(maximum, delay * 2)
            continue
        if first_failure is not None:
            log.info("%s reachable after %.1f s", where, time.monotonic() - first_failure)
        return backend
    return None


def open_backend_deferred(config: BackendConfig) -> IdentityBackend:
    """The store for a KDC worker, without touching the database now.

    MySQL: the backend object only (it connects on first use, reconnects after a
    loss, and says ``BackendUnavailable`` meanwhile, which the KDC answers with
    error 29). The schema is created or checked by ``StoreStartup``, not by every
    worker. SQLite is a local file: opened as usual.
    """
    if config.kind == "mysql":
        from has_kdc.backend.mysql import MysqlBackend

        return MysqlBackend.from_config(config)
    return open_backend(config)


class StoreStartup:
    """This node's start-up work in the shared store: schema, registration, HTTP principal.

    ``first_attempt()`` runs it once, synchronously, before the KDC binds: a
    configuration error raises (has-server exits 1 with the message), an unreachable
    store is logged and left to ``start_background()``, which retries in a daemon
    thread with backoff once the listeners are up. A configuration error met by the
    thread (e.g. the database came up with other grants) is logged, kept in
    ``fatal`` and stops the server with SIGTERM to this process; ``raise_fatal()``
    then turns it into has-server's exit status.

    ``register(backend)`` records the node (default `register_node` of kdc_host alone;
    has-server passes one that also stores the node's ports and SPNEGO principals).
    Registration and principal creation are audited changes by ``actor`` (default: the
    local user, via ``has-server``).
    ``service_principals``: the node's other SPNEGO principals (``HTTP/<https_host>``,
    has-server.conf's ``kerberos_principal``), created with ``HTTP/<kdc_host>`` once
    the realm is initialized.

    ``kdc_status()`` gives the heartbeat its KDC part: request, error and database
    error totals (``kdc_requests``, ``kdc_errors``, ...) and the KDC's state
    (``has_kdc.admin.cluster.kdc_view``). Without it no heartbeat is written.
    """

    def __init__(
        self,
        conf: ConfDir,
        *,
        log: logging.Logger = _log,
        initial: float = DEFAULT_INITIAL_DELAY,
        maximum: float = DEFAULT_MAXIMUM_DELAY,
        on_fatal: Callable[[BackendError], None] | None = None,
        register: Callable[[IdentityBackend], None] | None = None,
        service_principals: Sequence[str] = (),
        actor: Actor | None = None,
        kdc_status: Callable[[], Mapping[str, Any]] | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> None:
        self.conf = conf
        self.service_principals = tuple(service_principals)
        self.actor = actor if actor is not None else os_actor("has-server")
        self._register_node = register or self._register_alone
        self.log = log
        self.initial = initial
        self.maximum = maximum
        self.fatal: BackendError | None = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_fatal = on_fatal or self._terminate
        self._kdc_status = kdc_status
        self.heartbeat_interval = heartbeat_interval
        self._beat_backend: IdentityBackend | None = None
        self._last_beat: tuple[float, int] | None = None
        self._beat_failing = False
        self._deregistered = False

    @property
    def where(self) -> str:
        return store_location(self.conf.backend)

    def _register_alone(self, backend: IdentityBackend) -> None:
        register_node(backend, self.conf.kdc, self.actor, host=self.conf.kdc.kdc_host)

    def _register(self, backend: IdentityBackend) -> None:
        kdc = self.conf.kdc
        self._register_node(backend)
        if ensure_node_principals(
            backend, kdc, kdc.kdc_host, self.service_principals, actor=self.actor
        ):
            names = dict.fromkeys(
                [f"HTTP/{kdc.kdc_host}@{kdc.kdc_realm}", *self.service_principals]
            )
            self.log.info("created the missing of %s for this node", ", ".join(names))
        if not is_initialized(backend):
            self.log.warning(
                "realm %s is not initialized yet: KDC requests get KDC_ERR_SVC_UNAVAILABLE "
                "until 'kdcinit <conf_dir> init -p DIR' runs on any node",
                kdc.kdc_realm,
            )

    def first_attempt(self) -> bool:
        """One try now: True when done; False when the store is unreachable (logged).

        Raises ``BackendError`` (not ``BackendUnavailable``) for configuration errors.
        """
        try:
            backend = open_backend(self.conf.backend)
            try:
                self._register(backend)
            finally:
                backend.close()
        except BackendUnavailable as exc:
            self.log.warning(
                "%s unreachable: %s; the KDC starts anyway and answers KDC_ERR_SVC_UNAVAILABLE "
                "until it is reachable (retrying in %.1f s, then with backoff up to %.0f s)",
                self.where,
                _reason(self.conf.backend, exc),
                self.initial,
                self.maximum,
            )
            return False
        self.done.set()
        return True

    def start_background(self) -> None:
        """Retry in a daemon thread until done, then write heartbeats until stopped."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._background, name="has-kdc-store-startup", daemon=True
        )
        self._thread.start()

    def _background(self) -> None:
        if not self.done.is_set():
            self._retry_loop()
        if self.done.is_set() and self._kdc_status is not None:
            self._heartbeats()

    def _heartbeats(self) -> None:
        try:
            while not self._stop.is_set():
                self.heartbeat()
                if self._stop.wait(self.heartbeat_interval):
                    return
        except Exception:  # a bug must not pass silently in a daemon thread
            self.log.exception("heartbeats stopped")
        finally:
            if self._beat_backend is not None:
                self._beat_backend.close()

    def heartbeat(self) -> bool:
        """Write one heartbeat now; False (logged once per outage) if it could not be."""
        assert self._kdc_status is not None
        kdc = dict(self._kdc_status())
        now, total = time.monotonic(), int(kdc.get("kdc_requests", 0))
        rate = 0.0
        if self._last_beat is not None and now > self._last_beat[0]:
            rate = max(0, total - self._last_beat[1]) / (now - self._last_beat[0])
        self._last_beat = (now, total)
        try:
            if self._beat_backend is None:
                self._beat_backend = open_backend_deferred(self.conf.backend)
            backend = self._beat_backend
            host = getattr(backend, "current_host", "")
            if host is None:  # not connected yet: connect, to say which host is used
                backend.schema_version()
                host = getattr(backend, "current_host", None)
            status = node_status(
                kdc,
                requests_per_second=rate,
                database_host=host or None,
                schema_version=backend.latest_schema_version,
                version=__version__,
            )
            registered = backend.record_node_status(self.conf.kdc.kdc_host, status)
        except BackendError as exc:
            if not self._beat_failing:
                self.log.warning("cannot write this node's heartbeat: %s", exc)
            self._beat_failing = True
            return False
        if self._beat_failing:
            self.log.info("heartbeats written again")
        self._beat_failing = False
        if not registered and not self._deregistered:
            self.log.warning(
                "this node (%s) is no longer registered (removed with delnode?): client "
                "configs do not list it and its heartbeats are not recorded; restarting "
                "has-server registers it again",
                self.conf.kdc.kdc_host,
            )
        self._deregistered = not registered
        return registered

    def _retry_loop(self) -> None:
        delay = self.initial
        try:
            if not self._stop.wait(self.initial):
                while not self._stop.is_set():
                    backend = open_backend_with_retry(
                        self.conf.backend,
                        log=self.log,
                        stop_event=self._stop,
                        initial=delay,
                        maximum=self.maximum,
                    )
                    if backend is None:
                        return
                    try:
                        self._register(backend)
                    except BackendUnavailable as exc:
                        self.log.warning(
                            "%s lost during start-up: %s; retrying in %.1f s",
                            self.where,
                            _reason(self.conf.backend, exc),
                            delay,
                        )
                        if self._stop.wait(delay):
                            return
                        delay = min(self.maximum, delay * 2)
                        continue
                    finally:
                        backend.close()
                    self.log.info("%s: node %s registered", self.where, self.conf.kdc.kdc_host)
                    self.done.set()
                    return
        except BackendError as exc:
            self.fatal = exc
            self.log.error("has-server: %s; stopping", exc)
            self._on_fatal(exc)
        except Exception:  # a bug must not pass silently in a daemon thread
            self.log.exception("store start-up failed")

    @staticmethod
    def _terminate(_exc: BackendError) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    def stop(self, timeout: float = 5.0) -> None:
        """End the retries (at shutdown); waits for the thread at most ``timeout`` s."""
        self._stop.set()
        if self._thread is not None:
            with contextlib.suppress(RuntimeError):
                self._thread.join(timeout)

    def raise_fatal(self) -> None:
        """Raise the configuration error the background retries met, if any."""
        if self.fatal is not None:
            raise self.fatal


class NodeCounters(Protocol):
    """What a heartbeat reports of the KDC (`has_kdc.kdc.counters.KdcCounters`)."""

    def summary(self) -> dict[str, int]: ...
    def store_states(self) -> list[tuple[float | None, float | None]]: ...


def node_startup(
    conf: ConfDir,
    server: HasServerConfig | None,
    services: Sequence[str],
    counters: NodeCounters,
) -> StoreStartup:
    """has-server's `StoreStartup`: the node registered with its KDC port, its HTTPS
    port (when it serves HTTPS) and its SPNEGO principals ``services``, on behalf of
    the local user via ``has-server``; heartbeats carry ``counters``' totals."""
    kdc = conf.kdc
    actor = os_actor("has-server")
    ports = (kdc_port(kdc), server.https_port) if server is not None else None

    def register(backend: IdentityBackend) -> None:
        register_node(backend, kdc, actor, host=kdc.kdc_host, ports=ports, principals=services)

    def kdc_status() -> dict[str, object]:
        view = kdc_view(counters.store_states(), kdc.stale_ok, time.time())
        return {**counters.summary(), **view}

    return StoreStartup(
        conf,
        register=register,
        service_principals=services,
        actor=actor,
        kdc_status=kdc_status,
    )
