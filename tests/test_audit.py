"""The audit trail: one record per change, from every way in, never a secret.

First what the trail is (the store's table on SQLite and MariaDB, the audit log file,
the transaction a record shares with its change); then each path that changes the
realm, run for real: hadmin-local, the REST admin API (hadmin-remote's path; the
console script itself is tests/test_cli_hadmin_remote.py), the REST conf and kdcinit
endpoints, kdcinit --local, the Ansible modules, has-server's node registration. Each
change adds exactly one record naming the edge, the actor and the address, and no
password, key or keytab byte appears in any record or in the audit log.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.admin import (
    AUDIT_LOG,
    Actor,
    AdminError,
    AuditTrail,
    PrincipalAdmin,
    audit_query,
    init_realm,
    os_actor,
    register_node,
)
from has_kdc.backend import (
    BackendError,
    IdentityBackend,
    PluginUser,
    open_backend,
)
from has_kdc.backend.model import AuditQuery, AuditRecord
from has_kdc.backend.mysql import MysqlBackend
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.cli import hadmin_local, kdcinit
from has_kdc.conf import BackendConfig, load_conf_dir
from has_kdc.formats import read_keytab
from has_kdc.node.backend_startup import StoreStartup
from has_kdc.web import default_routes
from tests.ansible_env import ansible_env
from tests.hasnode import HasNode
from tests.webnode import ADMIN, REALM, make_node

ACTOR = Actor("pytest", "test", "192.0.2.1")
ME = pwd.getpwuid(os.geteuid()).pw_name
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------- helpers


def records(conf_dir: Path, **filters: object) -> list[AuditRecord]:
    conf = load_conf_dir(conf_dir)
    with open_backend(conf.backend) as backend:
        return backend.list_audit_records(AuditQuery(limit=10_000, **filters))  # type: ignore[arg-type]


def log_lines(conf_dir: Path) -> list[dict]:
    path = load_conf_dir(conf_dir).kdc.data_dir / AUDIT_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def new_records(conf_dir: Path, before: int) -> list[AuditRecord]:
    return [r for r in records(conf_dir) if r.id > before]


def last_id(conf_dir: Path) -> int:
    found = records(conf_dir)
    return found[-1].id if found else 0


def store_secrets(conf_dir: Path) -> set[str]:
    """Every key of the store, as hex and base64: none may show in the trail."""
    conf = load_conf_dir(conf_dir)
    out = set()
    with open_backend(conf.backend) as backend:
        for principal in backend.iter_principals():
            for key in principal.keys:
                out.add(bytes(key.key).hex())
                out.add(base64.b64encode(bytes(key.key)).decode())
    return out


def assert_no_secret(conf_dir: Path, *secrets: str) -> None:
    text = json.dumps([r.__dict__ for r in records(conf_dir)])
    log = (load_conf_dir(conf_dir).kdc.data_dir / AUDIT_LOG).read_text()
    for secret in (*secrets, *store_secrets(conf_dir)):
        assert secret not in text, secret
        assert secret not in log, secret


def keytab_secrets(path: Path) -> list[str]:
    data = path.read_bytes()
    keys = [bytes(e.key) for e in read_keytab(path).entries]
    return [base64.b64encode(data).decode()[:40], *(k.hex() for k in keys)]


# ---------------------------------------------------------------------- the store


@pytest.fixture(params=["sqlite", "mysql"])
def store(request, tmp_path) -> Iterator[IdentityBackend]:
    if request.param == "sqlite":
        config = BackendConfig(kind="sqlite", sqlite_path=tmp_path / "has.sqlite")
    else:
        config = request.getfixturevalue("mysql_backend_config")
    with open_backend(config) as backend:
        yield backend


def _record(at: float, **fields: str) -> AuditRecord:
    values = {
        "node": "n1",
        "via": "hadmin-local",
        "actor": "root",
        "address": "local",
        "action": "addprinc",
        "target": f"alice@{REALM}",
        "result": "success",
        "detail": "{}",
        **fields,
    }
    return AuditRecord(at, **values)  # type: ignore[arg-type]


def test_store_keeps_and_filters_records(store):
    added = [
        store.add_audit_record(_record(100.5)),
        store.add_audit_record(_record(200, actor="admin/admin@HADOOP.COM", via="rest")),
        store.add_audit_record(_record(300, action="cpw", target="bob@HADOOP.COM")),
        store.add_audit_record(_record(400, result="failure", target="50%_off[1]@HADOOP.COM")),
        store.add_audit_record(_record(500, action="setplugin", target="/etc/has/has-server.conf")),
    ]
    assert [r.id for r in added] == sorted({r.id for r in added})
    everything = store.list_audit_records(AuditQuery())
    assert everything == added  # oldest first, all fields back
    assert everything[0].at == 100.5

    def ids(**filters: object) -> list[int]:
        return [r.id for r in store.list_audit_records(AuditQuery(**filters))]  # type: ignore[arg-type]

    a, b, c, d, e = (r.id for r in added)
    assert ids(since=200, until=400) == [b, c, d]
    assert ids(actor="admin/admin@HADOOP.COM") == [b]
    assert ids(via="rest") == [b]
    assert ids(action="cpw") == [c]
    assert ids(result="failure") == [d]
    assert ids(target="alice@*") == [a, b]
    assert ids(target="?ob@HADOOP.COM") == [c]
    assert ids(target="50%_off[1]@*") == [d]  # %, _ and [ are literal
    assert ids(target="5_%") == []
    assert ids(target="*has-server.conf") == [e]
    assert ids(target="ALICE@*") == []  # case matters
    assert ids(limit=2) == [d, e]  # the newest two, oldest first
    assert ids(action="cpw", result="failure") == []
    with pytest.raises(BackendError, match="1 to 10000"):
        store.list_audit_records(AuditQuery(limit=0))


def test_store_cuts_long_values_to_fit(store):
    stored = store.add_audit_record(_record(1, target="t" * 5000, detail='"' + "d" * 9000 + '"'))
    (back,) = store.list_audit_records(AuditQuery())
    assert back.id == stored.id
    assert len(back.target) == 1024 and back.target.endswith("...")
    assert len(back.detail) == 4000


def test_records_are_not_principal_changes(store):
    counter = store.change_counter()
    store.add_audit_record(_record(1))
    assert store.change_counter() == counter


def test_upgrade_from_version_3_keeps_plugin_users_unlinked(request, tmp_path):
    for backend in (
        SqliteBackend(tmp_path / "old.sqlite"),
        MysqlBackend.from_config(request.getfixturevalue("mysql_backend_config")),
    ):
        try:
            assert backend.migrate(target=3) == 3
            _insert_v3_user(backend, "hdfs")  # as has-kdc of schema 3 wrote it
            assert backend.migrate() == backend.latest_schema_version
            assert backend.get_plugin_user("hdfs").linked is False
            backend.put_plugin_user(
                PluginUser("yarn", "$scrypt$ln=1,r=8,p=1$c2FsdA$aGFzaC1i", linked=True)
            )
            assert backend.get_plugin_user("yarn").linked is True
            assert backend.add_audit_record(_record(1)).id > 0
            assert backend.migrate() == backend.latest_schema_version  # again: nothing to do
        finally:
            backend.close()


def _insert_v3_user(backend: IdentityBackend, name: str) -> None:
    sql = (
        "INSERT INTO has_users (name, password_hash, disabled, created, modified) "
        "VALUES ({0}, {0}, 0, 1, 1)"
    )
    values = (name, "$scrypt$ln=1,r=8,p=1$c2FsdA$aGFzaC1h")
    db = backend.db  # type: ignore[attr-defined]
    db.atomic(lambda cur: cur.execute(sql.format(db.dialect.mark), values), write=True)


# ---------------------------------------------------------------------- the trail


@pytest.fixture
def admin(tmp_path) -> Iterator[PrincipalAdmin]:
    node = HasNode(tmp_path / "node", REALM)
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        init_realm(backend, conf.kdc, ACTOR)
        yield PrincipalAdmin(backend, conf.kdc, ACTOR)


def trail_records(admin: PrincipalAdmin) -> list[AuditRecord]:
    return admin.audit.records(AuditQuery(limit=10_000))


def test_a_change_and_its_record_commit_together(admin, monkeypatch):
    before = len(trail_records(admin))
    admin.add_principal("alice", password="Alice-pw-1")
    (rec,) = trail_records(admin)[before:]
    assert (rec.action, rec.target, rec.result) == ("addprinc", f"alice@{REALM}", "success")
    assert (rec.actor, rec.via, rec.address, rec.node) == (
        "pytest",
        "test",
        "192.0.2.1",
        "127.0.0.1",
    )
    assert json.loads(rec.detail) == {"attributes": [], "keys": "password"}

    def refuse(record: AuditRecord) -> AuditRecord:
        raise BackendError("the audit table is full")

    monkeypatch.setattr(admin.backend, "add_audit_record", refuse)
    with pytest.raises(BackendError, match="audit table is full"):
        admin.add_principal("bob", randkey=True)
    monkeypatch.undo()
    assert not admin.exists("bob")  # no record, no change


def test_a_failed_change_is_one_failure_record(admin):
    before = len(trail_records(admin))
    with pytest.raises(AdminError, match="already exists"):
        admin.add_principal(f"kadmin/{REALM}", randkey=True)
    (rec,) = trail_records(admin)[before:]
    assert (rec.action, rec.result) == ("addprinc", "failure")
    assert json.loads(rec.detail)["error"] == f"principal kadmin/{REALM}@{REALM} already exists"


def test_a_lost_conflict_that_is_retried_leaves_only_the_retry_record(admin, monkeypatch):
    """A Galera certification conflict rolls the attempt back whole; the retry is the
    change, so the trail has one success record, not a failure and a success."""
    from has_kdc.backend import TransactionConflict
    from has_kdc.backend.interface import TRANSACTION_ATTEMPTS

    real = admin.backend.add_audit_record
    losses = [1]

    def conflict_once(record: AuditRecord) -> AuditRecord:
        if losses:
            losses.pop()
            raise TransactionConflict("certification failed (1213)")
        return real(record)

    before = len(trail_records(admin))
    monkeypatch.setattr(admin.backend, "add_audit_record", conflict_once)
    admin.add_principal("carol", randkey=True)
    monkeypatch.undo()
    (rec,) = trail_records(admin)[before:]
    assert (rec.action, rec.target, rec.result) == ("addprinc", f"carol@{REALM}", "success")

    def always(record: AuditRecord) -> AuditRecord:
        if record.result == "success":
            raise TransactionConflict("certification failed (1213)")
        return real(record)

    monkeypatch.setattr(admin.backend, "add_audit_record", always)
    monkeypatch.setattr("time.sleep", lambda s: None)
    with pytest.raises(TransactionConflict):
        admin.add_principal("dora", randkey=True)
    monkeypatch.undo()
    (rec,) = trail_records(admin)[before + 1 :]  # the last attempt's failure, once
    assert (rec.action, rec.target, rec.result) == ("addprinc", f"dora@{REALM}", "failure")
    assert TRANSACTION_ATTEMPTS > 1 and not admin.exists("dora")


def test_steps_join_the_change_they_are_part_of(admin, tmp_path):
    admin.add_principal("svc/a", randkey=True)
    admin.add_principal("svc/b", randkey=True)
    before = len(trail_records(admin))
    admin.export_keytab(tmp_path / "x.keytab", glob="svc/*")  # two re-keys, one export
    (rec,) = trail_records(admin)[before:]
    assert rec.action == "ktadd"
    assert json.loads(rec.detail)["principals"] == [f"svc/a@{REALM}", f"svc/b@{REALM}"]


def test_a_change_that_changes_nothing_leaves_no_record(admin):
    admin.plugin_users.add("hdfs", "$scrypt$ln=1,r=8,p=1$c2FsdA$aGFzaC1h")
    before = len(trail_records(admin))
    admin.plugin_users.modify("hdfs", disabled=False, linked=False)
    assert len(trail_records(admin)) == before


def test_secrets_are_refused_as_details(admin):
    with (
        pytest.raises(TypeError, match="bytes are never recorded"),
        admin.audit.change("x", "y", key=b"\x01\x02"),
    ):
        pass
    with (
        pytest.raises(ValueError, match="would record a secret"),
        admin.audit.change("x", "y", password="hunter2"),
    ):
        pass
    with admin.audit.change("x", "y", password_changed=True) as change:  # a fact, not a secret
        change.unchanged()


def test_audit_log_file_is_json_lines_0600_owned_like_its_directory(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() == 0:
        os.chown(data, 65534, 65534)
    trail = AuditTrail(None, ACTOR, node="n1", log_file=data / AUDIT_LOG)
    with trail.change("setplugin", "/etc/has/has-server.conf", atomic=False, plugin="RAM"):
        pass
    path = data / AUDIT_LOG
    (line,) = [json.loads(x) for x in path.read_text().splitlines()]
    assert line["action"] == "setplugin" and line["detail"] == {"plugin": "RAM"}
    assert line["time"].endswith("Z") and line["id"] is None  # no store: the file has it
    st = path.stat()
    assert st.st_mode & 0o777 == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_os_actor_names_the_user_sudo_and_ssh_client():
    plain = os_actor("hadmin-local", {})
    assert (plain.who, plain.via, plain.address) == (ME, "hadmin-local", "local")
    env = {"SUDO_USER": "alice", "SSH_CONNECTION": "203.0.113.4 51000 10.0.0.1 22"}
    actor = os_actor("ansible:has_principal", env)
    assert actor.address == "ssh:203.0.113.4"
    assert actor.who == (f"{ME} (sudo from alice)" if os.geteuid() == 0 else ME)


def test_audit_query_reads_times_and_checks_filters():
    query = audit_query(since="2h ago", until="@1700000000", result="failure", now=10_000)
    assert (query.since, query.until, query.result, query.limit) == (
        2800,
        1700000000,
        "failure",
        100,
    )
    with pytest.raises(AdminError, match="success or failure"):
        audit_query(result="ok")
    with pytest.raises(AdminError, match="limit"):
        audit_query(limit=10_001)
    with pytest.raises(AdminError, match="give a time"):
        audit_query(since="never")


# ---------------------------------------------------------------------- hadmin-local


def hadmin(conf_dir: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        status = hadmin_local.main([str(conf_dir), *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def test_every_hadmin_local_change_is_one_record(tmp_path):
    node = HasNode(tmp_path / "node", REALM)
    node.init()
    conf = node.conf_dir
    roles = tmp_path / "roles.json"
    roles.write_text('{"HOSTS": [{"name": "dn1", "hostRoles": "HDFS"}]}')
    keytab, keydir = tmp_path / "a.keytab", tmp_path / "keytabs"
    keydir.mkdir()
    steps = [
        (("addprinc", "-pw", "Alice-pw-1", "alice"), "addprinc", f"alice@{REALM}"),
        (("cpw", "-pw", "Alice-pw-2", "alice"), "cpw", f"alice@{REALM}"),
        (("cpw", "-randkey", "alice"), "cpw", f"alice@{REALM}"),
        (("modprinc", "-maxlife", "2h", "alice"), "modprinc", f"alice@{REALM}"),
        (("renprinc", "alice", "alicia"), "renprinc", f"alice@{REALM}"),
        (("ktadd", "-k", str(keytab), "alicia"), "ktadd", "alicia"),
        (("creprincs", str(roles)), "creprincs", "2 principals"),
        (("expkeytabs", "-p", str(keydir), "dn1"), "expkeytabs", "dn1"),
        (("delprinc", "-force", "alicia"), "delprinc", f"alicia@{REALM}"),
        (("addpluginuser", "-pw", "Plugin-pw-1", "hdfs"), "addpluginuser", "hdfs"),
        (("resetpluginuser", "-pw", "Plugin-pw-2", "hdfs"), "resetpluginuser", "hdfs"),
        (("modpluginuser", "-disable", "-link", "hdfs"), "modpluginuser", "hdfs"),
        (("delpluginuser", "-force", "hdfs"), "delpluginuser", "hdfs"),
        (("delprinc", "-force", f"krbtgt/{REALM}"), "delprinc", f"krbtgt/{REALM}@{REALM}"),
    ]
    for argv, action, target in steps:
        before = last_id(conf)
        status, _out, err = hadmin(conf, *argv)
        (rec,) = new_records(conf, before)
        assert (rec.action, rec.target) == (action, target), argv
        assert (rec.via, rec.actor, rec.address) == ("hadmin-local", ME, "local")
        assert rec.result == ("success" if status == 0 else "failure"), (argv, err)
    assert status == 1  # the last one: the realm needs krbtgt; recorded as a failure
    # reads are not changes
    before = last_id(conf)
    for argv in (("getprinc", "kadmin/HADOOP.COM"), ("listprincs",), ("listpluginusers",)):
        assert hadmin(conf, *argv)[0] == 0
    assert new_records(conf, before) == []
    assert_no_secret(
        conf, "Alice-pw-1", "Alice-pw-2", "Plugin-pw-1", "Plugin-pw-2", *keytab_secrets(keytab)
    )
    # the file has what the store has, line for line
    stored = [r.id for r in records(conf)]
    assert [line["id"] for line in log_lines(conf)] == stored


def test_hadmin_local_audit_command_filters(tmp_path):
    node = HasNode(tmp_path / "node", REALM)
    node.init()
    conf = node.conf_dir
    hadmin(conf, "addprinc", "-randkey", "alice")
    hadmin(conf, "renprinc", "alice", "alice")  # refused by the admin layer: recorded
    hadmin(conf, "cpw", "-randkey", "alice")
    status, out, err = hadmin(conf, "audit", "-target", "alice@*", "-action", "addprinc")
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    fields = lines[0].split("\t")
    assert fields[1:8] == [
        "127.0.0.1",
        "hadmin-local",
        ME,
        "local",
        "addprinc",
        f"alice@{REALM}",
        "success",
    ]
    status, out, _ = hadmin(conf, "audit", "-result", "failure", "-json")
    (only,) = [json.loads(line) for line in out.splitlines()]
    assert (only["action"], only["target"]) == ("renprinc", f"alice@{REALM}")
    assert only["detail"]["error"] == f"cannot rename alice@{REALM} to itself"
    status, out, _ = hadmin(conf, "audit", "-limit", "1")
    assert len(out.splitlines()) == 1 and "\tcpw\t" in out
    assert hadmin(conf, "audit", "-since", "1d ago", "-via", "kdcinit")[1].count("\tinit\t") == 1
    status, _, err = hadmin(conf, "audit", "-since", "yesterday-ish")
    assert status == 1 and "invalid time" in err


# ---------------------------------------------------------------------- REST


@pytest.fixture
def web(tmp_path) -> Iterator[object]:
    node = make_node(tmp_path)
    try:
        yield node
    finally:
        node.thread.stop()


ADMIN_JSON = {"X-Test-Principal": ADMIN, "Content-Type": "application/json"}


def test_every_rest_change_is_one_record_by_the_authenticated_principal(web):
    conf = web.conf_dir
    status, _h, body = web.raw("PUT", "/has/v1/kdcinit", None, {"X-Test-Principal": ADMIN})
    assert status == 200
    admin_keytab_b64 = base64.b64encode(body).decode()
    calls = [
        ("POST", "admin/addprincipal", {"principal": "alice", "password": "Rest-pw-1"}, "addprinc"),
        ("POST", "admin/changepassword", {"principal": "alice", "password": "Rest-pw-2"}, "cpw"),
        ("POST", "admin/changepassword", {"principal": "alice"}, "cpw"),
        ("POST", "admin/modifyprincipal", {"principal": "alice", "max_life": "2h"}, "modprinc"),
        (
            "POST",
            "admin/renameprincipal",
            {"oldprincipal": "alice", "newprincipal": "al"},
            "renprinc",
        ),
        ("GET", "admin/exportkeytab?principal=al&randkey=true", None, "ktadd"),
        (
            "PUT",
            "admin/createprincipals",
            {"HOSTS": [{"name": "dn1", "hostRoles": "HDFS"}]},
            "creprincs",
        ),
        ("GET", "admin/exportkeytabs?host=dn1", None, "expkeytabs"),
        ("DELETE", "admin/deleteprincipal?principal=al", None, "delprinc"),
        ("PUT", "admin/setconf?isEnable=false", None, "setconf"),
        (
            "POST",
            "admin/addprincipal",
            {"principal": "krbtgt/" + REALM, "password": "x"},
            "addprinc",
        ),
    ]
    exported = []
    for method, path, body_json, action in calls:
        before = last_id(conf)
        data = json.dumps(body_json).encode() if body_json is not None else None
        status, _h, answer = web.raw(method, f"/has/v1/{path}", data, ADMIN_JSON)
        if path.startswith("admin/export"):
            exported.append(base64.b64encode(answer).decode()[:40])
        (rec,) = new_records(conf, before)
        assert rec.action == action, path
        assert (rec.via, rec.actor, rec.address) == ("rest", ADMIN, "127.0.0.1")
        assert rec.result == ("success" if status == 200 else "failure"), (path, answer)
    assert status == 409  # krbtgt exists: a failure, recorded
    # reads: nothing
    before = last_id(conf)
    web.raw("GET", "/has/v1/admin/getprincipals", None, ADMIN_JSON)
    web.raw("GET", "/has/v1/admin/getprincipal?principal=kadmin/HADOOP.COM", None, ADMIN_JSON)
    assert new_records(conf, before) == []
    assert_no_secret(conf, "Rest-pw-1", "Rest-pw-2", admin_keytab_b64[:40], *exported)


def test_conf_and_kdcinit_endpoints_are_recorded_as_their_caller(web):
    """The setup token's holder before init (the setup window), else the admin."""
    conf = web.conf_dir
    backend_conf = (conf / "backend.conf").read_text() if (conf / "backend.conf").exists() else None
    calls = [
        ("PUT", "conf/setplugin", {"plugin": "RAM"}, "setplugin", None),
        ("PUT", "kdcinit", None, "init", ADMIN),
        ("GET", "kdcinit", None, "init", ADMIN),  # the admin keys handed out again
        (
            "PUT",
            "conf/configkdc",
            {"host": "127.0.0.1", "port": 88, "realm": REALM},
            "configkdc",
            ADMIN,
        ),
        (
            "PUT",
            "conf/configkdcbackend",
            {
                "backendType": "mysql",
                "url": "jdbc:mysql://db:3306/has?password=Url-pw-9",
                "user": "has",
                "password": "Db-pw-1",
            },
            "configkdcbackend",
            ADMIN,
        ),
    ]
    for method, path, body, action, who in calls:
        before = last_id(conf)
        headers = {"Content-Type": "application/json"}
        if who:
            headers["X-Test-Principal"] = who
        else:
            headers.update(web.setup_headers())
        data = json.dumps(body).encode() if body is not None else None
        status, _h, answer = web.raw(method, f"/has/v1/{path}", data, headers)
        assert status == 200, answer
        if path == "conf/configkdcbackend":  # keep the node on its own store
            if backend_conf is None:
                (conf / "backend.conf").unlink()
            else:
                (conf / "backend.conf").write_text(backend_conf)
        (rec,) = new_records(conf, before)
        assert (rec.action, rec.via, rec.actor, rec.address) == (
            action,
            "rest",
            who or "setup-token",
            "127.0.0.1",
        )
    init1, init2 = records(conf, action="init")
    assert json.loads(init1.detail)["created"] is True
    assert json.loads(init2.detail) == {"admin_keys_handed_out": True, "created": False}
    backend_record = records(conf, action="configkdcbackend")[-1]
    assert json.loads(backend_record.detail) == {
        "backend": "mysql",
        "dir": None,
        "password_given": True,
        "url": "jdbc:mysql://db:3306/has",
        "user": "has",
    }
    # the same edit again changes nothing: no record
    admin = {"X-Test-Principal": ADMIN}
    before = last_id(conf)
    web.raw("PUT", "/has/v1/conf/setplugin?plugin=RAM", None, admin)
    assert new_records(conf, before) == []
    # a refused edit is a failure record
    web.raw("PUT", "/has/v1/conf/setplugin?plugin=no%20such", None, admin)
    (failed,) = new_records(conf, before)
    assert (failed.action, failed.result) == ("setplugin", "failure")
    assert_no_secret(conf, "Db-pw-1", "Url-pw-9")


def test_audit_route_is_for_administrators_only(web):
    web.raw("PUT", "/has/v1/kdcinit", None, {"X-Test-Principal": ADMIN})
    status, body = web.error("GET", "/has/v1/admin/audit")
    assert status == 401
    status, body = web.error(
        "GET", "/has/v1/admin/audit", headers={"X-Test-Principal": f"alice@{REALM}"}
    )
    assert status == 403
    status, _h, data = web.raw("GET", "/has/v1/admin/audit?action=init&limit=5", None, ADMIN_JSON)
    assert status == 200
    (rec,) = json.loads(data)["records"]
    assert (rec["action"], rec["via"], rec["actor"]) == ("init", "rest", ADMIN)
    assert rec["detail"]["created"] is True
    status, body = web.error("GET", "/has/v1/admin/audit?result=maybe", headers=ADMIN_JSON)
    assert status == 400 and "success or failure" in body["detail"]
    routes = {(r.method, r.full_path): r.access for r in default_routes()}
    assert routes[("GET", "/has/v1/admin/audit")] == "admin"
    document = json.loads(web.raw("GET", "/has/v1/openapi.json")[2])
    assert "/has/v1/admin/audit" in document["paths"]


# ---------------------------------------------------------------------- kdcinit --local


def kdcinit_local(conf_dir: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        status = kdcinit.main([str(conf_dir), "--local", *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def test_kdcinit_local_changes_are_recorded_as_the_local_user(tmp_path):
    node = HasNode(tmp_path / "node", REALM)
    conf = node.conf_dir
    (conf / "has-server.conf").write_text("[HAS]\n  https_host = 127.0.0.1\n  https_port = 8092\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    steps = [
        (("init", "-p", str(out_dir)), "init"),
        (("init", "-p", str(out_dir)), "init"),
        (("set_plugin", "RAM"), "setplugin"),
        (("config_kdc", "127.0.0.1", "88", REALM), "configkdc"),
        (("config_kdcBackend", "sqlite", str(tmp_path / "node" / "data")), "configkdcbackend"),
    ]
    for argv, action in steps:
        before = last_id(conf)
        status, _out, err = kdcinit_local(conf, *argv)
        assert status == 0, err
        (rec,) = new_records(conf, before)
        assert (rec.action, rec.via, rec.actor, rec.address) == (action, "kdcinit", ME, "local")
    assert_no_secret(conf, *keytab_secrets(out_dir / "admin.keytab"))


# ---------------------------------------------------------------------- import


def test_an_import_is_one_record_its_init_included(tmp_path):
    from tests.test_import_apply import JSON_FILE

    node = HasNode(tmp_path / "node", REALM)
    before = last_id(node.conf_dir)
    status, _out, err = hadmin(node.conf_dir, "import", str(JSON_FILE))
    assert status == 0, err
    (rec,) = new_records(node.conf_dir, before)
    assert (rec.action, rec.target, rec.via, rec.actor) == (
        "import",
        str(JSON_FILE),
        "hadmin-local",
        ME,
    )
    detail = json.loads(rec.detail)
    assert (detail["initialized"], detail["added"], detail["source"]) == (True, 10, "kerby-json")
    before = rec.id
    assert hadmin(node.conf_dir, "import", str(JSON_FILE))[0] == 0  # nothing new: no record
    assert new_records(node.conf_dir, before) == []
    assert_no_secret(node.conf_dir)  # no key of the imported realm


# ---------------------------------------------------------------------- login-test load


def test_login_test_load_principals_are_recorded(tmp_path):
    from has_kdc.cli import login_test

    node = HasNode(tmp_path / "node", REALM)
    node.init()
    work = tmp_path / "work"
    work.mkdir()
    before = last_id(node.conf_dir)
    out, err = io.StringIO(), io.StringIO()
    assert login_test.main(["add", str(node.conf_dir), str(work), "2"], stdout=out, stderr=err) == 0
    made = new_records(node.conf_dir, before)
    assert [(r.action, r.target) for r in made] == [
        ("addprinc", f"test0@{REALM}"),
        ("ktadd", f"test0@{REALM}"),
        ("addprinc", f"test1@{REALM}"),
        ("ktadd", f"test1@{REALM}"),
    ]
    assert {(r.via, r.actor) for r in made} == {("login-test", ME)}


# ---------------------------------------------------------------------- node registration


def test_node_registration_is_recorded_when_it_changes_something(tmp_path):
    node = HasNode(tmp_path / "node", REALM)
    conf_dir = node.conf_dir
    conf = load_conf_dir(conf_dir)
    actor = os_actor("has-server", {})
    with open_backend(conf.backend) as backend:
        assert register_node(backend, conf.kdc, actor, host="emr-worker-9", ports=(88, 8092))
        assert not register_node(backend, conf.kdc, actor, host="emr-worker-9", ports=(88, 8092))
        assert register_node(backend, conf.kdc, actor, host="emr-worker-9", ports=(88, 9443))
    regs = records(conf_dir, action="register_node")
    assert [json.loads(r.detail) for r in regs] == [
        {"https_port": 8092, "kdc_port": 88, "new": True},
        {"https_port": 9443, "kdc_port": 88, "new": False},
    ]
    assert {(r.via, r.actor) for r in regs} == {("has-server", ME)}
    # has-server's start-up: registers this node, then (after init) its HTTP principal
    before = last_id(conf_dir)
    assert StoreStartup(conf).first_attempt()
    (reg,) = new_records(conf_dir, before)
    assert (reg.action, reg.target, reg.via) == ("register_node", "127.0.0.1", "has-server")
    node.init()
    with open_backend(conf.backend) as backend:
        backend.delete_principal(f"HTTP/127.0.0.1@{REALM}")
    before = last_id(conf_dir)
    assert StoreStartup(conf).first_attempt()  # a restart: only the missing principal
    (made,) = new_records(conf_dir, before)
    assert (made.action, made.target) == ("node_principals", "127.0.0.1")
    assert json.loads(made.detail)["principals"] == [f"HTTP/127.0.0.1@{REALM}"]


# ---------------------------------------------------------------------- Ansible modules


def run_module(
    name: str, args: dict[str, object], env: dict[str, str] | None = None, *flags: str
) -> dict:
    """One module of library/ on localhost with this venv's interpreter; its result.

    ``flags``: more ``ansible`` options, e.g. ``--check``, ``--diff``."""
    argv = [
        str(Path(sys.executable).parent / "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-m",
        name,
        "-a",
        json.dumps(args),
        *flags,
    ]
    environ = ansible_env(**(env or {}))
    proc = subprocess.run(
        argv, cwd=REPO, env=environ, capture_output=True, text=True, timeout=300, check=False
    )
    _, sep, result = proc.stdout.partition(" => ")
    assert sep, proc.stdout + proc.stderr
    return json.loads(result)


@pytest.mark.ansible
def test_every_ansible_module_change_is_one_record_naming_module_and_remote_user(tmp_path):
    node = HasNode(tmp_path / "node", REALM)
    conf = str(node.conf_dir)
    env = {"SUDO_USER": "deployer"}
    who = f"{ME} (sudo from deployer)" if os.geteuid() == 0 else ME
    keytab = tmp_path / "admin.keytab"
    user_keytab = tmp_path / "alice.keytab"
    steps = [
        ("has_realm_init", {"conf_dir": conf, "admin_keytab": str(keytab)}, "init"),
        ("has_principal", {"conf_dir": conf, "name": "alice", "password": "Ans-pw-1"}, "addprinc"),
        (
            "has_principal",
            {
                "conf_dir": conf,
                "name": "alice",
                "password": "Ans-pw-2",
                "update_password": "always",
                "attributes": {"max_life": "2h"},
            },
            "modprinc",
        ),
        (
            "has_keytab",
            {"conf_dir": conf, "path": str(user_keytab), "principals": ["alice"]},
            "ktadd",
        ),
        (
            "has_plugin_user",
            {"conf_dir": conf, "name": "alice", "password": "Ans-pw-3", "linked": True},
            "addpluginuser",
        ),
        (
            "has_plugin_user",
            {"conf_dir": conf, "name": "alice", "state": "absent"},
            "delpluginuser",
        ),
        ("has_principal", {"conf_dir": conf, "name": "alice", "state": "absent"}, "delprinc"),
    ]
    for module, args, action in steps:
        before = last_id(node.conf_dir)
        result = run_module(module, args, env)
        assert result.get("changed") is True, result
        (rec,) = new_records(node.conf_dir, before)
        assert (rec.action, rec.via, rec.actor, rec.result) == (
            action,
            f"ansible:{module}",
            who,
            "success",
        )
    modprinc = records(node.conf_dir, action="modprinc")[-1]
    assert json.loads(modprinc.detail) == {"attributes": ["max_life"], "password_changed": True}
    # a second run changes nothing and records nothing
    before = last_id(node.conf_dir)
    assert run_module(*steps[0][:2], env)["changed"] is False
    assert new_records(node.conf_dir, before) == []
    # admin.keytab lost: written again, and that hand-out of the admin keys is recorded
    keytab.unlink()
    assert run_module(*steps[0][:2], env)["changed"] is True
    (again,) = new_records(node.conf_dir, before)
    assert (again.action, again.target) == ("ktadd", f"kadmin/{REALM}@{REALM}")
    assert_no_secret(node.conf_dir, "Ans-pw-1", "Ans-pw-2", "Ans-pw-3", *keytab_secrets(keytab))
