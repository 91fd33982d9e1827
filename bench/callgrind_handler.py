"""Instructions per request through has-server's KDC handler, counted by valgrind.

Wall-clock figures on a shared machine move with everyone else's load; the number
of instructions a request takes does not. This runs the handler that has-server's
worker calls for every datagram (``has_server.make_handlers(...).handle``: realm
gate, counters, the KDC, its INFO log line to a file) under ``valgrind
--tool=callgrind`` twice per workload, for ``--low`` and ``--high`` requests, and
divides the difference of the two totals by the difference of the counts, so
start-up, imports and the pools' construction cancel out.

    .venv/bin/python -m bench.callgrind_handler                       # unknown, as-enc-timestamp
    .venv/bin/python -m bench.callgrind_handler --workloads unknown,as-no-preauth,tgs
    .venv/bin/python -m bench.callgrind_handler --python ../before/.venv/bin/python  # before

The realm is made once outside valgrind (``bench.realms.HasKdc`` under a temp
directory, removed at the end). Each valgrind run takes a minute or two here.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.handler_bench import PEER, _workloads
from bench.realms import BenchPrincipals, HasKdc

WORKLOADS = ("unknown", "as-enc-timestamp", "as-no-preauth", "tgs")
#: the first byte of the right answer: KRB-ERROR, AS-REP, KRB-ERROR, TGS-REP
_EXPECTED = {"unknown": 0x7E, "as-enc-timestamp": 0x6B, "as-no-preauth": 0x7E, "tgs": 0x6D}


def _run(tmp: Path, workload: str, count: int, size: int) -> None:
    """Inside valgrind: ``count`` requests of ``workload`` from a pool of ``size``."""
    from has_kdc.cli import has_server

    kdc = HasKdc(tmp / "realm", BenchPrincipals())
    handlers = has_server.make_handlers(
        str(kdc.node.conf_dir), None, str(tmp / "callgrind-has-server.log"), "INFO"
    )

    def handle(request: bytes) -> bytes | None:
        return handlers.handle(request, "udp", PEER)

    pool = _workloads(kdc, handle, only=workload, size=size)[workload]
    expected = _EXPECTED[workload]
    for i in range(count):
        reply = handle(pool[i % len(pool)])
        # Under valgrind a request takes a thousand times longer: a pool's timestamps
        # can leave the clock skew, and cheaper errors must not pass for the work.
        if reply is None or reply[0] != expected:
            raise SystemExit(f"{workload}: request {i} got the wrong answer (try a lower --high)")


def _instructions(tmp: Path, workload: str, count: int, size: int, python: str) -> int:
    out = tmp / f"callgrind.{workload}.{count}"
    # Another interpreter must import its own has_kdc, not this checkout's from the
    # current directory: it runs in a directory holding only bench/ and tests/.
    cwd = Path.cwd()
    if python != sys.executable:
        cwd = tmp / "shim"
        if not cwd.exists():
            cwd.mkdir()
            for name in ("bench", "tests"):
                (cwd / name).symlink_to(Path.cwd() / name)
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            python,
            "-m",
            "bench.callgrind_handler",
            "--inside",
            str(tmp),
            "--workloads",
            workload,
            "--count",
            str(count),
            "--size",
            str(size),
        ],
        check=True,
        capture_output=True,
        cwd=cwd,
    )
    match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no total in {out}")
    return int(match[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="unknown,as-enc-timestamp")
    parser.add_argument("--low", type=int, default=100)
    parser.add_argument("--high", type=int, default=1100)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter whose has_kdc is measured (another checkout's venv, for "
        "a before/after)",
    )
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.inside is not None:
        _run(options.inside, options.workloads, options.count, options.size)
        return 0
    workloads = [w.strip() for w in options.workloads.split(",") if w.strip()]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    tmp = Path(tempfile.mkdtemp(prefix="callgrind-handler-"))
    try:
        HasKdc(tmp / "realm", BenchPrincipals()).create()
        print("| workload | instructions per request |")
        print("|---|---:|")
        for workload in workloads:
            low = _instructions(tmp, workload, options.low, options.high, options.python)
            high = _instructions(tmp, workload, options.high, options.high, options.python)
            per = (high - low) / (options.high - options.low)
            print(f"| {workload} | {per / 1000:,.0f} k |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
