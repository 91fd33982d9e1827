"""Import into a has-kdc store (SQLite, in-process): fresh realm, merge, re-run, update.

Sources are the real-format files of tests/data/importing; the store is a real SQLite
realm made by the same conf_dir and kdcinit an operator uses.
"""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from has_kdc.admin import (
    Actor,
    AdminError,
    PrincipalAdmin,
    admin_principal_name,
    salt_for,
    tgs_principal_name,
)
from has_kdc.admin.importing import (
    PasswordScheme,
    SourceUser,
    apply_import,
    plan_data,
    plan_import,
    read_source,
    report_lines,
)
from has_kdc.backend import INITIALIZED_KEY, KeyData, PluginUser, Principal, open_backend
from has_kdc.cli import hadmin_local, kdcinit
from has_kdc.conf import load_conf_dir
from has_kdc.crypto import enctype_by_id
from has_kdc.formats import read_keytab
from has_kdc.plugins.mysql import check_user_name
from has_kdc.plugins.passwords import ScryptParams, hash_password, verify_password
from tests import kerby_data
from tests.hasnode import HasNode

DATA = Path(__file__).parent / "data" / "importing"
JSON_FILE = DATA / "kerby-json-backend.json"
REALM = "HADOOP.COM"
ACTOR = Actor("pytest", "test")
FAST = ScryptParams(ln=4)  # cheap hashes keep these tests quick; the format is the same
SCHEME = PasswordScheme(lambda pw: hash_password(pw, params=FAST), verify_password, check_user_name)


@pytest.fixture
def node(tmp_path):
    return HasNode(tmp_path, REALM, port=8888)


@pytest.fixture
def store(node):
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        yield backend, conf.kdc


def kerby_json():
    """The JSON realm, with has_user's rows as the MySQL reader gives them (JSON has none)."""
    source = read_source(str(JSON_FILE))
    source.plugin_users = [SourceUser(n, p) for n, p in kerby_data.PLUGIN_USERS]
    return source


def keys_of(principal):
    return sorted((k.kvno, k.enctype, k.key) for k in principal.keys)


def test_dry_run_writes_nothing(store):
    backend, kdc = store
    counter = backend.change_counter()
    plan = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    assert plan.initialize and plan.changes_anything
    assert backend.change_counter() == counter
    assert backend.list_principals() == [] and backend.list_plugin_users() == []
    assert backend.get_config(INITIALIZED_KEY) is None
    lines = "\n".join(report_lines(plan))
    assert "dry run, nothing written" in lines
    assert "10 new" in lines and "2 refused" in lines


def test_fresh_realm_takes_the_sources_krbtgt_and_kadmin_and_is_initialized(store):
    backend, kdc = store
    plan = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    result = apply_import(backend, kdc, plan, actor=ACTOR, scheme=SCHEME)
    assert result.initialized and result.failed == []
    assert backend.get_config(INITIALIZED_KEY)
    for name in (tgs_principal_name(REALM), admin_principal_name(REALM)):
        stored = backend.get_principal(name)
        ident = kerby_data.identity(name)
        assert keys_of(stored) == sorted((ident.kvno, e, k) for e, k in ident.keys.items())
    # what the source lacked, init added; nothing the source had was re-keyed
    assert set(result.created_builtins) == {
        f"HTTP/127.0.0.1@{REALM}",
        f"kadmin/changepw@{REALM}",
    }
    http = backend.get_principal(f"HTTP/node1.hadoop.com@{REALM}")
    assert http.kvno == 2 and {k.kvno for k in http.keys} == {2}
    legacy = backend.get_principal(f"legacy@{REALM}")
    assert [k.enctype for k in legacy.keys] == [18]
    assert backend.get_principal(f"weakonly@{REALM}") is None
    assert backend.get_principal("mallory@OTHER.COM") is None
    assert backend.get_principal(f"bob@{REALM}").disabled
    assert backend.get_principal(f"carol@{REALM}").disabled
    assert backend.get_principal(f"dave@{REALM}").expiration == 1893456000
    assert backend.get_principal(f"alice@{REALM}").created == 1_700_000_000
    refused = {r.name: r.reason for r in plan.refused}
    assert "no key has-kdc can serve" in refused[f"weakonly@{REALM}"]
    assert "realm OTHER.COM" in refused["mallory@OTHER.COM"]
    assert plan.keys_carried == sum(
        len([e for e in i.keys if e in (17, 18)])
        for i in kerby_data.IDENTITIES
        if i.name not in (f"weakonly@{REALM}", "mallory@OTHER.COM")
    )


def test_plugin_users_are_hashed_never_stored_in_clear(store):
    backend, kdc = store
    plan = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    apply_import(backend, kdc, plan, actor=ACTOR, scheme=SCHEME)
    for name, password in kerby_data.PLUGIN_USERS:
        user = backend.get_plugin_user(name)
        assert user.password_hash.startswith("$scrypt$")
        assert password not in user.password_hash
        assert verify_password(password, user.password_hash)
    text = "\n".join(report_lines(plan)) + repr(plan_data(plan))
    text = text.replace(str(JSON_FILE), "<source>")
    for _name, password in kerby_data.PLUGIN_USERS:
        assert password not in text
    for ident in kerby_data.IDENTITIES:
        for key in ident.keys.values():
            assert key.hex() not in text.lower()


def test_second_run_finds_everything_unchanged_and_writes_nothing(store):
    backend, kdc = store
    first = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    apply_import(backend, kdc, first, actor=ACTOR, scheme=SCHEME)
    counter = backend.change_counter()
    again = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    assert not again.changes_anything
    assert (len(again.add), len(again.changed), len(again.kept)) == (0, 0, 0)
    assert len(again.unchanged) == 10 and len(again.users_unchanged) == 2
    assert (again.keys_carried, again.keys_written) == (first.keys_carried, 0)
    result = apply_import(backend, kdc, again, actor=ACTOR, scheme=SCHEME)
    assert (result.added, result.updated, result.users_added) == (0, 0, 0)
    assert backend.change_counter() == counter


def test_changed_principal_is_reported_and_replaced_only_with_update(store):
    backend, kdc = store
    apply_import(
        backend,
        kdc,
        plan_import(backend, kdc, kerby_json(), scheme=SCHEME),
        actor=ACTOR,
        scheme=SCHEME,
    )
    admin = PrincipalAdmin(backend, kdc, ACTOR)
    admin.change_password("alice", "changed-here-1")
    admin.modify_principal("eve", {"allow_forwardable": False})
    backend.put_plugin_user(PluginUser("hdfs", hash_password("other", params=FAST)))
    plan = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    changed = {c.wanted.name: c.fields for c in plan.changed}
    assert changed == {f"alice@{REALM}": ["keys", "kvno"], f"eve@{REALM}": ["allow_forwardable"]}
    assert [(u.user.name, u.fields) for u in plan.users_changed] == [("hdfs", ["password"])]
    apply_import(backend, kdc, plan, actor=ACTOR, scheme=SCHEME)
    assert backend.get_principal(f"alice@{REALM}").kvno == 4  # left as changed here
    assert "--update replaces" in "\n".join(report_lines(plan))

    plan = plan_import(backend, kdc, kerby_json(), update=True, scheme=SCHEME)
    result = apply_import(backend, kdc, plan, actor=ACTOR, scheme=SCHEME)
    assert (result.updated, result.users_updated) == (2, 1)
    alice = backend.get_principal(f"alice@{REALM}")
    ident = kerby_data.identity(f"alice@{REALM}")
    assert alice.kvno == 3 and keys_of(alice) == sorted((3, e, k) for e, k in ident.keys.items())
    assert backend.get_principal(f"eve@{REALM}").allow_forwardable
    assert verify_password("test", backend.get_plugin_user("hdfs").password_hash)
    assert not plan_import(backend, kdc, kerby_json(), scheme=SCHEME).changes_anything


def test_initialized_realm_keeps_its_krbtgt_and_kadmin(node, tmp_path):
    node.init()
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        own_tgt = backend.get_principal(tgs_principal_name(REALM))
        plan = plan_import(backend, conf.kdc, kerby_json(), update=True, scheme=SCHEME)
        assert not plan.initialize
        assert {k.name for k in plan.kept} == {
            tgs_principal_name(REALM),
            admin_principal_name(REALM),
        }
        result = apply_import(backend, conf.kdc, plan, actor=ACTOR, scheme=SCHEME)
        assert not result.initialized and result.added == 8
        assert keys_of(backend.get_principal(tgs_principal_name(REALM))) == keys_of(own_tgt)
        assert backend.get_principal(f"hdfs/node1.hadoop.com@{REALM}") is not None
    lines = "\n".join(report_lines(plan, result))
    assert f"kept     {tgs_principal_name(REALM)}" in lines
    assert "would end the tickets it issued" in lines


def test_realm_initialized_meanwhile_means_nothing_is_written(node):
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        plan = plan_import(backend, conf.kdc, kerby_json(), scheme=SCHEME)
        node.init()  # another node runs kdcinit init between plan and apply
        names = backend.list_principals()
        with pytest.raises(AdminError, match="initialized while this import was being prepared"):
            apply_import(backend, conf.kdc, plan, actor=ACTOR, scheme=SCHEME)
        assert backend.list_principals() == names


def test_source_of_another_realm_is_refused(tmp_path):
    other = HasNode(tmp_path / "other", "EXAMPLE.ORG", port=8888)
    conf = load_conf_dir(other.conf_dir)
    with open_backend(conf.backend) as backend, pytest.raises(AdminError) as err:
        plan_import(backend, conf.kdc, kerby_json(), scheme=SCHEME)
    assert "holds realm HADOOP.COM, but this node serves EXAMPLE.ORG" in str(err.value)


def run(conf_dir, *argv):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err
    try:
        status = hadmin_local.main([str(conf_dir), *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def test_hadmin_local_import_dry_run_then_import_then_rerun(node, monkeypatch):
    monkeypatch.setattr(hadmin_local, "hash_password", lambda pw: hash_password(pw, params=FAST))
    status, out, err = run(node.conf_dir, "import", "--dry-run", str(JSON_FILE))
    assert (status, err) == (0, "")
    assert out.startswith(f"import from kerby-json {JSON_FILE} into realm {REALM}: dry run")
    assert f"refused  weakonly@{REALM}: principal: no key has-kdc can serve" in out
    assert "not carried  key des3-cbc-sha1 (1: legacy@HADOOP.COM)" in out
    assert "not carried  locked (1: carol@HADOOP.COM): has-kdc has no separate lock" in out
    status, out, _ = run(node.conf_dir, "import", "-format", "kerby-json", str(JSON_FILE))
    assert status == 0
    assert "realm: not initialized; initialized by this import" in out
    assert "10 new, 0 unchanged" in out
    status, out, _ = run(node.conf_dir, "import", str(JSON_FILE))
    assert status == 0 and "0 new, 10 unchanged" in out
    # kdcinit init afterwards finds the imported realm and writes its (old) admin.keytab
    assert kdcinit.main([str(node.conf_dir), "init", "-p", str(node.tmp)]) == 0
    admin = kerby_data.identity(admin_principal_name(REALM))
    assert {e.key for e in read_keytab(node.admin_keytab).entries} == set(admin.keys.values())
    status, _, err = run(node.conf_dir, "import", "--format", "mit-dump", str(JSON_FILE))
    assert status == 1 and "not an MIT dump" in err


def test_keys_compare_as_the_kdc_uses_them_default_salt_spelled_out_or_not(store):
    """A key stored with its salt and parameters written out (as ``addprinc -pw`` stores
    them) is the same key as the source's with both left to their defaults."""
    backend, kdc = store
    ident = kerby_data.identity(f"alice@{REALM}")
    keys = [
        KeyData(e, ident.kvno, k, salt_for(ident.name), enctype_by_id(e).default_params)
        for e, k in ident.keys.items()
    ]
    backend.add_principal(Principal(ident.name, kvno=ident.kvno, keys=keys, created=1))
    plan = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    assert f"alice@{REALM}" in plan.unchanged
    backend.update_principal(
        replace(backend.get_principal(ident.name), keys=[replace(keys[0], salt=b"other")])
    )
    plan = plan_import(backend, kdc, kerby_json(), scheme=SCHEME)
    assert [(c.wanted.name, c.fields) for c in plan.changed] == [(ident.name, ["keys"])]


def test_mit_dump_plan_counts(store):
    """tests/data/importing's MIT realm: 16 principals (K/M included), 14 carried."""
    backend, kdc = store
    source = read_source(str(DATA / "mit-1.20.dump"), stash=DATA / "mit-1.20.stash")
    plan = plan_import(backend, kdc, source)
    assert plan.source_principals == 16 and len(plan.add) == 14
    assert {r.name for r in plan.refused} == {f"K/M@{REALM}", f"weakonly@{REALM}"}
    # 4 AES keys each (kv: 2 kvnos), norealm and onlyrealm 1; no 3DES or RC4 key
    assert (plan.keys_carried, plan.source_keys) == (54, 82)
    assert all(k.enctype in (17, 18, 19, 20) for p in plan.add for k in p.keys)
    summary = report_lines(plan)[-1]
    assert summary.startswith("principals: 16 in the source; 14 new, 0 unchanged, 0 changed")
