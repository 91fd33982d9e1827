"""Two HAS nodes over one MariaDB, for real: HTTPS, kdcinit, client configs, MIT kinit.

Both nodes run has-server on their own loopback address (127.0.1.1, 127.0.1.2) with
the same KDC and HTTPS ports, as two hosts of a cluster would; one CA signs both
certificates. Everything goes through the console scripts and HTTPS.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from has_kdc.client.has_client import HasClientError, HasHttpsClient
from has_kdc.conf import read_has_client_conf
from has_kdc.formats.keytab import read_keytab
from tests.hacluster import node_on_own_mariadb, running_cluster
from tests.hasnode import HasNode
from tests.mitkrb import MitClient

REALM = "HADOOP.COM"
HOSTS = ("127.0.1.1", "127.0.1.2")


@pytest.fixture
def cluster(tmp_path: Path, mysql_backend_config) -> Iterator[tuple[HasNode, HasNode]]:
    with running_cluster(tmp_path, mysql_backend_config, HOSTS, init=False) as nodes:
        yield tuple(nodes)  # type: ignore[misc]


def _keys(path: Path) -> set[tuple[str, int, int, bytes]]:
    return {
        ("/".join(e.principal.components) + "@" + e.principal.realm, e.kvno, e.enctype, e.key)
        for e in read_keytab(path).entries
    }


def kdc_lines(krb5_conf: str) -> list[str]:
    return [line.strip() for line in krb5_conf.splitlines() if line.strip().startswith("kdc =")]


@pytest.mark.mit
def test_two_nodes_export_configs_that_mit_kinit_uses_alone(cluster, tmp_path):
    node1, node2 = cluster
    out = node1.kdcinit("init", "-p", str(node1.tmp)).stdout
    assert "Realm HADOOP.COM initialized" in out
    assert f"HTTP/{HOSTS[1]}@{REALM}" in out  # node2 registered before init
    assert stat.S_IMODE(os.stat(node1.admin_keytab).st_mode) == 0o600
    # the realm exists: its admin keys go to administrators only, even on a node
    refused = node2.kdcinit("init", "-p", str(node2.tmp), check=False)
    assert refused.returncode == 1 and "401" in refused.stderr, refused.stderr
    assert "copy admin.keytab" in refused.stderr and not node2.admin_keytab.exists()
    shutil.copyfile(node1.admin_keytab, node2.admin_keytab)
    os.chmod(node2.admin_keytab, 0o600)
    # with the keys, kdcinit authenticates as kadmin (SPNEGO) and gets the same keys back
    again = node2.kdcinit("init", "-p", str(node2.tmp)).stdout
    assert "already initialized" in again and "Unchanged" in again
    assert "Unchanged" in node1.kdcinit("init", "-p", str(node1.tmp)).stdout
    keys1, keys2 = (_keys(node.admin_keytab) for node in cluster)
    assert keys1 == keys2 and keys1  # the same admin keys on both nodes (times differ)
    assert "serving the realm" in node2.kdcinit("start").stdout

    expected = [f"kdc = {host}:{node1.port}" for host in HOSTS]
    for node in cluster:
        out_dir = tmp_path / f"from-{node.host}"
        out_dir.mkdir()
        node.kdcinit("getkrb5", "-p", str(out_dir))
        node.kdcinit("gethas", "-p", str(out_dir))
        krb5 = (out_dir / "krb5.conf").read_text()
        assert kdc_lines(krb5) == expected
        assert stat.S_IMODE(os.stat(out_dir / "krb5.conf").st_mode) == 0o644
        has = read_has_client_conf(out_dir / "has-client.conf")
        assert has.https_hosts == HOSTS
        assert has.https_port == node.https_port
    unchanged = node2.kdcinit("getkrb5", "-p", str(tmp_path / f"from-{HOSTS[1]}")).stdout
    assert "Unchanged" in unchanged

    node1.hadmin("addprinc", "-pw", "alice-pw", "alice")
    client = MitClient(tmp_path / "mit", REALM, [])
    client.krb5_conf.write_text((tmp_path / f"from-{HOSTS[1]}" / "krb5.conf").read_text())
    client.kinit("alice", "alice-pw")
    assert f"Default principal: alice@{REALM}" in client.klist().stdout

    # the exported files keep working with a node down: kinit and HTTPS fail over
    node1.stop()
    client.run("kdestroy")
    client.kinit("alice", "alice-pw")
    conf = read_has_client_conf(tmp_path / f"from-{HOSTS[0]}" / "has-client.conf")
    https = HasHttpsClient.from_has_client_conf(conf, environ={"CA_ROOT": str(node2.ca_file)})
    answer = https.get("getkrb5conf")
    assert answer.url.startswith(f"https://{HOSTS[1]}:")
    assert kdc_lines(answer.text()) == expected


def test_config_endpoints_and_errors_through_kdcinit(cluster, tmp_path):
    node1, node2 = cluster
    bad = node1.kdcinit("config_kdc", "emr-header-1", "88", "BAD REALM", check=False)
    assert bad.returncode == 1 and "not a realm name" in bad.stderr
    node2.kdcinit("set_plugin", "RAM")
    out_dir = tmp_path / "conf-out"
    out_dir.mkdir()
    node2.kdcinit("gethas", "-p", str(out_dir))
    assert read_has_client_conf(out_dir / "has-client.conf").auth_type == "RAM"
    node2.kdcinit("getcoresite", "-p", str(out_dir))
    core = (out_dir / "core-site-has.xml").read_text()
    urls = ";".join(f"https://{h}:{node2.https_port}/has/v1?auth_type=RAM" for h in HOSTS)
    assert urls in core
    # a bad address answers like a network failure, naming the node
    down = HasHttpsClient(
        [f"https://{HOSTS[0]}:1/has/v1"], node1.https_client().ssl_context, timeout=3
    )
    with pytest.raises(HasClientError, match="no HAS server could be reached"):
        down.get("health")


@pytest.mark.timeout(30)
def test_a_silent_node_costs_the_connect_limit_not_the_read_limit(cluster):
    """A node cut off mid-handshake is given up after the connect limit; the next answers."""
    _node1, node2 = cluster
    with socket.socket() as silent:  # accepts TCP (backlog) but never speaks TLS
        silent.bind((HOSTS[0], 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        client = HasHttpsClient(
            [f"https://{HOSTS[0]}:{port}/has/v1", node2.base_url],
            node2.https_client().ssl_context,
            timeout=600,  # a read limit the test's own 30 s limit would hit first
        )
        answer = client.get("getcert")
        assert answer.url.startswith(node2.base_url)
        only_silent = HasHttpsClient(
            [f"https://{HOSTS[0]}:{port}/has/v1"], client.ssl_context, timeout=600
        )
        with pytest.raises(HasClientError, match="timed out"):
            only_silent.get("health")


def test_health_and_metrics_report_a_stopped_database(tmp_path):
    with node_on_own_mariadb(tmp_path, REALM) as (db, node):
        node.kdcinit("init", "-p", str(node.tmp))
        client = node.https_client(timeout=20)
        assert client.get("health").json()["status"] == "ok"
        assert "has_database_up 1" in client.get("/metrics").text()
        db.stop()
        with pytest.raises(HasClientError) as info:
            client.get("health")
        assert info.value.status == 503
        status, body = _raw_json(client, "health")
        assert status == 503
        assert body["database"]["reachable"] is False and "error" in body["database"]
        assert body["kdc"]["listening"] is True
        metrics = client.get("/metrics").text()
        assert "has_database_up 0" in metrics
        assert "has_realm_initialized 0" in metrics
        assert _metric(metrics, "has_web_database_errors_total") >= 2
        with pytest.raises(HasClientError) as info:
            client.get("getkrb5conf")
        assert info.value.status == 503 and info.value.error == "database_unavailable"
        db.start()  # recovery without restarting has-server (after its reconnect pause)
        deadline = time.monotonic() + 30
        while _raw_json(client, "health")[0] != 200:
            assert time.monotonic() < deadline, "has-server did not reconnect"
            time.sleep(0.5)
        assert client.get("health").json()["status"] == "ok"


def _raw_json(client: HasHttpsClient, path: str) -> tuple[int, dict]:
    """Status and JSON body of a GET, error answers included."""
    parts = urlsplit(client.base_urls[0])
    conn = http.client.HTTPSConnection(
        parts.hostname or "", parts.port or 443, context=client.ssl_context, timeout=20
    )
    try:
        conn.request("GET", f"{parts.path}/{path}")
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics")
