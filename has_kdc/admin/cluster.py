"""The cluster at a glance: every HAS node and every database host, as one report.

Each has-server writes a heartbeat every ``HEARTBEAT_INTERVAL`` seconds
(``record_node_status``: its last-seen time and a small JSON status, see
``node_status``); the report reads them back and asks each database host how it is
(``database_hosts``: reachable, schema version, Galera cluster size and state).
``hadmin-local nodes``, ``kdcinit nodes``, the admin page ``/has/v1/admin/nodes`` and
the cluster metrics all show this one report, built by ``cluster_report``.

A node is ``up`` while its heartbeats arrive, ``late`` after three missed ones,
``silent`` after ten (stopped, cut off, or gone), ``registered`` when it never sent
one (an older has-kdc, or a node that registered and stopped at once).

The KDC side of a node (``kdc_view``) comes from its worker processes' view of the
store: ``serving`` while their change polls succeed, ``from_memory`` while no
database answers but the data is younger than ``kdc_stale_ok``, ``refusing`` after,
``idle`` before any KDC request needed the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from has_kdc.backend import BackendError, IdentityBackend

__all__ = [
    "HEARTBEAT_INTERVAL",
    "cluster_report",
    "kdc_view",
    "node_status",
    "render_text",
]

HEARTBEAT_INTERVAL = 10.0
_LATE, _SILENT = 3, 10  # missed heartbeats


def kdc_view(
    states: Iterable[tuple[float | None, float | None]], stale_ok: float, now: float
) -> dict[str, Any]:
    """The KDC's state from its processes' (synced_at, down_since) pairs (epoch seconds)."""
    synced = [(s, d) for s, d in states if s]
    if not synced:
        return {"kdc_state": "idle"}  # no KDC process has asked the store yet
    down = [(s, d) for s, d in synced if d]
    if not down:
        return {"kdc_state": "serving"}
    oldest = min(s for s, _ in down)
    age = now - oldest
    return {
        "kdc_state": "from_memory" if age <= stale_ok else "refusing",
        "database_down_since": round(min(d for _, d in down), 3),
        "data_age": round(age, 1),
        "stale_ok": stale_ok,
        "serving_from_memory_until": round(oldest + stale_ok, 3),
    }


def node_status(
    kdc: Mapping[str, Any],
    *,
    requests_per_second: float,
    database_host: str | None,
    schema_version: int,
    version: str,
) -> str:
    """The JSON a node's heartbeat records: the KDC's counters and state (``kdc``), and
    what the node runs against. No secret, no principal name."""
    return json.dumps(
        {
            **kdc,
            "version": version,
            "schema_version": schema_version,
            "database_host": database_host,
            "kdc_requests_per_second": round(requests_per_second, 2),
        },
        sort_keys=True,
    )


def _node_state(age: float | None, has_status: bool, interval: float) -> str:
    if not has_status or age is None:
        return "registered"
    if age <= _LATE * interval:
        return "up"
    return "late" if age <= _SILENT * interval else "silent"


def cluster_report(
    backend: IdentityBackend,
    *,
    now: float | None = None,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
) -> dict[str, Any]:
    """Every registered node and every database host, as a JSON-ready dict.

    Database hosts are probed even when the store cannot be read (then ``nodes`` is
    empty and ``error`` says why), so the report shows which hosts are down.
    """
    now = time.time() if now is None else now
    report: dict[str, Any] = {
        "generated_at": round(now, 3),
        "heartbeat_interval": heartbeat_interval,
        "nodes": [],
        "database": {"schema_version": None, "hosts": []},
    }
    try:
        records = backend.node_records()
        report["database"]["schema_version"] = backend.schema_version()
    except BackendError as exc:
        report["error"] = str(exc)
        records = []
    for record in records:
        try:
            status = json.loads(record.status) if record.status else {}
        except ValueError:
            status = {}
        age = now - record.last_seen if record.status else None
        report["nodes"].append(
            {
                "host": record.host,
                "state": _node_state(age, bool(record.status), heartbeat_interval),
                "registered": record.registered,
                "last_heartbeat": record.last_seen if record.status else None,
                "heartbeat_age": None if age is None else round(age, 1),
                **{k: v for k, v in status.items() if isinstance(k, str)},
            }
        )
    for host in backend.database_hosts():
        galera = host.galera
        report["database"]["hosts"].append(
            {
                "address": host.address,
                "state": "usable" if host.usable else "reachable" if host.reachable else "down",
                "in_use": host.in_use,
                "preferred": host.preferred,
                "schema_version": host.schema_version,
                "error": host.error,
                "galera_cluster_size": int(galera["wsrep_cluster_size"])
                if galera.get("wsrep_cluster_size", "").isdigit()
                else None,
                "galera_cluster_status": galera.get("wsrep_cluster_status"),
                "galera_state": galera.get("wsrep_local_state_comment"),
                "galera_ready": galera.get("wsrep_ready"),
            }
        )
    return report


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def render_text(report: Mapping[str, Any]) -> list[str]:
    """The report as the lines ``hadmin-local nodes`` and ``kdcinit nodes`` print."""
    nodes = report["nodes"]
    lines = [f"HAS nodes ({len(nodes)}):"]
    rows = [
        [
            n["host"],
            n["state"],
            "-" if n.get("heartbeat_age") is None else f"{n['heartbeat_age']:.0f} s ago",
            _cell(n.get("kdc_state")),
            _cell(n.get("kdc_requests_per_second")),
            _cell(n.get("kdc_errors")),
            _cell(n.get("database_errors")),
            _cell(n.get("database_host")),
            _cell(n.get("schema_version")),
        ]
        for n in nodes
    ]
    header = ["HOST", "STATE", "HEARTBEAT", "KDC", "REQ/S", "ERRORS", "DB ERRORS", "DB HOST"]
    lines += _table([*header, "SCHEMA"], rows)
    hosts = report["database"]["hosts"]
    schema = report["database"]["schema_version"]
    lines.append(f"Database hosts ({len(hosts)}), schema version {_cell(schema)}:")
    rows = [
        [
            h["address"],
            h["state"],
            _cell(h["galera_cluster_size"]),
            _cell(h["galera_cluster_status"]),
            _cell(h["galera_state"]),
            _cell(h["schema_version"]),
            "yes" if h["in_use"] else "",
            h["error"] or "",
        ]
        for h in hosts
    ]
    header = ["HOST", "STATE", "GALERA SIZE", "COMPONENT", "NODE STATE", "SCHEMA", "IN USE"]
    lines += _table([*header, "ERROR"], rows)
    if report.get("error"):
        lines.append(f"The store could not be read: {report['error']}")
    return lines
