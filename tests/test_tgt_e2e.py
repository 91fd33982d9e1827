"""TGT over HTTPS for real: two has-server nodes over one MariaDB, login-test, MIT tools.

Nodes on 127.0.1.1 and 127.0.1.2 (same ports, one CA), as in tests/test_web_ha.py.
A MySQL plugin user is added with ``hadmin-local addpluginuser``; ``login-test tgt``
with the exported has-client.conf gets a TGT that MIT ``klist`` lists and MIT ``kvno``
uses; a wrong password fails clearly; with the first node stopped the second serves.
Then HAS's load mode (``login-test add|run|delete``) against the first node.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.formats import read_ccache, read_keytab
from tests.hacluster import node_on_own_mariadb, running_cluster
from tests.hasnode import HasNode, script
from tests.mitkrb import MitClient

REALM = "HADOOP.COM"
HOSTS = ("127.0.1.1", "127.0.1.2")

pytestmark = pytest.mark.mit


@pytest.fixture
def cluster(tmp_path: Path, mysql_backend_config) -> Iterator[tuple[HasNode, HasNode]]:
    with running_cluster(tmp_path, mysql_backend_config, HOSTS, init=True) as nodes:
        yield tuple(nodes)  # type: ignore[misc]


def login_test(
    *args: str, env: dict[str, str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", **env}
    proc = subprocess.run(
        [script("login-test"), *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"login-test {args} exited {proc.returncode}: {proc.stderr}")
    return proc


def test_login_test_tgt_on_two_nodes_with_mit_tools(cluster, tmp_path):
    node1, node2 = cluster
    exported = tmp_path / "client-conf"
    exported.mkdir()
    node1.kdcinit("gethas", "-p", str(exported))
    node1.kdcinit("getkrb5", "-p", str(exported))
    out = node1.hadmin("addpluginuser", "-pw", "test", "hdfs").stdout
    assert 'Plugin user "hdfs" created.' in out
    assert "hdfs\tenabled" in node2.hadmin("listpluginusers").stdout  # one shared table

    cache = tmp_path / "krb5cc_hdfs"
    env = {
        "userName": "hdfs",
        "password": "test",
        "KRB5CCNAME": f"FILE:{cache}",
        "CA_ROOT": str(node1.ca_file),
    }
    proc = login_test("tgt", str(exported), "MySQL", env=env, check=True)
    assert proc.stdout.startswith(
        f"Login successful for hdfs@{REALM} via https://{HOSTS[0]}:{node1.https_port}/has/v1 "
        f"(MySQL); ticket cache FILE:{cache}, valid until "
    ), proc.stdout

    mit = MitClient(tmp_path / "mit", REALM, [])
    mit.krb5_conf.write_text((exported / "krb5.conf").read_text())
    mit.env["KRB5CCNAME"] = f"FILE:{cache}"
    listing = mit.klist("-f").stdout
    assert f"Default principal: hdfs@{REALM}" in listing
    assert f"krbtgt/{REALM}@{REALM}" in listing
    service = f"HTTP/{HOSTS[1]}@{REALM}"  # a node principal: exists after init
    kvno = mit.kvno(service).stdout
    assert f"{service}: kvno = " in kvno
    assert service in mit.klist().stdout

    # a wrong password: a clear reason, non-zero, and the cache is left alone
    before = cache.read_bytes()
    bad = login_test("tgt", str(exported), "MySQL", env={**env, "password": "guess"})
    assert bad.returncode == 1
    assert "login failed" in bad.stderr
    assert "401 authentication_failed" in bad.stderr
    assert "wrong user name or password" in bad.stderr
    assert "guess" not in bad.stderr + bad.stdout
    assert cache.read_bytes() == before

    # an admin host set up the HAS way: hadmin.conf only (with krb5.conf and the CA)
    admin_host = tmp_path / "admin-host"
    admin_host.mkdir()
    (admin_host / "hadmin.conf").write_text(
        f"[HAS]\n    https_host = {','.join(HOSTS)}\n    https_port = {node1.https_port}\n"
        f"    admin_keytab = {node1.admin_keytab}\n    filter_auth_type = kerberos\n"
        f"    realm = {REALM}\n"
    )
    (admin_host / "krb5.conf").write_text((exported / "krb5.conf").read_text())
    (admin_host / "ca-root.pem").write_bytes(node1.ca_file.read_bytes())
    proc = login_test("tgt", str(admin_host), "MySQL", env={**env, "CA_ROOT": ""}, check=True)
    assert proc.stdout.startswith(f"Login successful for hdfs@{REALM} via https://{HOSTS[0]}")
    out_dir = tmp_path / "from-admin-host"
    got = subprocess.run(
        [script("kdcinit"), str(admin_host), "get_krb5conf", "-p", str(out_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert (out_dir / "krb5.conf").read_text() == (exported / "krb5.conf").read_text()
    got = subprocess.run(
        [script("kdcinit"), str(admin_host), "init_kdc", "-p", str(out_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr  # as the admin of hadmin.conf, over SPNEGO
    assert {e.key for e in read_keytab(out_dir / "admin.keytab").entries} == {
        e.key for e in read_keytab(node1.admin_keytab).entries
    }

    # the first node stops: the second serves
    node1.stop()
    other = tmp_path / "krb5cc_second"
    proc = login_test(str(exported), "tgt", env={**env, "KRB5CCNAME": f"FILE:{other}"}, check=True)
    assert f"via https://{HOSTS[1]}:{node2.https_port}/has/v1 (MySQL)" in proc.stdout
    assert f"skipped https://{HOSTS[0]}:{node1.https_port}/has/v1" in proc.stderr
    assert str(read_ccache(other).default_principal) == f"hdfs@{REALM}"
    mit.env["KRB5CCNAME"] = f"FILE:{other}"
    assert f"{service}: kvno = " in mit.kvno(service).stdout  # via the second KDC

    # disabled in the shared table: refused by the node still up
    node2.hadmin("modpluginuser", "-disable", "hdfs")
    refused = login_test("tgt", str(exported), env=env)
    assert refused.returncode == 1 and "plugin user hdfs is disabled" in refused.stderr
    assert 'Plugin user "hdfs" deleted.' in node2.hadmin("delpluginuser", "-force", "hdfs").stdout


def test_login_test_load_mode(cluster, tmp_path):
    node1, _node2 = cluster
    work = tmp_path / "work"
    work.mkdir()
    conf = str(node1.conf_dir)
    added = login_test("add", conf, str(work), "6", env={}, check=True)
    assert "Added 6 principals" in added.stdout
    assert sorted(p.name for p in work.iterdir()) == [f"{i}.keytab" for i in range(6)]
    entries = read_keytab(work / "3.keytab").entries
    assert {str(e.principal) for e in entries} == {f"test3@{REALM}"}
    assert "test5@" in node1.hadmin("listprincs", "test*").stdout

    ran = login_test("run", conf, str(work), "6", "-c", "3", env={}, check=True)
    assert "Start the login test: 6 logins, 3 at a time" in ran.stdout
    assert "Finished the login test: 6 succeeded, 0 failed in " in ran.stdout
    assert "logins/s; p50 " in ran.stdout and " p99 " in ran.stdout

    # MIT kinit takes the keytabs we wrote
    mit = MitClient(tmp_path / "mit", REALM, [node1.kdc_address()])
    mit.kinit_keytab(f"test2@{REALM}", work / "2.keytab")

    deleted = login_test("delete", conf, str(work), "6", env={}, check=True)
    assert "Deleted 6 principals" in deleted.stdout
    assert list(work.iterdir()) == []
    failed = login_test("run", conf, str(work), "2", env={})
    assert failed.returncode == 1 and "0.keytab" in failed.stderr
    usage = login_test("run", conf, str(work), "zero", env={})
    assert usage.returncode == 2 and "positive integer" in usage.stderr


def test_plugin_logins_through_a_database_outage(tmp_path):
    """A plugin user who logged in before the database went away logs in during the
    outage (password hash and principal from the node's memory, within kdc_stale_ok);
    one never seen gets 503; a password changed before the outage is the one that works."""
    with node_on_own_mariadb(tmp_path, REALM) as (db, node):
        node.kdcinit("init", "-p", str(node.tmp))
        exported = tmp_path / "client-conf"
        exported.mkdir()
        node.kdcinit("gethas", "-p", str(exported))
        node.hadmin("addpluginuser", "-pw", "old", "hdfs")
        node.hadmin("addpluginuser", "-pw", "never", "yarn")
        env = {
            "userName": "hdfs",
            "password": "old",
            "KRB5CCNAME": f"FILE:{tmp_path / 'cc'}",
            "CA_ROOT": str(node.ca_file),
        }
        login_test("tgt", str(exported), "MySQL", env=env, check=True)
        node.hadmin("resetpluginuser", "-pw", "new", "hdfs")
        env["password"] = "new"
        login_test("tgt", str(exported), "MySQL", env=env, check=True)

        db.stop()
        during = login_test("tgt", str(exported), "MySQL", env=env, check=True)
        assert f"Login successful for hdfs@{REALM}" in during.stdout
        stale = login_test("tgt", str(exported), "MySQL", env={**env, "password": "old"})
        assert stale.returncode == 1 and "wrong user name or password" in stale.stderr
        unseen = login_test(
            "tgt", str(exported), "MySQL", env={**env, "userName": "yarn", "password": "never"}
        )
        assert unseen.returncode == 1 and "503" in unseen.stderr
