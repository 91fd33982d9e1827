import logging
import multiprocessing
import sqlite3
import stat
from dataclasses import replace

import pytest

from has_kdc.backend import (
    INITIALIZED_KEY,
    REALM_KEY,
    BackendError,
    BackendUnavailable,
    ConcurrentModification,
    KeyData,
    Principal,
    PrincipalExists,
    PrincipalNotFound,
    SchemaError,
    open_backend,
)
from has_kdc.backend.sqlite import LATEST_VERSION, SqliteBackend
from has_kdc.conf import BackendConfig
from has_kdc.principal import PrincipalNameError

REALM = "HADOOP.COM"
AES256_KEY = bytes(range(32))
AES128_KEY = bytes(range(100, 116))


class Clock:
    def __init__(self, now=1_700_000_000):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "has.sqlite"


@pytest.fixture
def store(db_path, clock):
    backend = SqliteBackend(db_path, clock=clock)
    backend.migrate()
    yield backend
    backend.close()


def alice(**changes):
    p = Principal(
        name=f"alice@{REALM}",
        kvno=2,
        keys=[
            KeyData(18, 2, AES256_KEY, b"HADOOP.COMalice", b"\x00\x00\x10\x00"),
            KeyData(17, 2, AES128_KEY, None, None),
            KeyData(18, 1, b"\x01" * 32, None, None),
        ],
        requires_preauth=False,
        disabled=True,
        allow_forwardable=False,
        allow_proxiable=False,
        allow_renewable=False,
        allow_tix=False,
        allow_svr=False,
        max_life=36000,
        max_renewable_life=604800,
        expiration=1_800_000_000,
        pw_expiration=1_750_000_000,
    )
    return replace(p, **changes)


def test_add_get_round_trip_every_attribute(store, clock):
    stored = store.add_principal(alice())
    assert (stored.version, stored.created, stored.modified) == (1, clock.now, clock.now)
    got = store.get_principal(f"alice@{REALM}")
    assert got == stored
    assert got.keys == alice().keys  # order, salts and s2kparams kept
    assert [k.enctype for k in got.keys_for_kvno()] == [18, 17]
    assert [k.kvno for k in got.keys_for_kvno(1)] == [1]
    plain = store.add_principal(Principal(f"HTTP/emr-header-1@{REALM}"))
    assert store.get_principal(plain.name) == plain
    assert plain.keys == []
    assert plain.requires_preauth and plain.allow_tix and not plain.disabled


def test_get_missing_is_none(store):
    assert store.get_principal(f"nobody@{REALM}") is None


def test_add_existing_raises_and_changes_nothing(store):
    store.add_principal(alice())
    counter = store.change_counter()
    with pytest.raises(PrincipalExists) as err:
        store.add_principal(alice(keys=[]))
    assert str(err.value) == f"principal alice@{REALM} already exists"
    assert store.change_counter() == counter
    assert len(store.get_principal(f"alice@{REALM}").keys) == 3


def test_names_stored_canonical_and_validated(store):
    # MIT reads '\d' as a plain 'd' (but '\b' as backspace): one spelling is stored
    stored = store.add_principal(Principal(r"\dave@" + REALM))
    assert stored.name == f"dave@{REALM}"
    assert store.list_principals() == [f"dave@{REALM}"]
    with pytest.raises(PrincipalNameError):
        store.add_principal(Principal("no-realm"))


def test_duplicate_key_rejected_without_key_bytes(store):
    p = alice(keys=[KeyData(18, 1, AES256_KEY), KeyData(18, 1, AES256_KEY)])
    with pytest.raises(BackendError) as err:
        store.add_principal(p)
    assert "two keys for enctype 18 and kvno 1" in str(err.value)
    assert AES256_KEY.hex() not in str(err.value)
    assert store.get_principal(p.name) is None


def test_update_is_optimistic(store, clock):
    first = store.add_principal(alice())
    clock.now += 60
    changed = store.update_principal(
        replace(first, kvno=3, keys=[KeyData(19, 3, AES128_KEY)], disabled=False, max_life=None)
    )
    assert (changed.version, changed.modified, changed.created) == (2, clock.now, first.created)
    again = store.get_principal(first.name)
    assert again == changed
    assert again.keys == [KeyData(19, 3, AES128_KEY)]
    with pytest.raises(ConcurrentModification) as err:
        store.update_principal(replace(first, disabled=True))  # stale: version 1
    assert str(err.value) == (
        f"principal alice@{REALM} was changed by someone else (version 2, expected 1); "
        "read it again and retry"
    )
    assert store.get_principal(first.name).disabled is False
    with pytest.raises(PrincipalNotFound, match=f"principal carol@{REALM} does not exist"):
        store.update_principal(Principal(f"carol@{REALM}", version=1))


def test_delete(store):
    store.add_principal(alice())
    store.delete_principal(f"alice@{REALM}")
    assert store.get_principal(f"alice@{REALM}") is None
    with store._read() as conn:  # keys went with it
        assert conn.execute("SELECT COUNT(*) FROM principal_keys").fetchone()[0] == 0
    with pytest.raises(PrincipalNotFound):
        store.delete_principal(f"alice@{REALM}")


def test_rename_keeps_keys_usable(store):
    store.add_principal(alice())
    renamed = store.rename_principal(f"alice@{REALM}", "alice2@" + REALM)
    assert store.get_principal(f"alice@{REALM}") is None
    got = store.get_principal(f"alice2@{REALM}")
    assert got == renamed
    assert got.version == 2
    # explicit salt kept; default salt of the old name now stored explicitly
    assert [k.salt for k in got.keys] == [
        b"HADOOP.COMalice",
        b"HADOOP.COMalice",
        b"HADOOP.COMalice",
    ]
    assert [k.key for k in got.keys] == [AES256_KEY, AES128_KEY, b"\x01" * 32]
    store.add_principal(Principal(f"bob@{REALM}"))
    with pytest.raises(PrincipalExists):
        store.rename_principal(f"alice2@{REALM}", f"bob@{REALM}")
    with pytest.raises(PrincipalNotFound):
        store.rename_principal(f"ghost@{REALM}", f"ghost2@{REALM}")


def test_glob_listing(store):
    names = [
        f"HTTP/emr-header-1@{REALM}",
        f"HTTP/emr-worker-1@{REALM}",
        f"hdfs/emr-worker-1@{REALM}",
        f"http/lower@{REALM}",
        f"krbtgt/{REALM}@{REALM}",
        "alice@OTHER.COM",
    ]
    for name in names:
        store.add_principal(Principal(name))
    assert store.list_principals() == sorted(names)
    assert store.list_principals("HTTP/*") == [names[0], names[1]]  # case-sensitive
    assert store.list_principals("*/emr-worker-?@*") == [names[1], names[2]]
    assert store.list_principals("[hk]*") == [names[2], names[3], names[4]]
    assert store.list_principals(f"*@{REALM}") == sorted(names[:5])
    assert store.list_principals("nothing*") == []


def test_get_principals_and_iter(store):
    for i in range(7):
        store.add_principal(Principal(f"user{i}@{REALM}", keys=[KeyData(18, 1, bytes([i]) * 32)]))
    found = store.get_principals([f"user1@{REALM}", f"user5@{REALM}", f"ghost@{REALM}"])
    assert sorted(found) == [f"user1@{REALM}", f"user5@{REALM}"]
    assert found[f"user5@{REALM}"].keys[0].key == bytes([5]) * 32
    every = list(store.iter_principals("user*", batch=3))
    assert [p.name for p in every] == [f"user{i}@{REALM}" for i in range(7)]


def test_change_counter_and_changes_since(store):
    assert store.change_counter() == 0
    assert store.changes_since(0) == []
    store.add_principal(Principal(f"a@{REALM}"))
    store.add_principal(Principal(f"b@{REALM}"))
    assert store.change_counter() == 2
    mark = store.change_counter()
    b = store.get_principal(f"b@{REALM}")
    store.update_principal(replace(b, disabled=True))
    store.set_config(REALM_KEY, REALM)
    store.delete_principal(f"a@{REALM}")
    store.rename_principal(f"b@{REALM}", f"c@{REALM}")
    assert store.change_counter() == mark + 5  # update, config, delete, rename (2)
    assert store.changes_since(mark) == [f"b@{REALM}", f"a@{REALM}", f"c@{REALM}"]
    assert store.changes_since(0) == [f"a@{REALM}", f"b@{REALM}", f"c@{REALM}"]
    assert store.changes_since(store.change_counter()) == []
    assert store.changes_since(store.change_counter() + 1) is None  # store went backwards


def test_failed_changes_do_not_move_counter(store):
    store.add_principal(alice())
    before = store.change_counter()
    for bad in (
        lambda: store.add_principal(alice()),
        lambda: store.delete_principal(f"ghost@{REALM}"),
        lambda: store.update_principal(alice(version=7)),
    ):
        with pytest.raises(BackendError):
            bad()
    assert store.change_counter() == before


def test_pruned_log_answers_none(store, clock):
    store.add_principal(Principal(f"a@{REALM}"))
    clock.now += 7200
    store.add_principal(Principal(f"b@{REALM}"))
    assert store.prune_changes(older_than=3600) == 1
    assert store.changes_since(0) is None  # must flush everything
    assert store.changes_since(1) == [f"b@{REALM}"]


def test_transaction_rolls_back(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.add_principal(Principal(f"a@{REALM}"))
        store.set_config(INITIALIZED_KEY, "true")
        assert store.get_principal(f"a@{REALM}") is not None  # visible inside
        raise RuntimeError("boom")
    assert store.get_principal(f"a@{REALM}") is None
    assert store.get_config(INITIALIZED_KEY) is None
    assert store.change_counter() == 0
    with store.transaction():
        store.add_principal(Principal(f"a@{REALM}"))
        with store.transaction():
            store.add_principal(Principal(f"b@{REALM}"))
    assert store.list_principals() == [f"a@{REALM}", f"b@{REALM}"]


def test_transaction_excludes_other_writers(db_path, store):
    other = SqliteBackend(db_path, busy_timeout=0.2)
    try:
        with store.transaction():
            store.add_principal(Principal(f"a@{REALM}"))
            with pytest.raises(BackendUnavailable, match="database is busy"):
                other.add_principal(Principal(f"b@{REALM}"))
            # readers are not blocked, and see only committed data (WAL)
            assert other.get_principal(f"a@{REALM}") is None
        assert other.get_principal(f"a@{REALM}") is not None
        assert other.change_counter() == 1
    finally:
        other.close()


def test_two_objects_see_each_others_changes(db_path, store):
    other = SqliteBackend(db_path)
    try:
        seen = other.change_counter()
        store.add_principal(alice())
        assert other.change_counter() == seen + 1
        assert other.changes_since(seen) == [f"alice@{REALM}"]
        p = other.get_principal(f"alice@{REALM}")
        other.update_principal(replace(p, disabled=False))
        assert store.get_principal(f"alice@{REALM}").disabled is False
        other.set_config("kdc_tcp_port", "88")
        assert store.get_realm_config() == {"kdc_tcp_port": "88"}
    finally:
        other.close()


def test_realm_config_and_nodes(store, clock):
    store.set_config(REALM_KEY, REALM)
    store.set_config(INITIALIZED_KEY, "true")
    store.set_config(INITIALIZED_KEY, "false")
    assert store.get_realm_config() == {REALM_KEY: REALM, INITIALIZED_KEY: "false"}
    store.set_config(INITIALIZED_KEY, None)
    assert store.get_config(INITIALIZED_KEY) is None
    store.register_node("emr-header-1")
    clock.now += 1
    store.register_node("emr-worker-1")
    counter = store.change_counter()
    store.register_node("emr-header-1")  # again: refreshes, is not a new node
    assert store.list_nodes() == ["emr-header-1", "emr-worker-1"]
    assert store.change_counter() == counter


def _add_many(path: str, prefix: str, count: int) -> None:
    backend = SqliteBackend(path)
    try:
        for i in range(count):
            backend.add_principal(
                Principal(f"{prefix}{i}@{REALM}", keys=[KeyData(18, 1, bytes(32))])
            )
    finally:
        backend.close()


def _init_realm(path: str, results) -> None:
    backend = SqliteBackend(path)
    try:
        with backend.transaction():
            if backend.get_config(INITIALIZED_KEY) == "true":
                results.put("skipped")
                return
            backend.add_principal(Principal(f"krbtgt/{REALM}@{REALM}"))
            backend.add_principal(Principal(f"kadmin/{REALM}@{REALM}"))
            backend.set_config(INITIALIZED_KEY, "true")
        results.put("initialized")
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(f"error: {exc}")
    finally:
        backend.close()


def test_concurrent_writer_processes(db_path, store):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(db_path), f"p{n}-", 40)) for n in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert len(store.list_principals()) == 160
    assert store.change_counter() == 160
    assert len(store.changes_since(0)) == 160


def test_concurrent_init_happens_once(db_path, store):
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_init_realm, args=(str(db_path), results)) for _ in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    outcomes = sorted(results.get(timeout=10) for _ in procs)
    assert outcomes == ["initialized"] + ["skipped"] * 5
    assert store.list_principals() == [f"kadmin/{REALM}@{REALM}", f"krbtgt/{REALM}@{REALM}"]


def test_migrate_from_empty_and_again(db_path):
    backend = SqliteBackend(db_path)
    try:
        assert backend.schema_version() == 0
        assert backend.migrate() == LATEST_VERSION
        backend.add_principal(Principal(f"a@{REALM}"))
        assert backend.migrate() == LATEST_VERSION  # idempotent, data kept
        assert backend.list_principals() == [f"a@{REALM}"]
        with backend._read() as conn:
            rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, LATEST_VERSION + 1))
    finally:
        backend.close()


def test_upgrade_path_from_version_1(db_path):
    backend = SqliteBackend(db_path)
    try:
        assert backend.migrate(target=1) == 1
        backend.add_principal(alice())
        with backend._read() as conn:
            index = "SELECT 1 FROM sqlite_master WHERE name = 'change_log_changed'"
            assert conn.execute(index).fetchone() is None
        assert backend.migrate() == LATEST_VERSION
        with backend._read() as conn:
            assert conn.execute(index).fetchone() is not None
        assert backend.get_principal(f"alice@{REALM}").keys == alice().keys
    finally:
        backend.close()


def test_newer_schema_refused(db_path, store):
    with store._read() as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'from the future', 0)")
    with pytest.raises(SchemaError, match="schema version 99 is newer than this has-kdc"):
        store.migrate()
    with pytest.raises(SchemaError, match="upgrade has-kdc"):
        open_backend(BackendConfig(kind="sqlite", sqlite_path=db_path), migrate=False)


def test_open_backend(tmp_path):
    config = BackendConfig(kind="sqlite", sqlite_path=tmp_path / "has.sqlite")
    with pytest.raises(SchemaError, match=r"no schema yet; run migrate"):
        open_backend(config, migrate=False)
    with open_backend(config) as backend:
        assert backend.schema_version() == LATEST_VERSION
        backend.add_principal(Principal(f"a@{REALM}"))
    with open_backend(config, migrate=False) as backend:
        assert backend.list_principals() == [f"a@{REALM}"]


def test_missing_directory_is_clear(tmp_path):
    with pytest.raises(BackendError) as err:
        SqliteBackend(tmp_path / "absent" / "has.sqlite")
    assert str(err.value) == (
        f"cannot create {tmp_path / 'absent' / 'has.sqlite'}: "
        f"directory {tmp_path / 'absent'} does not exist"
    )


def test_unmigrated_store_says_so(db_path):
    backend = SqliteBackend(db_path)
    try:
        with pytest.raises(SchemaError, match="run migrate"):
            backend.get_principal(f"a@{REALM}")
    finally:
        backend.close()


def test_files_are_private(tmp_path, store, db_path):
    store.add_principal(alice())
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["has.sqlite", "has.sqlite-shm", "has.sqlite-wal"]
    for name in files:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_wide_existing_file_warns(tmp_path, caplog):
    path = tmp_path / "old.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="has_kdc.backend"):
        SqliteBackend(path).close()
    assert f"{path} has mode 0644; it holds the realm's keys and should be 0600" in caplog.text


def test_keys_never_in_repr(store):
    stored = store.add_principal(alice())
    text = repr(stored) + str(stored) + repr(stored.keys)
    assert AES256_KEY.hex() not in text
    assert repr(AES256_KEY) not in text
    assert "key=" not in text
