"""The migration proof: keytabs and tickets of the old KDC work against has-kdc after import.

(c) MIT: a realm made with the real MIT tools (kdb5_util, kadmin.local, krb5kdc);
``ktadd -norandkey`` keytabs and a TGT taken from the MIT KDC before the switch;
``kdb5_util dump``; ``hadmin-local import`` into a fresh has-kdc realm (SQLite, and
MySQL on the test MariaDB); then, against ``has-server``, the OLD keytabs with MIT
``kinit -k`` and ``kvno``, and the OLD TGT with ``kvno`` (the krbtgt key was carried).

(a) Kerby MySQL: the tables of both HAS generations, created in the test MariaDB from
Kerby's DDL and filled as Kerby encodes identities (tests/data/importing); (b) Kerby
JSON: Kerby's JSON backend file. The keytab standing in for Kerby's export holds the
same keys (tests/kerby_data.py). Same proof with ``kinit -k`` and ``kvno``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.plugins.passwords import verify_password
from tests import kerby_data
from tests.conftest import MYSQL_TEST_PASSWORD, MYSQL_TEST_USER
from tests.hasnode import HasNode
from tests.mitkrb import MitRealm

pytestmark = pytest.mark.mit

REALM = "HADOOP.COM"
DATA = Path(__file__).parent / "data" / "importing"
MIT_ENCTYPES = (
    "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal "
    "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal "
    "des3-cbc-sha1:normal arcfour-hmac:normal"
)
APP = f"host/app.hadoop.com@{REALM}"


class MitSource:
    """What the old MIT KDC left behind: dump, stash, keytabs, a ccache with its TGT."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.realm = MitRealm(base / "mit", REALM, supported_enctypes=MIT_ENCTYPES)
        self.dump = base / "realm.dump"
        self.stash = self.realm.tmp / "stash"
        self.keytabs = {name: base / f"{name}.keytab" for name in ("app", "alice", "kv", "legacy")}
        self.tgt_ccache = base / "alice-tgt.ccache"

    def build(self) -> None:
        r = self.realm
        r.create()
        r.addprinc("alice", "alice-MIT-pw")
        r.addprinc("host/app.hadoop.com")
        r.addprinc("kv")
        r.kadmin("cpw -randkey kv")
        r.kadmin("cpw -randkey kv")  # kvno 3
        r.kadmin(
            "addprinc -randkey -e aes256-cts:normal,des3-cbc-sha1:normal,arcfour-hmac:normal legacy"
        )
        r.kadmin("addprinc -randkey -e des3-cbc-sha1:normal,arcfour-hmac:normal weakonly")
        for name, principal in (
            ("app", APP),
            ("alice", "alice"),
            ("kv", "kv"),
            ("legacy", "legacy"),
        ):
            r.ktadd(self.keytabs[name], principal, norandkey=True)
        r.start()
        try:
            # before the switch: the keytab works against MIT, alice holds an MIT TGT
            client = r.client(self.base / "before")
            client.kinit_keytab(APP, self.keytabs["app"])
            client.kinit(f"alice@{REALM}", "alice-MIT-pw")
            shutil.copyfile(client.ccache, self.tgt_ccache)
        finally:
            r.stop()
        r.run("kdb5_util", "-r", REALM, "dump", str(self.dump))


@pytest.fixture(scope="module")
def mit_source(tmp_path_factory: pytest.TempPathFactory) -> MitSource:
    source = MitSource(tmp_path_factory.mktemp("mit-source"))
    source.build()
    return source


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def started(node: HasNode, request: pytest.FixtureRequest) -> HasNode:
    node.start()
    request.addfinalizer(node.stop)
    return node


@pytest.mark.parametrize("store", ["sqlite", "mysql"])
def test_mit_keytabs_and_tickets_work_against_has_kdc_after_import(
    store, mit_source, tmp_path, request
):
    backend = request.getfixturevalue("mysql_backend_config") if store == "mysql" else None
    node = HasNode(tmp_path / "has", REALM, backend=backend)
    keytab_digests = {name: digest(path) for name, path in mit_source.keytabs.items()}

    dry = node.hadmin("import", "--dry-run", "--stash", str(mit_source.stash), str(mit_source.dump))
    assert "dry run, nothing written" in dry.stdout
    done = node.hadmin("import", "--stash", str(mit_source.stash), str(mit_source.dump))
    out = done.stdout
    assert "initialized by this import (created kadmin/HADOOP.COM@HADOOP.COM" in out
    assert f"refused  weakonly@{REALM}: principal: no key has-kdc can serve" in out
    assert "refused  K/M@HADOOP.COM: principal: MIT's master key" in out
    assert re.search(r"not carried  key des3-cbc-sha1 \(\d+: ", out)
    started(node, request)

    client = node.mit_client(tmp_path / "after")
    # the OLD keytabs, unchanged, against has-kdc
    client.kinit_keytab(APP, mit_source.keytabs["app"])
    assert "kvno = 1" in client.kvno(APP).stdout
    assert "kvno = 3" in client.kvno(f"kv@{REALM}").stdout
    client.kinit_keytab(f"kv@{REALM}", mit_source.keytabs["kv"])
    client.kinit_keytab(f"legacy@{REALM}", mit_source.keytabs["legacy"])
    client.kinit_keytab(f"alice@{REALM}", mit_source.keytabs["alice"])
    client.kinit(f"alice@{REALM}", "alice-MIT-pw")  # and the old password
    assert {name: digest(path) for name, path in mit_source.keytabs.items()} == keytab_digests

    # the TGT the MIT KDC issued before the switch, accepted by has-kdc's TGS
    old = tmp_path / "old-tgt.ccache"
    shutil.copyfile(mit_source.tgt_ccache, old)
    env = {"KRB5CCNAME": f"FILE:{old}"}
    assert APP not in client.run("klist", env=env).stdout  # only the TGT, so far
    issued = client.run("kvno", APP, env=env)
    assert "kvno = 1" in issued.stdout
    listing = client.run("klist", env=env).stdout
    assert f"krbtgt/{REALM}@{REALM}" in listing and APP in listing

    # what was refused is not there
    refused = client.kinit("weakonly", "whatever", check=False)
    assert refused.returncode != 0 and "not found in Kerberos database" in refused.stderr

    again = node.hadmin("import", "--stash", str(mit_source.stash), str(mit_source.dump))
    assert re.search(
        r"principals: \d+ in the source; 0 new, \d+ unchanged, 0 changed", again.stdout
    )


def _kerby_mysql_database(mariadb, name: str, generation: str) -> str:
    mariadb.drop_database(name)
    mariadb.create_database(name, MYSQL_TEST_USER, MYSQL_TEST_PASSWORD)
    sql = (DATA / f"kerby-mysql-{generation}.sql").read_text()
    mariadb.execute(f"USE `{name}`", *kerby_data.sql_statements(sql))
    return f"jdbc:mysql://{mariadb.host}:{mariadb.port}/{name}?user={MYSQL_TEST_USER}"


@pytest.mark.parametrize("source", ["mysql-has-project", "mysql-trunk", "json"])
def test_kerby_keytabs_work_against_has_kdc_after_import(source, tmp_path, request):
    node = HasNode(tmp_path / "has", REALM)
    args: list[str] = []
    if source == "json":
        location = str(DATA / "kerby-json-backend.json")
    else:
        mariadb = request.getfixturevalue("mariadb")
        database = f"kerby_{os.getpid()}_{source.replace('-', '_')}"
        request.addfinalizer(lambda: mariadb.drop_database(database))
        location = _kerby_mysql_database(mariadb, database, source.removeprefix("mysql-"))
        secret = tmp_path / "db-password"
        secret.write_text(MYSQL_TEST_PASSWORD + "\n")
        args = ["--password-file", str(secret)]
    done = node.hadmin("import", *args, location)
    out = done.stdout
    assert "initialized by this import" in out
    assert f"refused  weakonly@{REALM}" in out and "refused  mallory@OTHER.COM" in out
    shown = (out + done.stderr).replace(location, "<source>").replace(str(DATA), "<data>")
    for password in (MYSQL_TEST_PASSWORD, *(pw for _user, pw in kerby_data.PLUGIN_USERS)):
        assert password not in shown
    started(node, request)

    keytab = kerby_data.write_kerby_keytab(
        tmp_path / "kerby-export.keytab",
        f"hdfs/node1.hadoop.com@{REALM}",
        f"HTTP/node1.hadoop.com@{REALM}",
    )
    client = node.mit_client(tmp_path / "client")
    client.kinit_keytab(f"hdfs/node1.hadoop.com@{REALM}", keytab)
    assert "kvno = 2" in client.kvno(f"HTTP/node1.hadoop.com@{REALM}").stdout
    client.kinit_keytab(f"HTTP/node1.hadoop.com@{REALM}", keytab)
    client.kinit(f"alice@{REALM}", "alice-Kerby-1")
    assert "kvno = 1" in client.kvno(f"hdfs/node1.hadoop.com@{REALM}").stdout
    disabled = client.kinit(f"bob@{REALM}", "bob-Kerby-1", check=False)
    assert disabled.returncode != 0

    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        users = {u.name: u for u in backend.list_plugin_users()}
        if source == "json":
            assert users == {}  # the JSON backend has no has_user table
        else:
            assert set(users) == {name for name, _ in kerby_data.PLUGIN_USERS}
            for name, password in kerby_data.PLUGIN_USERS:
                assert verify_password(password, users[name].password_hash)
                assert password not in users[name].password_hash


def test_kerby_mysql_source_errors_name_the_source_never_the_password(tmp_path, mariadb):
    node = HasNode(tmp_path / "has", REALM)
    database = f"kerby_{os.getpid()}_badpw"
    location = _kerby_mysql_database(mariadb, database, "trunk")
    try:
        secret = tmp_path / "db-password"
        secret.write_text("Wrong-Password-77\n")
        refused = node.hadmin("import", "--password-file", str(secret), location, check=False)
        assert refused.returncode == 1
        assert f"cannot read mysql://{MYSQL_TEST_USER}@127.0.0.1:" in refused.stderr
        assert "Access denied" in refused.stderr
        assert "Wrong-Password-77" not in refused.stdout + refused.stderr
        in_url = location.replace("?user=", "?password=Wrong-Password-77&user=")
        refused = node.hadmin("import", in_url, check=False)
        assert refused.returncode == 1 and "Wrong-Password-77" not in refused.stderr
    finally:
        mariadb.drop_database(database)
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        assert backend.list_principals() == []
