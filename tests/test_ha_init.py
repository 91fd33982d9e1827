"""Realm initialization over one shared MariaDB database, from several nodes at once.

``kdcinit <conf_dir> init -p DIR`` (the console script, direct database mode) is run
on two nodes' conf_dirs at the same moment, against a fresh, empty database each
round (so the schema creation races too): exactly one run creates the realm, the
other finds it initialized, and both write an admin.keytab with the same keys. A
later init changes nothing in the database and writes those keys again.
"""

from __future__ import annotations

import subprocess

import pytest

from has_kdc.backend import open_backend
from has_kdc.formats import read_keytab
from tests.hacluster import REALM, make_nodes, mysql_config
from tests.hasnode import script

ROUNDS = 20


def _entries(path) -> list[tuple]:
    return sorted(
        (e.realm, e.components, e.kvno, e.enctype, bytes(e.key)) for e in read_keytab(path).entries
    )


def _init_together(nodes) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [script("kdcinit"), str(node.conf_dir), "init", "-p", str(node.tmp)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in nodes
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_concurrent_init_creates_the_realm_exactly_once(mariadb, tmp_path):
    database = "ha_init"
    for round_no in range(ROUNDS):
        config = mysql_config(mariadb, database)  # fresh and empty: no schema yet
        nodes = make_nodes(tmp_path / f"round{round_no}", config)
        results = _init_together(nodes)
        for node, proc in zip(nodes, results, strict=True):
            assert proc.returncode == 0, f"round {round_no}, {node.host}: {proc.stderr}"
        created = [r for r in results if f"Realm {REALM} initialized; created:" in r.stdout]
        found = [r for r in results if "is already initialized" in r.stdout]
        assert (len(created), len(found)) == (1, 1), [r.stdout for r in results]
        first, second = (_entries(node.admin_keytab) for node in nodes)
        assert first and first == second, f"round {round_no}: admin keytabs differ"
        assert {e[1] for e in first} == {("kadmin", REALM)}
        with open_backend(config) as backend:
            names = backend.list_principals()
            assert names.count(f"krbtgt/{REALM}@{REALM}") == 1
            assert names.count(f"kadmin/{REALM}@{REALM}") == 1
            # The winner's own HTTP principal; the other node gets its own when its
            # has-server starts (ensure_node_principals), as neither was registered.
            http = [n for n in names if n.startswith("HTTP/")]
            assert len(http) == 1 and http[0].split("/")[1].split("@")[0] in {n.host for n in nodes}
            assert backend.get_config("initialized")
            assert backend.get_config("realm") == REALM
    mariadb.drop_database(database)


def test_later_init_changes_nothing_and_writes_the_same_admin_keys(mariadb, tmp_path):
    config = mysql_config(mariadb, "ha_init_later")
    node1, node2 = make_nodes(tmp_path, config)
    node1.init()
    with open_backend(config) as backend:
        before = (backend.change_counter(), backend.get_principal(f"kadmin/{REALM}@{REALM}"))
    for node in (node2, node1):
        node.admin_keytab.unlink(missing_ok=True)
        out = node.init().stdout
        assert "already initialized" in out and "nothing changed" in out
    with open_backend(config) as backend:
        after = (backend.change_counter(), backend.get_principal(f"kadmin/{REALM}@{REALM}"))
    assert after == before  # no write at all: same counter, same kadmin keys and kvno
    assert _entries(node1.admin_keytab) == _entries(node2.admin_keytab)
    kadmin = before[1]
    assert {(e[2], e[3], e[4]) for e in _entries(node2.admin_keytab)} == {
        (k.kvno, k.enctype, bytes(k.key)) for k in kadmin.keys
    }
    mariadb.drop_database("ha_init_later")


@pytest.mark.parametrize("order", ["register-then-init", "init-then-register"])
def test_every_registered_node_gets_its_http_principal(mariadb, tmp_path, order):
    """has-server's start-up step (StoreStartup) in either order relative to init."""
    from has_kdc.conf import load_conf_dir
    from has_kdc.node.backend_startup import StoreStartup

    database = "ha_http_" + order.replace("-", "_")
    config = mysql_config(mariadb, database)
    node1, node2 = make_nodes(tmp_path, config)
    if order == "register-then-init":
        assert StoreStartup(load_conf_dir(node2.conf_dir)).first_attempt()
        node1.init()
    else:
        node1.init()
        assert StoreStartup(load_conf_dir(node2.conf_dir)).first_attempt()
    with open_backend(config) as backend:
        assert backend.list_nodes() == [node2.host]
        http = backend.list_principals("HTTP/*")
    assert http == sorted(f"HTTP/{n.host}@{REALM}" for n in (node1, node2))
    mariadb.drop_database(database)
