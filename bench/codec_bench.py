"""The wire codec on the KDC's hot path: pyasn1 model against the fast DER path.

Each row is what the KDC does with the codec for one kind of request, timed with
``timeit`` on the captured MIT packets of tests/data/asn1/ (and the plaintexts inside
them), once with ``use_der_path("pyasn1")`` and once with the default fast path:

    .venv/bin/python -m bench.codec_bench              # about 20 seconds
    .venv/bin/python -m bench.codec_bench --seconds 0.5 --repeat 7
    .venv/bin/python -m bench.codec_bench --instructions   # about 2 minutes, valgrind

Prints a Markdown table of microseconds per operation, the best of ``--repeat``
timings of at least ``--seconds`` each (the fastest run is the one least disturbed by
the rest of the machine, as timeit advises), after checking that both paths give the
same values and bytes for everything timed.

On a machine others share, timings move by more than the differences worth seeing;
``--instructions`` counts instead what one operation of the fast path executes, with
``valgrind --tool=callgrind``: one run doing every operation ``--warm-up`` times, and
one more per row doing that row's operation ``--count`` times on top; the difference
divided by ``--count`` is the row's figure, the same from one run to the next.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from has_kdc.asn1 import codec
from has_kdc.asn1 import constants as c

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "asn1"


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _padata(items: tuple, padata_type: int) -> bytes:
    return next(p.padata_value for p in items if p.padata_type == padata_type)


def workloads() -> list[tuple[str, Callable[[], object]]]:
    """(row label, one operation) pairs; each operation returns what it produced."""
    as_req_plain = _read("mit-as-req-no-preauth.der")
    as_req_ts = _read("mit-as-req-enc-timestamp.der")
    pa_enc_ts_enc = _read("mit-pa-enc-ts-enc.der")
    tgs_req = _read("mit-tgs-req.der")
    authenticator = _read("mit-authenticator.der")
    enc_ticket_part = _read("mit-enc-ticket-part.der")
    as_rep = codec.decode_kdc_rep(_read("mit-as-rep.der"))
    enc_rep_part = codec.decode_enc_kdc_rep_part(_read("mit-enc-as-rep-part.der"))
    ticket_part = codec.decode_enc_ticket_part(enc_ticket_part)
    error = codec.decode_krb_error(_read("mit-krb-error-preauth-required.der"))
    assert error.e_data is not None
    method_data = codec.decode_method_data(error.e_data)
    etype_info2 = codec.decode_etype_info2(_padata(method_data, c.PA_ETYPE_INFO2))

    def decode_as_req_with_timestamp() -> object:
        req = codec.decode_kdc_req(as_req_ts)
        enc = codec.decode_encrypted_data(_padata(req.padata, c.PA_ENC_TIMESTAMP))
        return req, enc, codec.decode_pa_enc_ts_enc(pa_enc_ts_enc)  # (decryption left out)

    def decode_tgs_req() -> object:
        req = codec.decode_kdc_req(tgs_req)
        ap_req = codec.decode_ap_req(_padata(req.padata, c.PA_TGS_REQ))
        return (
            req,
            ap_req,
            codec.decode_enc_ticket_part(enc_ticket_part),
            codec.decode_authenticator(authenticator),
        )

    def encode_as_rep() -> object:
        return (
            codec.encode(ticket_part),
            codec.encode(as_rep.ticket),
            codec.encode(enc_rep_part),
            codec.encode(as_rep),
        )

    def encode_preauth_required() -> object:
        info = codec.encode_etype_info2(etype_info2)
        return codec.encode_method_data(method_data), info, codec.encode(error)

    return [
        (
            "decode AS-REQ, no pre-authentication (175 B)",
            lambda: codec.decode_kdc_req(as_req_plain),
        ),
        ("decode AS-REQ with PA-ENC-TIMESTAMP (270 B)", lambda: codec.decode_kdc_req(as_req_ts)),
        ("  + EncryptedData + PA-ENC-TS-ENC", decode_as_req_with_timestamp),
        (
            "decode TGS-REQ + AP-REQ (988 B)",
            lambda: codec.decode_ap_req(_padata(codec.decode_kdc_req(tgs_req).padata, 1)),
        ),
        ("  + EncTicketPart + Authenticator", decode_tgs_req),
        ("encode AS-REP (KDC-REP alone)", lambda: codec.encode(as_rep)),
        ("  EncTicketPart + Ticket + EncKDCRepPart + KDC-REP", encode_as_rep),
        ("encode KRB-ERROR PREAUTH_REQUIRED", lambda: codec.encode(error)),
        ("  + ETYPE-INFO2 + METHOD-DATA", encode_preauth_required),
    ]


def time_one(operation: Callable[[], object], seconds: float, repeat: int) -> float:
    """Best microseconds per call over ``repeat`` timings of at least ``seconds``."""
    timer = timeit.Timer(operation)
    number, _ = timer.autorange()
    per_run = max(1, int(number * seconds / 0.2))
    runs = timer.repeat(repeat=repeat, number=per_run)
    return min(runs) / per_run * 1e6


def _run_counted(warm_up: int, row: int | None, count: int) -> None:
    """The measured program of ``--instructions``: every row ``warm_up`` times (memos
    and caches filled), then row ``row`` ``count`` more times."""
    rows = workloads()
    for _, operation in rows:
        for _ in range(warm_up):
            operation()
    if row is not None:
        operation = rows[row][1]
        for _ in range(count):
            operation()


_COLLECTED = re.compile(rb"Collected : (\d+)")


def _instructions(warm_up: int, row: int | None, count: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-m", "bench.codec_bench", "--counted", str(warm_up), str(row), str(count)]
    done = subprocess.run(command, capture_output=True, check=False, timeout=1800)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(done.stderr.decode(errors="replace")[-2000:])
    return int(found.group(1))


def count_instructions(warm_up: int, count: int) -> int:
    labels = [label for label, _ in workloads()]
    base = _instructions(warm_up, None, 0)
    print("| operation | fast path: instructions |")
    print("|---|---:|")
    for row, label in enumerate(labels):
        per_operation = (_instructions(warm_up, row, count) - base) / count
        print(f"| {label} | {per_operation:,.0f} |", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.1, help="per timing (0.1)")
    parser.add_argument("--repeat", type=int, default=5, help="timings per cell (5)")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind) instead"
    )
    parser.add_argument("--warm-up", type=int, default=20, help="with --instructions (20)")
    parser.add_argument("--count", type=int, default=2000, help="with --instructions (2000)")
    parser.add_argument("--counted", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.counted:
        warm_up, row, count = args.counted
        _run_counted(int(warm_up), None if row == "None" else int(row), int(count))
        return 0
    if args.instructions:
        return count_instructions(args.warm_up, args.count)

    rows = workloads()
    for label, operation in rows:  # both paths must agree before any timing counts
        with_path = {}
        for path in codec.DER_PATHS:
            codec.use_der_path(path)
            with_path[path] = repr(operation())
        if with_path["fast"] != with_path["pyasn1"]:
            print(f"paths disagree on: {label}", file=sys.stderr)
            return 1

    print("| operation | pyasn1 µs | fast µs | speed-up |")
    print("|---|---:|---:|---:|")
    for label, operation in rows:
        cells = {}
        for path in codec.DER_PATHS:
            codec.use_der_path(path)
            cells[path] = time_one(operation, args.seconds, args.repeat)
        codec.use_der_path("fast")
        print(
            f"| {label} | {cells['pyasn1']:.1f} | {cells['fast']:.1f} "
            f"| {cells['pyasn1'] / cells['fast']:.0f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
