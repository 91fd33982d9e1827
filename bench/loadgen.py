"""Load generator for KDC benchmarks: prebuilt requests, N in flight, loopback only.

Used by the benchmarks of has-kdc and MIT krb5kdc side by side, so it must outrun
both: sender processes (fork) each own a share of the in-flight slots, one
connected non-blocking socket per slot, driven by epoll. A slot has at most one
request outstanding, so a reply is matched to its request by the socket it arrives
on, whatever its content. A request unanswered after ``timeout`` counts as lost and
its slot moves to a fresh socket, so a late reply is never taken for the next one.

Over TCP every request gets its own connection (connect, send, read the reply,
close), as MIT clients do and as MIT's KDC expects.

Replies are counted by a classifier (default: Kerberos message type, and the error
code of a KRB-ERROR). Latency is from send to the reply's arrival.

    python -m bench.loadgen --target 127.0.0.1:88 --packets as-req.bin \\
        --in-flight 32 --processes 2 --count 100000 --duration 10

``--packets`` files hold requests in RFC 4120 TCP framing (4-byte big-endian length,
then the message), one after another; ``write_packets`` writes them.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import multiprocessing
import os
import select
import socket
import struct
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal

Transport = Literal["udp", "tcp"]
Classifier = Callable[[bytes], str]

MAX_IN_FLIGHT = 4096
MAX_PROCESSES = 64
MAX_COUNT = 10_000_000
MAX_DURATION = 600.0
LENGTH = struct.Struct("!I")

# --- reply classification ----------------------------------------------------------

#: Application tags (RFC 4120 §5.10) of the replies a KDC sends.
_REPLY_TAGS = {0x6B: "AS-REP", 0x6D: "TGS-REP", 0x7E: "KRB-ERROR"}
#: The KRB-ERROR codes a KDC benchmark meets (RFC 4120 §7.5.9).
ERROR_NAMES = {
    6: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
    7: "KDC_ERR_S_PRINCIPAL_UNKNOWN",
    13: "KDC_ERR_BADOPTION",
    14: "KDC_ERR_ETYPE_NOSUPP",
    18: "KDC_ERR_CLIENT_REVOKED",
    24: "KDC_ERR_PREAUTH_FAILED",
    25: "KDC_ERR_PREAUTH_REQUIRED",
    31: "KRB_AP_ERR_BAD_INTEGRITY",
    37: "KRB_AP_ERR_SKEW",
    41: "KRB_AP_ERR_MODIFIED",
    52: "KRB_ERR_RESPONSE_TOO_BIG",
    60: "KRB_ERR_GENERIC",
    61: "KRB_ERR_FIELD_TOOLONG",
    68: "KDC_ERR_WRONG_REALM",
}


def _der_header(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content offset, content length) of the DER element at ``offset``."""
    tag = data[offset]
    first = data[offset + 1]
    offset += 2
    if first < 0x80:
        return tag, offset, first
    size = first & 0x7F
    if size == 0 or size > 4:
        raise ValueError("unsupported DER length")
    length = int.from_bytes(data[offset : offset + size], "big")
    return tag, offset + size, length


def krb_error_code(reply: bytes) -> int:
    """The error-code [6] of a KRB-ERROR (RFC 4120 §5.9.1)."""
    tag, offset, length = _der_header(reply, 0)
    if tag != 0x7E:
        raise ValueError("not a KRB-ERROR")
    tag, offset, length = _der_header(reply, offset)
    if tag != 0x30:
        raise ValueError("KRB-ERROR is not a SEQUENCE")
    end = offset + length
    while offset < end:
        tag, content, length = _der_header(reply, offset)
        if tag == 0xA6:
            inner_tag, value, size = _der_header(reply, content)
            if inner_tag != 0x02:
                raise ValueError("error-code is not an INTEGER")
            return int.from_bytes(reply[value : value + size], "big", signed=True)
        offset = content + length
    raise ValueError("KRB-ERROR without error-code")


def kerberos_reply_kind(reply: bytes) -> str:
    """'AS-REP', 'TGS-REP', 'KRB-ERROR 25 KDC_ERR_PREAUTH_REQUIRED', or 'other'."""
    if not reply:
        return "empty"
    kind = _REPLY_TAGS.get(reply[0])
    if kind != "KRB-ERROR":
        return kind or f"other (tag 0x{reply[0]:02x})"
    try:
        code = krb_error_code(reply)
    except (ValueError, IndexError):
        return "KRB-ERROR (undecodable)"
    return f"KRB-ERROR {code} {ERROR_NAMES.get(code, '')}".rstrip()


def kdc_req_nonce_offset(request: bytes) -> int | None:
    """Offset of the 4 content bytes of a KDC-REQ's req-body nonce, or None.

    AS-REQ [APPLICATION 10] / TGS-REQ [APPLICATION 12] ::= SEQUENCE { ..., req-body [4]
    KDC-REQ-BODY ::= SEQUENCE { ..., nonce [7] UInt32, ... } } (RFC 4120 §5.4.1).
    None when the nonce is not encoded on exactly 4 bytes, so it cannot be rewritten
    in place.
    """
    try:
        tag, offset, length = _der_header(request, 0)
        if tag not in (0x6A, 0x6C):
            return None
        tag, offset, length = _der_header(request, offset)
        end = offset + length
        while offset < end:
            tag, content, length = _der_header(request, offset)
            if tag == 0xA4:
                _tag, body, body_length = _der_header(request, content)
                body_end = body + body_length
                while body < body_end:
                    tag, field_content, field_length = _der_header(request, body)
                    if tag == 0xA7:
                        _tag, value, size = _der_header(request, field_content)
                        return value if _tag == 0x02 and size == 4 else None
                    body = field_content + field_length
                return None
            offset = content + length
    except (ValueError, IndexError):
        return None
    return None


# --- packets files -----------------------------------------------------------------


def write_packets(path: str | os.PathLike[str], packets: Sequence[bytes]) -> None:
    Path(path).write_bytes(b"".join(LENGTH.pack(len(p)) + p for p in packets))


def read_packets(path: str | os.PathLike[str]) -> list[bytes]:
    data = Path(path).read_bytes()
    packets, offset = [], 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise ValueError(f"{path}: truncated length prefix at byte {offset}")
        (length,) = LENGTH.unpack_from(data, offset)
        offset += 4
        if offset + length > len(data):
            raise ValueError(f"{path}: record at byte {offset - 4} runs past the end")
        packets.append(data[offset : offset + length])
        offset += length
    if not packets:
        raise ValueError(f"{path}: no packets")
    return packets


# --- results -----------------------------------------------------------------------


@dataclass
class LoadResult:
    """What a run measured; latencies in seconds, sorted."""

    transport: Transport
    in_flight: int
    processes: int
    sent: int
    replies: int
    lost: int
    elapsed: float
    latencies: array = field(repr=False)
    by_class: dict[str, int]

    @property
    def rate(self) -> float:
        """Replies per second over the whole run."""
        return self.replies / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        index = min(len(self.latencies) - 1, int(fraction * len(self.latencies)))
        return self.latencies[index]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    def summary(self) -> dict[str, object]:
        return {
            "transport": self.transport,
            "in_flight": self.in_flight,
            "processes": self.processes,
            "sent": self.sent,
            "replies": self.replies,
            "lost": self.lost,
            "elapsed_s": round(self.elapsed, 3),
            "requests_per_s": round(self.rate, 1),
            "p50_ms": round(self.p50 * 1000, 3),
            "p99_ms": round(self.p99 * 1000, 3),
            "by_class": dict(sorted(self.by_class.items())),
        }

    def __str__(self) -> str:
        lines = [
            f"{self.replies} replies in {self.elapsed:.2f} s over {self.transport} "
            f"({self.in_flight} in flight, {self.processes} processes): "
            f"{self.rate:,.0f} req/s, p50 {self.p50 * 1000:.2f} ms, "
            f"p99 {self.p99 * 1000:.2f} ms, lost {self.lost}",
        ]
        lines += [f"  {n:>9}  {kind}" for kind, n in sorted(self.by_class.items())]
        return "\n".join(lines)


# --- the run -----------------------------------------------------------------------


def loopback_address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    """The target's address, refusing anything that is not loopback."""
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_DGRAM)
    for family, _type, _proto, _canon, sockaddr in infos:
        if ipaddress.ip_address(sockaddr[0]).is_loopback:
            return socket.AddressFamily(family), (str(sockaddr[0]), port)
    raise ValueError(f"load generator targets loopback addresses only, not {host!r}")


def run_load(
    packets: Sequence[bytes],
    host: str,
    port: int,
    *,
    transport: Transport = "udp",
    in_flight: int = 32,
    processes: int = 2,
    count: int = 10_000,
    duration: float = 10.0,
    timeout: float = 1.0,
    warmup: int = 0,
    unique_nonce: bool = False,
    classify: Classifier = kerberos_reply_kind,
) -> LoadResult:
    """Send ``count`` requests (cycling through ``packets``), ``in_flight`` at a time.

    Stops issuing when ``count`` requests were sent or ``duration`` seconds passed,
    whichever comes first, then waits at most ``timeout`` for the last replies.
    ``warmup`` requests per process are sent first and not counted.

    ``unique_nonce`` rewrites the req-body nonce of every AS-REQ/TGS-REQ sent, so no
    two requests are the same bytes. MIT krb5kdc answers a repeated request from its
    lookaside cache (src/kdc/replay.c: two minutes, 10 MiB, FIFO) without doing the
    work, so a benchmark that repeats packets measures the cache. Not for TGS-REQ:
    the authenticator's checksum covers the req-body; send a pool of distinct
    prebuilt TGS-REQs larger than the cache instead.
    """
    if not packets:
        raise ValueError("no request packets to send")
    if transport not in ("udp", "tcp"):
        raise ValueError(f"transport must be udp or tcp, not {transport!r}")
    if not 1 <= in_flight <= MAX_IN_FLIGHT:
        raise ValueError(f"in_flight must be 1..{MAX_IN_FLIGHT}")
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be 1..{MAX_COUNT}")
    if not 0 < duration <= MAX_DURATION:
        raise ValueError(f"duration must be in (0, {MAX_DURATION}] seconds")
    processes = max(1, min(processes, in_flight, count, MAX_PROCESSES))
    family, address = loopback_address(host, port)
    nonce_offsets: list[int | None] = [None] * len(packets)
    if unique_nonce:
        nonce_offsets = [kdc_req_nonce_offset(packet) for packet in packets]
        if None in nonce_offsets:
            raise ValueError(
                "unique_nonce needs KDC-REQs whose nonce is encoded on 4 bytes; "
                f"packet {nonce_offsets.index(None)} is not one"
            )
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers, pipes = [], []
    for index in range(processes):
        slots = in_flight // processes + (1 if index < in_flight % processes else 0)
        quota = count // processes + (1 if index < count % processes else 0)
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_sender_main,
            args=(
                sender,
                start,
                _SenderSpec(
                    list(packets),
                    nonce_offsets,
                    index,
                    family,
                    address,
                    transport,
                    slots,
                    quota,
                    duration,
                    timeout,
                    warmup,
                    classify,
                ),
            ),
            daemon=True,
        )
        process.start()
        sender.close()
        workers.append(process)
        pipes.append(receiver)
    try:
        for pipe in pipes:  # every sender has its sockets and warm-up done
            if pipe.recv() != "ready":
                raise RuntimeError("a sender process failed to start")
        start.set()
        reports = [pipe.recv() for pipe in pipes]
    finally:
        for process in workers:
            process.join(timeout + duration + 5)
            if process.is_alive():
                process.kill()
                process.join()
    latencies = array("d")
    by_class: Counter[str] = Counter()
    for report in reports:
        latencies.frombytes(report["latencies"])
        by_class.update(report["by_class"])
    return LoadResult(
        transport=transport,
        in_flight=in_flight,
        processes=processes,
        sent=sum(r["sent"] for r in reports),
        replies=sum(r["replies"] for r in reports),
        lost=sum(r["lost"] for r in reports),
        elapsed=max(r["end"] for r in reports) - min(r["start"] for r in reports),
        latencies=array("d", sorted(latencies)),
        by_class=dict(by_class),
    )


@dataclass
class _SenderSpec:
    packets: list[bytes]
    nonce_offsets: list[int | None]
    index: int
    family: socket.AddressFamily
    address: tuple[str, int]
    transport: Transport
    slots: int
    quota: int
    duration: float
    timeout: float
    warmup: int
    classify: Classifier


def _sender_main(pipe: Connection, start: object, spec: _SenderSpec) -> None:
    sender = _UdpSender(spec) if spec.transport == "udp" else _TcpSender(spec)
    try:
        sender.warm_up()
        pipe.send("ready")
        start.wait()  # type: ignore[attr-defined]
        pipe.send(sender.run())
    finally:
        sender.close()
        pipe.close()


class _Sender:
    """The slot bookkeeping common to UDP and TCP: quota, deadline, counts, timeouts."""

    def __init__(self, spec: _SenderSpec) -> None:
        self.spec = spec
        self.epoll = select.epoll()
        self.next_packet = spec.index * 7919  # senders start at different packets
        self.sent = 0
        self.replies = 0
        self.lost = 0
        self.latencies = array("d")
        self.by_class: Counter[str] = Counter()
        self.sent_at: dict[int, float] = {}  # fd -> send time of its outstanding request
        self.counting = False
        self.stop_issuing_at = 0.0

    def packet(self) -> bytes:
        packets = self.spec.packets
        self.next_packet += 1
        index = self.next_packet % len(packets)
        offset = self.spec.nonce_offsets[index]
        if offset is None:
            return packets[index]
        # 0x40000000 | counter: always 4 content bytes, positive; distinct per sender.
        nonce = 0x4000_0000 | ((self.next_packet * MAX_PROCESSES + self.spec.index) & 0x3FFF_FFFF)
        packet = bytearray(packets[index])
        packet[offset : offset + 4] = nonce.to_bytes(4, "big")
        return bytes(packet)

    def may_issue(self, now: float) -> bool:
        if not self.counting:
            return True
        return self.sent < self.spec.quota and now < self.stop_issuing_at

    def record(self, reply: bytes, latency: float) -> None:
        if self.counting:
            self.replies += 1
            self.latencies.append(latency)
            self.by_class[self.spec.classify(reply)] += 1

    def warm_up(self) -> None:
        if self.spec.warmup:
            self.counting = False
            self.loop(self.spec.warmup)

    def run(self) -> dict[str, object]:
        self.counting = True
        started = time.perf_counter()
        self.stop_issuing_at = started + self.spec.duration
        self.loop(None)
        return {
            "sent": self.sent,
            "replies": self.replies,
            "lost": self.lost,
            "start": started,
            "end": time.perf_counter(),
            "latencies": self.latencies.tobytes(),
            "by_class": dict(self.by_class),
        }

    def loop(self, limit: int | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.epoll.close()


class _UdpSender(_Sender):
    def __init__(self, spec: _SenderSpec) -> None:
        super().__init__(spec)
        self.sockets: dict[int, socket.socket] = {}

    def _new_socket(self) -> socket.socket:
        sock = socket.socket(self.spec.family, socket.SOCK_DGRAM)
        sock.connect(self.spec.address)
        sock.setblocking(False)
        self.sockets[sock.fileno()] = sock
        self.epoll.register(sock.fileno(), select.EPOLLIN)
        return sock

    def _retire(self, fd: int) -> socket.socket:
        sock = self.sockets.pop(fd)
        self.epoll.unregister(fd)
        self.sent_at.pop(fd, None)
        sock.close()
        return self._new_socket()

    def _issue(self, sock: socket.socket) -> bool:
        now = time.perf_counter()
        if not self.may_issue(now):
            return False
        try:
            sock.send(self.packet())
        except OSError:
            # ICMP refusal of an earlier datagram, or a full buffer: count and move on.
            self.lost += self.counting
            return False
        self.sent_at[sock.fileno()] = now
        self.sent += self.counting
        return True

    def loop(self, limit: int | None) -> None:
        spec = self.spec
        done = 0
        while len(self.sockets) < spec.slots:
            self._new_socket()
        for sock in list(self.sockets.values()):
            self._issue(sock)
        poll = self.epoll.poll
        perf = time.perf_counter
        next_sweep = perf() + spec.timeout / 4
        while self.sent_at:
            for fd, _events in poll(spec.timeout / 4):
                sock = self.sockets[fd]
                try:
                    reply = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    reply = None
                now = perf()
                sent = self.sent_at.pop(fd, None)
                if sent is None:
                    continue
                if reply is None:
                    self.lost += self.counting
                else:
                    self.record(reply, now - sent)
                done += 1
                if limit is not None and done >= limit:
                    continue
                self._issue(sock)
            now = perf()
            if now >= next_sweep:
                next_sweep = now + spec.timeout / 4
                for fd, sent in list(self.sent_at.items()):
                    if now - sent > spec.timeout:
                        self.lost += self.counting
                        fresh = self._retire(fd)
                        done += 1
                        if limit is None or done < limit:
                            self._issue(fresh)

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        super().close()


class _TcpSender(_Sender):
    """One connection per request: connect, write the record, read the reply, close."""

    def __init__(self, spec: _SenderSpec) -> None:
        super().__init__(spec)
        self.sockets: dict[int, socket.socket] = {}
        self.buffers: dict[int, bytearray] = {}
        self.pending_write: dict[int, bytes] = {}
        self.completed = 0
        self.limit: int | None = None

    def _open(self) -> bool:
        now = time.perf_counter()
        if not self.may_issue(now):
            return False
        sock = socket.socket(self.spec.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(self.spec.address)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self.lost += self.counting
            return False
        fd = sock.fileno()
        self.sockets[fd] = sock
        self.buffers[fd] = bytearray()
        packet = self.packet()
        self.pending_write[fd] = LENGTH.pack(len(packet)) + packet
        self.sent_at[fd] = now
        self.sent += self.counting
        self.epoll.register(fd, select.EPOLLOUT)
        return True

    def _finish(self, fd: int) -> None:
        self.epoll.unregister(fd)
        self.sockets.pop(fd).close()
        self.buffers.pop(fd, None)
        self.pending_write.pop(fd, None)
        self.sent_at.pop(fd, None)

    def loop(self, limit: int | None) -> None:
        spec = self.spec
        self.completed = 0
        self.limit = limit
        for _ in range(spec.slots):
            self._open()
        perf = time.perf_counter
        next_sweep = perf() + spec.timeout / 4
        while self.sent_at:
            for fd, _events in self.epoll.poll(spec.timeout / 4):
                sock = self.sockets.get(fd)
                if sock is None:
                    continue
                if fd in self.pending_write:
                    data = self.pending_write[fd]
                    try:
                        written = sock.send(data)
                    except BlockingIOError:
                        continue
                    except OSError:
                        self._done(fd, lost=True)
                        continue
                    if written < len(data):
                        self.pending_write[fd] = data[written:]
                    else:
                        del self.pending_write[fd]
                        self.epoll.modify(fd, select.EPOLLIN)
                    continue
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self._done(fd, lost=True)
                    continue
                buffer = self.buffers[fd]
                buffer += chunk
                if len(buffer) >= 4 and len(buffer) >= 4 + LENGTH.unpack_from(buffer)[0]:
                    self.record(bytes(buffer[4:]), perf() - self.sent_at[fd])
                    self._done(fd, lost=False)
            now = perf()
            if now >= next_sweep:
                next_sweep = now + spec.timeout / 4
                for fd, sent in list(self.sent_at.items()):
                    if now - sent > spec.timeout:
                        self._done(fd, lost=True)

    def _done(self, fd: int, *, lost: bool) -> None:
        """The request on ``fd`` is answered or lost: close it and start the next."""
        if lost:
            self.lost += self.counting
        self._finish(fd)
        self.completed += 1
        if self.limit is None or self.completed < self.limit:
            self._open()

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        super().close()


# --- command line ------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT of the KDC (loopback)")
    parser.add_argument("--packets", required=True, type=Path, help="file of framed requests")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--processes", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument(
        "--unique-nonce", action="store_true", help="rewrite each KDC-REQ nonce (not TGS)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    result = run_load(
        read_packets(args.packets),
        host.strip("[]"),
        int(port),
        transport=args.transport,
        in_flight=args.in_flight,
        processes=args.processes,
        count=args.count,
        duration=args.duration,
        timeout=args.timeout,
        warmup=args.warmup,
        unique_nonce=args.unique_nonce,
    )
    print(json.dumps(result.summary()) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
