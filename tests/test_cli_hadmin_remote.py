"""hadmin-remote against two real has-server nodes: admin.keytab, SPNEGO, failover.

The admin's conf_dir holds what HAS's hadmin-remote reads: hadmin.conf (both nodes in
https_host), the realm's krb5.conf (both KDCs) and the cluster's ca-root.pem. Every
command goes through the console script; what it did is checked with MIT's tools
(kinit, klist -k) and hadmin-local on the database side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.client.admin_client import HasAdminClient
from has_kdc.client.has_client import HasClientError
from has_kdc.conf import read_has_server_conf
from has_kdc.formats import read_keytab
from tests.hacluster import eventually
from tests.hasnode import script
from tests.mitkrb import render_krb5_conf
from tests.spnego_cluster import ADDRESSES, ADMIN, REALM, SpnegoCluster

pytestmark = pytest.mark.mit


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, mariadb) -> Iterator[SpnegoCluster]:
    tmp = tmp_path_factory.mktemp("hadmin-remote")
    c = SpnegoCluster(tmp, mariadb, f"t_hadmin_remote_{os.getpid()}")
    try:
        c.start()
        yield c
    finally:
        c.stop()
        mariadb.drop_database(f"t_hadmin_remote_{os.getpid()}")


def admin_conf_dir(cluster: SpnegoCluster, where: Path, keytab: Path, principal: str) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "hadmin.conf").write_text(
        "[HAS]\n"
        f"  https_host = {','.join(ADDRESSES)}\n"
        f"  https_port = {cluster.https_port}\n"
        f"  admin_keytab = {keytab}\n"
        f"  admin_keytab_principal = {principal}\n"
        "  filter_auth_type = kerberos\n"
    )
    (where / "krb5.conf").write_text(
        render_krb5_conf(REALM, [n.kdc_address() for n in cluster.nodes])
    )
    shutil.copy(cluster.ca_file, where / "ca-root.pem")
    return where


@pytest.fixture(scope="module")
def conf_dir(cluster, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("admin-host")
    return admin_conf_dir(cluster, where / "conf", cluster.admin_keytab, ADMIN)


def hadmin_remote(
    conf: Path, *args: str, input: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KRB5_CONFIG", "CA_ROOT")}
    proc = subprocess.run(
        [script("hadmin-remote"), str(conf), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hadmin-remote {' '.join(args)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def test_principal_commands_change_the_realm(cluster, conf_dir, tmp_path):
    node2 = cluster.nodes[1]
    out = hadmin_remote(conf_dir, "addprinc", "-pw", "alice-pw", "alice").stdout
    assert out == f'Principal "alice@{REALM}" created.\n'
    assert "alice-pw" not in out
    mit = cluster.mit(tmp_path / "alice")
    mit.kinit("alice", "alice-pw")
    assert f"alice@{REALM}" in hadmin_remote(conf_dir, "listprincs", "a*").stdout.split()

    # password from standard input, twice (as a script answers the two prompts)
    hadmin_remote(conf_dir, "cpw", "alice", input="alice-new\nalice-new\n")
    eventually(lambda: mit.kinit("alice", "alice-new"))
    hadmin_remote(conf_dir, "modprinc", "-maxlife", "2h", "-requires_preauth", "alice")
    shown = hadmin_remote(conf_dir, "getprinc", "alice").stdout
    assert f"Principal: alice@{REALM}" in shown and "Maximum ticket life: 02:00:00" in shown
    assert "REQUIRES_PRE_AUTH" not in shown
    # what hadmin-local reads from the database is what hadmin-remote wrote
    assert node2.hadmin("getprinc", "alice").stdout == shown

    hadmin_remote(conf_dir, "renprinc", "alice", "alice2")
    eventually(lambda: mit.kinit("alice2", "alice-new"))
    gone = hadmin_remote(conf_dir, "delprinc", "alice2", input="yes\n").stdout
    assert f'Principal "alice2@{REALM}" deleted.' in gone
    missing = hadmin_remote(conf_dir, "getprinc", "alice2", check=False)
    assert missing.returncode == 1 and "404" in missing.stderr and "alice2" in missing.stderr
    dup = hadmin_remote(conf_dir, "addprinc", "-randkey", "kadmin/HADOOP.COM", check=False)
    assert dup.returncode == 1 and "409" in dup.stderr


def test_keytabs_over_https_work_with_mit_tools(cluster, conf_dir, tmp_path):
    hadmin_remote(conf_dir, "addprinc", "-randkey", "svc/app.example.com")
    kt = tmp_path / "svc.keytab"
    out = hadmin_remote(conf_dir, "ktadd", "-k", str(kt), "svc/app.example.com").stdout
    assert f"Entry for principal svc/app.example.com@{REALM} with kvno 2" in out
    assert oct(kt.stat().st_mode & 0o777) == "0o600"
    mit = cluster.mit(tmp_path / "svc")
    mit.kinit_keytab("svc/app.example.com", kt)
    # -norandkey: the same keys again (no new kvno); the keytab still works
    hadmin_remote(conf_dir, "ktadd", "-k", str(kt), "-norandkey", "-q", "svc/app.example.com")
    assert {e.kvno for e in read_keytab(kt).entries} == {2}
    mit.kinit_keytab("svc/app.example.com", kt)
    refused = hadmin_remote(
        conf_dir, "ktadd", "-k", str(tmp_path / "tgt.keytab"), f"krbtgt/{REALM}", check=False
    )
    assert refused.returncode == 1 and "refusing to re-randomize" in refused.stderr

    # Hadoop host roles: create by file, export per role
    roles = hadmin_remote(conf_dir, "hostroles").stdout
    assert "HostRole: HDFS, PrincipalNames: HTTP, hdfs" in roles
    hosts = tmp_path / "hostroles.json"
    hosts.write_text(json.dumps({"HOSTS": [{"name": "dn1", "hostRoles": "HDFS,YARN"}]}))
    assert hadmin_remote(conf_dir, "creprincs", str(hosts)).stdout.startswith(
        "created 3, skipped 0"
    )
    assert hadmin_remote(conf_dir, "creprincs", str(hosts)).stdout.startswith(
        "created 0, skipped 3"
    )
    out_dir = tmp_path / "keytabs"
    out_dir.mkdir()
    out = hadmin_remote(conf_dir, "expkeytabs", "-p", str(out_dir), "dn1").stdout
    assert sorted(p.name for p in out_dir.iterdir()) == ["HDFS-dn1.keytab", "YARN-dn1.keytab"]
    assert "Keytab of HDFS for dn1 exported" in out
    mit.kinit_keytab("hdfs/dn1", out_dir / "HDFS-dn1.keytab")


def test_rotation_with_keepold_then_purgekeys_over_https(cluster, conf_dir, tmp_path):
    """cpw -keepold and purgekeys through the admin API, on the MySQL store: both kvnos
    are kept in the database, exported by ktadd -norandkey, and usable by MIT tools."""
    name = f"rot/app.example.com@{REALM}"
    hadmin_remote(conf_dir, "addprinc", "-randkey", name)
    hadmin_remote(conf_dir, "cpw", "-randkey", "-keepold", name)
    shown = cluster.nodes[1].hadmin("getprinc", name).stdout  # what MySQL holds
    assert "Key: vno 2, aes256-cts-hmac-sha1-96" in shown
    assert "Key: vno 1, aes256-cts-hmac-sha1-96" in shown
    kt = tmp_path / "rot.keytab"
    out = hadmin_remote(conf_dir, "ktadd", "-k", str(kt), "-norandkey", name).stdout
    assert f"{name} with kvno 2" in out and f"{name} with kvno 1" in out
    assert {e.kvno for e in read_keytab(kt).entries} == {1, 2}
    mit = cluster.mit(tmp_path / "rot")
    eventually(lambda: mit.kinit_keytab(name, kt))
    assert ": kvno = 2" in mit.kvno("-k", str(kt), name).stdout

    out = hadmin_remote(conf_dir, "purgekeys", name).stdout
    assert out == f'Old keys for principal "{name}" purged.\n'
    shown = hadmin_remote(conf_dir, "getprinc", name).stdout
    assert "vno 2" in shown and "vno 1" not in shown
    mit.kinit_keytab(name, kt)
    refused = hadmin_remote(conf_dir, "purgekeys", "-all", f"krbtgt/{REALM}", check=False)
    assert refused.returncode == 1 and "cannot purge every key" in refused.stderr
    actions = [
        (r["action"], r["result"], r["detail"].get("keepold"), r["detail"].get("purged_kvnos"))
        for r in map(
            json.loads,
            hadmin_remote(conf_dir, "audit", "-target", name, "-json").stdout.splitlines(),
        )
    ]
    assert ("cpw", "success", True, None) in actions
    assert ("purgekeys", "success", None, [1]) in actions


def test_enable_and_disable_configure_on_every_node(cluster, conf_dir):
    out = hadmin_remote(conf_dir, "disable_configure").stdout
    assert out.count("enable_conf set false") == 2
    assert [
        read_has_server_conf(n.conf_dir / "has-server.conf").enable_conf for n in cluster.nodes
    ] == [False, False]
    closed = cluster.nodes[1].kdcinit("set_plugin", "RAM", check=False)
    assert closed.returncode != 0 and "enable_conf" in closed.stderr
    assert hadmin_remote(conf_dir, "enable").stdout.count("enable_conf set true") == 2
    assert all(
        read_has_server_conf(n.conf_dir / "has-server.conf").enable_conf for n in cluster.nodes
    )


def test_changes_are_audited_as_the_admin_principal_and_read_back(cluster, conf_dir):
    hadmin_remote(conf_dir, "addprinc", "-pw", "Audit-pw-1", "audited")
    hadmin_remote(conf_dir, "cpw", "-pw", "Audit-pw-2", "audited")
    out = hadmin_remote(conf_dir, "audit", "-target", "audited@*", "-since", "1h ago").stdout
    lines = [line.split("\t") for line in out.splitlines()]
    assert [(f[2], f[3], f[5], f[7]) for f in lines] == [
        ("rest", ADMIN, "addprinc", "success"),
        ("rest", ADMIN, "cpw", "success"),
    ]
    assert {f[4] for f in lines} == {"127.0.0.1"}  # the admin's address, as the node saw it
    assert "Audit-pw" not in out
    # hadmin-local on a node reads the same trail from the shared database
    local = cluster.nodes[1].hadmin("audit", "-target", "audited@*", "-json").stdout
    assert [json.loads(x)["action"] for x in local.splitlines()] == ["addprinc", "cpw"]
    assert "Audit-pw" not in local


def test_interactive_prompt(conf_dir):
    proc = hadmin_remote(conf_dir, input="cmd\nlistprincs kadmin/H*\nbogus\nexit\n")
    assert proc.stdout.startswith('enter "cmd" to see legal commands.\nHadminRemoteTool.remote: ')
    assert "enable_configure" in proc.stdout and "expkeytabs" in proc.stdout
    assert ADMIN in proc.stdout
    assert "unknown command 'bogus'" in proc.stderr


def test_a_non_admin_keytab_is_refused(cluster, conf_dir, tmp_path):
    hadmin_remote(conf_dir, "addprinc", "-randkey", "robot")
    kt = tmp_path / "robot.keytab"
    hadmin_remote(conf_dir, "ktadd", "-k", str(kt), "-q", "robot")
    robot = admin_conf_dir(cluster, tmp_path / "robot-conf", kt, f"robot@{REALM}")
    proc = hadmin_remote(robot, "listprincs", check=False)
    assert proc.returncode == 1
    assert "403" in proc.stderr and f"robot@{REALM} is not an administrator" in proc.stderr


def test_failover_to_the_second_node_then_nothing(cluster, conf_dir):
    client = HasAdminClient.from_conf_dir(conf_dir, environ={})
    assert ADMIN in client.get("admin/getprincipals").json()["principals"]
    assert client.last_host == ADDRESSES[0]
    cluster.nodes[0].stop()  # HTTPS and KDC of node 1 gone
    out = hadmin_remote(conf_dir, "listprincs", "kadmin/H*")
    assert out.stdout == f"{ADMIN}\n"
    hadmin_remote(conf_dir, "addprinc", "-pw", "dave-pw", "dave")
    assert client.get("admin/getprincipals", exp="dave").json()["principals"] == [f"dave@{REALM}"]
    assert client.last_host == ADDRESSES[1]
    cluster.nodes[1].stop()
    proc = hadmin_remote(conf_dir, "listprincs", check=False)
    # nothing left to reach: the KDCs (or, if a stopping KDC still answered, HTTPS)
    assert proc.returncode == 1, proc.stderr
    assert "no KDC answered" in proc.stderr or "no HAS server could be reached" in proc.stderr
    with pytest.raises(HasClientError, match="no HAS server could be reached"):
        client.get("admin/getprincipals")  # tickets cached: fails on HTTPS, for both nodes
