"""Time ``hadmin-local creprincs`` creating 10,000 Hadoop service principals (or more).

A cluster of 1,000 hosts running every HAS host role (HDFS gives two principals, the
eight others one each) needs 10,000 principals. This runs ``creprincs`` on such a
hostroles.json through the installed console script, as an operator would, against
an SQLite store and against a MariaDB started for the run (``tests/mariadb.py``,
loopback only), then runs it a second time (everything skipped) and prints
principals per second and creprincs' peak RSS (``wait4``'s ``ru_maxrss``). Each run
is bounded by ``--timeout``; everything started is stopped and the temp directory
removed (unless ``--keep``).

    .venv/bin/python -m bench.creprincs_bench                 # both stores, 1,000 hosts
    .venv/bin/python -m bench.creprincs_bench --hosts 100 --stores sqlite
    .venv/bin/python -m bench.creprincs_bench --hosts 10000 --stores mariadb  # 100,000

Run from the checkout's top directory (it imports tests.hasnode and tests.mariadb).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from has_kdc.admin import HOST_ROLES
from tests.hacluster import mysql_config
from tests.hasnode import HasNode, script

PER_HOST = sum(len(names) for names in HOST_ROLES.values())


def write_hostroles(path: Path, hosts: int) -> int:
    """hostroles.json for ``hosts`` hosts with every role; returns the principal count."""
    roles = ",".join(HOST_ROLES)
    document = {
        "HOSTS": [{"name": f"node{i:05d}.bench.test", "hostRoles": roles} for i in range(hosts)]
    }
    path.write_text(json.dumps(document))
    return hosts * PER_HOST


def run_creprincs(node: HasNode, hostroles: Path, timeout: float) -> tuple[float, str, int]:
    """Wall seconds, creprincs' summary line and its peak RSS in KiB (from wait4)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [script("hadmin-local"), str(node.conf_dir), "creprincs", str(hostroles)],
            stdout=out,
            stderr=err,
        )
        deadline = started + timeout
        while True:  # reaped here, not by Popen, so that wait4 gives its rusage
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"creprincs took more than {timeout:.0f} s")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"creprincs exited {proc.returncode}: {stderr[-2000:]}")
    return elapsed, stdout.strip().splitlines()[-1], usage.ru_maxrss


def bench_store(name: str, node: HasNode, hostroles: Path, count: int, timeout: float) -> dict:
    node.init()
    first, summary, rss = run_creprincs(node, hostroles, timeout)
    print(
        f"{name}: {summary} (wall {first:.1f} s, {count / first:,.0f} principals/s, "
        f"peak RSS {rss / 1024:.0f} MiB)"
    )
    again, summary2, rss2 = run_creprincs(node, hostroles, timeout)
    print(f"{name}: re-run {summary2} (wall {again:.1f} s, peak RSS {rss2 / 1024:.0f} MiB)")
    listed = node.hadmin("listprincs", "*/node*").stdout.split()
    if len(listed) != count:
        raise RuntimeError(f"{name}: expected {count} principals, found {len(listed)}")
    return {
        "store": name,
        "principals": count,
        "seconds": first,
        "rerun_seconds": again,
        "peak_rss_mib": rss / 1024,
        "rerun_peak_rss_mib": rss2 / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help=f"hosts (x{PER_HOST} principals)")
    parser.add_argument("--stores", default="sqlite,mariadb", help="sqlite,mariadb")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per creprincs run")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    options = parser.parse_args(argv)
    stores = [s.strip() for s in options.stores.split(",") if s.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="creprincs-bench-"))
    hostroles = tmp / "hostroles.json"
    count = write_hostroles(hostroles, options.hosts)
    print(f"creprincs of {count:,} principals ({options.hosts} hosts x {PER_HOST})")
    rows = []
    server = None
    try:
        if "sqlite" in stores:
            rows.append(
                bench_store("sqlite", HasNode(tmp / "sqlite"), hostroles, count, options.timeout)
            )
        if "mariadb" in stores:
            from tests.mariadb import MariaDb

            server = MariaDb(tmp / "mariadb")
            server.start()
            node = HasNode(tmp / "mysql", backend=mysql_config(server, "has"))
            rows.append(bench_store("mariadb", node, hostroles, count, options.timeout))
    finally:
        if server is not None:
            server.stop()
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("| store | principals | seconds | principals/s | peak RSS MiB | re-run s | re-run MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        rate = row["principals"] / row["seconds"]
        print(
            f"| {row['store']} | {row['principals']:,} | {row['seconds']:.1f} | {rate:,.0f} "
            f"| {row['peak_rss_mib']:.0f} | {row['rerun_seconds']:.1f} "
            f"| {row['rerun_peak_rss_mib']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
