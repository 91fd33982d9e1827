"""Seeded fuzzing of a live KDC over UDP and TCP, watching it for crashes, hangs,
tracebacks and memory growth.

``WireFuzzer(target, seeds, seed=...).run(n)`` sends ``n`` inputs from
``kdc_inputs.InputGenerator`` to a running has-server: most over UDP (one datagram
each), the rest over TCP with a framing variant each (one record, several records in
one write, a record split over many writes, a length prefix with the reserved bit set
or over the limit, a prefix promising more than is sent, trailing bytes after the
record, an empty record). Meanwhile it holds connections open with half a length
prefix (more than the KDC's connection cap, so it evicts) and sends valid requests a
few bytes at a time with pauses (slow partial frames), which must still be answered.

After every batch a probe (an AS-REQ for a known user, which must be answered
PREAUTH_REQUIRED) proves the KDC still answers; since the KDC reads one socket in
order, the probe's answer also means the batch was read. No answer: the KDC
**crashed** (its process is gone) or **hangs** (it is there but silent); the batch is
saved for replay and the run stops. Every reply is checked to be a KRB-ERROR, AS-REP
or TGS-REP that decodes, and never the "internal error" a handler exception becomes.
At the end the log is read for tracebacks and ERROR records, and the KDC's resident
memory is compared with what it was before the first input.

``python -m tests.fuzz.kdc_wire`` runs it against a has-server of its own (long mode:
``--inputs 1000000``; see ``--help``); ``tests/test_kdc_wire_fuzz.py`` is the quick mode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import struct
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.asn1.codec import decode_kdc_rep, decode_krb_error
from has_kdc.asn1.constants import KDC_ERR_PREAUTH_REQUIRED, KRB_ERR_FIELD_TOOLONG
from has_kdc.asn1.errors import Asn1Error
from tests.fuzz.kdc_inputs import MAX_DATAGRAM, InputGenerator, captured_requests

_LENGTH = struct.Struct("!I")
#: The KDC's TCP record limit (has_kdc.net.limits.DEFAULT_MAX_TCP_REQUEST).
MAX_TCP_RECORD = 128 * 1024
TCP_VARIANTS = ("frame", "multi", "split", "bad-prefix", "short", "long", "empty")
#: Datagrams queued per batch, counted with per-packet kernel overhead, kept under the
#: default socket receive buffer (212992) so the kernel drops none before the KDC reads.
_UDP_BATCH_BYTES = 150_000
_UDP_OVERHEAD = 1024


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` (VmRSS), in bytes."""
    return _status_field(pid, "VmRSS")


def peak_rss_bytes(pid: int) -> int:
    """The highest resident memory ``pid`` ever had (VmHWM), in bytes."""
    return _status_field(pid, "VmHWM")


def _status_field(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no {name}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is not serving either.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass(frozen=True)
class Target:
    """A running KDC: where it listens, its process and its log."""

    host: str
    port: int
    pid: int
    log_file: Path
    #: An AS-REQ that must be answered KDC_ERR_PREAUTH_REQUIRED (a known user, no padata).
    probe: bytes


@dataclass
class LogScan:
    """What a stretch of the KDC log holds that it should not."""

    tracebacks: int = 0
    errors: int = 0
    not_utf8: int = 0
    samples: list[str] = field(default_factory=list)
    bytes: int = 0


def scan_log(path: Path, start: int = 0, samples: int = 5) -> LogScan:
    """Tracebacks, ERROR/CRITICAL records and lines that are not UTF-8 in ``path``
    from byte ``start`` on (read in chunks: a long run's log is large)."""
    scan = LogScan()
    with open(path, "rb") as log:
        log.seek(start)
        pending = b""
        while True:
            chunk = log.read(1 << 20)
            if not chunk:
                break
            scan.bytes += len(chunk)
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for raw in lines:
                _scan_line(raw, scan, samples)
        if pending:
            _scan_line(pending, scan, samples)
    return scan


def _scan_line(raw: bytes, scan: LogScan, samples: int) -> None:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        scan.not_utf8 += 1
        line = raw.decode("utf-8", "replace")
    bad = False
    if line.startswith("Traceback (most recent call last)"):
        scan.tracebacks += 1
        bad = True
    elif " ERROR " in line or " CRITICAL " in line:
        scan.errors += 1
        bad = True
    if bad and len(scan.samples) < samples:
        scan.samples.append(line[:300])


@dataclass
class Report:
    """What one fuzzing run did and found."""

    seed: int
    inputs: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)
    bad_replies: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    slow_frames_answered: int = 0
    held_connections_closed: int = 0
    log: LogScan = field(default_factory=LogScan)
    rss_before: int = 0
    rss_after: int = 0
    rss_peak: int = 0
    seconds: float = 0.0
    saved: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.inputs.values())

    @property
    def findings(self) -> list[str]:
        found = [f"crash: {c}" for c in self.crashes] + [f"hang: {h}" for h in self.hangs]
        found += [f"bad reply: {b}" for b in self.bad_replies[:10]]
        if self.log.tracebacks or self.log.errors:
            found.append(
                f"log: {self.log.tracebacks} tracebacks, {self.log.errors} ERROR records: "
                + " | ".join(self.log.samples)
            )
        if self.log.not_utf8:
            found.append(f"log: {self.log.not_utf8} lines that are not UTF-8")
        return found

    def summary(self) -> str:
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(self.inputs.items()))
        replies = ", ".join(f"{k} {v}" for k, v in sorted(self.replies.items()))
        lines = [
            f"seed {self.seed}: {self.total} inputs in {self.seconds:.1f} s "
            f"({self.total / max(self.seconds, 1e-9):.0f}/s)",
            f"  inputs: {by_kind}",
            f"  replies: {replies}",
            f"  slow partial frames answered: {self.slow_frames_answered}; "
            f"held connections closed by the KDC: {self.held_connections_closed}",
            f"  RSS {self.rss_before / 1e6:.1f} MB before, {self.rss_after / 1e6:.1f} MB after, "
            f"peak {self.rss_peak / 1e6:.1f} MB; log +{self.log.bytes / 1e6:.1f} MB",
            f"  crashes {len(self.crashes)}, hangs {len(self.hangs)}, "
            f"bad replies {len(self.bad_replies)}, tracebacks {self.log.tracebacks}, "
            f"ERROR records {self.log.errors}",
        ]
        lines += [f"  FINDING {f}" for f in self.findings]
        lines += [f"  saved {p}" for p in self.saved]
        return "\n".join(lines)


class _Stop(Exception):
    """The KDC stopped answering: the run ends."""


@dataclass
class WireFuzzer:
    """Fuzz ``target`` with inputs made from ``seeds`` (see the module docstring).

    ``refresh_seeds`` (optional) returns fresh seed requests; it is called every
    ``refresh_every`` seconds, so requests with timestamps and authenticators stay
    within the clock skew during a long run. ``save_dir`` receives the batch in
    flight when the KDC stops answering.
    """

    target: Target
    seeds: Sequence[bytes]
    seed: int = 1
    udp_share: float = 0.7
    batch: int = 64
    hold: int = 300
    slow_frames: bool = True
    save_dir: Path | None = None
    refresh_seeds: Callable[[], Sequence[bytes]] | None = None
    refresh_every: float = 120.0
    probe_timeout: float = 5.0
    tcp_timeout: float = 10.0
    concurrency: int = 32
    progress: Callable[[Report], None] | None = None

    def run(self, n: int) -> Report:
        return asyncio.run(self._run(n))

    # -- the run

    async def _run(self, n: int) -> Report:
        rng = random.Random(self.seed)
        self._rng = rng
        self._gen = InputGenerator(list(self.seeds), random.Random(rng.getrandbits(64)))
        self._tcp_gen = InputGenerator(
            list(self.seeds), random.Random(rng.getrandbits(64)), max_size=MAX_TCP_RECORD + 1024
        )
        report = Report(self.seed)
        self._report = report
        self._stopping = False
        self._tcp_slots = asyncio.Semaphore(self.concurrency)
        pid = self.target.pid
        log_start = self.target.log_file.stat().st_size
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setblocking(False)
        udp.connect((self.target.host, self.target.port))
        self._udp = udp
        await self._probe("start")
        report.rss_before = rss_bytes(pid)
        background = [asyncio.create_task(self._hold_connections())]
        if self.slow_frames:
            background.append(asyncio.create_task(self._slow_frames()))
        started = time.monotonic()
        refreshed = started
        number = 0
        try:
            while number < n:
                if self.refresh_seeds is not None and time.monotonic() - refreshed > (
                    self.refresh_every
                ):
                    self._set_seeds(self.refresh_seeds())
                    refreshed = time.monotonic()
                count = min(self.batch, n - number)
                await self._batch(count, number)
                number += count
                report.rss_peak = max(report.rss_peak, rss_bytes(pid))
                if self.progress is not None and number % (self.batch * 200) < self.batch:
                    report.seconds = time.monotonic() - started
                    self.progress(report)
            await self._probe("end")
        except _Stop:
            pass
        finally:
            report.seconds = time.monotonic() - started
            self._stopping = True
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError, _Stop):
                    await task
            udp.close()
        if alive(pid):
            report.rss_after = rss_bytes(pid)
            report.rss_peak = max(report.rss_peak, peak_rss_bytes(pid))
        report.log = scan_log(self.target.log_file, log_start)
        return report

    def _set_seeds(self, seeds: Sequence[bytes]) -> None:
        self._gen = InputGenerator(list(seeds), self._gen.rng, self._gen.max_size)
        self._tcp_gen = InputGenerator(list(seeds), self._tcp_gen.rng, self._tcp_gen.max_size)

    async def _batch(self, count: int, first: int) -> None:
        report = self._report
        rng = self._rng
        sent: list[tuple[str, bytes]] = []
        tcp_jobs = []
        queued = 0
        for _ in range(count):
            if rng.random() < self.udp_share:
                kind, data = self._gen.next()
                size = len(data[:MAX_DATAGRAM])
                if queued + size + _UDP_OVERHEAD > _UDP_BATCH_BYTES:
                    await self._probe_udp_only()  # let the KDC read what is queued
                    self._drain_udp()
                    queued = 0
                await self._send_udp(data[:MAX_DATAGRAM])
                queued += size + _UDP_OVERHEAD
                report.inputs[f"udp/{kind}"] += 1
                sent.append((f"udp/{kind}", data))
            else:
                kind, data = self._tcp_gen.next()
                variant = rng.choice(TCP_VARIANTS)
                report.inputs[f"tcp/{variant}/{kind}"] += 1
                sent.append((f"tcp/{variant}/{kind}", data))
                tcp_jobs.append(asyncio.create_task(self._tcp_input(variant, data)))
        try:
            if tcp_jobs:
                await asyncio.gather(*tcp_jobs)
            await self._probe(f"batch from input {first}")
        except _Stop:
            self._save(sent, first)
            raise
        finally:
            for job in tcp_jobs:
                job.cancel()
        self._drain_udp()

    # -- UDP

    async def _send_udp(self, data: bytes) -> None:
        for _ in range(1000):
            try:
                self._udp.send(data)
                return
            except BlockingIOError:
                await asyncio.sleep(0.001)
            except ConnectionRefusedError:
                # an ICMP port unreachable from an earlier datagram: the KDC may be gone
                await self._probe("UDP send refused")
                return

    def _drain_udp(self) -> None:
        while True:
            try:
                reply = self._udp.recv(70000)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                continue
            self._check_reply(reply, "udp")

    # -- TCP

    async def _tcp_input(self, variant: str, data: bytes) -> None:
        rng = self._rng
        expect_toolong = False
        if variant == "frame":
            writes = [_LENGTH.pack(len(data)) + data]
        elif variant == "multi":
            extra = [self._tcp_gen.next()[1] for _ in range(rng.randrange(1, 4))]
            writes = [b"".join(_LENGTH.pack(len(d)) + d for d in [data, *extra])]
        elif variant == "split":
            record = _LENGTH.pack(len(data)) + data
            cuts = sorted(rng.sample(range(1, len(record)), min(len(record) - 1, 9)))
            writes = [record[a:b] for a, b in zip([0, *cuts], [*cuts, len(record)], strict=True)]
        elif variant == "bad-prefix":
            announced = rng.choice(
                (0x80000000 | len(data), 0xFFFFFFFF, MAX_TCP_RECORD + 1, 0x7FFFFFFF)
            )
            writes = [_LENGTH.pack(announced) + data[:1000]]
            expect_toolong = True
        elif variant == "short":
            writes = [_LENGTH.pack(len(data) + rng.choice((1, 100, 60000))) + data]
        elif variant == "long":
            writes = [_LENGTH.pack(len(data)) + data + rng.randbytes(rng.choice((1, 3, 4, 100)))]
        else:  # empty
            writes = [_LENGTH.pack(0)]
        async with self._tcp_slots:
            replies = await self._tcp_exchange(writes, variant)
        if expect_toolong:
            if not replies:
                self._report.bad_replies.append(f"tcp/{variant}: no KRB_ERR_FIELD_TOOLONG")
            elif _error_code(replies[0]) != KRB_ERR_FIELD_TOOLONG:
                self._report.bad_replies.append(
                    f"tcp/{variant}: answered {replies[0][:16].hex()}, not FIELD_TOOLONG"
                )

    async def _tcp_exchange(self, writes: list[bytes], what: str) -> list[bytes]:
        """Send ``writes`` on a new connection, close our side, read every record the
        KDC answers until it closes."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.target.host, self.target.port), self.tcp_timeout
            )
        except (OSError, TimeoutError):
            await self._probe(f"tcp/{what}: could not connect")
            return []
        replies: list[bytes] = []
        try:
            for chunk in writes:
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(self.tcp_timeout):
                while True:
                    try:
                        header = await reader.readexactly(4)
                    except asyncio.IncompleteReadError:
                        break
                    (length,) = _LENGTH.unpack(header)
                    if length > 1 << 20:
                        self._report.bad_replies.append(f"tcp/{what}: reply length {length}")
                        break
                    reply = await reader.readexactly(length)
                    self._check_reply(reply, "tcp")
                    replies.append(reply)
        except TimeoutError:
            self._report.hangs.append(f"tcp/{what}: no reply and no close in {self.tcp_timeout} s")
            raise _Stop from None
        except (OSError, asyncio.IncompleteReadError):
            # closed or reset by the KDC (or evicted to make room): an answer too
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return replies

    async def _hold_connections(self) -> None:
        """Keep ``hold`` connections open with half a length prefix; count the ones
        the KDC closes (evicted for newer ones, or idle too long) and open them again."""
        if self.hold <= 0:
            return
        waiting = asyncio.Semaphore(self.hold)

        async def one() -> None:
            async with waiting:
                try:
                    reader, writer = await asyncio.open_connection(
                        self.target.host, self.target.port
                    )
                except OSError:
                    await asyncio.sleep(0.1)
                    return
                try:
                    writer.write(b"\x00\x00")
                    await writer.drain()
                    await reader.read(1024)  # returns when the KDC closes it
                except (ConnectionError, OSError):
                    pass
                finally:
                    writer.close()
                if not self._stopping:
                    self._report.held_connections_closed += 1
                    # Not at once: each new one would evict the next held one, and
                    # the KDC would do nothing but cycle them.
                    await asyncio.sleep(1.0)

        tasks: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                while len(tasks) < self.hold:
                    task = asyncio.create_task(one())
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(0.05)
        finally:
            for task in list(tasks):
                task.cancel()

    async def _slow_frames(self) -> None:
        """Send the probe a few bytes at a time with pauses; it must be answered."""
        rng = random.Random(self._rng.getrandbits(64))
        record = _LENGTH.pack(len(self.target.probe)) + self.target.probe
        while not self._stopping:
            cuts = sorted(rng.sample(range(1, len(record)), rng.randrange(2, 30)))
            pieces = [record[a:b] for a, b in zip([0, *cuts], [*cuts, len(record)], strict=True)]
            try:
                reader, writer = await asyncio.open_connection(self.target.host, self.target.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                for piece in pieces:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(rng.uniform(0.002, 0.05))
                async with asyncio.timeout(self.tcp_timeout):
                    header = await reader.readexactly(4)
                    reply = await reader.readexactly(_LENGTH.unpack(header)[0])
                if _error_code(reply) == KDC_ERR_PREAUTH_REQUIRED:
                    self._report.slow_frames_answered += 1
                else:
                    self._report.bad_replies.append(f"slow frame: answered {reply[:16].hex()}")
            except TimeoutError:
                if not self._stopping:
                    self._report.hangs.append("a slow partial frame got no answer")
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                pass  # evicted by newer connections: the cap at work
            finally:
                writer.close()

    # -- liveness

    async def _probe(self, when: str) -> None:
        """The KDC must answer the probe, over UDP (or else TCP); else crash or hang."""
        if await self._probe_udp_only():
            return
        replies = await self._tcp_probe()
        if replies:
            return
        pid = self.target.pid
        if not alive(pid):
            self._report.crashes.append(f"KDC process {pid} is gone ({when})")
        else:
            self._report.hangs.append(f"KDC does not answer the probe ({when})")
        raise _Stop

    async def _probe_udp_only(self) -> bool:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.setblocking(False)
            probe.connect((self.target.host, self.target.port))
            for _ in range(3):
                probe.send(self.target.probe)
                try:
                    async with asyncio.timeout(self.probe_timeout):
                        reply = await loop.sock_recv(probe, 70000)
                except TimeoutError:
                    continue
                except ConnectionRefusedError:
                    return False
                return _error_code(reply) == KDC_ERR_PREAUTH_REQUIRED
        return False

    async def _tcp_probe(self) -> list[bytes]:
        record = _LENGTH.pack(len(self.target.probe)) + self.target.probe
        try:
            async with asyncio.timeout(self.probe_timeout * 2):
                reader, writer = await asyncio.open_connection(self.target.host, self.target.port)
                try:
                    writer.write(record)
                    await writer.drain()
                    header = await reader.readexactly(4)
                    return [await reader.readexactly(_LENGTH.unpack(header)[0])]
                finally:
                    writer.close()
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return []

    # -- replies

    def _check_reply(self, reply: bytes, transport: str) -> None:
        report = self._report
        tag = reply[:1]
        try:
            if tag == b"\x7e":
                error = decode_krb_error(reply)
                if error.e_text == "internal error":
                    report.bad_replies.append(f"{transport}: the KDC failed on an input")
                report.replies[f"{transport}/error {error.error_code}"] += 1
            elif tag in (b"\x6b", b"\x6d"):
                rep = decode_kdc_rep(reply)
                report.replies[f"{transport}/{'AS' if rep.msg_type == 11 else 'TGS'}-REP"] += 1
            else:
                report.bad_replies.append(f"{transport}: reply {reply[:16].hex()}")
        except Asn1Error as exc:
            report.bad_replies.append(f"{transport}: undecodable reply ({exc})"[:300])

    def _save(self, sent: list[tuple[str, bytes]], first: int) -> None:
        if self.save_dir is None:
            return
        self.save_dir.mkdir(parents=True, exist_ok=True)
        for i, (label, data) in enumerate(sent):
            path = self.save_dir / f"seed{self.seed}-input{first + i}-{label.replace('/', '-')}"
            path.write_bytes(data)
            self._report.saved.append(path)


def _error_code(reply: bytes) -> int | None:
    try:
        return decode_krb_error(reply).error_code
    except Asn1Error:
        return None


# --- a has-server of its own ------------------------------------------------------------

USER = "fuzzer"
PASSWORD = "fuzzer-pw"  # a throwaway realm's test user
SERVICE = "HTTP/fuzz.example.com"


def live_seed_requests(host: str, port: int, realm: str) -> list[bytes]:
    """Real requests for the realm of a KDC that has ``USER`` and ``SERVICE``: an
    AS-REQ as kinit first sends it, AS-REQs with PA-ENC-TIMESTAMP, TGS-REQs for the
    TGS and for the service with a TGT just obtained, and the MIT captures."""
    from bench.packets import AsEncTimestampPool, TgsReqPool, as_req, get_tgt
    from has_kdc.asn1.messages import ETypeInfo2Entry
    from has_kdc.client.kdc_client import string_to_key
    from has_kdc.principal import default_salt

    key = string_to_key(PASSWORD, ETypeInfo2Entry(18, None, None), default_salt((USER,), realm))
    tgt = get_tgt(host, port, realm, USER, PASSWORD)
    return [
        as_req(USER, realm),
        as_req(f"{USER}@{realm}", realm, etypes=(18, 17, 20, 19, 16, 23, 1, 3)),
        *AsEncTimestampPool(USER, realm, key).make(2),
        *TgsReqPool(tgt, f"krbtgt/{realm}").make(1),
        *TgsReqPool(tgt, SERVICE).make(2),
        *captured_requests(),
    ]


def start_node(tmp: Path, realm: str = "FUZZ.TEST"):  # -> tests.hasnode.HasNode
    """A has-server (SQLite) with ``USER`` and ``SERVICE``, started."""
    from tests.hasnode import HasNode

    node = HasNode(tmp, realm)
    node.init()
    node.hadmin("addprinc", "-pw", PASSWORD, USER)
    node.hadmin("addprinc", "-randkey", SERVICE)
    node.start()
    return node


def target_of(node) -> Target:  # node: tests.hasnode.HasNode
    from bench.packets import as_req

    pid = node.pid
    if pid is None:
        raise RuntimeError("has-server wrote no pidfile")
    return Target(node.host, node.port, pid, node.log_file, as_req(USER, node.realm))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz.kdc_wire",
        description="Fuzz a has-server of its own over UDP and TCP (see the module docstring).",
    )
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs to send")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed")
    parser.add_argument("--udp-share", type=float, default=0.7, help="share sent over UDP")
    parser.add_argument("--hold", type=int, default=300, help="connections held half-open")
    parser.add_argument(
        "--save-dir", type=Path, default=Path("fuzz-findings"), help="where failing inputs go"
    )
    parser.add_argument(
        "--max-rss-growth-mb", type=float, default=128.0, help="RSS growth that is a finding"
    )
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="has-kdc-fuzz-") as tmp:
        node = start_node(Path(tmp))
        try:
            target = target_of(node)
            fuzzer = WireFuzzer(
                target,
                live_seed_requests(node.host, node.port, node.realm),
                seed=options.seed,
                udp_share=options.udp_share,
                hold=options.hold,
                save_dir=options.save_dir,
                refresh_seeds=lambda: live_seed_requests(node.host, node.port, node.realm),
                progress=lambda r: print(
                    f"... {r.total} inputs, {r.seconds:.0f} s, RSS peak {r.rss_peak / 1e6:.1f} MB",
                    file=sys.stderr,
                    flush=True,
                ),
            )
            report = fuzzer.run(options.inputs)
        finally:
            node.stop()
    print(report.summary())
    growth = (report.rss_after - report.rss_before) / 1e6
    if growth > options.max_rss_growth_mb:
        print(f"  FINDING RSS grew {growth:.1f} MB", flush=True)
        return 1
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
