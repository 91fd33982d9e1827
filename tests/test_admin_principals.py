"""Principal operations through PrincipalAdmin on a real SQLite store in a temp conf_dir."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.admin import (
    Actor,
    AdminError,
    NoSuchPrincipalError,
    PrincipalAdmin,
    PrincipalExistsError,
    init_realm,
    keys_made_from,
    keytab_entries,
    keytab_holds,
    parse_time,
)
from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.crypto import enctype_by_id
from has_kdc.formats import read_keytab
from tests.mitkrb import MitClient

REALM = "HADOOP.COM"
ACTOR = Actor("pytest", "test")


def write_conf_dir(tmp: Path, enctypes: str | None = None) -> Path:
    conf = tmp / "conf"
    data = tmp / "data"
    conf.mkdir(parents=True)
    data.mkdir()
    lines = [
        "[kdcdefaults]",
        "  kdc_host = 127.0.0.1",
        "  kdc_udp_port = 8888",
        "  kdc_tcp_port = 8888",
        f"  kdc_realm = {REALM}",
        f"  data_dir = {data}",
        "  max_life = 10h",
    ]
    if enctypes:
        lines.append(f"  supported_enctypes = {enctypes}")
    (conf / "kdc.conf").write_text("\n".join(lines) + "\n")
    return conf


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[PrincipalAdmin]:
    conf = load_conf_dir(write_conf_dir(tmp_path))
    backend = open_backend(conf.backend)
    try:
        init_realm(backend, conf.kdc, ACTOR)
        yield PrincipalAdmin(backend, conf.kdc, ACTOR)
    finally:
        backend.close()


def test_keys_made_from_a_password_only_for_that_password_and_never_random_keys(admin):
    """The rule behind has_principal's ``update_password: always``."""
    alice = admin.add_principal("alice", password="s3cret")
    assert keys_made_from(alice, "s3cret")
    assert not keys_made_from(alice, "s3cret ")
    assert not keys_made_from(admin.change_password("alice", "other"), "s3cret")
    assert not keys_made_from(admin.add_principal("bob", randkey=True), "")


def test_a_keytab_holds_a_principal_only_with_every_kept_key(admin):
    """The rule that leaves a matching keytab alone (has_keytab, has_realm_init)."""
    from has_kdc.formats import Keytab

    alice = admin.add_principal("alice", password="s3cret")
    assert not keytab_holds(None, alice)
    keytab = Keytab(keytab_entries(alice))
    assert keytab_holds(keytab, alice)
    assert not keytab_holds(keytab, admin.change_password("alice", "other"))
    assert not keytab_holds(Keytab(keytab_entries(alice)[1:]), alice)


def test_addprinc_with_password_makes_salted_keys_in_every_configured_enctype(admin):
    p = admin.add_principal("alice", password="s3cret")
    assert p.name == "alice@HADOOP.COM"
    assert p.kvno == 1
    assert [k.enctype for k in p.keys] == [18, 17, 20, 19]
    for key in p.keys:
        et = enctype_by_id(key.enctype)
        assert key.salt == b"HADOOP.COMalice"
        assert key.s2kparams == et.default_params
        assert key.key == et.string_to_key(b"s3cret", b"HADOOP.COMalice", et.default_params)
    assert p.requires_preauth is True


def test_password_keys_match_what_mit_derives(admin, tmp_path):
    """MIT ktutil derives the same keys from the same password and default salt."""
    admin.add_principal("svc/host1.example.com", password="pw-for-mit")
    mit = MitClient(tmp_path / "mit", REALM, ["127.0.0.1:1"])
    kt = tmp_path / "mit.keytab"
    commands = []
    for etype in (18, 17, 20, 19):
        commands += [
            f"addent -password -p svc/host1.example.com@{REALM} -k 1 -e "
            f"{enctype_by_id(etype).name}",
            "pw-for-mit",
        ]
    mit.ktutil([*commands, f"wkt {kt}"])
    theirs = {e.enctype: e.key for e in read_keytab(kt).entries}
    ours = {k.enctype: k.key for k in admin.get_principal("svc/host1.example.com").keys}
    assert ours == theirs


def test_randkey_keys_are_random_and_unsalted(admin):
    a = admin.add_principal("HTTP/h1", randkey=True)
    b = admin.add_principal("HTTP/h2", randkey=True)
    assert {k.enctype for k in a.keys} == {17, 18, 19, 20}
    assert all(k.salt is None for k in a.keys)
    assert {k.key for k in a.keys}.isdisjoint({k.key for k in b.keys})


def test_configured_enctypes_decide_the_keys(tmp_path):
    conf = load_conf_dir(write_conf_dir(tmp_path, "aes128-cts-hmac-sha256-128"))
    with open_backend(conf.backend) as backend:
        admin = PrincipalAdmin(backend, conf.kdc, ACTOR)
        assert [k.enctype for k in admin.add_principal("bob", password="x").keys] == [19]


def test_addprinc_twice_is_refused_with_the_name(admin):
    admin.add_principal("alice", password="a")
    with pytest.raises(PrincipalExistsError, match=r"principal alice@HADOOP.COM already exists"):
        admin.add_principal("alice@HADOOP.COM", randkey=True)


def test_addprinc_needs_exactly_one_key_source(admin):
    with pytest.raises(AdminError):
        admin.add_principal("alice")
    with pytest.raises(AdminError):
        admin.add_principal("alice", password="x", randkey=True)
    assert not admin.exists("alice")


def test_addprinc_attributes_are_stored_and_checked(admin):
    expire = parse_time("2027-01-01 UTC")
    p = admin.add_principal(
        "carol",
        password="c",
        attributes={"requires_preauth": False, "max_life": 3600, "expiration": expire},
    )
    assert (p.requires_preauth, p.max_life, p.expiration) == (False, 3600, expire)
    with pytest.raises(AdminError, match="unknown principal attribute 'colour'"):
        admin.add_principal("dave", password="d", attributes={"colour": "red"})
    with pytest.raises(AdminError, match="max_life cannot be negative"):
        admin.add_principal("dave", password="d", attributes={"max_life": -1})


def test_cpw_bumps_kvno_and_keeps_only_the_new_keys(admin):
    admin.add_principal("alice", password="old")
    p = admin.change_password("alice", "new")
    assert p.kvno == 2
    assert {k.kvno for k in p.keys} == {2}
    et = enctype_by_id(18)
    key18 = next(k for k in p.keys if k.enctype == 18)
    assert key18.key == et.string_to_key(b"new", b"HADOOP.COMalice", et.default_params)
    r = admin.randomize_keys("alice")
    assert r.kvno == 3
    assert all(k.salt is None and k.kvno == 3 for k in r.keys)


def test_cpw_keepold_keeps_every_older_kvno_and_issues_a_new_one(admin):
    first = admin.add_principal("svc/app", randkey=True)
    kept = admin.randomize_keys("svc/app", keepold=True)
    assert kept.kvno == 2 and {k.kvno for k in kept.keys} == {1, 2}
    assert [k.key for k in kept.keys_for_kvno(1)] == [k.key for k in first.keys]
    again = admin.change_password("svc/app", "pw", keepold=True)
    assert again.kvno == 3 and {k.kvno for k in again.keys} == {1, 2, 3}
    # modprinc -kvno relabels the current keys; the kept ones stay (one kvno per label)
    relabelled = admin.modify_principal("svc/app", {}, kvno=2)
    assert relabelled.kvno == 2 and {k.kvno for k in relabelled.keys} == {1, 2}
    assert [k.key for k in relabelled.keys_for_kvno(2)] == [k.key for k in again.keys_for_kvno(3)]
    # a new kvno follows the highest kept, never reusing one
    admin.randomize_keys("svc/app", keepold=True)
    after = admin.purge_keys("svc/app", keepkvno=2)
    assert after.kvno == 3 and {k.kvno for k in after.keys} == {2, 3}
    assert admin.purge_keys("svc/app").keys == admin.get_principal("svc/app").keys_for_kvno()
    unchanged = admin.purge_keys("svc/app")  # nothing older: no change, no record
    assert unchanged.version == admin.get_principal("svc/app").version


def test_purgekeys_refuses_to_leave_the_realm_principals_without_keys(admin):
    for name in (f"krbtgt/{REALM}", f"kadmin/{REALM}"):
        with pytest.raises(AdminError, match="cannot purge every key of"):
            admin.purge_keys(name, purge_all=True)
        with pytest.raises(AdminError, match="cannot purge every key of"):
            admin.purge_keys(name, keepkvno=5)
        assert admin.get_principal(name).keys
    with pytest.raises(AdminError, match="not both"):
        admin.purge_keys("kadmin/" + REALM, keepkvno=1, purge_all=True)


def test_operations_on_missing_principal_name_it(admin):
    for call in (
        lambda: admin.get_principal("ghost"),
        lambda: admin.change_password("ghost", "x"),
        lambda: admin.randomize_keys("ghost"),
        lambda: admin.delete_principal("ghost"),
        lambda: admin.rename_principal("ghost", "spirit"),
        lambda: admin.modify_principal("ghost", {"allow_tix": False}),
    ):
        missing = re.escape("principal ghost@HADOOP.COM does not exist")
        with pytest.raises(NoSuchPrincipalError, match=missing):
            call()


def test_delete(admin):
    admin.add_principal("alice", password="a")
    admin.delete_principal("alice")
    assert not admin.exists("alice")


def test_builtin_principals_cannot_be_deleted_or_renamed(admin):
    with pytest.raises(AdminError, match=re.escape("cannot delete krbtgt/HADOOP.COM@HADOOP.COM")):
        admin.delete_principal("krbtgt/HADOOP.COM")
    with pytest.raises(AdminError, match=re.escape("cannot rename kadmin/HADOOP.COM@HADOOP.COM")):
        admin.rename_principal("kadmin/HADOOP.COM", "x")


def test_rename_keeps_keys_and_the_old_salt(admin):
    admin.add_principal("alice", password="pw")
    before = {k.enctype: k.key for k in admin.get_principal("alice").keys}
    renamed = admin.rename_principal("alice", "alicia")
    assert renamed.name == "alicia@HADOOP.COM"
    assert {k.enctype: k.key for k in renamed.keys} == before
    assert all(k.salt == b"HADOOP.COMalice" for k in renamed.keys)
    assert not admin.exists("alice")
    admin.add_principal("bob", password="b")
    with pytest.raises(PrincipalExistsError, match=re.escape("bob@HADOOP.COM")):
        admin.rename_principal("alicia", "bob")


def test_modify_sets_only_what_is_given(admin):
    admin.add_principal("alice", password="a")
    p = admin.modify_principal("alice", {"allow_forwardable": False, "max_renewable_life": 7200})
    assert (p.allow_forwardable, p.max_renewable_life, p.requires_preauth) == (False, 7200, True)
    p = admin.modify_principal("alice", {"requires_preauth": False})
    assert (p.allow_forwardable, p.requires_preauth) == (False, False)
    p = admin.modify_principal("alice", {}, kvno=7)
    assert p.kvno == 7 and {k.kvno for k in p.keys} == {7}


def test_list_with_glob_takes_the_default_realm(admin):
    for name in ("alice", "alan", "bob", "HTTP/web1"):
        admin.add_principal(name, randkey=True)
    assert admin.list_principals("al*") == ["alan@HADOOP.COM", "alice@HADOOP.COM"]
    assert admin.list_principals("HTTP/*") == ["HTTP/127.0.0.1@HADOOP.COM", "HTTP/web1@HADOOP.COM"]
    assert admin.list_principals("*@OTHER.REALM") == []
    everything = admin.list_principals()
    assert "krbtgt/HADOOP.COM@HADOOP.COM" in everything and "bob@HADOOP.COM" in everything


def test_getprinc_text_lists_keys_and_attributes_never_key_bytes(admin):
    p = admin.add_principal("alice", password="pw", attributes={"allow_forwardable": False})
    text = admin.describe_principal("alice")
    assert text.splitlines()[0] == "Principal: alice@HADOOP.COM"
    assert "Expiration date: [never]" in text
    assert "Maximum ticket life: 10:00:00 (realm limit)" in text
    assert "Number of keys: 4" in text
    assert "Key: vno 1, aes256-cts-hmac-sha1-96" in text
    assert "Key: vno 1, aes128-cts-hmac-sha256-128" in text
    assert "Attributes: REQUIRES_PRE_AUTH DISALLOW_FORWARDABLE" in text
    for key in p.keys:
        assert key.key.hex() not in text
        assert repr(key.key) not in repr(p)


def test_ktadd_randomizes_by_default_and_appends(admin, tmp_path):
    admin.add_principal("HTTP/web1", randkey=True)
    kt = tmp_path / "web1.keytab"
    first = admin.export_keytab(kt, ["HTTP/web1"])
    assert {e.kvno for e in first} == {2}
    stored = admin.get_principal("HTTP/web1")
    assert stored.kvno == 2
    assert {e.enctype: e.key for e in first} == {k.enctype: k.key for k in stored.keys}
    admin.export_keytab(kt, ["HTTP/web1"])
    keytab = read_keytab(kt)
    assert sorted({e.kvno for e in keytab.entries}) == [2, 3]  # older kvno stays, as MIT's
    assert stat.S_IMODE(os.stat(kt).st_mode) == 0o600


def test_ktadd_norandkey_exports_current_keys_unchanged(admin, tmp_path):
    p = admin.add_principal("alice", password="pw")
    kt = tmp_path / "alice.keytab"
    entries = admin.export_keytab(kt, ["alice"], norandkey=True)
    assert admin.get_principal("alice").kvno == 1
    assert {e.enctype: e.key for e in entries} == {k.enctype: k.key for k in p.keys}
    assert [str(e.principal) for e in read_keytab(kt).entries] == ["alice@HADOOP.COM"] * 4


def test_ktadd_norandkey_exports_every_kept_kvno_newest_first(admin, tmp_path):
    admin.add_principal("svc/app", randkey=True)
    admin.randomize_keys("svc/app", keepold=True)
    kt = tmp_path / "svc.keytab"
    entries = admin.export_keytab(kt, ["svc/app"], norandkey=True)
    assert [e.kvno for e in entries] == [2, 2, 2, 2, 1, 1, 1, 1]
    stored = {(k.kvno, k.enctype): k.key for k in admin.get_principal("svc/app").keys}
    assert {(e.kvno, e.enctype): e.key for e in read_keytab(kt).entries} == stored
    # ktadd with new keys writes the new kvno only, as MIT's; the file keeps the others
    fresh = admin.export_keytab(kt, ["svc/app"])
    assert {e.kvno for e in fresh} == {3}
    assert sorted({e.kvno for e in read_keytab(kt).entries}) == [1, 2, 3]


def test_ktadd_glob_and_errors(admin, tmp_path):
    for host in ("a", "b"):
        admin.add_principal(f"HTTP/{host}", randkey=True)
    admin.add_principal("nobody", randkey=True)
    kt = tmp_path / "http.keytab"
    admin.export_keytab(kt, glob="HTTP/[ab]", norandkey=True)
    names = {str(p) for p in read_keytab(kt).principals()}
    assert names == {"HTTP/a@HADOOP.COM", "HTTP/b@HADOOP.COM"}
    with pytest.raises(AdminError, match=re.escape("no principal matches zzz*@HADOOP.COM")):
        admin.export_keytab(kt, glob="zzz*")
    with pytest.raises(NoSuchPrincipalError):
        admin.export_keytab(kt, ["ghost"], norandkey=True)
    with pytest.raises(AdminError, match="is a directory"):
        admin.export_keytab(tmp_path, ["nobody"], norandkey=True)
    with pytest.raises(AdminError, match="refusing to re-randomize krbtgt"):
        admin.export_keytab(kt, ["krbtgt/HADOOP.COM"])


def test_keytab_name_types_follow_mit(admin, tmp_path):
    kt = tmp_path / "k.keytab"
    admin.export_keytab(kt, ["krbtgt/HADOOP.COM", "HTTP/127.0.0.1"], norandkey=True)
    types = {str(e.principal): e.principal.name_type for e in read_keytab(kt).entries}
    assert types == {"krbtgt/HADOOP.COM@HADOOP.COM": 2, "HTTP/127.0.0.1@HADOOP.COM": 1}
