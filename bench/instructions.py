"""Instructions per request through has-server's KDC handler, counted by valgrind.

Wall-clock figures on a shared machine move with everyone else's work; the number of
instructions a request takes does not. This runs ``handler_bench``'s set-up (a
throwaway realm with the benchmark principals, has-server's own per-worker handlers:
realm gate, metrics counters, the KDC, its request log to a file) under
``valgrind --tool=callgrind`` twice per workload, once answering ``--small`` requests
and once ``--large``, and divides the difference by ``large - small``: what set-up,
imports and warm-up cost cancels out, and what is left is one request's share.

    .venv/bin/python -m bench.instructions                     # about 4 minutes
    .venv/bin/python -m bench.instructions --workload unknown --keep /tmp/cg

Every request is distinct, as in ``kdc_bench``: the AS-REQs without padata get a
new nonce each (as the load generator rewrites it), the PA-ENC-TIMESTAMP and TGS-REQ
workloads are pools of distinct requests. ``--keep DIR`` leaves the callgrind output
files there, for ``callgrind_annotate``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

WORKLOADS = ("unknown", "as-no-preauth", "as-enc-timestamp", "tgs")
TITLES = {
    "unknown": "unknown principal",
    "as-no-preauth": "AS without pre-authentication (PREAUTH_REQUIRED)",
    "as-enc-timestamp": "AS with PA-ENC-TIMESTAMP",
    "tgs": "TGS for a service ticket",
}
_COLLECTED = re.compile(rb"Collected : (\d+)")


def _distinct_nonces(template: bytes, count: int) -> list[bytes]:
    from bench.loadgen import kdc_req_nonce_offset

    offset = kdc_req_nonce_offset(template)
    assert offset is not None
    return [
        template[:offset] + (0x4000_0000 + i).to_bytes(4, "big") + template[offset + 4 :]
        for i in range(count)
    ]


def run_requests(conf_dir: Path, workload: str, count: int) -> None:
    """The inner run: ``count`` requests of ``workload`` through fresh handlers."""
    import os

    from bench.handler_bench import PEER, _workloads
    from bench.realms import BenchPrincipals, HasKdc
    from has_kdc.cli import has_server
    from has_kdc.kdc.counters import KdcCounters

    kdc = HasKdc.__new__(HasKdc)  # the realm exists: only its names are needed here
    kdc.principals = BenchPrincipals()
    counters = KdcCounters.create(3, conf_dir.parent)
    log_file = conf_dir.parent / f"has-server-{os.getpid()}.log"
    handlers = has_server.make_handlers(str(conf_dir), str(counters.path), str(log_file), "INFO")
    try:

        def handle(request: bytes) -> bytes | None:
            return handlers.handle(request, "udp", PEER)

        pools = _workloads(kdc, handle)
        pool = pools[workload]
        if len(pool) == 1:
            pool = _distinct_nonces(pool[0], max(count, 1))
        for i in range(count):
            handle(pool[i % len(pool)])
        flush = getattr(handlers, "flush", None)  # a buffered request log, where there is one
        if flush is not None:
            flush()
    finally:
        counters.close()


def _count(conf_dir: Path, workload: str, requests: int, out: Path) -> int:
    """Instructions of one inner run under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instructions",
        "--inner",
        str(conf_dir),
        workload,
        str(requests),
    ]
    done = subprocess.run(command, capture_output=True, timeout=3600, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"callgrind run failed ({done.returncode}): "
            + done.stderr.decode(errors="replace")[-2000:]
        )
    return int(found.group(1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--workload", action="append", choices=WORKLOADS, help="(default: all)")
    parser.add_argument("--small", type=int, default=100, help="requests of the first run (100)")
    parser.add_argument("--large", type=int, default=1100, help="requests of the second (1100)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep callgrind files here")
    parser.add_argument(
        "--inner", nargs=3, metavar=("CONF_DIR", "WORKLOAD", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.inner:
        conf_dir, workload, n = args.inner
        run_requests(Path(conf_dir), workload, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed", file=sys.stderr)
        return 2
    if args.large <= args.small:
        print("bench.instructions: --large must be more than --small", file=sys.stderr)
        return 2

    from bench.realms import BenchPrincipals, HasKdc

    workloads = args.workload or list(WORKLOADS)
    with tempfile.TemporaryDirectory(prefix="has-instructions-") as tmp:
        kdc = HasKdc(Path(tmp) / "realm", BenchPrincipals())
        kdc.create()
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        print("| workload | instructions per request |")
        print("|---|---:|")
        for workload in workloads:
            counts = [
                _count(kdc.node.conf_dir, workload, n, out_dir / f"callgrind.{workload}.{n}")
                for n in (args.small, args.large)
            ]
            per_request = (counts[1] - counts[0]) / (args.large - args.small)
            print(f"| {TITLES[workload]} | {per_request / 1000:,.0f} k |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
