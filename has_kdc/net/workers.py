"""Worker processes that share the KDC ports with SO_REUSEPORT, under a supervisor.

One Python process answers on one core. To use them all, ``run_workers(n, ...)``
starts ``n`` processes; each binds the same UDP and TCP ports with SO_REUSEPORT
(the kernel spreads clients over them) and runs its own event loop with its own
handlers, made in the child by ``make_handlers()`` so that each opens its own
database connection. The parent binds nothing and serves nothing: it restarts a
worker that dies (with exponential backoff when it keeps dying), passes SIGTERM and
SIGINT on to the workers, and returns once they are all gone.

Start method. "fork" is the default: a worker is up in milliseconds and the factory
needs no pickling. Fork copies the parent's memory but only the calling thread, so
a lock held by another thread stays locked forever in the child; ``run_workers``
therefore refuses "fork" while other threads run, and the parent must not open
database connections or sockets before it (the factory runs in the child). Pass
start_method="spawn" when the parent has threads: each worker then starts a fresh
interpreter and ``make_handlers`` must be picklable (a module-level function or a
``functools.partial`` of one).

With n == 1 nothing is started: the KDC runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal, cast

from has_kdc.net.dispatch import KdcHandlers
from has_kdc.net.limits import ListenerLimits
from has_kdc.net.listener import KdcListener, serve
from has_kdc.net.sockets import BindAddress, NetBindError, resolve_bind_addresses

log = logging.getLogger(__name__)

MakeHandlers = Callable[[], KdcHandlers]
StartMethod = Literal["fork", "spawn"]

#: First restart delay; doubled for each worker death that follows quickly.
RESTART_BACKOFF_START = 0.1
RESTART_BACKOFF_MAX = 30.0
#: A worker that lived this long before dying is restarted at once.
STABLE_UPTIME = 10.0
#: How often a worker checks that its parent still lives (an orphan must not keep
#: holding the KDC port after the supervisor was killed with SIGKILL).
PARENT_CHECK_INTERVAL = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerStartupError(RuntimeError):
    """A worker failed before any worker was serving: a configuration problem."""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What every worker needs to serve; picklable for the "spawn" start method."""

    make_handlers: MakeHandlers
    addresses: tuple[BindAddress, ...]
    udp_port: int | None
    tcp_port: int | None
    limits: ListenerLimits
    parent_pid: int


def run_workers(
    n: int,
    make_handlers: MakeHandlers,
    *,
    host: str | None = None,
    udp_port: int | None = None,
    tcp_port: int | None = None,
    limits: ListenerLimits | None = None,
    start_method: StartMethod = "fork",
    on_ready: Callable[[], None] | None = None,
    shutdown_timeout: float = 5.0,
) -> None:
    """Serve the KDC with ``n`` processes until SIGTERM or SIGINT; blocks.

    ``on_ready()`` is called (in this process) once every worker has bound its
    sockets. Raises NetBindError when the ports cannot be bound and
    WorkerStartupError when a worker fails before serving. Must be called from the
    main thread (it installs signal handlers).
    """
    if n < 1:
        raise ValueError(f"the number of KDC worker processes must be at least 1, not {n}")
    limits = limits or ListenerLimits()
    addresses = tuple(resolve_bind_addresses(host))
    if n == 1:
        asyncio.run(
            serve(
                make_handlers(),
                addresses=list(addresses),
                udp_port=udp_port,
                tcp_port=tcp_port,
                limits=limits,
                on_ready=(lambda _listener: on_ready()) if on_ready else None,
            )
        )
        return
    if 0 in (udp_port, tcp_port):
        raise ValueError("worker processes must share fixed ports; port 0 would differ per worker")
    spec = WorkerSpec(make_handlers, addresses, udp_port, tcp_port, limits, os.getpid())
    Supervisor(n, spec, start_method=start_method, shutdown_timeout=shutdown_timeout).run(on_ready)


@dataclass(slots=True)
class _Slot:
    """One worker position: the process in it now, and its restart history."""

    index: int
    process: BaseProcess | None = None
    ready_conn: Connection | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    ever_ready: bool = False


class Supervisor:
    """Starts ``n`` workers, restarts the ones that die, stops them all on a signal."""

    def __init__(
        self,
        n: int,
        spec: WorkerSpec,
        *,
        start_method: StartMethod = "fork",
        shutdown_timeout: float = 5.0,
    ) -> None:
        if start_method == "fork" and threading.active_count() > 1:
            raise RuntimeError(
                f"cannot fork KDC workers while {threading.active_count() - 1} other thread(s) "
                "run: a forked worker would inherit their locks held; start the workers "
                "before any thread, or use start_method='spawn'"
            )
        # get_context gives the context of that name, typed as the base that has no Process
        self._context = cast(
            "multiprocessing.context.DefaultContext", multiprocessing.get_context(start_method)
        )
        self._spec = spec
        self._slots = [_Slot(i) for i in range(n)]
        self._shutdown_timeout = shutdown_timeout
        self._pid = os.getpid()
        self._stop_signal: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    @property
    def worker_pids(self) -> list[int]:
        return [
            slot.process.pid
            for slot in self._slots
            if slot.process is not None and slot.process.pid is not None
        ]

    def stop(self) -> None:
        """Ask the supervisor to stop its workers and return (signal-safe)."""
        self._stop_signal = self._stop_signal or signal.SIGTERM
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            self._supervise(on_ready)
        finally:
            self._shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if os.getpid() != self._pid:
            # A worker forked but not yet past its own signal setup: just die.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self._stop_signal = signum
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")

    def _supervise(self, on_ready: Callable[[], None] | None) -> None:
        for slot in self._slots:
            self._start(slot)
        announced = False
        while self._stop_signal is None:
            now = time.monotonic()
            waitables: list[Any] = [self._wake_r]
            for slot in self._slots:
                if slot.process is not None:
                    waitables.append(slot.process.sentinel)
                if slot.ready_conn is not None:
                    waitables.append(slot.ready_conn)
            restarts = [s.restart_at for s in self._slots if s.restart_at is not None]
            timeout = max(0.0, min(restarts) - now) if restarts else None
            multiprocessing.connection.wait(waitables, timeout)
            if self._stop_signal is not None:
                break
            self._read_ready_messages()
            self._reap()
            self._restart_due()
            if not announced and all(slot.ever_ready for slot in self._slots):
                announced = True
                log.info("%d KDC worker processes serving: %s", len(self._slots), self.worker_pids)
                if on_ready is not None:
                    on_ready()
        if self._stop_signal is not None:
            log.info("signal %d: stopping KDC workers", self._stop_signal)

    def _start(self, slot: _Slot) -> None:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(self._spec, sender),
            name=f"has-kdc-worker-{slot.index}",
            daemon=False,
        )
        process.start()
        sender.close()
        slot.process = process
        slot.ready_conn = receiver
        slot.started_at = time.monotonic()
        slot.restart_at = None
        log.debug("KDC worker %d started, pid %s", slot.index, process.pid)

    def _read_ready_messages(self) -> None:
        for slot in self._slots:
            conn = slot.ready_conn
            if conn is None or not conn.poll():
                continue
            try:
                kind, detail = conn.recv()
            except (EOFError, OSError):
                conn.close()
                slot.ready_conn = None
                continue
            conn.close()
            slot.ready_conn = None
            if kind == "ready":
                slot.ever_ready = True
            elif not any(s.ever_ready for s in self._slots):
                error = NetBindError if kind == "bind-error" else WorkerStartupError
                raise error(f"KDC worker {slot.index} could not start: {detail}")
            else:
                log.error("KDC worker %d could not start: %s", slot.index, detail)

    def _reap(self) -> None:
        for slot in self._slots:
            process = slot.process
            if process is None or process.is_alive():
                continue
            process.join()
            if slot.ready_conn is not None:
                self._read_ready_messages()
            if slot.ready_conn is not None:
                slot.ready_conn.close()
                slot.ready_conn = None
            uptime = time.monotonic() - slot.started_at
            slot.process = None
            if not any(s.ever_ready for s in self._slots):
                raise WorkerStartupError(
                    f"KDC worker {slot.index} exited with {_exit_text(process.exitcode)} "
                    "before serving; see its log above"
                )
            slot.quick_deaths = 0 if uptime >= STABLE_UPTIME else slot.quick_deaths + 1
            delay = (
                0.0
                if slot.quick_deaths == 0
                else min(RESTART_BACKOFF_START * 2 ** (slot.quick_deaths - 1), RESTART_BACKOFF_MAX)
            )
            slot.restart_at = time.monotonic() + delay
            log.warning(
                "KDC worker %d (pid %s) exited with %s after %.1f s; restarting in %.1f s",
                slot.index,
                process.pid,
                _exit_text(process.exitcode),
                uptime,
                delay,
            )

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.restart_at is not None and slot.restart_at <= now:
                self._start(slot)

    def _shutdown(self) -> None:
        running = [s.process for s in self._slots if s.process is not None]
        for process in running:
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._shutdown_timeout
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in running:
            if process.is_alive():
                log.warning("KDC worker pid %s did not stop in time; killing it", process.pid)
                process.kill()
                process.join()
        for slot in self._slots:
            if slot.ready_conn is not None:
                slot.ready_conn.close()
                slot.ready_conn = None
            slot.process = None


def _exit_text(exitcode: int | None) -> str:
    if exitcode is None:
        return "no status"
    if exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"status {exitcode}"


def _worker_main(spec: WorkerSpec, ready: Connection) -> None:
    """Entry point of a worker process."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    try:
        handlers = spec.make_handlers()
    except Exception as exc:
        log.exception("KDC worker could not create its handlers")
        ready.send(("error", f"make_handlers failed: {type(exc).__name__}: {exc}"))
        raise SystemExit(3) from None
    try:
        asyncio.run(_worker_serve(spec, handlers, ready))
    except NetBindError as exc:
        ready.send(("bind-error", str(exc)))
        raise SystemExit(2) from None
    finally:
        ready.close()
        for handler in logging.getLogger().handlers:  # a batched log's last lines
            handler.flush()


async def _worker_serve(spec: WorkerSpec, handlers: KdcHandlers, ready: Connection) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_parent() -> None:
        if os.getppid() != spec.parent_pid:
            log.error("KDC supervisor is gone; worker %d stops", os.getpid())
            stop.set()
        else:
            loop.call_later(PARENT_CHECK_INTERVAL, watch_parent)

    def announce(_listener: KdcListener) -> None:
        for signum in STOP_SIGNALS:  # once serving, a stop is orderly: the log is flushed
            loop.add_signal_handler(signum, stop.set)
        ready.send(("ready", os.getpid()))

    loop.call_later(PARENT_CHECK_INTERVAL, watch_parent)
    await serve(
        handlers,
        addresses=list(spec.addresses),
        udp_port=spec.udp_port,
        tcp_port=spec.tcp_port,
        limits=spec.limits,
        reuse_port=True,
        on_ready=announce,
        stop_event=stop,
    )
