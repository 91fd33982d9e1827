"""KDC request counters shared by the KDC worker processes through one mapped file.

The KDC counts; ``has_kdc.web.metrics`` renders the sums on ``GET /metrics`` and the
node's heartbeat reports ``summary()``. Requests are counted by kind (AS, TGS) and
result (``ok``, the RFC name of the KRB-ERROR code, or ``dropped`` when nothing was
sent), with a latency histogram by kind and the database errors met by the KDC side.
Each process has one row of the file; the readers sum the rows. A worker that dies
leaves its row behind and its successor keeps adding to it, so every counter only
ever grows, as Prometheus expects.

Counting costs a few integer stores per request and takes no lock: each row has one
writer (a single-threaded event loop), and aligned 8-byte stores do not tear.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import mmap
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from has_kdc.asn1.constants import ERROR_NAMES
from has_kdc.asn1.der import content_span, context_field, read_header

__all__ = [
    "KDC_BUCKETS",
    "KDC_KINDS",
    "KdcCounters",
    "KdcTotals",
    "KindTotals",
    "kdc_reply_code",
]

#: Latency bucket bounds in seconds: a KDC answers in about a millisecond.
KDC_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

KDC_KINDS = ("AS", "TGS")
_KIND_BY_TAG = {0x6A: 0, 0x6C: 1}  # [APPLICATION 10] AS-REQ, [APPLICATION 12] TGS-REQ
_REPLY_TAGS = (0x6B, 0x6D)  # AS-REP, TGS-REP
_KRB_ERROR_TAG = 0x7E  # [APPLICATION 30]

# Row layout (unsigned 64-bit slots): pid, database errors, then per kind the
# results [ok, dropped, other, code 0 .. MAX_CODE-1] and the histogram
# [bucket counts..., +Inf, sum in microseconds, count]; last, the process's view of
# the store (epoch milliseconds of its last successful change poll, and of the first
# failed one of an outage, 0 when none).
MAX_CODE = 128
_OK, _DROPPED, _OTHER, _CODE0 = 0, 1, 2, 3
_RESULTS = _CODE0 + MAX_CODE
_HIST = len(KDC_BUCKETS) + 3
#: in a kind's slots: the histogram's first bucket, its sum and its count
_HIST0 = _RESULTS
_HIST_SUM = _RESULTS + len(KDC_BUCKETS) + 1
_HIST_COUNT = _RESULTS + len(KDC_BUCKETS) + 2
_PID, _DB_ERRORS, _KIND0 = 0, 1, 2
_KIND_SIZE = _RESULTS + _HIST
_SYNCED_AT = _KIND0 + len(KDC_KINDS) * _KIND_SIZE
_DOWN_SINCE = _SYNCED_AT + 1
ROW_SLOTS = _DOWN_SINCE + 1
_SLOT = 8


def kdc_reply_code(reply: bytes | None) -> int | None:
    """The result of a KDC reply: 0 for AS-REP/TGS-REP, the KRB-ERROR code, or None.

    Reads only the DER headers down to ``error-code [6]``: cheap enough for every
    reply, and no full decode of a message the KDC just built.
    """
    if not reply:
        return None
    tag = reply[0]
    if tag in _REPLY_TAGS:
        return 0
    if tag != _KRB_ERROR_TAG:
        return -1
    try:
        start, _ = content_span(reply, 0)  # [APPLICATION 30] -> SEQUENCE
        seq_start, seq_end = content_span(reply, start)
        span = context_field(reply, seq_start, seq_end, 6)
        if span is None:
            return -1
        _, _, s, e = read_header(reply, span[0], span[1])
        return int.from_bytes(reply[s:e], "big", signed=True)
    except Exception:  # a reply we cannot read is still counted, as "other"
        return -1


@dataclass(frozen=True)
class KindTotals:
    """One kind of request (AS or TGS), summed over the KDC processes."""

    kind: str
    results: dict[str, int]  # "ok", "dropped", RFC error names, "other": count
    buckets: tuple[int, ...]  # per bound of KDC_BUCKETS, then one above them all
    seconds: float  # time taken, all requests together


@dataclass(frozen=True)
class KdcTotals:
    kinds: tuple[KindTotals, ...]
    database_errors: int


class KdcCounters:
    """KDC request counters shared between processes through one mapped file.

    ``KdcCounters.create(rows)`` (the supervising process) makes the file; each KDC
    process calls ``KdcCounters.attach(path)`` and so claims a row; the web server
    reads the sums with ``snapshot()`` and the heartbeat with ``summary()``.
    """

    def __init__(self, path: Path, fd: int, rows: int, *, owner: bool) -> None:
        self.path = path
        self._fd = fd
        self._rows = rows
        self._owner = owner
        self._map = mmap.mmap(fd, rows * ROW_SLOTS * _SLOT)
        self._slots = memoryview(self._map).cast("Q")
        self._row = -1
        #: first byte of a request -> its kind's first slot in this process's row
        self._bases: dict[int, int] = {}

    # -- lifetime ----------------------------------------------------------------

    @classmethod
    def create(cls, rows: int, directory: str | os.PathLike[str] | None = None) -> KdcCounters:
        """A new, zeroed counter file with room for ``rows`` processes (mode 0600).

        The name carries the creator's pid, so files left behind by a killed server
        are found and removed by the next one.
        """
        if rows < 1:
            raise ValueError("KDC counters need at least one row")
        _remove_stale(Path(directory or tempfile.gettempdir()))
        fd, name = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=directory)
        os.ftruncate(fd, rows * ROW_SLOTS * _SLOT)
        return cls(Path(name), fd, rows, owner=True)

    @classmethod
    def attach(cls, path: str | os.PathLike[str]) -> KdcCounters:
        """Open the counter file of ``path`` and claim a row for this process."""
        fd = os.open(path, os.O_RDWR)
        size = os.fstat(fd).st_size
        rows = size // (ROW_SLOTS * _SLOT)
        if rows < 1:
            os.close(fd)
            raise ValueError(f"{path} is not a KDC counter file")
        counters = cls(Path(path), fd, rows, owner=False)
        counters._claim()
        row = counters._row * ROW_SLOTS + _KIND0
        counters._bases = {tag: row + kind * _KIND_SIZE for tag, kind in _KIND_BY_TAG.items()}
        return counters

    def _claim(self) -> None:
        """Take the first row whose process is gone (or that was never used)."""
        me = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            fallback = None
            for row in range(self._rows):
                pid = self._slots[row * ROW_SLOTS + _PID]
                if pid == me:
                    self._row = row
                    return
                if pid == 0 or not _alive(pid):
                    self._slots[row * ROW_SLOTS + _PID] = me
                    self._row = row
                    return
                fallback = row
            # All rows taken by live processes: share the last one (counts may then be
            # lost to races between its two writers, but never go backwards).
            self._row = fallback if fallback is not None else 0
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Unmap; the creating process also removes the file."""
        with contextlib.suppress(Exception):
            self._slots.release()
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if self._owner:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    # -- counting (the KDC processes) ------------------------------------------------

    def observe(
        self, request: bytes, reply: bytes | None, seconds: float, code: int | None = None
    ) -> None:
        """Count one KDC request: its kind from the request, its result from ``code``.

        ``code`` is the result as the KDC that built the reply knows it (0, or the
        KRB-ERROR code); without it the reply's DER headers are read for it, which
        costs more than the counting itself. A dropped request has no reply, so a
        None ``code`` with a None ``reply`` counts as dropped either way.
        """
        base = self._bases.get(request[0]) if request else None
        if base is None:
            return  # not a KDC request (the KDC drops it silently and so do we), or no row
        slots = self._slots
        if code is None or reply is None:
            code = kdc_reply_code(reply)
        if code is None:
            slots[base + _DROPPED] += 1
        elif code == 0:
            slots[base + _OK] += 1
        elif 0 < code < MAX_CODE:
            slots[base + _CODE0 + code] += 1
        else:
            slots[base + _OTHER] += 1
        slots[base + _HIST0 + bisect.bisect_left(KDC_BUCKETS, seconds)] += 1
        slots[base + _HIST_SUM] += int(seconds * 1e6 + 0.5)
        slots[base + _HIST_COUNT] += 1

    def database_error(self) -> None:
        if self._row >= 0:
            self._slots[self._row * ROW_SLOTS + _DB_ERRORS] += 1

    def store_state(self, synced_at: float | None, down_since: float | None) -> None:
        """This process's principal data: when last in step with the store, and since
        when the store has not answered (None: it answers); epoch seconds."""
        if self._row >= 0:
            base = self._row * ROW_SLOTS
            self._slots[base + _SYNCED_AT] = round(synced_at * 1000) if synced_at else 0
            self._slots[base + _DOWN_SINCE] = round(down_since * 1000) if down_since else 0

    def store_states(self) -> list[tuple[float | None, float | None]]:
        """(synced_at, down_since) of every live KDC process that has reached the store."""
        out: list[tuple[float | None, float | None]] = []
        slots = self._slots
        for row in range(self._rows):
            base = row * ROW_SLOTS
            pid, synced = slots[base + _PID], slots[base + _SYNCED_AT]
            if pid and synced and _alive(pid):
                down = slots[base + _DOWN_SINCE]
                out.append((synced / 1000, down / 1000 if down else None))
        return out

    # -- reading (the web server) ----------------------------------------------------

    def totals(self) -> list[int]:
        """Every slot summed over all rows (the pid slot is meaningless in the sum)."""
        sums = [0] * ROW_SLOTS
        slots = self._slots
        for row in range(self._rows):
            base = row * ROW_SLOTS
            for i in range(_DB_ERRORS, _SYNCED_AT):
                sums[i] += slots[base + i]
        return sums

    def snapshot(self) -> KdcTotals:
        """What every KDC process counted, summed: per kind, the results by name and
        the latency histogram; the database errors."""
        sums = self.totals()
        kinds = []
        for k, kind in enumerate(KDC_KINDS):
            base = _KIND0 + k * _KIND_SIZE
            results = {"ok": sums[base + _OK], "dropped": sums[base + _DROPPED]}
            for code in range(1, MAX_CODE):
                if count := sums[base + _CODE0 + code]:
                    results[ERROR_NAMES.get(code, f"error_{code}")] = count
            if sums[base + _OTHER]:
                results["other"] = sums[base + _OTHER]
            hist = base + _RESULTS
            counts = tuple(sums[hist : hist + len(KDC_BUCKETS) + 1])
            seconds = sums[hist + len(KDC_BUCKETS) + 1] / 1e6
            kinds.append(KindTotals(kind, results, counts, seconds))
        return KdcTotals(tuple(kinds), sums[_DB_ERRORS])

    def summary(self) -> dict[str, int]:
        """Totals for a heartbeat: requests, error answers (other than the
        PREAUTH_REQUIRED that starts every login), error 29 answers, database errors."""
        sums = self.totals()
        requests = errors = unavailable = 0
        for k in range(len(KDC_KINDS)):
            base = _KIND0 + k * _KIND_SIZE
            hist = base + _RESULTS
            requests += sums[hist + len(KDC_BUCKETS) + 2]
            for code in range(1, MAX_CODE):
                if code != _PREAUTH_REQUIRED:
                    errors += sums[base + _CODE0 + code]
            errors += sums[base + _OTHER]
            unavailable += sums[base + _CODE0 + _SVC_UNAVAILABLE]
        return {
            "kdc_requests": requests,
            "kdc_errors": errors,
            "kdc_unavailable": unavailable,
            "database_errors": sums[_DB_ERRORS],
        }


_PREFIX = "has-kdc-counters-"
_PREAUTH_REQUIRED = 25
_SVC_UNAVAILABLE = 29


def _remove_stale(directory: Path) -> None:
    """Remove counter files left by has-servers that died without cleaning up (SIGKILL)."""
    for path in directory.glob(f"{_PREFIX}*"):
        pid = path.name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
