"""Worker processes sharing the KDC ports with SO_REUSEPORT, under the supervisor.

The KDC under test runs in a child Python process started by the test (the
supervisor installs signal handlers and blocks, as `has-server` will). Its stand-in
handler answers every request with the PID of the worker that served it, so the
test can see which processes serve and which are new.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from has_kdc.net import KdcHandlers, Transport, encode_record, run_workers
from tests.mitkrb import free_port

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0


def answer_with_pid(request: bytes, transport: Transport, peer: str | None = None) -> bytes:
    return b"%d" % os.getpid()


def pid_handlers() -> KdcHandlers:
    """The factory each worker calls (module-level, so "spawn" can pickle it)."""
    return KdcHandlers(handle=answer_with_pid)


def failing_handlers() -> KdcHandlers:
    raise ConnectionRefusedError("database at db.example:3306 refused the connection")


SUPERVISOR_SCRIPT = """
import logging, sys
from has_kdc.net import run_workers
import tests.test_net_workers as t
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
n, port, method, factory = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
run_workers(n, getattr(t, factory), host="127.0.0.1", udp_port=port, tcp_port=port,
            start_method=method, on_ready=lambda: print("READY", flush=True),
            shutdown_timeout=3.0)
print("STOPPED", flush=True)
"""


@contextmanager
def supervisor(
    n: int, port: int, method: str = "fork", factory: str = "pid_handlers"
) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR_SCRIPT, str(n), str(port), method, factory],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "READY":
        process.kill()
        _, err = process.communicate(timeout=TIMEOUT)
        pytest.fail(f"supervisor did not become ready: {line!r}\n{err}")


def udp_pids(port: int, requests: int = 64) -> set[int]:
    """PIDs seen by ``requests`` datagrams, each from its own source port."""
    pids = set()
    for _ in range(requests):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.sendto(b"ask", ("127.0.0.1", port))
            pids.add(int(sock.recv(100)))
    return pids


def tcp_pids(port: int, connections: int = 32) -> set[int]:
    pids = set()
    for _ in range(connections):
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(encode_record(b"ask"))
            data = b""
            while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
                chunk = sock.recv(100)
                assert chunk, "connection closed before the reply"
                data += chunk
            pids.add(int(data[4:]))
    return pids


def children_of(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def wait_for(condition, timeout: float = TIMEOUT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail("condition not met in time")


def test_two_workers_share_udp_and_tcp_ports_restart_and_stop_cleanly() -> None:
    port = free_port()
    with supervisor(2, port) as process:
        wait_ready(process)
        workers = children_of(process.pid)
        assert len(workers) == 2
        assert udp_pids(port) == workers
        assert tcp_pids(port) == workers

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for(lambda: len(children_of(process.pid) - {victim}) == 2)
        assert replaced
        new_workers = children_of(process.pid)
        assert victim not in new_workers
        assert wait_for(lambda: udp_pids(port) == new_workers)

        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.read().strip() == "STOPPED"
        log = process.stderr.read()
        assert "exited with signal SIGKILL" in log
        for pid in new_workers:  # reaped: no process, not even a zombie
            assert not Path(f"/proc/{pid}").exists()
        # The ports are free again.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", port))


def test_sigint_stops_all_workers() -> None:
    port = free_port()
    with supervisor(2, port) as process:
        wait_ready(process)
        workers = children_of(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(TIMEOUT) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists()


def test_one_worker_runs_in_process() -> None:
    port = free_port()
    with supervisor(1, port) as process:
        wait_ready(process)
        assert children_of(process.pid) == set()
        assert udp_pids(port, 4) == {process.pid}
        assert tcp_pids(port, 2) == {process.pid}
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0


def test_spawned_workers_build_their_handlers_themselves() -> None:
    port = free_port()
    with supervisor(2, port, method="spawn") as process:
        wait_ready(process)
        workers = children_of(process.pid)
        # multiprocessing's spawn start method adds a resource tracker process.
        serving = udp_pids(port)
        assert len(serving) == 2 and serving <= workers
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0


def test_port_taken_without_reuseport_fails_the_start_with_the_reason() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        with supervisor(2, port) as process:
            _, err = process.communicate(timeout=TIMEOUT)
            assert process.returncode != 0
            assert "NetBindError" in err
            assert f"UDP 127.0.0.1 port {port}" in err


def test_failing_handler_factory_fails_the_start_without_restart_loop() -> None:
    port = free_port()
    with supervisor(2, port, factory="failing_handlers") as process:
        _, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode != 0
        assert "WorkerStartupError" in err
        assert "database at db.example:3306 refused" in err


def test_worker_count_and_shared_port_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_workers(0, pid_handlers, udp_port=88)
    with pytest.raises(ValueError, match="fixed ports"):
        run_workers(2, pid_handlers, host="127.0.0.1", udp_port=0, tcp_port=0)
