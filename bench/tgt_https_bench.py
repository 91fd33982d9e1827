"""Benchmark TGT over HTTPS: ``PUT /has/v1?type=MySQL`` against two has-server nodes.

Starts a MariaDB (tests/mariadb.py) and two has-server nodes on 127.0.1.1 and
127.0.1.2 over it (tests/hasnode.py: real console scripts, one CA), initializes the
realm and adds MySQL plugin users whose password hashes use the scrypt cost under
test. Then client threads, each with one kept-alive HTTPS connection to one node
(alternating between the nodes), log in as fast as they can for ``--duration``
seconds or ``--max-requests`` requests, whichever comes first; every answer is
decrypted and checked as login-test does (a wrong or undecryptable answer counts as
an error, not as speed). Printed per row: requests, requests/s, p50 and p99 latency.

Rows: for each ``--layouts`` entry, NODESxCORES (the first NODES nodes take the
load, each restarted pinned to CORES CPUs of its own, so its password-hash pool has
CORES workers), one of ``GET getkrb5conf`` (the HTTPS server's own overhead, no
hashing), then one per ``--scrypt-ln`` value. The default ``1x1,1x2,2x1`` shows
scaling with cores (one node on one, then two cores) and with nodes (two nodes on one
core each, the same two cores). The clients are not pinned. ln=15 is the default hash cost (what
``hadmin-local addpluginuser`` stores): the node spends most of each request in
scrypt, by design. A low ln shows the ceiling of the rest (TLS, JSON, the KDC, the
reply's string-to-key and AES).

    .venv/bin/python -m bench.tgt_https_bench                      # ln 15 and 8, 10 s each
    .venv/bin/python -m bench.tgt_https_bench --layouts 1x2,2x1 --scrypt-ln 15
    .venv/bin/python -m bench.tgt_https_bench --scrypt-ln 15 --duration 20 --clients 6

Everything runs on this machine's loopback; everything started is stopped and the
temp directory removed (unless ``--keep``). Run from the checkout's top directory.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.backend import PluginUser, open_backend
from has_kdc.client.has_client import client_ssl_context
from has_kdc.client.tgt_client import HasTgtClient, TgtRequestError
from has_kdc.conf import BackendConfig
from has_kdc.plugins.mysql import MySqlClientPlugin
from has_kdc.plugins.passwords import ScryptParams, hash_password
from tests.hacluster import HOSTS, REALM, mysql_config, running_cluster
from tests.hasnode import HasNode

USERS = 16
PASSWORD = "bench-Password-1"


@dataclass
class Result:
    scrypt_ln: int | str  # or what was measured instead of logins
    clients: int
    nodes: int = 2
    cores: int = 0  # CPUs each node is pinned to (0: not pinned)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    per_node: dict[str, int] = field(default_factory=dict)

    def pct(self, p: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        nodes = ", ".join(f"{h}: {n}" for h, n in sorted(self.per_node.items()))
        cores = f" x {self.cores}" if self.cores else ""
        return (
            f"| {self.nodes}{cores} | {self.scrypt_ln} | {self.clients} | {len(self.latencies)} "
            f"| {self.rate:.1f} | "
            f"{self.pct(0.5):.1f} | {self.pct(0.99):.1f} | {len(self.errors)} | {nodes} |"
        )


class _FromOwnAddress(HasTgtClient):
    """A client whose connections leave from a loopback address of its own: a node
    allows one client address 100 logins a second (``address_requests`` in
    web/ratelimit.py), a ceiling for one client, not for the bench's threads together."""

    def __init__(self, url: str, ca: ssl.SSLContext, *, source: str) -> None:
        super().__init__([url], ca, timeout=30)
        self.source = source

    def _connection(self, url: str) -> http.client.HTTPSConnection:
        conn = super()._connection(url)
        conn.source_address = (self.source, 0)
        return conn


def run_load(
    nodes: list[HasNode], ln: int, clients: int, duration: float, max_requests: int
) -> Result:
    result = Result(ln, clients, len(nodes))
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    budget = [max_requests]
    plugin = MySqlClientPlugin()
    ca = client_ssl_context(nodes[0].ca_file)

    def worker(index: int) -> None:
        node = nodes[index % len(nodes)]
        user = f"bench{index % USERS}"
        claims = plugin.make_token(None, {"userName": user, "password": PASSWORD})
        passphrase = plugin.reply_passphrase(claims)
        source = f"127.0.3.{index + 1}"
        with _FromOwnAddress(node.base_url, ca, source=source) as client:
            while time.monotonic() < stop_at:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                started = time.perf_counter()
                try:
                    login = client.request_tgt("MySQL", claims, passphrase=passphrase)
                except TgtRequestError as exc:
                    with lock:
                        result.errors.append(str(exc))
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    if login.credentials.client != f"{user}@{REALM}":
                        result.errors.append(f"TGT for {login.credentials.client}")
                        continue
                    result.latencies.append(elapsed)
                    result.per_node[node.host] = result.per_node.get(node.host, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    result.seconds = time.perf_counter() - began
    return result


def run_plain(nodes: list[HasNode], clients: int, duration: float, max_requests: int) -> Result:
    """``GET /has/v1/getkrb5conf`` on kept-alive connections: the HTTPS server's own
    cost (TLS records, HTTP, routing, a small JSON-free answer) with no hashing."""
    result = Result("no hashing: GET getkrb5conf", clients, len(nodes))
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    budget = [max_requests]
    ca = client_ssl_context(nodes[0].ca_file)

    def worker(index: int) -> None:
        node = nodes[index % len(nodes)]
        conn = http.client.HTTPSConnection(node.host, node.https_port, timeout=30, context=ca)
        try:
            while time.monotonic() < stop_at:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                started = time.perf_counter()
                conn.request("GET", "/has/v1/getkrb5conf")
                resp = conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - started
                with lock:
                    if resp.status != 200 or b"[libdefaults]" not in body:
                        result.errors.append(f"getkrb5conf: {resp.status}")
                        continue
                    result.latencies.append(elapsed)
                    result.per_node[node.host] = result.per_node.get(node.host, 0) + 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    result.seconds = time.perf_counter() - began
    return result


@contextlib.contextmanager
def _affinity(cpus: set[int]) -> Iterator[None]:
    """Processes started inside inherit ``cpus`` (a has-server sizes its hash pool from
    its affinity at start); this process gets its own set back afterwards."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def place(nodes: list[HasNode], count: int, cores: int) -> list[HasNode]:
    """Stop every node, then start the first ``count``, each pinned to ``cores`` CPUs
    no other node has. The nodes started, ready."""
    cpus = sorted(os.sched_getaffinity(0))
    for node in nodes:
        node.stop()
    for index, node in enumerate(nodes[:count]):
        with _affinity(set(cpus[index * cores : (index + 1) * cores])):
            node.start()
    return nodes[:count]


def parse_layouts(text: str, hosts: int) -> list[tuple[int, int]]:
    """``"1x1,1x2,2x1"`` -> [(1, 1), (1, 2), (2, 1)]; ValueError naming what cannot run."""
    cpus = len(os.sched_getaffinity(0))
    layouts = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        count_text, _, cores_text = item.partition("x")
        count, cores = int(count_text), int(cores_text or 1)
        if not 1 <= count <= hosts or cores < 1:
            raise ValueError(f"{item}: 1 to {hosts} nodes, at least 1 core each")
        if count * cores > cpus:
            raise ValueError(f"{item}: needs {count * cores} CPUs, this process may use {cpus}")
        layouts.append((count, cores))
    return layouts


def set_users(config: BackendConfig, ln: int) -> None:
    params = ScryptParams(ln=ln)
    with open_backend(config) as backend:
        for i in range(USERS):
            backend.put_plugin_user(PluginUser(f"bench{i}", hash_password(PASSWORD, params=params)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scrypt-ln", default="15,8", help="hash costs to run (log2 N), comma-separated"
    )
    parser.add_argument("--clients", type=int, default=4, help="client threads (keep-alive each)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--max-requests", type=int, default=5000, help="requests per row at most")
    parser.add_argument(
        "--layouts",
        default="1x1,1x2,2x1",
        help="NODESxCORES to run, comma-separated (each node pinned to CORES CPUs of its own)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    options = parser.parse_args(argv)
    try:
        costs = [int(x) for x in options.scrypt_ln.split(",") if x.strip()]
        for ln in costs:
            ScryptParams(ln=ln)
    except ValueError as exc:
        print(f"tgt_https_bench: --scrypt-ln: {exc}", file=sys.stderr)
        return 2
    try:
        layouts = parse_layouts(options.layouts, len(HOSTS))
    except ValueError as exc:
        print(f"tgt_https_bench: --layouts: {exc}", file=sys.stderr)
        return 2
    if options.clients < 1 or options.duration <= 0 or options.max_requests < 1:
        print(
            "tgt_https_bench: --clients, --duration, --max-requests must be positive",
            file=sys.stderr,
        )
        return 2

    from tests.mariadb import MariaDb

    tmp = Path(tempfile.mkdtemp(prefix="tgt-https-bench-"))
    server = MariaDb(tmp / "mariadb")
    results: list[Result] = []
    try:
        server.start()
        config = mysql_config(server, "has")
        with running_cluster(tmp, config, HOSTS, init=True) as nodes:
            for n, cores in layouts:
                used = place(nodes, n, cores)
                plain = run_plain(used, options.clients, options.duration, options.max_requests)
                plain.cores = cores
                results.append(plain)
                print(f"{n}x{cores}, {plain.scrypt_ln}: {plain.row()}", flush=True)
                for ln in costs:
                    set_users(config, ln)
                    warm = run_load(used, ln, len(used), 2.0, 2 * len(used))  # connections
                    if warm.errors:
                        raise RuntimeError(f"warm-up failed: {warm.errors[0]}")
                    result = run_load(
                        used, ln, options.clients, options.duration, options.max_requests
                    )
                    result.cores = cores
                    results.append(result)
                    print(f"{n}x{cores}, scrypt ln={ln}: {result.row()}", flush=True)
    finally:
        server.stop()
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"TGT over HTTPS, nodes {', '.join(HOSTS)}, keep-alive, MariaDB, {REALM}")
    print(
        "| nodes x cores | scrypt ln | clients | requests | req/s | p50 ms | p99 ms | errors "
        "| per node |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in results:
        print(result.row())
    for result in results:
        for error in result.errors[:3]:
            print(f"error (ln={result.scrypt_ln}): {error}")
    if options.json:
        Path(options.json).write_text(
            json.dumps(
                [
                    {
                        "nodes": r.nodes,
                        "cores_each": r.cores,
                        "scrypt_ln": r.scrypt_ln,
                        "clients": r.clients,
                        "requests": len(r.latencies),
                        "req_per_s": r.rate,
                        "p50_ms": r.pct(0.5),
                        "p99_ms": r.pct(0.99),
                        "errors": len(r.errors),
                        "per_node": r.per_node,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
