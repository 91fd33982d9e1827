"""The admin API under load: ``getprincipals`` over 100,000 principals and
``exportkeytabs`` for 1,000 hosts, with the server's time and peak RSS.

The server is has-kdc's web application (`tests/webnode.py`: every route over TLS
with the cluster CA, SQLite, the test header authenticator in place of SPNEGO) in a
child process of its own, so its peak RSS is its own: before each measurement the
bench resets the child's high-water mark (``/proc/PID/clear_refs``, "5") and reads
``VmHWM`` afterwards, and reports it beside ``VmRSS`` before the measurement.

Measured, each by one HTTPS client in this process:

- ``getprincipals`` without paging parameters (HAS's Java client's request): the
  whole list in one answer; the body is parsed and its count checked;
- ``getprincipals?limit=N`` page by page following ``next`` (has-kdc's own clients);
- ``createprincipals`` for ``--hosts`` hosts with every HAS role, then
  ``exportkeytabs?host=`` for each host on one kept-alive connection, every keytab
  parsed and its principals checked.

    .venv/bin/python -m bench.admin_api_bench                       # 100,000 and 1,000
    .venv/bin/python -m bench.admin_api_bench --tree ../before     # another checkout's server

``--tree`` runs the server from another checkout (its ``has_kdc`` and ``tests``), to
compare before and after; a tree without paging gets that row marked "n/a". Run from
the checkout's top directory. Everything started is stopped, the temp directory
removed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from has_kdc.admin import HOST_ROLES
from has_kdc.client.has_client import client_ssl_context
from has_kdc.formats.keytab import parse_keytab

REALM = "HADOOP.COM"
ADMIN = f"kadmin/{REALM}@{REALM}"
PER_HOST = sum(len(names) for names in HOST_ROLES.values())

# Runs in the child: a web node with ``count`` extra principals, then waits for stdin.
_SERVER = r"""
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
os.chdir(sys.argv[1])
from has_kdc.backend import KeyData, Principal, open_backend
from has_kdc.conf import load_conf_dir
from tests.webnode import make_node

tmp, count = Path(sys.argv[2]), int(sys.argv[3])
node = make_node(tmp)
node.init_realm()
key = os.urandom(32)
with open_backend(load_conf_dir(node.conf_dir).backend) as store:
    for start in range(0, count, 5000):
        store.add_principals(
            Principal(f"user{i:06d}@HADOOP.COM", keys=[KeyData(18, 1, key)])
            for i in range(start, min(count, start + 5000))
        )
print(json.dumps({"port": node.port, "ca_file": str(node.ca_file)}), flush=True)
sys.stdin.readline()
node.thread.stop()
"""


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


class Server:
    """The child process and an HTTPS connection to it."""

    def __init__(self, tree: Path, tmp: Path, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(tree), str(tmp), str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.port = info["port"]
        self.context = client_ssl_context(Path(info["ca_file"]))

    def connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=300, context=self.context
        )

    def measure(self, what: str, fn) -> dict:  # type: ignore[no-untyped-def]
        """Run ``fn``; its wall time and the server's RSS before and at its peak."""
        pid = self.proc.pid
        rss = _status_kib(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        started = time.monotonic()
        detail = fn()
        seconds = time.monotonic() - started
        peak = _status_kib(pid, "VmHWM")
        row = {"what": what, "seconds": seconds, "rss_mib": rss / 1024, "peak_mib": peak / 1024}
        row["detail"] = detail
        print(
            f"{what}: {seconds:.2f} s, server RSS {rss / 1024:.0f} MiB before, "
            f"peak {peak / 1024:.0f} MiB ({detail})",
            file=sys.stderr,
        )
        return row

    def stop(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def _get(conn: http.client.HTTPSConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", "/has/v1/" + path, headers={"X-Test-Principal": ADMIN})
    resp = conn.getresponse()
    return resp.status, resp.read()


def whole_list(server: Server, expected: int) -> str:
    conn = server.connect()
    try:
        status, data = _get(conn, "admin/getprincipals")
    finally:
        conn.close()
    answer = json.loads(data)
    names = answer["principals"]
    if status != 200 or len(names) < expected or json.loads(answer["msg"]) != names:
        raise RuntimeError(f"getprincipals: {status}, {len(names)} names, wanted >= {expected}")
    return f"{len(names):,} names, {len(data) / 2**20:.1f} MiB body"


def paged_list(server: Server, expected: int, limit: int) -> str:
    conn = server.connect()
    total, pages, after = 0, 0, ""
    try:
        while True:
            query = f"admin/getprincipals?limit={limit}" + (f"&after={after}" if after else "")
            status, data = _get(conn, query)
            if status == 400:
                return "n/a (no paging in this tree)"
            page = json.loads(data)
            total, pages = total + len(page["principals"]), pages + 1
            if page.get("next") is None:
                break
            after = page["next"]
    finally:
        conn.close()
    if total < expected:
        raise RuntimeError(f"paged getprincipals: {total} names, wanted >= {expected}")
    return f"{total:,} names in {pages} pages of {limit}"


def create_hosts(server: Server, hosts: int) -> str:
    """``createprincipals`` in batches of 200 hosts (a body stays under 64 KiB)."""
    conn = server.connect()
    created = 0
    try:
        for start in range(0, hosts, 200):
            batch = [
                {"name": f"node{i:05d}.bench.test", "hostRoles": ",".join(HOST_ROLES)}
                for i in range(start, min(hosts, start + 200))
            ]
            conn.request(
                "PUT",
                "/has/v1/admin/createprincipals",
                body=json.dumps({"HOSTS": batch}).encode(),
                headers={"X-Test-Principal": ADMIN, "Content-Type": "application/json"},
            )
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            if resp.status != 200:
                raise RuntimeError(f"createprincipals: {resp.status} {str(answer)[:200]}")
            created += len(answer["created"])
    finally:
        conn.close()
    if created != hosts * PER_HOST:
        raise RuntimeError(f"createprincipals: {created} created, wanted {hosts * PER_HOST}")
    return f"{created:,} principals in requests of 200 hosts"


def export_hosts(server: Server, hosts: int) -> str:
    conn = server.connect()
    total = 0
    try:
        for i in range(hosts):
            host = f"node{i:05d}.bench.test"
            status, data = _get(conn, f"admin/exportkeytabs?host={host}")
            principals = {"/".join(p.components) for p in parse_keytab(data).principals()}
            if status != 200 or len(principals) != PER_HOST:
                raise RuntimeError(f"exportkeytabs {host}: {status}, {len(principals)}")
            total += len(data)
    finally:
        conn.close()
    return f"{hosts:,} keytabs, {total / 2**20:.1f} MiB in all"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principals", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--page", type=int, default=10_000, help="limit per page")
    parser.add_argument("--tree", type=Path, default=Path.cwd(), help="checkout of the server")
    options = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="admin-api-bench-"))
    rows = []
    started = time.monotonic()
    server = Server(options.tree.resolve(), tmp, options.principals)
    print(
        f"server up with {options.principals:,} principals in "
        f"{time.monotonic() - started:.0f} s (pid {server.proc.pid})",
        file=sys.stderr,
    )
    try:
        n = options.principals
        rows.append(server.measure("getprincipals, whole list", lambda: whole_list(server, n)))
        rows.append(
            server.measure(
                f"getprincipals, limit={options.page}",
                lambda: paged_list(server, n, options.page),
            )
        )
        rows.append(
            server.measure(
                f"createprincipals, {options.hosts:,} hosts",
                lambda: create_hosts(server, options.hosts),
            )
        )
        rows.append(
            server.measure(
                f"exportkeytabs, {options.hosts:,} hosts one by one",
                lambda: export_hosts(server, options.hosts),
            )
        )
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nserver tree: {options.tree}; pid RSS from /proc (VmRSS, VmHWM)\n")
    print("| request | seconds | server RSS before MiB | server peak MiB | what |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['what']} | {row['seconds']:.2f} | {row['rss_mib']:.0f} "
            f"| {row['peak_mib']:.0f} | {row['detail']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
