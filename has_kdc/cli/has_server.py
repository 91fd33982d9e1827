"""``has-server <conf_dir>``: run this node's HTTPS service and KDC until SIGTERM or SIGINT.

Start-up, in order: read kdc.conf, backend.conf and has-server.conf (a wrong value
stops here with ``file:line: what is wrong``), open the identity store once to check
it, register this node with its KDC and HTTPS ports, start the HTTPS service on
``https_host:https_port`` (and plain HTTP only when has-server.conf sets
``http_host``/``http_port``), then bind ``kdc_host`` on ``kdc_udp_port``/``kdc_tcp_port``
with ``--workers`` processes. Without has-server.conf only the KDC runs. The password
change service (kpasswd, RFC 3244) runs beside the KDC on ``kpasswd_port`` (464) or
``kpasswd_listen``, on a thread of this process (`has_kdc.kpasswd.server`).

HTTPS needs the node's PEM certificate and key: ``ssl_cert_file``/``ssl_key_file`` in
has-server.conf, or ``server.pem``/``server.key`` in the conf_dir, which
``kdcinit <conf_dir> certs`` creates (with the cluster CA). The web server runs on a
thread of the main process (as kpasswd does), so with ``--workers N > 1`` the KDC workers
are started with the "spawn" method, and HTTPS is served once, by the supervising process.

Logs go to stderr, or to ``--log-file`` (else kdc.conf's ``log_file``); with
``--daemon`` and neither, to ``has-server.log`` in the work_dir (``has-server
CONF_DIR WORK_DIR`` as HAS's start-has.sh takes them, or ``HAS_CONF_DIR`` and
``HAS_WORK_DIR``; `has_kdc.cli.has_dirs`), else in the data_dir.

``--daemon`` detaches (double fork, new session, stdio on /dev/null). The parent waits
on a pipe and exits 0 only once the listeners are bound and the pidfile is written
(atomically, 0644), so ``has-server CONF --daemon --pidfile F && kinit ...`` works.
If start-up fails it exits 1 with the reason.

With ``filter_auth_type = kerberos`` (HAS's default) the admin endpoints take HTTP
Negotiate (SPNEGO): the acceptor holds no keytab but reads the node's service keys
from the identity store, for the principals `node_service_principals` names
(``HTTP/<https_host>``, ``HTTP/<kdc_host>`` and has-server.conf's
``kerberos_principal`` list), with one replay cache per process and kdc.conf's clock
skew. Those principals are recorded with the node's registration, created by
``init`` (or at start-up, once the realm is initialized), and admit only
``kadmin/REALM@REALM`` plus has-server.conf's ``admin_principals``.

A realm that is not initialized yet does not stop the server (HAS starts servers
first, then runs init): until any node initializes the realm, every AS/TGS request
gets KRB-ERROR KDC_ERR_SVC_UNAVAILABLE (29) — a prompt answer that makes MIT
clients try their next KDC instead of timing out — and anything else gets no
answer. Each worker checks the shared ``initialized`` entry at most once a second
while waiting (`has_kdc.node.realm_gate`), and not at all afterwards; so a node
answers within about a second of ``kdcinit init`` on any node, without a restart.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from has_kdc.admin import (
    AdminError,
    admin_principal_name,
    node_service_principals,
)
from has_kdc.backend import BackendError
from has_kdc.cli.has_dirs import server_dirs
from has_kdc.conf import (
    HAS_SERVER_CONF,
    ConfDir,
    ConfigError,
    HasServerConfig,
    load_conf_dir,
    read_has_server_conf,
)
from has_kdc.fileio import PUBLIC_MODE, write_atomic
from has_kdc.gss import Acceptor, BackendKeys, Krb5Acceptor, ReplayCache
from has_kdc.kdc.counters import KdcCounters
from has_kdc.kdc.handler import send_request_lines_to
from has_kdc.kpasswd.server import KpasswdServer
from has_kdc.logbuffer import BatchedLogHandler
from has_kdc.net import KdcHandlers, NetBindError, WorkerStartupError, run_workers
from has_kdc.node.backend_startup import node_startup, open_backend_deferred
from has_kdc.node.realm_gate import kdc_handlers
from has_kdc.web import (
    HasService,
    WebContext,
    WebServer,
    WebServerThread,
    WebStartupError,
    node_ssl_context,
)
from has_kdc.web.negotiate import NegotiateAuthenticator
from has_kdc.web.tgt_api import TgtService, tgt_routes

__all__ = ["main", "make_handlers", "negotiate_authenticator"]

log = logging.getLogger("has_kdc.server")


def make_handlers(
    conf_dir: str,
    counters_path: str | None = None,
    log_file: str | None = None,
    log_level: str = "INFO",
) -> KdcHandlers:
    """Each worker's KDC over its own backend connection (module-level: picklable).

    ``counters_path`` is the supervisor's `KdcCounters` file: the worker claims a row
    of it, and the web server reports the sum as metrics. A worker started with
    "spawn" inherits no logging set-up, so it sets up its own (``log_file`` or stderr).
    """
    if not logging.getLogger().handlers:
        _setup_logging(Path(log_file) if log_file else None, log_level)
    conf = load_conf_dir(conf_dir)
    counters = KdcCounters.attach(counters_path) if counters_path else None
    return kdc_handlers(conf, counters)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="has-server",
        description="Run the HAS node: HTTPS REST API (/has/v1) and Kerberos KDC (UDP and TCP).",
        epilog="Certificates: 'kdcinit CONF_DIR certs' creates the cluster CA and this "
        "node's server.pem/server.key.",
    )
    parser.add_argument(
        "conf_dir",
        nargs="?",
        help="HAS conf_dir holding kdc.conf, backend.conf and has-server.conf "
        "(default: $HAS_CONF_DIR)",
    )
    parser.add_argument(
        "work_dir", nargs="?", help="HAS's work_dir: the --daemon log goes here (or $HAS_WORK_DIR)"
    )
    parser.add_argument("--daemon", action="store_true", help="detach once listening")
    parser.add_argument("--pidfile", metavar="FILE", help="write the server's pid here")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="KDC processes")
    parser.add_argument("--log-file", metavar="FILE", help="log here instead of stderr")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="default INFO",
    )
    return parser


def _setup_logging(log_file: Path | None, level: str) -> None:
    """One batched handler (``has_kdc.logbuffer``) for every record, and the KDC's
    request lines straight into it: the lines are the same, the per-request
    LogRecord, formatting and flush are not."""
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = BatchedLogHandler.to_file(log_file)
    else:
        handler = BatchedLogHandler(sys.stderr, close_stream=False)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    send_request_lines_to(handler.lines_of("has_kdc.kdc", "INFO"))


def _read_server_conf(conf: ConfDir) -> HasServerConfig | None:
    """has-server.conf of the conf_dir, or None (KDC only) when there is none."""
    path = conf.path / HAS_SERVER_CONF
    if not path.exists():
        log.warning("%s does not exist: serving the KDC only, no HTTPS", path)
        return None
    return read_has_server_conf(path)


class _StoreKeys:
    """`BackendKeys` over the web service's store, opened at first use (the store may
    be down when has-server starts; a lookup then fails with 503, not a crash)."""

    def __init__(self, service: HasService) -> None:
        self._service = service

    def get_principal(self, name: str) -> object:
        return self._service.backend().get_principal(name)


def negotiate_authenticator(context: WebContext, services: Sequence[str]) -> NegotiateAuthenticator:
    """SPNEGO for the admin endpoints: this node's ``services``, keys from the store."""
    skew = context.service.conf.kdc.clock_skew
    krb5 = Krb5Acceptor(
        BackendKeys(_StoreKeys(context.service)),
        services=services,
        replay_cache=ReplayCache(skew),
        skew=skew,
    )
    return NegotiateAuthenticator(Acceptor(krb5), run=context.run)


def _web_server(
    conf: ConfDir,
    server_conf: HasServerConfig,
    counters: KdcCounters,
    kdc_ready: threading.Event,
    services: Sequence[str] = (),
) -> WebServerThread:
    ssl_context = node_ssl_context(server_conf, conf.path)
    context = WebContext(
        HasService(conf.path, conf),
        kdc_listening=kdc_ready.is_set,
        kdc_counters=counters,
    )
    if server_conf.filter_auth_type == "kerberos":
        context.authenticator = negotiate_authenticator(context, services)
        log.info("admin endpoints take Kerberos (SPNEGO) for %s", ", ".join(services))
    # TGT over HTTPS (PUT /has/v1?type=<auth_type>): has_kdc.web.tgt_api
    routes = tgt_routes(TgtService.for_context(context))
    return WebServerThread(WebServer(context, server_conf, ssl_context, extra_routes=routes))


def _admins(conf: ConfDir) -> Callable[[], frozenset[str]]:
    """Who may set others' passwords over kpasswd: the HTTPS admins (has-server.conf now)."""

    def read() -> frozenset[str]:
        names = {admin_principal_name(conf.kdc.kdc_realm)}
        with contextlib.suppress(ConfigError, OSError):
            server_conf = _read_server_conf(conf)
            if server_conf is not None:
                if server_conf.admin_keytab_principal:
                    names.add(server_conf.admin_keytab_principal)
                names.update(server_conf.admin_principals)
        return frozenset(names)

    return read


def _serve(conf: ConfDir, options: argparse.Namespace, on_ready: Callable[[], None]) -> None:
    kdc = conf.kdc
    server_conf = _read_server_conf(conf)
    log.info(
        "has-server starting: realm %s, %s udp %s tcp %s, %d worker(s)%s",
        kdc.kdc_realm,
        kdc.kdc_host,
        kdc.kdc_udp_port,
        kdc.kdc_tcp_port,
        options.workers,
        f", https {server_conf.https_host}:{server_conf.https_port}" if server_conf else "",
    )
    if server_conf is not None and server_conf.enable_conf:
        log.warning(
            "enable_conf = true in %s: until the realm is initialized, kdcinit and the "
            "configuration endpoints accept HTTPS requests that carry this node's one-time "
            "setup token; once it is initialized, only administrators (SPNEGO)",
            conf.path / HAS_SERVER_CONF,
        )
    try:
        services = node_service_principals(kdc, server_conf)
    except AdminError as exc:
        raise ConfigError(str(exc), str(conf.path / HAS_SERVER_CONF)) from None

    # One row per worker, plus room for restarted workers while a dead one's pid lingers.
    counters = KdcCounters.create(options.workers * 2 + 1)
    startup = node_startup(conf, server_conf, services, counters)
    try:
        startup.first_attempt()
    except BaseException:
        counters.close()
        raise
    kdc_ready = threading.Event()
    web = None
    kpasswd = KpasswdServer(kdc, open_backend_deferred(conf.backend), admins=_admins(conf))
    try:
        kpasswd.start()
        if server_conf is not None:
            web = _web_server(conf, server_conf, counters, kdc_ready, services)
            web.start()

        def ready() -> None:
            kdc_ready.set()
            on_ready()
            startup.start_background()

        run_workers(
            options.workers,
            functools.partial(
                make_handlers,
                str(conf.path),
                str(counters.path),
                str(options.log_path) if options.log_path else None,
                options.log_level,
            ),
            host=kdc.kdc_host,
            udp_port=kdc.kdc_udp_port,
            tcp_port=kdc.kdc_tcp_port,
            on_ready=ready,
            # Forking while the kpasswd (and web) thread runs could copy their held locks.
            start_method="spawn" if options.workers > 1 else "fork",
        )
    finally:
        startup.stop()
        kdc_ready.clear()
        kpasswd.stop()
        if web is not None:
            web.stop()
        counters.close()
    startup.raise_fatal()
    log.info("has-server stopped")


def _write_pidfile(path: str | None) -> None:
    if path:
        write_atomic(path, f"{os.getpid()}\n", mode=PUBLIC_MODE)


def _remove_pidfile(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):
            if Path(path).read_text().strip() == str(os.getpid()):
                os.unlink(path)


_STARTUP_ERRORS = (
    ConfigError,
    BackendError,
    NetBindError,
    WorkerStartupError,
    WebStartupError,
    OSError,
    ValueError,
)


def _run_foreground(conf: ConfDir, options: argparse.Namespace) -> int:
    try:
        _serve(conf, options, lambda: _write_pidfile(options.pidfile))
    except _STARTUP_ERRORS as exc:
        log.error("has-server: %s", exc)
        return 1
    finally:
        _remove_pidfile(options.pidfile)
    return 0


def _run_daemon(conf: ConfDir, options: argparse.Namespace) -> int:
    """Double fork; the first parent returns once the grandchild reports readiness."""
    ready_r, ready_w = os.pipe()
    if os.fork() > 0:
        os.close(ready_w)
        # One line, or EOF if the daemon died first. Forked KDC workers inherit the
        # write end, so EOF alone would never come while they run.
        data = b""
        while b"\n" not in data and (chunk := os.read(ready_r, 4096)):
            data += chunk
        os.close(ready_r)
        message = data.partition(b"\n")[0].decode(errors="replace")
        if message == "ready":
            return 0
        reason = message.removeprefix("error: ") or "exited before listening (see its log)"
        print(f"has-server: {reason}", file=sys.stderr)
        return 1
    # first child: new session, then fork again so the daemon is no session leader
    os.close(ready_r)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    os.umask(0o022)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    reported = False

    def report(text: str) -> None:
        nonlocal reported
        if reported:
            return
        reported = True
        with contextlib.suppress(OSError):
            os.write(ready_w, text.encode() + b"\n")
            os.close(ready_w)

    def on_ready() -> None:
        _write_pidfile(options.pidfile)
        report("ready")

    status = 0
    try:
        _serve(conf, options, on_ready)
    except _STARTUP_ERRORS as exc:
        log.error("has-server: %s", exc)
        report(f"error: {exc}")
        status = 1
    except BaseException as exc:
        log.exception("has-server failed")
        report(f"error: {type(exc).__name__}: {exc}")
        status = 1
    finally:
        _remove_pidfile(options.pidfile)
        report("")
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.workers < 1:
        print("has-server: --workers must be at least 1", file=sys.stderr)
        return 2
    # Absolute from here on: the daemon changes to / and workers reload the conf_dir.
    try:
        conf_path, work_dir = server_dirs(options.conf_dir, options.work_dir)
        options.conf_dir = str(conf_path)
        conf = load_conf_dir(options.conf_dir)
        server_path = conf.path / HAS_SERVER_CONF
        if server_path.exists():  # checked here too, so a wrong value fails before --daemon
            read_has_server_conf(server_path)
    except ConfigError as exc:
        print(f"has-server: {exc}", file=sys.stderr)
        return 2
    log_file = Path(options.log_file).absolute() if options.log_file else conf.kdc.log_file
    if log_file is None and options.daemon:
        log_file = (work_dir or conf.kdc.data_dir) / "has-server.log"
    options.log_path = log_file
    if options.pidfile:
        options.pidfile = str(Path(options.pidfile).absolute())
    try:
        _setup_logging(log_file, options.log_level)
    except OSError as exc:
        print(f"has-server: cannot open log file {log_file}: {exc}", file=sys.stderr)
        return 2
    if options.daemon:
        return _run_daemon(conf, options)
    # SIGTERM before the listeners are up must still stop cleanly (run_workers takes over).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _run_foreground(conf, options)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
