"""The KDC handler alone, in this process: microseconds per request, per workload.

``kdc_bench`` measures whole KDCs over the network, side by side with MIT. This one
takes the network and the load generator away and times what has-server's worker
calls for every datagram — ``make_handlers(...).handle(request, "udp", peer)``, the
realm gate, the metrics counters and the INFO log line to a file included — over
the same request pools as ``kdc_bench`` (bench/packets.py), so the figures add up to
what one has-kdc process can do at most. ``--profile`` prints a cProfile of each
workload, to see where those microseconds go:

    .venv/bin/python -m bench.handler_bench                 # about 20 seconds
    .venv/bin/python -m bench.handler_bench --profile tgs --seconds 3

The realm is a throwaway (``tests.hasnode.HasNode``: conf_dir, SQLite, ``kdcinit
init``) with the principals of ``bench.realms``, under a temp directory removed at
the end. Prints a Markdown table: the best of ``--repeat`` timings (the fastest run
is the least disturbed by the rest of the machine).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.kdc_bench import _user_key
from bench.packets import AsEncTimestampPool, TgsReqPool, as_req
from bench.realms import BenchPrincipals, HasKdc
from has_kdc.asn1 import codec
from has_kdc.asn1.constants import (
    KU_PA_ENC_TIMESTAMP,
    KU_TGS_REQ_AUTH,
    KU_TGS_REQ_AUTH_CKSUM,
    KU_TICKET,
)
from has_kdc.backend import open_backend
from has_kdc.client.kdc_client import KdcClient
from has_kdc.conf import load_conf_dir
from has_kdc.crypto import checksum_by_type, enctype_by_id
from has_kdc.kdc.as_req import process_as_req
from has_kdc.kdc.context import RequestLog
from has_kdc.kdc.counters import KdcCounters
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.handler import Kdc, _log_request
from has_kdc.kdc.tgs_req import process_tgs_req
from has_kdc.net.dispatch import KdcHandlers

#: Requests per pool: distinct timestamps and TGS authenticators, as in kdc_bench.
POOL_SIZE = 5000
PEER = "127.0.0.1"


def _handlers(node_tmp: Path) -> tuple[HasKdc, KdcHandlers, KdcCounters]:
    """A realm with the benchmark principals and has-server's own per-worker handlers."""
    from has_kdc.cli import has_server  # the CLI module: imported late, it is heavy

    kdc = HasKdc(node_tmp, BenchPrincipals())
    kdc.create()
    counters = KdcCounters.create(3, node_tmp)
    handlers = has_server.make_handlers(
        str(kdc.node.conf_dir), str(counters.path), str(kdc.node.log_file), "INFO"
    )
    return kdc, handlers, counters


def _workloads(
    kdc: HasKdc,
    handle: Callable[[bytes], bytes | None],
    *,
    only: str | None = None,
    size: int = POOL_SIZE,
) -> dict[str, list[bytes]]:
    """The request pools (just ``only``'s when given), ``size`` requests where distinct."""
    p = kdc.principals

    def tgs() -> list[bytes]:
        client = KdcClient(lambda request: handle(request) or b"", p.realm, etypes=(18,))
        return TgsReqPool(client.get_tgt(p.user, p.password), p.service).make(size)

    makers: dict[str, Callable[[], list[bytes]]] = {
        "as-enc-timestamp": lambda: AsEncTimestampPool(p.user, p.realm, _user_key(p)).make(size),
        "as-no-preauth": lambda: [as_req(p.user, p.realm)],
        "unknown": lambda: [as_req(p.unknown, p.realm)],
        "tgs": tgs,
    }
    return {name: make() for name, make in makers.items() if only in (None, name)}


Step = tuple[str, str, Callable[[], object]]


def _steps(conf_dir: Path, pools: dict[str, list[bytes]]) -> list[Step]:
    """(workload, step, one call) for the steps of the hot path, on a KDC of their own
    (same realm, same store) so that each step can be called alone."""
    conf = load_conf_dir(conf_dir)
    kdc = Kdc(conf.kdc, open_backend(conf.backend))
    now = time.time()
    rows = [
        *_as_refusal_steps(kdc, "unknown", pools["unknown"][0], now),
        *_as_refusal_steps(kdc, "as-no-preauth", pools["as-no-preauth"][0], now),
        *_as_rep_steps(kdc, pools["as-enc-timestamp"][0], now),
        *_tgs_steps(kdc, pools["tgs"][0], now),
    ]
    log = RequestLog("AS_REQ", PEER)
    _refusal(lambda: process_as_req(kdc.realm, codec.decode_kdc_req(pools["unknown"][0]), now, log))
    line = log.line()
    rows.append(("all", "log line: record, format, write", lambda: _log_request(line)))
    for name, pool in pools.items():
        rows.append(
            (name, "Kdc.handle, all of it", lambda pool=pool: kdc.handle(pool[0], "udp", peer=PEER))
        )
    return rows


def _refusal(process: Callable[[], object]) -> KdcError:
    try:
        process()
    except KdcError as err:
        return err
    raise AssertionError("expected the KDC to refuse this request")


def _as_refusal_steps(kdc: Kdc, name: str, raw: bytes, now: float) -> list[Step]:
    req = codec.decode_kdc_req(raw)
    log = RequestLog("AS_REQ", PEER)
    err = _refusal(lambda: process_as_req(kdc.realm, req, now, log))
    return [
        (name, "decode AS-REQ", lambda: codec.decode_kdc_req(raw)),
        (
            name,
            "AS checks up to the refusal",
            lambda: _refusal(lambda: process_as_req(kdc.realm, req, now, log)),
        ),
        (
            name,
            "KRB-ERROR (e-data, encode)",
            lambda: kdc._error_reply(req, "AS_REQ", err, now, log.fast, log.tgt_client),
        ),
    ]


def _as_rep_steps(kdc: Kdc, raw: bytes, now: float) -> list[Step]:
    name = "as-enc-timestamp"
    req = codec.decode_kdc_req(raw)
    client = kdc.realm.principals.get(f"{BenchPrincipals.user}@{BenchPrincipals.realm}")
    assert client is not None
    key = client.current_keys[18].key
    aes256 = enctype_by_id(18)
    log = RequestLog("AS_REQ", PEER)

    def verify_timestamp() -> object:
        enc = codec.decode_encrypted_data(req.padata[0].padata_value)
        return codec.decode_pa_enc_ts_enc(aes256.decrypt(key, KU_PA_ENC_TIMESTAMP, enc.cipher))

    return [
        (name, "decode AS-REQ", lambda: codec.decode_kdc_req(raw)),
        (name, "PA-ENC-TIMESTAMP: decode, decrypt, decode", verify_timestamp),
        (
            name,
            "AS processing, AS-REP issued (all but decode)",
            lambda: process_as_req(kdc.realm, req, now, log),
        ),
    ]


def _tgs_steps(kdc: Kdc, raw: bytes, now: float) -> list[Step]:
    name = "tgs"
    req = codec.decode_kdc_req(raw)
    pa_tgs_req = req.padata[0].padata_value
    ap_req = codec.decode_ap_req(pa_tgs_req)
    realm = BenchPrincipals.realm
    krbtgt = kdc.realm.principals.get(f"krbtgt/{realm}@{realm}")
    assert krbtgt is not None
    tkt = ap_req.ticket.enc_part
    tkt_key = krbtgt.current_keys[tkt.etype].key
    tkt_et = enctype_by_id(tkt.etype)
    tgt = codec.decode_enc_ticket_part(tkt_et.decrypt(tkt_key, KU_TICKET, tkt.cipher))
    session = tgt.key
    auth_et = enctype_by_id(session.keytype)
    auth = codec.decode_authenticator(
        auth_et.decrypt(session.keyvalue, KU_TGS_REQ_AUTH, ap_req.authenticator.cipher)
    )
    assert auth.cksum is not None and req.req_body_der is not None
    body_der, cksum = req.req_body_der, auth.cksum
    cksum_type = checksum_by_type(cksum.cksumtype)
    log = RequestLog("TGS_REQ", PEER)
    return [
        (name, "decode TGS-REQ", lambda: codec.decode_kdc_req(raw)),
        (name, "decode AP-REQ", lambda: codec.decode_ap_req(pa_tgs_req)),
        (
            name,
            "TGT: decrypt, decode (when not cached)",
            lambda: codec.decode_enc_ticket_part(tkt_et.decrypt(tkt_key, KU_TICKET, tkt.cipher)),
        ),
        (
            name,
            "authenticator: decrypt, decode",
            lambda: codec.decode_authenticator(
                auth_et.decrypt(session.keyvalue, KU_TGS_REQ_AUTH, ap_req.authenticator.cipher)
            ),
        ),
        (
            name,
            "request checksum",
            lambda: cksum_type.verify(
                session.keyvalue, KU_TGS_REQ_AUTH_CKSUM, body_der, cksum.checksum
            ),
        ),
        (
            name,
            "TGS processing, TGS-REP issued (all but decode)",
            lambda: process_tgs_req(kdc.realm, req, now, log, PEER),
        ),
    ]


def _expected(reply: bytes | None) -> str:
    if reply is None:
        return "no reply"
    if reply[0] == 0x7E:
        return f"error {codec.decode_krb_error(reply).error_code}"
    return {0x6B: "AS-REP", 0x6D: "TGS-REP"}.get(reply[0], f"tag 0x{reply[0]:02x}")


def time_workload(
    handle: Callable[[bytes], bytes | None], pool: Sequence[bytes], seconds: float
) -> float:
    """CPU microseconds per request over at least ``seconds`` of CPU (cycling through
    ``pool``). CPU time, not wall time: other work on the machine then shifts the
    figure much less (it still costs caches)."""
    n = len(pool)
    done = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for i in range(256):
            handle(pool[(done + i) % n])
        done += 256
        now = time.process_time()
        if now >= deadline:
            return (now - start) / done * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.handler_bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per timing (1.0)")
    parser.add_argument("--repeat", type=int, default=5, help="timings per workload (5)")
    parser.add_argument(
        "--profile",
        metavar="WORKLOAD",
        action="append",
        default=[],
        help="print a cProfile of this workload (repeatable; 'all')",
    )
    parser.add_argument("--top", type=int, default=30, help="profile lines (30)")
    parser.add_argument(
        "--steps", action="store_true", help="also time each step of the hot path alone"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="has-handler-bench-") as tmp:
        kdc, handlers, counters = _handlers(Path(tmp))
        try:

            def handle(request: bytes) -> bytes | None:
                return handlers.handle(request, "udp", PEER)

            pools = _workloads(kdc, handle)
            print("| workload | reply | CPU µs per request | requests/s of CPU |")
            print("|---|---|---:|---:|")
            for name, pool in pools.items():
                reply = _expected(handle(pool[0]))
                best = min(time_workload(handle, pool, args.seconds) for _ in range(args.repeat))
                print(f"| {name} | {reply} | {best:.1f} | {1e6 / best:,.0f} |", flush=True)
            if args.steps:
                print("\n| workload | step | CPU µs |")
                print("|---|---|---:|")
                for name, step, call in _steps(kdc.node.conf_dir, pools):
                    best = min(
                        timeit.repeat(call, number=200, repeat=args.repeat, timer=time.process_time)
                    )
                    print(f"| {name} | {step} | {best / 200 * 1e6:.1f} |", flush=True)
            for name, pool in pools.items():
                if name not in args.profile and "all" not in args.profile:
                    continue
                profiler = cProfile.Profile()
                profiler.enable()
                time_workload(handle, pool, args.seconds)
                profiler.disable()
                print(f"\n## profile: {name}\n", file=sys.stderr)
                stats = pstats.Stats(profiler, stream=sys.stderr)
                stats.sort_stats("tottime").print_stats(args.top)
        finally:
            counters.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
