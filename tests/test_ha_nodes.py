"""Two has-server nodes over one MariaDB database: one realm, changes seen everywhere, failover.

The nodes run on 127.0.1.1 and 127.0.1.2 with the same KDC port and realm, each with
its own conf_dir, exactly as two machines would. The realm is initialized through
node 1 only; everything else is checked through the other node, with the real MIT
client tools.

Staleness: a node caches principals and polls the store's change counter once a
second (``has_kdc.kdc.principal_cache``), so a change committed through one node is
honoured by the other within about one second plus one query; the tests prime the
other node's cache first (so it has something stale to forget), time how long the
old answer survives, assert it is under 2 s and print the measurement.
"""

from __future__ import annotations

import time

import pytest

from has_kdc.asn1.constants import (
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_PREAUTH_REQUIRED,
)
from has_kdc.formats import read_keytab
from tests.hacluster import REALM, make_nodes, mysql_config, probe, wait_for

pytestmark = pytest.mark.mit

STALENESS_BOUND = 2.0


@pytest.fixture(scope="module")
def cluster(mariadb, tmp_path_factory):
    """Node 1 and node 2 started over one fresh database; the realm initialized on node 1."""
    tmp = tmp_path_factory.mktemp("ha-nodes")
    config = mysql_config(mariadb, "ha_nodes")
    nodes = make_nodes(tmp, config)
    try:
        for node in nodes:
            node.start()
        nodes[0].init()
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        mariadb.drop_database("ha_nodes")


def _entries(path) -> list[tuple]:
    return sorted(
        (e.realm, e.components, e.kvno, e.enctype, bytes(e.key)) for e in read_keytab(path).entries
    )


def _kinit_ok(client, principal: str, password: str) -> bool:
    return client.kinit(principal, password, check=False).returncode == 0


def test_init_on_node1_then_kinit_and_kvno_through_node2(cluster, tmp_path):
    node1, node2 = cluster
    node2.hadmin("addprinc", "-pw", "alice-pw", "alice")
    node2.hadmin("addprinc", "-randkey", "HTTP/web.example.com")
    client = node2.mit_client(tmp_path / "c2")
    # The built-in principals init created through node 1 are served by node 2.
    wait_for(lambda: _kinit_ok(client, "alice", "alice-pw"), 5)
    assert f"Default principal: alice@{REALM}" in client.klist().stdout
    out = client.kvno("HTTP/web.example.com").stdout
    assert f"HTTP/web.example.com@{REALM}: kvno = 1" in out
    # HTTP/<node> exists for both nodes (both registered before init ran).
    listed = node2.hadmin("listprincs", "HTTP/*").stdout.split()
    assert {f"HTTP/{node1.host}@{REALM}", f"HTTP/{node2.host}@{REALM}"} <= set(listed)
    assert "kvno = 1" in client.kvno(f"HTTP/{node1.host}").stdout
    # admin.keytab from node 1's init works against node 2.
    node2.mit_client(tmp_path / "admin").kinit_keytab(f"kadmin/{REALM}", node1.admin_keytab)


def test_changes_through_node2_are_honoured_by_node1_within_2s(cluster, tmp_path):
    node1, node2 = cluster
    via1 = node1.mit_client(tmp_path / "c1")
    measured: dict[str, float] = {}

    # addprinc: node 1 has cached "unknown" for bob; the new principal must replace it.
    assert probe(node1.host, node1.port, "bob") == KDC_ERR_C_PRINCIPAL_UNKNOWN
    node2.hadmin("addprinc", "-pw", "bob-pw-1", "bob")
    committed = time.monotonic()
    wait_for(lambda: _kinit_ok(via1, "bob", "bob-pw-1"), STALENESS_BOUND)
    measured["addprinc"] = time.monotonic() - committed

    # cpw: node 1 has bob's old keys cached; the old password must stop working.
    assert _kinit_ok(via1, "bob", "bob-pw-1")
    node2.hadmin("cpw", "-pw", "bob-pw-2", "bob")
    committed = time.monotonic()
    wait_for(lambda: not _kinit_ok(via1, "bob", "bob-pw-1"), STALENESS_BOUND)
    measured["cpw"] = time.monotonic() - committed
    assert _kinit_ok(via1, "bob", "bob-pw-2")

    # modprinc -disable: refused (KDC_ERR_CLIENT_REVOKED), then -enable lets bob back in.
    node2.hadmin("modprinc", "-disable", "bob")
    committed = time.monotonic()
    wait_for(lambda: probe(node1.host, node1.port, "bob") == KDC_ERR_CLIENT_REVOKED, 2)
    measured["modprinc -disable"] = time.monotonic() - committed
    assert not _kinit_ok(via1, "bob", "bob-pw-2")
    node2.hadmin("modprinc", "-enable", "bob")
    committed = time.monotonic()
    wait_for(lambda: _kinit_ok(via1, "bob", "bob-pw-2"), STALENESS_BOUND)
    measured["modprinc -enable"] = time.monotonic() - committed

    # delprinc: gone from node 1 too.
    node2.hadmin("delprinc", "-force", "bob")
    committed = time.monotonic()
    wait_for(
        lambda: probe(node1.host, node1.port, "bob") == KDC_ERR_C_PRINCIPAL_UNKNOWN,
        STALENESS_BOUND,
    )
    measured["delprinc"] = time.monotonic() - committed

    print(
        "staleness node 2 -> node 1 (s): " + ", ".join(f"{k} {v:.2f}" for k, v in measured.items())
    )
    assert all(v < STALENESS_BOUND for v in measured.values()), measured


def test_a_node_started_after_init_gets_its_http_principal(cluster, tmp_path):
    node1, _ = cluster
    (late,) = make_nodes(tmp_path, node1.backend, hosts=("127.0.1.3",), port=node1.port)
    assert probe(node1.host, node1.port, "HTTP/127.0.1.3") == KDC_ERR_C_PRINCIPAL_UNKNOWN
    late.start()
    try:
        # has-server registered the node and created HTTP/127.0.1.3 at start.
        assert "HTTP/127.0.1.3@HADOOP.COM" in node1.hadmin("listprincs", "HTTP/*").stdout.split()
        wait_for(
            lambda: probe(node1.host, node1.port, "HTTP/127.0.1.3") == KDC_ERR_PREAUTH_REQUIRED,
            STALENESS_BOUND,
        )
        # The late node serves the realm at once, with no init of its own.
        assert probe(late.host, late.port, "HTTP/127.0.1.3") == KDC_ERR_PREAUTH_REQUIRED
        # A later init on the new node changes nothing and hands out the same admin keys.
        assert "already initialized" in late.init().stdout
        assert _entries(late.admin_keytab) == _entries(node1.admin_keytab)
    finally:
        late.stop()


def test_killed_node_client_fails_over_to_the_other(cluster, tmp_path):
    """Runs last in this module: node 1 is killed (SIGKILL) and not restarted."""
    node1, node2 = cluster
    node2.hadmin("addprinc", "-pw", "carol-pw", "carol")
    both = node1.mit_client(tmp_path / "both")  # krb5.conf: kdc = node 1, then node 2
    both.write_conf([node1.kdc_address(), node2.kdc_address()])
    wait_for(lambda: _kinit_ok(both, "carol", "carol-pw"), STALENESS_BOUND)
    node1.kill()
    trace = tmp_path / "trace.log"
    started = time.monotonic()
    proc = both.run(
        "kinit", "carol", input="carol-pw\n", env={"KRB5_TRACE": str(trace)}, check=False
    )
    elapsed = time.monotonic() - started
    log = trace.read_text()
    assert proc.returncode == 0, proc.stderr + log
    assert f"Sending initial UDP request to dgram {node1.host}:{node1.port}" in log
    assert f"from dgram {node2.host}:{node2.port}" in log
    assert f"Default principal: carol@{REALM}" in both.klist().stdout
    print(f"kinit with node 1 killed: {elapsed:.2f} s")
