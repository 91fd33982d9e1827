"""Prometheus metrics in the text exposition format (version 0.0.4), with no client library.

Three sources end up on ``GET /metrics``:

- HTTP requests of this process's web server (`HttpMetrics`): a counter by route,
  method and status, a latency histogram by route and method. The route is the
  path template (``/has/v1/getkrb5conf``), never the raw path, so a scan of random
  URLs cannot create unbounded series; unmatched paths count as ``unmatched``.
- KDC requests (`KdcCounters`): by kind (AS, TGS) and result (``ok``, the RFC name
  of the KRB-ERROR code, or ``dropped`` when nothing was sent), a latency histogram
  by kind, and database errors met by the KDC side. KDC worker processes count into
  a small shared file mapping, one row per process; the web server sums the rows.
  A worker that dies leaves its row behind and its successor keeps adding to it, so
  every counter only ever grows, as Prometheus expects.
- Gauges probed at scrape time (database reachable, realm initialized, KDC
  listening), added by the API handler.

Counting costs a few integer stores per request and takes no lock: each row has one
writer (a single-threaded event loop), and aligned 8-byte stores do not tear.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import math
import mmap
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.asn1.constants import ERROR_NAMES
from has_kdc.asn1.der import content_span, context_field, read_header

__all__ = [
    "HTTP_BUCKETS",
    "KDC_BUCKETS",
    "KDC_KINDS",
    "HttpMetrics",
    "KdcCounters",
    "MetricsText",
    "kdc_reply_code",
]

#: Latency bucket bounds in seconds. A KDC answers in about a millisecond; HTTP
#: requests range from a config download to a realm initialization.
KDC_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
HTTP_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

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


class KdcCounters:
    """KDC request counters shared between processes through one mapped file.

    ``KdcCounters.create(rows)`` (the supervising process) makes the file; each KDC
    process calls ``KdcCounters.attach(path)`` and so claims a row; the web server
    reads the sum of all rows with ``totals()``.
    """

    def __init__(self, path: Path, fd: int, rows: int, *, owner: bool) -> None:
        self.path = path
        self._fd = fd
        self._rows = rows
        self._owner = owner
        self._map = mmap.mmap(fd, rows * ROW_SLOTS * _SLOT)
        self._slots = memoryview(self._map).cast("Q")
        self._row = -1

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
        kind = _KIND_BY_TAG.get(request[0]) if request else None
        if kind is None or self._row < 0:
            return  # not a KDC request: the KDC drops it silently and so do we
        base = self._row * ROW_SLOTS + _KIND0 + kind * _KIND_SIZE
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
        hist = base + _RESULTS
        slots[hist + bisect.bisect_left(KDC_BUCKETS, seconds)] += 1
        slots[hist + len(KDC_BUCKETS) + 1] += round(seconds * 1e6)
        slots[hist + len(KDC_BUCKETS) + 2] += 1

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
        out = []
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

    def render(self, out: MetricsText) -> None:
        sums = self.totals()
        out.header("has_kdc_requests_total", "counter", "KDC requests by kind and result.")
        for k, kind in enumerate(KDC_KINDS):
            base = _KIND0 + k * _KIND_SIZE
            results = {"ok": sums[base + _OK], "dropped": sums[base + _DROPPED]}
            for code in range(1, MAX_CODE):
                if count := sums[base + _CODE0 + code]:
                    results[ERROR_NAMES.get(code, f"error_{code}")] = count
            if sums[base + _OTHER]:
                results["other"] = sums[base + _OTHER]
            for result, count in results.items():
                out.sample("has_kdc_requests_total", {"kind": kind, "result": result}, count)
        out.header(
            "has_kdc_request_duration_seconds", "histogram", "Time the KDC took per request."
        )
        for k, kind in enumerate(KDC_KINDS):
            hist = _KIND0 + k * _KIND_SIZE + _RESULTS
            counts = sums[hist : hist + len(KDC_BUCKETS) + 1]
            total_us = sums[hist + len(KDC_BUCKETS) + 1]
            out.histogram(
                "has_kdc_request_duration_seconds",
                {"kind": kind},
                KDC_BUCKETS,
                counts,
                total_us / 1e6,
            )
        out.header(
            "has_kdc_database_errors_total",
            "counter",
            "Database errors met by the KDC processes (realm state polls).",
        )
        out.sample("has_kdc_database_errors_total", {}, sums[_DB_ERRORS])

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


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(HTTP_BUCKETS) + 1))
    total: float = 0.0


class HttpMetrics:
    """Requests of this web server, by route template, method and status."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.database_errors = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get((route, method))
        if hist is None:
            hist = self.latency[(route, method)] = _Histogram()
        hist.counts[bisect.bisect_left(HTTP_BUCKETS, seconds)] += 1
        hist.total += seconds

    def render(self, out: MetricsText) -> None:
        out.header("has_http_requests_total", "counter", "HTTP requests by route and status.")
        for (route, method, status), count in sorted(self.requests.items()):
            labels = {"path": route, "method": method, "status": str(status)}
            out.sample("has_http_requests_total", labels, count)
        out.header("has_http_request_duration_seconds", "histogram", "Time taken per HTTP request.")
        for (route, method), hist in sorted(self.latency.items()):
            out.histogram(
                "has_http_request_duration_seconds",
                {"path": route, "method": method},
                HTTP_BUCKETS,
                hist.counts,
                hist.total,
            )
        out.header(
            "has_web_database_errors_total",
            "counter",
            "Database errors met while answering HTTP requests.",
        )
        out.sample("has_web_database_errors_total", {}, self.database_errors)


class MetricsText:
    """Builds one exposition-format document."""

    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self._lines: list[str] = []

    def header(self, name: str, kind: str, help_text: str) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self._lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def gauge(self, name: str, help_text: str, value: float) -> None:
        self.header(name, "gauge", help_text)
        self.sample(name, {}, value)

    def histogram(
        self,
        name: str,
        labels: Mapping[str, str],
        bounds: Sequence[float],
        counts: Iterable[int],
        total: float,
    ) -> None:
        """Per-bucket counts (the last one above every bound) as cumulative buckets."""
        running = 0
        values = list(counts)
        for bound, count in zip(bounds, values, strict=False):
            running += count
            self.sample(f"{name}_bucket", {**labels, "le": _number(bound)}, running)
        running += values[len(bounds)]
        self.sample(f"{name}_bucket", {**labels, "le": "+Inf"}, running)
        self.sample(f"{name}_sum", labels, total)
        self.sample(f"{name}_count", labels, running)

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
