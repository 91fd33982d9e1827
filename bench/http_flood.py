"""Memory and time a has-server gives clients that hold HTTPS connections open.

Starts one has-server (tests/hasnode.py layout: SQLite, its own CA, realm initialized)
and measures, from /proc, the server's RSS:

- ``flood``: ``--connections`` (1,000) TLS connections opened at once, each sending a
  partial request (a request line and one header, no blank line) and then nothing;
  once from one client address, once spread over ``--addresses`` loopback addresses.
  RSS before, at the peak (all connections open or refused), and after every
  connection is gone; how many the server accepted, refused, and closed by itself.
- ``slow``: one client each that (a) connects and never starts TLS, (b) sends its
  headers a byte a second, (c) sends complete headers and then its body a byte a
  second; the seconds until the server drops it (or ``--patience``).

The server's code is this checkout's, or the one ``--python-path DIR`` names (e.g. an
export of main, to compare before and after). Run from the checkout's top directory:

    .venv/bin/python -m bench.http_flood
    .venv/bin/python -m bench.http_flood --python-path /tmp/main-export --patience 240

Prints a Markdown table to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from has_kdc.client.has_client import client_ssl_context
from tests.hasnode import HasNode
from tests.mitkrb import free_port

PARTIAL = b"GET /has/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Server:
    """has-server on 127.0.0.1 with HTTPS, started from ``python_path`` if given."""

    def __init__(self, tmp: Path, python_path: str | None) -> None:
        self.node = HasNode(tmp, "HADOOP.COM", "127.0.0.1", https_port=free_port())
        self.node.run("kdcinit", "--local", "init", "-p", str(tmp))
        env = dict(os.environ)
        if python_path:
            env["PYTHONPATH"] = python_path
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "has_kdc.cli.has_server",
                str(self.node.conf_dir),
                "--log-file",
                str(tmp / "has-server.log"),
            ],
            env=env,
            cwd=python_path or None,
        )
        self.ssl_context = client_ssl_context(self.node.ca_file)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.node.https_client(timeout=2).get("openapi.json")
                return
            except Exception:  # not listening yet
                time.sleep(0.2)
        raise RuntimeError("has-server did not start")

    @property
    def port(self) -> int:
        assert self.node.https_port is not None
        return self.node.https_port

    def rss(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Flood:
    label: str
    opened: int = 0
    refused: int = 0
    closed_by_server: int = 0
    rss_before: float = 0.0
    rss_peak: float = 0.0
    rss_after: float = 0.0


async def _hold(server: Server, source: str, opened: list, refused: list) -> None:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1",
                server.port,
                ssl=server.ssl_context,
                server_hostname="127.0.0.1",
                local_addr=(source, 0),
            ),
            60,
        )
        writer.write(PARTIAL)
        await writer.drain()
    except (OSError, ssl.SSLError, TimeoutError):
        refused.append(source)
        return
    opened.append((reader, writer))


async def flood(server: Server, count: int, addresses: int, label: str, hold: float) -> Flood:
    result = Flood(label, rss_before=server.rss())
    opened: list = []
    refused: list = []
    sources = [f"127.0.{2 + i // 250}.{1 + i % 250}" for i in range(addresses)]
    await asyncio.gather(
        *(_hold(server, sources[i % len(sources)], opened, refused) for i in range(count))
    )
    result.opened, result.refused = len(opened), len(refused)
    await asyncio.sleep(1.0)
    result.rss_peak = server.rss()
    log(f"{label}: {result.opened} open, {result.refused} refused, RSS {result.rss_peak:.0f} MB")
    # wait for the server to drop them (its header timeout), at most ``hold`` seconds
    deadline = time.monotonic() + hold
    for reader, _writer in opened:
        left = max(0.1, deadline - time.monotonic())
        try:
            if await asyncio.wait_for(reader.read(1), left) == b"":
                result.closed_by_server += 1
        except TimeoutError:  # before OSError: TimeoutError is one
            pass
        except (OSError, ssl.SSLError):
            result.closed_by_server += 1
    for _reader, writer in opened:
        writer.close()
    await asyncio.sleep(3.0)
    result.rss_after = server.rss()
    return result


def _time_until_closed(sock: object, started: float, patience: float, dribble: bytes) -> float:
    """Send ``dribble`` a byte a second until the server closes; the seconds it took."""
    import socket

    assert isinstance(sock, socket.socket)
    sock.settimeout(1.0)
    i = 0
    while time.monotonic() - started < patience:
        try:
            if sock.recv(4096) == b"":
                break
        except TimeoutError:
            pass
        except (OSError, ssl.SSLError):
            break
        if i < len(dribble):
            try:
                sock.sendall(dribble[i : i + 1])
            except (OSError, ssl.SSLError):
                break
            i += 1
    return time.monotonic() - started


def slow_clients(server: Server, patience: float) -> dict[str, float]:
    import socket

    results = {}
    sock = socket.create_connection(("127.0.0.1", server.port))
    results["no TLS handshake"] = _time_until_closed(sock, time.monotonic(), patience, b"")
    sock.close()
    raw = socket.create_connection(("127.0.0.1", server.port))
    tls = server.ssl_context.wrap_socket(raw, server_hostname="127.0.0.1")
    headers = PARTIAL + b"X-Slow: " + b"a" * 1000
    results["headers, a byte a second"] = _time_until_closed(
        tls, time.monotonic(), patience, headers
    )
    tls.close()
    raw = socket.create_connection(("127.0.0.1", server.port))
    tls = server.ssl_context.wrap_socket(raw, server_hostname="127.0.0.1")
    tls.sendall(
        b"PUT /has/v1/conf/setplugin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    results["body, a byte a second"] = _time_until_closed(
        tls, time.monotonic(), patience, b"{" + b" " * 999
    )
    tls.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--addresses", type=int, default=100)
    parser.add_argument("--hold", type=float, default=60.0, help="seconds to wait for drops")
    parser.add_argument("--patience", type=float, default=120.0, help="per slow client")
    parser.add_argument("--python-path", help="run has-server from this source tree")
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = Path(tempfile.mkdtemp(prefix="has-http-flood-"))
    server = Server(tmp / "node", options.python_path)
    try:
        rows = []
        many = f"{options.addresses} client addresses"
        for label, addresses in (
            ("one client address", 1),
            (many, options.addresses),
            (f"{many}, again", options.addresses),
        ):
            rows.append(
                asyncio.run(flood(server, options.connections, addresses, label, options.hold))
            )
        slow = slow_clients(server, options.patience)
    finally:
        server.stop()
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"| {options.connections} TLS connections, partial requests | accepted | refused "
        "| closed by server | RSS before | peak | after |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.label} | {r.opened} | {r.refused} | {r.closed_by_server} | "
            f"{r.rss_before:.0f} MB | {r.rss_peak:.0f} MB | {r.rss_after:.0f} MB |"
        )
    print()
    print("| slow client | dropped after |")
    print("|---|---|")
    for name, seconds in slow.items():
        shown = (
            f"{seconds:.1f} s" if seconds < options.patience - 1 else f"> {options.patience:.0f} s"
        )
        print(f"| {name} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
