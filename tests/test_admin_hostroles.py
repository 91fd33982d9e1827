"""Hadoop host roles: hostroles, creprincs and expkeytabs, on SQLite and on MariaDB."""

from __future__ import annotations

import json

import pytest

from has_kdc.admin import (
    HOST_ROLES,
    Actor,
    AdminError,
    PrincipalAdmin,
    create_principals,
    export_host_keytabs,
    host_role_principals,
    init_realm,
)
from has_kdc.admin.hostroles import parse_hostroles, role_principals
from has_kdc.backend import Principal, PrincipalExists, open_backend
from has_kdc.conf import KdcConfig, load_conf_dir
from has_kdc.formats import read_keytab
from tests.hasnode import HasNode

REALM = "HADOOP.COM"
ENCTYPES = (18, 17)
# The example of HAS's create_principals usage text and REST test.
HAS_EXAMPLE = (
    '{"HOSTS": [{"name":"host1","hostRoles":"HDFS,YARN"},'
    ' {"name":"host2","hostRoles":"ZOOKEEPER,HBASE"}]}'
)


ACTOR = Actor("pytest", "test")


@pytest.fixture(params=["sqlite", "mysql"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        config = load_conf_dir(HasNode(tmp_path).conf_dir).backend
    else:
        config = request.getfixturevalue("mysql_backend_config")
    with open_backend(config) as store:
        yield store


def admin_of(store, tmp_path) -> PrincipalAdmin:
    kdc = KdcConfig(kdc_realm=REALM, supported_enctypes=ENCTYPES, data_dir=tmp_path)
    return PrincipalAdmin(store, kdc, ACTOR)


# ---------------------------------------------------------------------- hostroles.json


def test_has_roles_and_principal_names():
    assert HOST_ROLES["HDFS"] == ("HTTP", "hdfs")
    assert list(HOST_ROLES) == [
        "HDFS",
        "YARN",
        "MAPRED",
        "HBASE",
        "ZOOKEEPER",
        "SPARK",
        "HIVE",
        "OOZIE",
        "HUE",
    ]
    assert role_principals("host1", "hdfs", REALM) == [
        "HTTP/host1@HADOOP.COM",
        "hdfs/host1@HADOOP.COM",
    ]


def test_parse_has_example_and_variants():
    hosts = parse_hostroles(HAS_EXAMPLE)
    assert [(h.host, h.roles) for h in hosts] == [
        ("host1", ("HDFS", "YARN")),
        ("host2", ("ZOOKEEPER", "HBASE")),
    ]
    assert host_role_principals(hosts, REALM) == [
        "HTTP/host1@HADOOP.COM",
        "hdfs/host1@HADOOP.COM",
        "yarn/host1@HADOOP.COM",
        "zookeeper/host2@HADOOP.COM",
        "hbase/host2@HADOOP.COM",
    ]
    merged = parse_hostroles(
        '{"HOSTS": [{"name": "h", "hostRoles": "hdfs, yarn"},'
        ' {"name": "h", "hostRoles": ["YARN", "Hue"]}]}'
    )
    assert [(h.host, h.roles) for h in merged] == [("h", ("HDFS", "YARN", "HUE"))]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"hosts": []}', '"HOSTS"'),
        ('{"HOSTS": [{"name": "h1", "hostRoles": "HDFS,KAFKA"}]}', "h1.*unknown host role 'KAFKA'"),
        ('{"HOSTS": [{"name": "a b", "hostRoles": "HDFS"}]}', "not a host name"),
        ('{"HOSTS": [{"name": "h", "hostRoles": ""}]}', "no roles given"),
        ('{"HOSTS": [{"hostRoles": "HDFS"}]}', "'name' must be a host name"),
    ],
)
def test_bad_hostroles_are_refused_with_the_reason(text, message):
    with pytest.raises(AdminError, match=message):
        parse_hostroles(text, "roles.json")


# ---------------------------------------------------------------------- creprincs


def test_create_principals_skips_existing_and_logs_every_change(backend, tmp_path):
    names = host_role_principals(parse_hostroles(HAS_EXAMPLE), REALM)
    existing = backend.add_principal(
        Principal(name="hdfs/host1@HADOOP.COM", kvno=3, keys=[], requires_preauth=False)
    )
    counter = backend.change_counter()
    seen = []
    admin = admin_of(backend, tmp_path)
    result = create_principals(admin, names, chunk=2, progress=lambda d, t: seen.append((d, t)))
    assert (result.created, result.skipped, result.failed) == (4, 1, [])
    assert result.summary().startswith("created 4, skipped 1, failed 0 in ")
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert backend.get_principal("hdfs/host1@HADOOP.COM") == existing  # untouched
    made = backend.get_principal("yarn/host1@HADOOP.COM")
    assert made.kvno == 1 and made.requires_preauth and not made.disabled
    assert sorted(k.enctype for k in made.keys) == sorted(ENCTYPES)
    assert len({bytes(k.key) for k in made.keys}) == len(ENCTYPES)
    # One change number per principal: a KDC's cache drops exactly these names.
    assert backend.change_counter() == counter + 4
    assert set(backend.changes_since(counter)) == set(names) - {"hdfs/host1@HADOOP.COM"}
    again = create_principals(admin, names)
    assert (again.created, again.skipped) == (0, 5)
    assert backend.change_counter() == counter + 4


def test_bulk_add_is_all_or_nothing(backend):
    backend.add_principal(Principal(name="taken@HADOOP.COM", kvno=1))
    counter = backend.change_counter()
    batch = [Principal(name=f"p{i}@HADOOP.COM", kvno=1) for i in range(3)]
    with pytest.raises(PrincipalExists, match=r"taken@HADOOP\.COM"):
        backend.add_principals([*batch, Principal(name="taken@HADOOP.COM", kvno=1)])
    with pytest.raises(PrincipalExists, match=r"p1@HADOOP\.COM"):
        backend.add_principals([*batch, Principal(name="p1@HADOOP.COM", kvno=1)])
    assert backend.list_principals("p*") == []
    assert backend.change_counter() == counter
    stored = backend.add_principals(batch)
    assert [p.version for p in stored] == [1, 1, 1]
    assert backend.get_principals([p.name for p in batch]).keys() == {p.name for p in batch}


def test_a_failing_principal_costs_only_itself(mysql_backend_config, tmp_path):
    with open_backend(mysql_backend_config) as store:
        long_host = "h" * 1100  # longer than the 1024-byte name column
        names = ["hdfs/ok1@HADOOP.COM", f"hdfs/{long_host}@HADOOP.COM", "hdfs/ok2@HADOOP.COM"]
        result = create_principals(admin_of(store, tmp_path), names)
        assert (result.created, result.skipped) == (2, 0)
        assert [n for n, _ in result.failed] == [names[1]]
        assert "longer than 1024 bytes" in result.failed[0][1]
        assert store.list_principals("hdfs/*") == ["hdfs/ok1@HADOOP.COM", "hdfs/ok2@HADOOP.COM"]


# ---------------------------------------------------------------------- expkeytabs


def test_export_host_keytabs_has_names_current_keys_no_rekey(backend, tmp_path):
    admin = admin_of(backend, tmp_path)
    create_principals(admin, host_role_principals(parse_hostroles(HAS_EXAMPLE), REALM))
    before = backend.get_principals(["HTTP/host1@HADOOP.COM", "hdfs/host1@HADOOP.COM"])
    exports = export_host_keytabs(admin, "host1", tmp_path)
    assert [(e.role, e.path.name) for e in exports] == [
        ("HDFS", "HDFS-host1.keytab"),
        ("YARN", "YARN-host1.keytab"),
    ]
    entries = read_keytab(tmp_path / "HDFS-host1.keytab").entries
    assert {(e.components, e.kvno, e.enctype, bytes(e.key)) for e in entries} == {
        (tuple(p.name.split("@")[0].split("/")), k.kvno, k.enctype, bytes(k.key))
        for p in before.values()
        for k in p.keys
    }
    assert oct((tmp_path / "HDFS-host1.keytab").stat().st_mode & 0o777) == "0o600"
    after = backend.get_principals(list(before))
    assert after == before  # exported as they are: no new kvno
    (only,) = export_host_keytabs(admin, "host2", tmp_path, "hbase")
    assert only.path.name == "HBASE-host2.keytab" and only.principals == ("hbase/host2@HADOOP.COM",)
    with pytest.raises(AdminError, match="no principal of role HBASE exists for host host1"):
        export_host_keytabs(admin, "host1", tmp_path, "HBASE")
    with pytest.raises(AdminError, match="no principal of any host role exists for host nohost"):
        export_host_keytabs(admin, "nohost", tmp_path)


# ---------------------------------------------------------------------- hadmin-local


def test_hadmin_local_bulk_commands(tmp_path):
    node = HasNode(tmp_path / "node")
    node.init()
    roles = node.hadmin("hostroles").stdout.splitlines()
    assert roles[0] == "\tHostRole: HDFS, PrincipalNames: HTTP, hdfs"
    assert len(roles) == len(HOST_ROLES)
    hostroles = tmp_path / "hostroles.json"
    hosts = [{"name": f"worker{i}", "hostRoles": "HDFS,YARN,HBASE"} for i in range(5)]
    hostroles.write_text(json.dumps({"HOSTS": hosts}))
    proc = node.hadmin("creprincs", "-chunk", "3", "-progress", "8", str(hostroles))
    assert proc.stdout.startswith("created 20, skipped 0, failed 0 in ")
    assert proc.stderr.splitlines() == [
        "creprincs: 9/20 principals (45%)",
        "creprincs: 18/20 principals (90%)",
        "creprincs: 20/20 principals (100%)",
    ]
    again = node.hadmin("create_principals", str(hostroles))
    assert again.stdout.startswith("created 0, skipped 20, failed 0 in ")
    bad = tmp_path / "bad.json"
    bad.write_text('{"HOSTS": [{"name": "w", "hostRoles": "STORM"}]}')
    refused = node.hadmin("creprincs", str(bad), check=False)
    assert refused.returncode == 1 and "unknown host role 'STORM'" in refused.stderr
    out = tmp_path / "keytabs"
    out.mkdir()
    proc = node.hadmin("expkeytabs", "-p", str(out), "worker3")
    assert sorted(p.name for p in out.iterdir()) == [
        "HBASE-worker3.keytab",
        "HDFS-worker3.keytab",
        "YARN-worker3.keytab",
    ]
    assert f"exported to {out / 'HDFS-worker3.keytab'}" in proc.stdout
    missing = node.hadmin("export_keytabs", "-p", str(out), "worker3", "HIVE", check=False)
    assert missing.returncode == 1 and "no principal of role HIVE" in missing.stderr


@pytest.mark.mit
def test_exported_keytab_works_with_mit_kinit_and_kvno(has_node, tmp_path):
    hostroles = tmp_path / "hostroles.json"
    hostroles.write_text('{"HOSTS": [{"name": "dn1.example.com", "hostRoles": "HDFS"}]}')
    has_node.hadmin("creprincs", str(hostroles))
    has_node.hadmin("expkeytabs", "-p", str(tmp_path), "dn1.example.com", "HDFS")
    keytab = tmp_path / "HDFS-dn1.example.com.keytab"
    client = has_node.mit_client(tmp_path / "client")
    client.kinit_keytab("hdfs/dn1.example.com", keytab)
    assert "HTTP/dn1.example.com@HADOOP.COM: kvno = 1" in client.kvno("HTTP/dn1.example.com").stdout
    # Exporting again (another role's keytab, or the same) keeps the deployed keytab valid.
    has_node.hadmin("expkeytabs", "-p", str(tmp_path / "client"), "dn1.example.com")
    client.kinit_keytab("hdfs/dn1.example.com", keytab)


def test_creprincs_leaves_the_nodes_http_principal_alone(tmp_path):
    """HDFS's HTTP/<host> may be a HAS node's own principal, made by init: it is skipped."""
    conf = load_conf_dir(HasNode(tmp_path).conf_dir)
    with open_backend(conf.backend) as store:
        init_realm(store, conf.kdc, ACTOR)
        http = f"HTTP/{conf.kdc.kdc_host}@{REALM}"
        before = store.get_principal(http)
        admin = PrincipalAdmin(store, conf.kdc, ACTOR)
        result = create_principals(admin, [http, f"hdfs/{conf.kdc.kdc_host}@{REALM}"])
        assert (result.created, result.skipped) == (1, 1)
        assert store.get_principal(http) == before
