"""Prometheus metrics in the text exposition format (version 0.0.4), with no client library.

Three sources end up on ``GET /metrics``:

- HTTP requests of this process's web server (`HttpMetrics`): a counter by route,
  method and status, a latency histogram by route and method. The route is the
  path template (``/has/v1/getkrb5conf``), never the raw path, so a scan of random
  URLs cannot create unbounded series; unmatched paths count as ``unmatched``.
- KDC requests, as the KDC processes count them (`has_kdc.kdc.counters`), rendered
  by `render_kdc`.
- Gauges probed at scrape time (database reachable, realm initialized, KDC
  listening), added by the API handler.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from has_kdc.kdc.counters import KDC_BUCKETS, KdcTotals

__all__ = [
    "HTTP_BUCKETS",
    "HttpMetrics",
    "MetricsText",
    "render_kdc",
]

#: Latency bucket bounds in seconds: HTTP requests range from a config download to a
#: realm initialization.
HTTP_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def render_kdc(totals: KdcTotals, out: MetricsText) -> None:
    """The KDC's counters (`KdcCounters.snapshot`) as exposition-format samples."""
    out.header("has_kdc_requests_total", "counter", "KDC requests by kind and result.")
    for kind in totals.kinds:
        for result, count in kind.results.items():
            out.sample("has_kdc_requests_total", {"kind": kind.kind, "result": result}, count)
    out.header("has_kdc_request_duration_seconds", "histogram", "Time the KDC took per request.")
    for kind in totals.kinds:
        out.histogram(
            "has_kdc_request_duration_seconds",
            {"kind": kind.kind},
            KDC_BUCKETS,
            kind.buckets,
            kind.seconds,
        )
    out.header(
        "has_kdc_database_errors_total",
        "counter",
        "Database errors met by the KDC processes (realm state polls).",
    )
    out.sample("has_kdc_database_errors_total", {}, totals.database_errors)


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
