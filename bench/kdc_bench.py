"""has-kdc side by side with MIT krb5kdc: requests/s and p99 per workload, as ratios.

    .venv/bin/python -m bench.kdc_bench [--quick] [--runs 3] [--workers N] [--json out]

One run starts every KDC it needs on 127.0.0.1 (free ports, throwaway realms under a
temp directory, all stopped and removed at the end), sends each workload with the
same load generator and settings to each KDC in turn, alternating which goes first,
and prints the median of ``--runs`` runs as the table of issue 10:

- "one process each": MIT krb5kdc with ``disable_last_success``/``disable_lockout``
  (no database write per login) against ``has-server --workers 1``; floor 1.0
  (issue 19; it was 0.5).
- "workers": ``has-server --workers N`` (default: the number of cores) against MIT
  krb5kdc as shipped (one process, default kdc.conf); floor 1.0.
- "scaling": has-kdc with 100,000 principals against its own figure with 100 (same
  run, alternating); floor 0.9. MIT with 100,000 is measured alongside, and the
  AS-REP row is also given as has-kdc against MIT, both with 100,000; floor 1.0.

A reply is counted only if it is the expected one (PREAUTH_REQUIRED, AS-REP, error
6, TGS-REP): any other answer marks the row WRONG and never counts as speed.

It is a benchmark, not a test: loopback only, every measurement bounded by a count
and a duration. See bench/README.md for how to read the numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult, run_load
from bench.packets import AsEncTimestampPool, TgsReqPool, as_req, get_tgt
from bench.realms import BenchPrincipals, HasKdc, MitKdc, filler_name, remove_tree
from has_kdc.asn1 import EncryptionKey
from has_kdc.crypto import enctype_by_id
from has_kdc.principal import default_salt, parse_principal

PREAUTH_REQUIRED = "KRB-ERROR 25 KDC_ERR_PREAUTH_REQUIRED"
PRINCIPAL_UNKNOWN = "KRB-ERROR 6 KDC_ERR_C_PRINCIPAL_UNKNOWN"
SECTIONS = ("single", "scaling", "workers")
#: How many distinct client principals the "many principals" workload cycles through.
SPREAD_CLIENTS = 5000

Kdc = MitKdc | HasKdc


@dataclass(frozen=True)
class Settings:
    """What a run is parameterized by. The load-generator settings (runs, duration,
    count, in flight, processes, warm-up, timeout) are the same for every KDC."""

    runs: int = 3
    duration: float = 5.0
    count: int = 100_000
    in_flight: int = 32
    processes: int = 1
    warmup: int = 200
    timeout: float = 1.0
    workers: int = os.cpu_count() or 1
    scale_principals: int = 100_000
    fillers: int = 100


QUICK = {"runs": 1, "duration": 1.5, "count": 20_000, "scale_principals": 20_000}


# --- workloads ----------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """What to send and what the KDC must answer.

    ``packets(kdc, n)`` is called just before each measurement, so timestamps are
    fresh and pools are new; ``unique_nonce`` makes the generator rewrite every
    request's nonce (not possible for TGS: the checksum covers the body).
    """

    key: str
    title: str
    expected: str
    packets: Callable[[Kdc, int], list[bytes]]
    unique_nonce: bool = True


def _user_key(p: BenchPrincipals) -> EncryptionKey:
    """The user's aes256-cts-hmac-sha1-96 key from the password (default salt, 4096)."""
    components, realm = parse_principal(p.user, p.realm)
    et = enctype_by_id(18)
    return EncryptionKey(18, et.string_to_key(p.password.encode(), default_salt(components, realm)))


def _tgs_packets(kdc: Kdc, count: int) -> list[bytes]:
    """A fresh TGT from this KDC, then ``count`` distinct TGS-REQs presenting it."""
    p = kdc.principals
    tgt = get_tgt(kdc.host, kdc.port, p.realm, p.user, p.password)
    return TgsReqPool(tgt, p.service).make(count)


def _spread_packets(kdc: Kdc, _count: int) -> list[bytes]:
    """AS-REQs (no padata) for up to SPREAD_CLIENTS distinct filler principals, spread
    evenly over the whole database."""
    p = kdc.principals
    n = min(p.fillers, SPREAD_CLIENTS)
    step = max(1, p.fillers // n)
    return [as_req(filler_name(i * step), p.realm) for i in range(n)]


AS_NO_PREAUTH = Workload(
    "as-no-preauth",
    "AS without pre-authentication -> PREAUTH_REQUIRED",
    PREAUTH_REQUIRED,
    lambda kdc, _n: [as_req(kdc.principals.user, kdc.principals.realm)],
)
AS_ENC_TIMESTAMP = Workload(
    "as-enc-timestamp",
    "AS with PA-ENC-TIMESTAMP (aes256-cts-hmac-sha1-96) -> AS-REP",
    "AS-REP",
    lambda kdc, n: AsEncTimestampPool(
        kdc.principals.user, kdc.principals.realm, _user_key(kdc.principals)
    ).make(min(n, 5000)),
)
UNKNOWN = Workload(
    "unknown",
    "unknown principal -> error 6",
    PRINCIPAL_UNKNOWN,
    lambda kdc, _n: [as_req(kdc.principals.unknown, kdc.principals.realm)],
)
TGS = Workload(
    "tgs",
    "TGS for a service ticket -> TGS-REP",
    "TGS-REP",
    _tgs_packets,
    unique_nonce=False,
)
SPREAD = Workload(
    "as-spread",
    f"AS without pre-auth, clients spread over the database (<= {SPREAD_CLIENTS:,} "
    "distinct) -> PREAUTH_REQUIRED",
    PREAUTH_REQUIRED,
    _spread_packets,
)
CORE_WORKLOADS = (AS_ENC_TIMESTAMP, AS_NO_PREAUTH, UNKNOWN, TGS)


# --- measuring ----------------------------------------------------------------------


@dataclass
class Measurement:
    """One KDC, one workload, one run: the good replies only count as speed."""

    kdc: str
    workload: str
    result: LoadResult
    expected: str

    @property
    def good(self) -> int:
        return self.result.by_class.get(self.expected, 0)

    @property
    def wrong(self) -> dict[str, int]:
        return {k: v for k, v in self.result.by_class.items() if k != self.expected}

    @property
    def rate(self) -> float:
        elapsed = self.result.elapsed
        return self.good / elapsed if elapsed > 0 else 0.0

    @property
    def p99_ms(self) -> float:
        return self.result.p99 * 1000

    def summary(self) -> dict[str, object]:
        return {
            "kdc": self.kdc,
            "workload": self.workload,
            "expected": self.expected,
            "good_per_s": round(self.rate, 1),
            **self.result.summary(),
        }


@dataclass
class Side:
    """All runs of one KDC on one row, reduced to medians."""

    label: str
    runs: list[Measurement] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(m.rate for m in self.runs) if self.runs else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(m.p99_ms for m in self.runs) if self.runs else float("nan")

    @property
    def wrong(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for m in self.runs:
            for kind, n in m.wrong.items():
                total[kind] = total.get(kind, 0) + n
        return total

    @property
    def lost(self) -> int:
        return sum(m.result.lost for m in self.runs)

    @property
    def good(self) -> int:
        return sum(m.good for m in self.runs)


@dataclass
class Row:
    """One line of the table."""

    section: str
    title: str
    floor: float | None
    mit: Side
    has: Side
    baseline: Side | None = None  # scaling rows: has-kdc's own 100-principal figure
    note: str = ""

    @property
    def ratio(self) -> float:
        reference = self.baseline if self.baseline is not None else self.mit
        return self.has.rate / reference.rate if reference.rate > 0 else 0.0

    def _sides(self) -> list[Side]:
        return [self.mit, self.has] + ([self.baseline] if self.baseline is not None else [])

    def problems(self) -> list[str]:
        """Loud reasons the row cannot be trusted or cannot pass."""
        out = []
        for side in self._sides():
            if side.wrong:
                detail = ", ".join(f"{n} x {kind}" for kind, n in sorted(side.wrong.items()))
                out.append(f"WRONG ANSWERS from {side.label}: {detail}")
            if side.runs and side.good == 0:
                out.append(f"NO EXPECTED REPLY from {side.label}")
        return out

    @property
    def met(self) -> bool | None:
        """Floor reached with only right answers from has-kdc; None for rows without one."""
        if self.floor is None:
            return None
        for side in (self.has, self.baseline):
            if side is not None and (side.wrong or side.good == 0):
                return False
        return self.ratio >= self.floor

    def as_dict(self) -> dict[str, object]:
        return {
            "section": self.section,
            "workload": self.title,
            "mit_label": self.mit.label,
            "mit_rate": round(self.mit.rate, 1),
            "mit_p99_ms": round(self.mit.p99_ms, 3),
            "has_label": self.has.label,
            "has_rate": round(self.has.rate, 1),
            "has_p99_ms": round(self.has.p99_ms, 3),
            "baseline_rate": round(self.baseline.rate, 1) if self.baseline else None,
            "ratio": round(self.ratio, 3),
            "floor": self.floor,
            "met": self.met,
            "problems": self.problems(),
            "note": self.note,
            "runs": [m.summary() for m in self.mit.runs + self.has.runs]
            + ([m.summary() for m in self.baseline.runs] if self.baseline else []),
        }


class Bench:
    """Runs measurements with one set of settings, and says what it is doing."""

    def __init__(self, settings: Settings, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.log = log

    def measure(self, kdc: Kdc, label: str, workload: Workload) -> Measurement:
        s = self.settings
        packets = workload.packets(kdc, s.count + s.warmup * s.processes)
        result = run_load(
            packets,
            kdc.host,
            kdc.port,
            transport="udp",
            in_flight=s.in_flight,
            processes=s.processes,
            count=s.count,
            duration=s.duration,
            timeout=s.timeout,
            warmup=s.warmup,
            unique_nonce=workload.unique_nonce,
        )
        m = Measurement(label, workload.key, result, workload.expected)
        flag = f"  WRONG: {m.wrong}" if m.wrong else ""
        self.log(
            f"  {label:<28} {workload.key:<17} {m.rate:>9,.0f} req/s  p99 {m.p99_ms:7.2f} ms"
            f"  lost {result.lost}{flag}"
        )
        return m

    def alternate(self, workload: Workload, sides: Sequence[tuple[Kdc, Side]]) -> None:
        """``runs`` rounds; each round every KDC once, the order rotating by one."""
        for run in range(self.settings.runs):
            shift = run % len(sides)
            for kdc, side in [*sides[shift:], *sides[:shift]]:
                side.runs.append(self.measure(kdc, side.label, workload))


# --- the sections -------------------------------------------------------------------


class Running:
    """The KDCs started so far, so that every one is stopped whatever happens."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.kdcs: list[Kdc] = []
        self.log = log

    def start(self, kdc: Kdc, workers: int = 1) -> None:
        kdc.start(workers)
        self.kdcs.append(kdc)

    def stop(self, kdc: Kdc) -> None:
        if kdc in self.kdcs:
            self.kdcs.remove(kdc)
            kdc.stop()

    def show_logs(self) -> None:
        for kdc in self.kdcs:
            tail = kdc.log_tail()
            if tail:
                self.log(f"last log lines of {kdc.name} ({kdc.tmp}):\n{tail}")

    def stop_all(self) -> None:
        for kdc in list(self.kdcs):
            self.stop(kdc)


def run_bench(
    settings: Settings, sections: Sequence[str], workdir: Path, log: Callable[[str], None]
) -> list[Row]:
    """Create the realms, run the chosen sections, stop everything; the table's rows."""
    bench = Bench(settings, log)
    principals = BenchPrincipals(fillers=settings.fillers)
    running = Running(log)
    rows: list[Row] = []
    try:
        log(f"creating realms ({settings.fillers} filler principals) under {workdir}")
        has = HasKdc(workdir / "has", principals)
        has.create()
        if "single" in sections or "scaling" in sections:
            running.start(has, 1)
        if "single" in sections:
            mit = MitKdc(workdir / "mit-tuned", principals)
            mit.create()
            running.start(mit)
            log("one process each: MIT krb5kdc (no per-login writes) vs has-server --workers 1")
            for workload in CORE_WORKLOADS:
                row = Row(
                    "one process each",
                    workload.title,
                    1.0,
                    Side("MIT, disable_last_success"),
                    Side("has-kdc, 1 process"),
                )
                bench.alternate(workload, [(mit, row.mit), (has, row.has)])
                rows.append(row)
            running.stop(mit)
        if "scaling" in sections:
            rows += _scaling(bench, settings, workdir, has, running, log)
        if "workers" in sections:
            running.stop(has)
            running.start(has, settings.workers)
            mit_default = MitKdc(workdir / "mit-default", principals, tuned=False)
            mit_default.create()
            running.start(mit_default)
            log(f"workers: MIT krb5kdc at its defaults vs has-server --workers {settings.workers}")
            for workload in CORE_WORKLOADS:
                row = Row(
                    f"has-kdc {settings.workers} workers vs MIT at its default",
                    workload.title,
                    1.0,
                    Side("MIT, default kdc.conf"),
                    Side(f"has-kdc, {settings.workers} workers"),
                )
                bench.alternate(workload, [(mit_default, row.mit), (has, row.has)])
                rows.append(row)
    except BaseException:
        running.show_logs()
        raise
    finally:
        running.stop_all()
    return rows


def _scaling(
    bench: Bench,
    settings: Settings,
    workdir: Path,
    has: HasKdc,
    running: Running,
    log: Callable[[str], None],
) -> list[Row]:
    """has-kdc with ``scale_principals`` principals against itself with ``fillers``
    (``has``, already running with one process); MIT with as many, for context."""
    big = BenchPrincipals(fillers=settings.scale_principals)
    n = f"{settings.scale_principals:,}"
    log(f"scaling: creating realms with {n} principals")
    has_big = HasKdc(workdir / "has-big", big)
    mit_big = MitKdc(workdir / "mit-big", big)
    rows = []
    try:
        for kdc in (has_big, mit_big):
            t0 = time.monotonic()
            kdc.create()
            log(f"  {kdc.name}: {n} principals in {time.monotonic() - t0:.1f} s")
            running.start(kdc)
        for workload, floor in ((AS_ENC_TIMESTAMP, 0.9), (SPREAD, None)):
            row = Row(
                f"scaling: {n} vs {settings.fillers} principals, 1 process",
                workload.title,
                floor,
                Side(f"MIT, {n} principals"),
                Side(f"has-kdc, {n} principals"),
                baseline=Side(f"has-kdc, {settings.fillers} principals"),
                note=f"ratio: has-kdc with {n} principals / has-kdc with {settings.fillers}",
            )
            bench.alternate(workload, [(has, row.baseline), (has_big, row.has), (mit_big, row.mit)])
            rows.append(row)
        # The AS figures once more, against MIT with as many principals.
        as_row = rows[0]
        rows.append(
            Row(f"{n} principals each, 1 process", as_row.title, 1.0, as_row.mit, as_row.has)
        )
    finally:
        running.stop(has_big)
        running.stop(mit_big)
        remove_tree(has_big.tmp)
        remove_tree(mit_big.tmp)
    return rows


# --- output -------------------------------------------------------------------------


def _rate(side: Side) -> str:
    return f"{side.rate:,.0f}" if side.runs else "-"


def _p99(side: Side) -> str:
    return f"{side.p99_ms:.2f} ms" if side.runs else "-"


def format_table(rows: Sequence[Row], settings: Settings) -> str:
    """The issue-10 table (Markdown), one section after another, problems spelled out."""
    s = settings
    lines = [
        f"KDC benchmark: median of {s.runs} run(s); UDP on 127.0.0.1, {s.in_flight} requests "
        f"in flight, {s.processes} load-generator process(es), each measurement at most "
        f"{s.count:,} requests or {s.duration:g} s; {os.cpu_count()} cores.",
        "",
        "| workload | MIT req/s | MIT p99 | has-kdc req/s | has-kdc p99 | ratio | floor | met? |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            what = f"{row.mit.label} / {row.has.label}" + (f"; {row.note}" if row.note else "")
            lines.append(f"| **{section}** ({what}) |  |  |  |  |  |  |  |")
        floor = f">= {row.floor:g}" if row.floor is not None else "info"
        met = {None: "-", True: "yes", False: "**NO**"}[row.met]
        problems = row.problems()
        title = row.title + "".join(f" **{p}**" for p in problems)
        ratio = f"{row.ratio:.2f}"
        if row.baseline is not None:
            ratio += f" (of {row.baseline.rate:,.0f})"
        lines.append(
            f"| {title} | {_rate(row.mit)} | {_p99(row.mit)} | {_rate(row.has)} | "
            f"{_p99(row.has)} | {ratio} | {floor} | {met} |"
        )
    lost = [(r.title, r.mit.lost, r.has.lost) for r in rows if r.mit.lost or r.has.lost]
    if lost:
        lines += [""] + [
            f"- lost (no reply within {s.timeout:g} s) in {t}: MIT {m}, has-kdc {h}"
            for t, m, h in lost
        ]
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.kdc_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="1 run, 1.5 s, 20k principals")
    parser.add_argument("--runs", type=int, help="runs per KDC and workload (default 3)")
    parser.add_argument("--workers", type=int, help="has-server workers (default: cores)")
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 5)")
    parser.add_argument("--count", type=int, help="requests per measurement (default 100000)")
    parser.add_argument("--in-flight", type=int, help="requests in flight (default 32)")
    parser.add_argument(
        "--loadgen-processes", type=int, help="load-generator processes (default 1)"
    )
    parser.add_argument("--fillers", type=int, help="filler principals (default 100)")
    parser.add_argument(
        "--scale-principals", type=int, help="principals of the scaling row (default 100000)"
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every number here")
    parser.add_argument("--keep", action="store_true", help="keep the realms' directory")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    values: dict[str, object] = dict(QUICK) if args.quick else {}
    for option, name in (
        ("runs", "runs"),
        ("workers", "workers"),
        ("duration", "duration"),
        ("count", "count"),
        ("in_flight", "in_flight"),
        ("loadgen_processes", "processes"),
        ("fillers", "fillers"),
        ("scale_principals", "scale_principals"),
    ):
        value = getattr(args, option)
        if value is not None:
            values[name] = value
    settings = Settings(**values)  # type: ignore[arg-type]
    for option, name in (
        ("runs", "runs"),
        ("workers", "workers"),
        ("count", "count"),
        ("in-flight", "in_flight"),
        ("loadgen-processes", "processes"),
        ("fillers", "fillers"),
        ("scale-principals", "scale_principals"),
    ):
        if getattr(settings, name) < 1:
            raise ValueError(f"--{option} must be at least 1")
    if not 0 < settings.duration <= 600:
        raise ValueError("--duration must be in (0, 600] seconds")
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"kdc_bench: {exc}", file=sys.stderr)
        return 2
    sections = [part.strip() for part in args.sections.split(",") if part.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        print(f"kdc_bench: unknown section(s) {unknown}; choose from {SECTIONS}", file=sys.stderr)
        return 2

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="kdc-bench-"))
    started = time.monotonic()
    try:
        rows = run_bench(settings, sections, workdir, log)
    finally:
        if args.keep:
            log(f"realms kept under {workdir}")
        else:
            remove_tree(workdir)
    table = format_table(rows, settings)
    print(table)
    log(f"done in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "settings": dataclasses.asdict(settings),
                    "sections": sections,
                    "cores": os.cpu_count(),
                    "rows": [row.as_dict() for row in rows],
                    "table": table,
                },
                indent=2,
            )
            + "\n"
        )
    failing = [r for r in rows if r.problems()]
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
