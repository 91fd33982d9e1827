"""Realm init: built-in principals once, the same admin keys every time, even concurrently."""

from __future__ import annotations

import multiprocessing
import os
import stat

import pytest

from has_kdc.admin import (
    Actor,
    AdminError,
    RealmNotInitializedError,
    admin_keys,
    ensure_node_principals,
    init_realm,
    is_initialized,
    write_admin_keytab,
)
from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.formats import read_keytab
from tests.test_admin_principals import write_conf_dir

ACTOR = Actor("pytest", "test")


def test_first_init_creates_builtins_with_random_keys(tmp_path):
    conf = load_conf_dir(write_conf_dir(tmp_path))
    with open_backend(conf.backend) as backend:
        assert not is_initialized(backend)
        with pytest.raises(RealmNotInitializedError, match="not initialized yet"):
            admin_keys(backend, conf.kdc)
        result = init_realm(backend, conf.kdc, ACTOR)
        assert result.created
        assert result.created_principals == [
            "krbtgt/HADOOP.COM@HADOOP.COM",
            "kadmin/HADOOP.COM@HADOOP.COM",
            "HTTP/127.0.0.1@HADOOP.COM",
            "kadmin/changepw@HADOOP.COM",
        ]
        assert is_initialized(backend)
        changepw = backend.get_principal("kadmin/changepw@HADOOP.COM")
        assert changepw is not None and changepw.max_life == 300
        for name in result.created_principals:
            p = backend.get_principal(name)
            assert p is not None and p.kvno == 1
            assert sorted(k.enctype for k in p.keys) == [17, 18, 19, 20]
        tgt = backend.get_principal("krbtgt/HADOOP.COM@HADOOP.COM")
        adm = backend.get_principal("kadmin/HADOOP.COM@HADOOP.COM")
        assert {k.key for k in tgt.keys}.isdisjoint({k.key for k in adm.keys})
        assert admin_keys(backend, conf.kdc).keys == adm.keys


def test_second_init_changes_nothing_and_returns_the_same_admin_keys(tmp_path):
    conf = load_conf_dir(write_conf_dir(tmp_path))
    with open_backend(conf.backend) as backend:
        first = init_realm(backend, conf.kdc, ACTOR)
        counter = backend.change_counter()
        second = init_realm(backend, conf.kdc, ACTOR)
        assert not second.created and second.created_principals == []
        assert second.initialized_at == first.initialized_at
        assert backend.change_counter() == counter
        assert [k.key for k in second.admin_principal.keys] == [
            k.key for k in first.admin_principal.keys
        ]


def test_admin_keytab_is_0600_and_holds_only_kadmin(tmp_path):
    conf = load_conf_dir(write_conf_dir(tmp_path))
    with open_backend(conf.backend) as backend:
        result = init_realm(backend, conf.kdc, ACTOR)
    out = tmp_path / "out"
    out.mkdir()
    path = write_admin_keytab(out, result.admin_principal)
    assert path == out / "admin.keytab"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    keytab = read_keytab(path)
    assert {str(p) for p in keytab.principals()} == {"kadmin/HADOOP.COM@HADOOP.COM"}
    assert {e.key for e in keytab.entries} == {k.key for k in result.admin_principal.keys}
    with pytest.raises(AdminError, match="is not a directory"):
        write_admin_keytab(tmp_path / "missing", result.admin_principal)


def test_init_refuses_a_database_of_another_realm(tmp_path):
    conf_dir = write_conf_dir(tmp_path)
    conf = load_conf_dir(conf_dir)
    with open_backend(conf.backend) as backend:
        init_realm(backend, conf.kdc, ACTOR)
    kdc_conf = conf_dir / "kdc.conf"
    kdc_conf.write_text(kdc_conf.read_text().replace("HADOOP.COM", "OTHER.COM"))
    other = load_conf_dir(conf_dir)
    with (
        open_backend(other.backend) as backend,
        pytest.raises(AdminError, match=r"belongs to realm HADOOP\.COM.*kdc_realm = OTHER\.COM"),
    ):
        init_realm(backend, other.kdc, ACTOR)


def test_registered_nodes_get_http_principals(tmp_path):
    conf = load_conf_dir(write_conf_dir(tmp_path))
    with open_backend(conf.backend) as backend:
        backend.register_node("emr-worker-1")
        assert not ensure_node_principals(
            backend, conf.kdc, "emr-worker-2", actor=ACTOR
        )  # before init
        result = init_realm(backend, conf.kdc, ACTOR)
        assert "HTTP/emr-worker-1@HADOOP.COM" in result.created_principals
        assert ensure_node_principals(backend, conf.kdc, "emr-worker-2", actor=ACTOR)
        assert not ensure_node_principals(backend, conf.kdc, "emr-worker-2", actor=ACTOR)
        assert backend.get_principal("HTTP/emr-worker-2@HADOOP.COM") is not None


def test_realm_without_kadmin_changepw_gets_it_when_a_node_starts(tmp_path):
    """A realm initialized (or imported) before kadmin/changepw was a built-in: the
    password change service needs it, and has-server's start-up makes it."""
    conf = load_conf_dir(write_conf_dir(tmp_path))
    with open_backend(conf.backend) as backend:
        init_realm(backend, conf.kdc, ACTOR)
        backend.delete_principal("kadmin/changepw@HADOOP.COM")
        ensure_node_principals(backend, conf.kdc, "emr-header-1", actor=ACTOR)
        changepw = backend.get_principal("kadmin/changepw@HADOOP.COM")
        assert changepw is not None and changepw.keys and changepw.max_life == 300


def _init_in_process(conf_dir: str, queue: multiprocessing.Queue) -> None:
    conf = load_conf_dir(conf_dir)
    with open_backend(conf.backend) as backend:
        result = init_realm(backend, conf.kdc, ACTOR)
        queue.put((result.created, sorted(k.key.hex() for k in result.admin_principal.keys)))


def test_concurrent_inits_create_the_realm_once(tmp_path):
    conf_dir = write_conf_dir(tmp_path)
    with open_backend(load_conf_dir(conf_dir).backend):
        pass  # schema created up front: the race under test is init itself
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_init_in_process, args=(str(conf_dir), queue)) for _ in range(6)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(created for created, _ in results) == 1
    assert len({tuple(keys) for _, keys in results}) == 1
