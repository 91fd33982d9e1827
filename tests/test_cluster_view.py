"""The cluster at a glance: heartbeats, the report, ``nodes`` commands, the admin page.

A node's heartbeat (``StoreStartup.heartbeat``) goes into the store; the report
(``has_kdc.admin.cluster``) reads it back with every database host's state; the
commands and the admin-only page show that report. Real stores and a real HTTPS
server (tests/webnode.py); the Galera cluster's view of it is in tests/test_galera_*.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from has_kdc.admin.cluster import cluster_report, kdc_view, render_text
from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.node.backend_startup import StoreStartup
from has_kdc.web.cluster_view import render_html
from tests.hacluster import mysql_config
from tests.hasnode import HasNode, script
from tests.mariadb import free_tcp_port
from tests.webnode import ADMIN, REALM, make_node


def test_kdc_view_says_serving_from_memory_then_refusing():
    assert kdc_view([], 3600, 1000.0) == {"kdc_state": "idle"}
    assert kdc_view([(990.0, None), (995.0, None)], 3600, 1000.0) == {"kdc_state": "serving"}
    view = kdc_view([(990.0, 991.0), (995.0, None)], 60, 1000.0)
    assert view["kdc_state"] == "from_memory" and view["data_age"] == 10.0
    assert view["serving_from_memory_until"] == 1050.0
    assert kdc_view([(900.0, 901.0)], 60, 1000.0)["kdc_state"] == "refusing"


def _beat(
    conf_dir: Path,
    requests: int,
    state: dict[str, object] | None = None,
    *,
    started: bool = False,
) -> bool:
    """One heartbeat of the node of ``conf_dir``; unless ``started``, after the
    registration has-server makes when it starts."""
    startup = StoreStartup(
        load_conf_dir(conf_dir),
        kdc_status=lambda: {"kdc_requests": requests, "kdc_errors": 2, **(state or {})},
    )
    try:
        if not started:
            assert startup.first_attempt()
        return startup.heartbeat()
    finally:
        if startup._beat_backend is not None:
            startup._beat_backend.close()


def test_heartbeats_show_in_the_report_and_the_commands(tmp_path):
    node = HasNode(tmp_path / "n1", REALM, "127.0.1.1")
    node.init()
    assert _beat(node.conf_dir, 40, {"kdc_state": "serving"})
    config = load_conf_dir(node.conf_dir).backend
    with open_backend(config) as backend:
        backend.register_node("127.0.1.9")  # registered, never sent a heartbeat
        report = cluster_report(backend)
    first, silent = report["nodes"]
    assert (first["host"], first["state"], first["kdc_state"]) == ("127.0.1.1", "up", "serving")
    assert first["kdc_requests"] == 40 and first["kdc_errors"] == 2
    assert first["schema_version"] == backend.latest_schema_version
    assert (silent["host"], silent["state"], silent["last_heartbeat"]) == (
        "127.0.1.9",
        "registered",
        None,
    )
    assert report["database"]["hosts"] == []  # SQLite: a file, no host to probe
    with open_backend(config) as backend:
        later = cluster_report(backend, now=first["last_heartbeat"] + 45)
    assert later["nodes"][0]["state"] == "late"
    text = node.hadmin("nodes").stdout
    assert "HAS nodes (2):" in text and "127.0.1.1" in text and "serving" in text
    as_json = json.loads(node.kdcinit("nodes", "--json").stdout)
    assert [n["host"] for n in as_json["nodes"]] == ["127.0.1.1", "127.0.1.9"]


def test_a_node_removed_with_delnode_stays_removed_while_it_runs(tmp_path, caplog):
    node = HasNode(tmp_path / "n1", REALM, "127.0.1.1")
    node.init()
    assert _beat(node.conf_dir, 1)
    node.hadmin("delnode", "127.0.1.1")
    with caplog.at_level("WARNING"):
        assert not _beat(node.conf_dir, 2, started=True)
    assert "no longer registered" in caplog.text
    config = load_conf_dir(node.conf_dir).backend
    with open_backend(config) as backend:
        assert backend.list_nodes() == []
        assert cluster_report(backend)["nodes"] == []


def test_nodes_on_mysql_list_every_database_host_even_when_one_is_down(mariadb, tmp_path):
    config = mysql_config(mariadb, "cluster_view")
    dead = free_tcp_port()
    text = (
        "kdc_identity_backend = mysql\n"
        f"mysql_url = jdbc:mysql://127.0.0.1:{mariadb.port},127.0.0.1:{dead}/cluster_view\n"
        f"mysql_user = {config.mysql_user}\nmysql_password = {config.mysql_password}\n"
    )
    node = HasNode(tmp_path / "n1", REALM, "127.0.1.1", backend=text)
    (node.conf_dir / "backend.conf").chmod(0o600)
    node.init()
    assert _beat(node.conf_dir, 7)
    report = json.loads(node.kdcinit("nodes", "--json").stdout)
    up, down = report["database"]["hosts"]
    assert (up["address"], up["state"], up["schema_version"]) == (
        f"127.0.0.1:{mariadb.port}",
        "usable",
        report["database"]["schema_version"],
    )
    assert up["galera_cluster_size"] is None  # a server without Galera
    assert (down["address"], down["state"]) == (f"127.0.0.1:{dead}", "down")
    assert "(2003)" in down["error"]
    assert report["nodes"][0]["database_host"] == f"127.0.0.1:{mariadb.port}"
    lines = node.hadmin("nodes").stdout.splitlines()
    assert any(line.split()[:2] == [f"127.0.0.1:{dead}", "down"] for line in lines), lines
    mariadb.drop_database("cluster_view")


def test_kdcinit_nodes_says_why_when_no_database_host_answers(tmp_path):
    ports = (free_tcp_port(), free_tcp_port())
    text = (
        "kdc_identity_backend = mysql\n"
        f"mysql_url = jdbc:mysql://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}/has\n"
        "mysql_user = has\n"
    )
    node = HasNode(tmp_path / "n1", REALM, "127.0.1.1", backend=text)
    proc = subprocess.run(
        [script("kdcinit"), str(node.conf_dir), "nodes"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "The store could not be read: no database host" in proc.stdout
    assert proc.stdout.count(" down ") == 2


@pytest.fixture
def web(tmp_path):
    node = make_node(tmp_path)
    try:
        yield node
    finally:
        node.thread.stop()


def test_the_nodes_page_and_its_json_are_for_admins_only(web):
    web.init_realm()  # through the setup window, as kdcinit on the node
    for path in ("/has/v1/admin/nodes", "/has/v1/admin/nodes.html"):
        status, headers, _ = web.raw("GET", path)
        assert status == 401 and headers["www-authenticate"] == "Negotiate"
        status, _body = web.error("GET", path, headers={"X-Test-Principal": f"alice@{REALM}"})
        assert status == 403
    admin = {"X-Test-Principal": ADMIN}
    _beat(web.conf_dir, 3, {"kdc_state": "serving"})
    status, headers, data = web.raw("GET", "/has/v1/admin/nodes", None, admin)
    assert status == 200 and headers["content-type"].startswith("application/json")
    report = json.loads(data)
    assert [n["host"] for n in report["nodes"]] == ["127.0.0.1"]
    status, headers, page = web.raw("GET", "/has/v1/admin/nodes.html", None, admin)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    assert b"<td>127.0.0.1</td><td>up</td>" in page and b"<script" not in page


def test_the_page_escapes_what_the_store_holds():
    report = {
        "generated_at": 0,
        "nodes": [{"host": "<img src=x onerror=alert(1)>", "state": "up"}],
        "database": {"schema_version": 4, "hosts": []},
        "error": "<b>",
    }
    page = render_html(report)
    assert "<img" not in page and "&lt;img src=x" in page and "&lt;b&gt;" in page
    assert "HAS nodes (1):" in render_text(report)[0]


def test_health_and_metrics_carry_the_kdc_view_of_the_store(web):
    web.init_realm()  # through the setup window, as kdcinit on the node
    health = web.client.get("health").json()
    assert health["kdc"]["kdc_state"] == "idle"  # no KDC process in this test server
    text = web.client.get("/metrics").text()
    for name in (
        "has_kdc_serving_from_memory 0",
        "has_kdc_refusing 0",
        "has_kdc_stale_ok_seconds 3600",
    ):
        assert name in text, name
    assert "# TYPE has_cluster_node_up gauge" in text
