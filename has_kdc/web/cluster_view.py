"""The cluster on the HTTPS server: the admin page of nodes and database hosts, its JSON,
the KDC's view of the store for /health, and the cluster metrics.

``GET /has/v1/admin/nodes`` answers the report of `has_kdc.admin.cluster` as JSON;
``GET /has/v1/admin/nodes.html`` shows the same as a small page (no script, every
value escaped, refreshed every 10 s). Both are admin-only (route table, admin_api).
The report probes every database host, so it is kept ``REPORT_TTL`` seconds: a page
left open, or a scraper, costs the databases one probe per host every few seconds.
"""

from __future__ import annotations

import html
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from has_kdc.admin.cluster import cluster_report, kdc_view
from has_kdc.node.service import HasService
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.metrics import MetricsText

__all__ = ["REPORT_TTL", "cluster_metrics", "kdc_store_detail", "nodes_json", "nodes_page"]

REPORT_TTL = 5.0

_reports: weakref.WeakKeyDictionary[HasService, tuple[float, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
_reports_lock = threading.Lock()


def report_for(service: HasService) -> dict[str, Any]:
    """The cluster report, at most ``REPORT_TTL`` seconds old (blocking: run on a thread)."""
    now = time.monotonic()
    with _reports_lock:
        cached = _reports.get(service)
        if cached is not None and now - cached[0] < REPORT_TTL:
            return cached[1]
    report = cluster_report(service.backend())
    with _reports_lock:
        _reports[service] = (now, report)
    return report


def kdc_store_detail(context: WebContext) -> dict[str, Any]:
    """The KDC's view of the store (``kdc_view``): serving, from memory, or refusing."""
    stale_ok = context.service.conf.kdc.stale_ok
    states = context.kdc_counters.store_states() if context.kdc_counters is not None else []
    return kdc_view(states, stale_ok, time.time())


async def nodes_json(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    report = await ctx.run(report_for, ctx.service)
    return web.json_response(report, headers={"Cache-Control": "no-store"})


async def nodes_page(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    report = await ctx.run(report_for, ctx.service)
    return web.Response(
        text=render_html(report),
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


def _cell(value: object) -> str:
    if value is None or value == "":
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else ""
    return html.escape(str(value))


_NODE_COLUMNS = (
    ("host", "Node"),
    ("state", "State"),
    ("heartbeat_age", "Heartbeat (s ago)"),
    ("kdc_state", "KDC"),
    ("kdc_requests_per_second", "KDC req/s"),
    ("kdc_errors", "KDC errors"),
    ("database_errors", "DB errors"),
    ("data_age", "Data age (s)"),
    ("database_host", "DB host"),
    ("schema_version", "Schema"),
    ("version", "has-kdc"),
)
_HOST_COLUMNS = (
    ("address", "Database host"),
    ("state", "State"),
    ("galera_cluster_size", "Galera size"),
    ("galera_cluster_status", "Component"),
    ("galera_state", "Node state"),
    ("schema_version", "Schema"),
    ("in_use", "In use here"),
    ("error", "Error"),
)


def _rows(items: list[Mapping[str, Any]], columns: tuple[tuple[str, str], ...]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join(
        f'<tr class="{html.escape(str(item.get("state", "")))}">'
        + "".join(f"<td>{_cell(item.get(key))}</td>" for key, _ in columns)
        + "</tr>"
        for item in items
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: Mapping[str, Any]) -> str:
    """The report as a page: two tables, states coloured, nothing executable."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report["generated_at"]))
    error = report.get("error")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="10"><title>has-kdc cluster</title><style>'
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".up td:nth-child(2),.usable td:nth-child(2){color:#070}"
        ".late td:nth-child(2),.reachable td:nth-child(2){color:#a60}"
        ".silent td:nth-child(2),.down td:nth-child(2){color:#b00}"
        "</style></head><body><h1>has-kdc cluster</h1>"
        f'<p>{html.escape(stamp)}; JSON: <a href="nodes">nodes</a></p>'
        + (f"<p><strong>{html.escape(error)}</strong></p>" if error else "")
        + f"<h2>HAS nodes ({len(report['nodes'])})</h2>"
        + _rows(report["nodes"], _NODE_COLUMNS)
        + f"<h2>Database hosts ({len(report['database']['hosts'])}), schema version "
        + f"{_cell(report['database']['schema_version'])}</h2>"
        + _rows(report["database"]["hosts"], _HOST_COLUMNS)
        + "</body></html>"
    )


#: One gauge per node or database host: its name, help text, and its value from the
#: entry in the cluster report (None: not known, so no sample).
_Gauges = tuple[tuple[str, str, Callable[[dict[str, Any]], Any]], ...]

_NODE_GAUGES: _Gauges = (
    (
        "has_cluster_node_up",
        "Whether the node's heartbeats arrive.",
        lambda n: int(n["state"] == "up"),
    ),
    (
        "has_cluster_node_heartbeat_age_seconds",
        "Seconds since the node's last heartbeat.",
        lambda n: n.get("heartbeat_age"),
    ),
    (
        "has_cluster_node_kdc_requests_per_second",
        "KDC requests per second, as the node last reported.",
        lambda n: n.get("kdc_requests_per_second"),
    ),
    (
        "has_cluster_node_kdc_errors",
        "KDC error answers (other than PREAUTH_REQUIRED) the node reported.",
        lambda n: n.get("kdc_errors"),
    ),
    (
        "has_cluster_node_serving_from_memory",
        "Whether the node reported serving from memory (no database).",
        lambda n: int(n.get("kdc_state") == "from_memory"),
    ),
)

_DATABASE_HOST_GAUGES: _Gauges = (
    (
        "has_database_host_up",
        "Whether the host is usable (Galera: Synced, primary).",
        lambda h: int(h["state"] == "usable"),
    ),
    (
        "has_database_host_schema_version",
        "Schema version on the host.",
        lambda h: h["schema_version"],
    ),
    (
        "has_galera_cluster_size",
        "Galera cluster size the host reports.",
        lambda h: h["galera_cluster_size"],
    ),
    (
        "has_galera_primary",
        "Whether the host is in a primary component.",
        lambda h: (
            None
            if h["galera_cluster_status"] is None
            else int(h["galera_cluster_status"] == "Primary")
        ),
    ),
    (
        "has_galera_synced",
        "Whether the host's Galera state is Synced.",
        lambda h: None if h["galera_state"] is None else int(h["galera_state"] == "Synced"),
    ),
)


def cluster_metrics(out: MetricsText, context: WebContext, *, cluster: bool = True) -> None:
    """This KDC's view of the store, then, with ``cluster``, every node and database host
    by name (blocking). The names are for the node itself and administrators only, as in
    /health: an anonymous scrape learns this node's state, not the cluster's layout."""
    _kdc_store_gauges(out, context)
    if not cluster:
        return
    try:
        report = report_for(context.service)
    except Exception:  # the store could not even be opened: the gauges above say enough
        return
    _labelled_gauges(out, _NODE_GAUGES, report["nodes"], "node", "host")
    _labelled_gauges(out, _DATABASE_HOST_GAUGES, report["database"]["hosts"], "host", "address")


def _kdc_store_gauges(out: MetricsText, context: WebContext) -> None:
    kdc = kdc_store_detail(context)
    out.gauge(
        "has_kdc_serving_from_memory",
        "Whether no database answers and the KDC serves the principals it holds.",
        int(kdc["kdc_state"] == "from_memory"),
    )
    out.gauge(
        "has_kdc_refusing",
        "Whether no database has answered for longer than kdc_stale_ok.",
        int(kdc["kdc_state"] == "refusing"),
    )
    out.gauge(
        "has_kdc_data_age_seconds",
        "Age of the principal data the KDC serves from memory (0 while in step).",
        kdc.get("data_age", 0),
    )
    out.gauge(
        "has_kdc_stale_ok_seconds",
        "kdc_stale_ok: the bound of that age.",
        context.service.conf.kdc.stale_ok,
    )


def _labelled_gauges(
    out: MetricsText, gauges: _Gauges, entries: list[dict[str, Any]], label: str, key: str
) -> None:
    """Each gauge with a sample for every entry that has a value, labelled ``label`` with
    the entry's ``key`` (its host name or address)."""
    for name, help_text, value in gauges:
        out.header(name, "gauge", help_text)
        for entry in entries:
            if (v := value(entry)) is not None:
                out.sample(name, {label: entry[key]}, v)
