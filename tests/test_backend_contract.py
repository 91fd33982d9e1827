"""One contract, every store: the IdentityBackend behaviour that SQLite and MySQL share.

Each test runs twice, against the embedded SQLite file and against a real MariaDB
(tests/mariadb.py, a fresh database per test), so a KDC, the admin layer and the
CLIs may rely on exactly these behaviours whichever store backend.conf names. What
only one store does (file modes, reconnects, TLS) is tested in that store's own
module.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from has_kdc.backend import (
    INITIALIZED_KEY,
    REALM_KEY,
    BackendError,
    BackendUnavailable,
    ConcurrentModification,
    IdentityBackend,
    KeyData,
    PasswordPolicy,
    PluginUser,
    Principal,
    PrincipalExists,
    PrincipalNotFound,
    SchemaError,
    open_backend,
)
from has_kdc.backend.mysql import MysqlBackend
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.conf import BackendConfig
from has_kdc.principal import PrincipalNameError

REALM = "HADOOP.COM"
AES256_KEY = bytes(range(32))
AES128_KEY = bytes(range(100, 116))


class Clock:
    def __init__(self, now: int = 1_700_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass
class Flavor:
    """How to open, and look inside, one kind of store."""

    name: str
    config: BackendConfig

    def open(self, clock: Callable[[], float] | None = None, *, impatient: bool = False) -> Any:
        """A new backend object on the same store (not migrated)."""
        extra: dict[str, Any] = {"clock": clock} if clock else {}
        if self.name == "sqlite":
            assert self.config.sqlite_path is not None
            if impatient:
                extra["busy_timeout"] = 0.2
            return SqliteBackend(self.config.sqlite_path, **extra)
        if impatient:
            extra.update(lock_timeout=1, io_timeout=3.0)
        return MysqlBackend.from_config(self.config, **extra)

    def query(self, backend: Any, sql: str) -> list[tuple]:
        """Rows of one read-only statement, for looking behind the interface."""

        def work(cur: Any) -> list[tuple]:
            cur.execute(sql)
            return list(cur.fetchall())

        return backend.db.atomic(work)

    def execute(self, backend: Any, sql: str) -> None:
        backend.db.atomic(lambda cur: cur.execute(sql), write=True)

    def has_change_log_index(self, backend: Any) -> bool:
        if self.name == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE name = 'change_log_changed'"
        else:
            sql = (
                "SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() "
                "AND table_name = 'change_log' AND index_name = 'change_log_changed'"
            )
        return bool(self.query(backend, sql))


@pytest.fixture(params=["sqlite", "mysql"])
def flavor(request: pytest.FixtureRequest, tmp_path: Any) -> Flavor:
    if request.param == "sqlite":
        return Flavor("sqlite", BackendConfig(kind="sqlite", sqlite_path=tmp_path / "has.sqlite"))
    return Flavor("mysql", request.getfixturevalue("mysql_backend_config"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(flavor: Flavor, clock: Clock) -> Iterator[IdentityBackend]:
    backend = flavor.open(clock)
    backend.migrate()
    yield backend
    backend.close()


@pytest.fixture
def other(flavor: Flavor, store: IdentityBackend) -> Iterator[IdentityBackend]:
    """A second object on the same store: another connection, as another node has."""
    backend = flavor.open()
    yield backend
    backend.close()


def alice(**changes: Any) -> Principal:
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


# ---------------------------------------------------------------------- principals


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


def test_big_numbers_and_binary_keys_survive(store):
    key = bytes(range(256))[:64]  # every byte value class, incl. NUL, quote, backslash
    p = Principal(
        f"big@{REALM}",
        kvno=2**32 - 1,
        keys=[KeyData(20, 2**32 - 1, key, b"\x00'\\\"salt", bytes([0, 0, 0x10, 0]))],
        max_life=2**40,
        expiration=2**33,
    )
    store.add_principal(p)
    got = store.get_principal(p.name)
    assert got.keys == p.keys
    assert (got.kvno, got.max_life, got.expiration) == (2**32 - 1, 2**40, 2**33)


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


def test_names_compare_exactly(store):
    # case, trailing blanks and non-ASCII all make different principals
    names = [f"alice@{REALM}", f"Alice@{REALM}", f"alice@{REALM} ", f"Émile@{REALM}"]
    for name in names:
        store.add_principal(Principal(name))
    assert store.list_principals() == sorted(names, key=lambda n: n.encode())
    for name in names:
        assert store.get_principal(name).name == name
    assert store.get_principal(f"ALICE@{REALM}") is None
    assert store.get_principal(f"emile@{REALM}") is None


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


def test_update_from_two_objects_one_wins(store, other):
    first = store.add_principal(alice())
    seen_by_other = other.get_principal(first.name)
    store.update_principal(replace(first, max_life=100))
    with pytest.raises(ConcurrentModification):
        other.update_principal(replace(seen_by_other, max_life=200))
    assert other.get_principal(first.name).max_life == 100


def test_delete_takes_the_keys(flavor, store):
    store.add_principal(alice())
    store.delete_principal(f"alice@{REALM}")
    assert store.get_principal(f"alice@{REALM}") is None
    assert flavor.query(store, "SELECT COUNT(*) FROM principal_keys")[0][0] == 0
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
    assert [k.salt for k in got.keys] == [b"HADOOP.COMalice"] * 3
    assert [k.key for k in got.keys] == [AES256_KEY, AES128_KEY, b"\x01" * 32]
    store.add_principal(Principal(f"bob@{REALM}"))
    with pytest.raises(PrincipalExists):
        store.rename_principal(f"alice2@{REALM}", f"bob@{REALM}")
    with pytest.raises(PrincipalNotFound):
        store.rename_principal(f"ghost@{REALM}", f"ghost2@{REALM}")
    assert store.get_principal(f"alice2@{REALM}") == renamed  # failed renames changed nothing


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
    assert store.list_principals("[^hk]*") == [names[0], names[1], names[5]]
    assert store.list_principals("[a-c]*") == [names[5]]
    assert store.list_principals(f"*@{REALM}") == sorted(names[:5])
    assert store.list_principals("nothing*") == []


def test_list_principals_in_pages(store):
    names = [f"svc{i}/h@{REALM}" for i in range(7)] + [f"Émile@{REALM}", f"a@{REALM}"]
    for name in names:
        store.add_principal(Principal(name))
    in_order = sorted(names, key=str.encode)
    assert store.list_principals(limit=4) == in_order[:4]
    assert store.list_principals(after=in_order[3], limit=4) == in_order[4:8]
    assert store.list_principals(after=in_order[7], limit=4) == in_order[8:]
    assert store.list_principals(after=in_order[-1]) == []
    assert store.list_principals(after="b") == in_order[1:]  # need not be a stored name
    # a page of a glob LIKE cannot say ('[...]') is still full where the names allow
    assert store.list_principals("svc[1356]/*", limit=2) == [names[1], names[3]]
    assert store.list_principals("svc[1356]/*", after=names[3], limit=2) == [names[5], names[6]]
    assert store.list_principals("svc[1356]/*", after=names[6], limit=2) == []


def test_glob_special_characters_are_literal(store):
    names = [f"a_b@{REALM}", f"axb@{REALM}", f"a%b@{REALM}", f"a\\b@{REALM}", f"aéb@{REALM}"]
    for name in names:
        store.add_principal(Principal(name))
    assert store.list_principals("a_b*") == [f"a_b@{REALM}"]
    assert store.list_principals("a%b*") == [f"a%b@{REALM}"]
    assert store.list_principals("a\\b*") == [f"a\\b@{REALM}"]  # a backslash is no escape
    assert store.list_principals("a?b@*") == sorted(
        names,
        key=lambda n: n.encode(),
    )
    assert store.list_principals("a[é]b*") == [f"aéb@{REALM}"]


def test_get_principals_and_iter(store):
    for i in range(7):
        store.add_principal(Principal(f"user{i}@{REALM}", keys=[KeyData(18, 1, bytes([i]) * 32)]))
    found = store.get_principals([f"user1@{REALM}", f"user5@{REALM}", f"ghost@{REALM}"])
    assert sorted(found) == [f"user1@{REALM}", f"user5@{REALM}"]
    assert found[f"user5@{REALM}"].keys[0].key == bytes([5]) * 32
    every = list(store.iter_principals("user*", batch=3))
    assert [p.name for p in every] == [f"user{i}@{REALM}" for i in range(7)]
    assert store.get_principals([]) == {}


def test_get_principals_beyond_one_batch(store):
    with store.transaction():
        for i in range(1203):
            store.add_principal(Principal(f"u{i:04d}@{REALM}", keys=[KeyData(17, 1, bytes(16))]))
    found = store.get_principals(f"u{i:04d}@{REALM}" for i in range(0, 1203, 2))
    assert len(found) == 602
    assert all(len(p.keys) == 1 for p in found.values())


# ---------------------------------------------------------------------- change tracking


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
        lambda: store.rename_principal(f"ghost@{REALM}", f"g@{REALM}"),
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
    assert store.prune_changes(older_than=3600) == 0


def test_two_objects_see_each_others_changes_at_once(store, other):
    # ``other`` has a long-lived session of its own, as a KDC worker on another node
    seen = other.change_counter()
    assert other.changes_since(seen) == []
    store.add_principal(alice())
    assert other.change_counter() == seen + 1
    assert other.changes_since(seen) == [f"alice@{REALM}"]
    p = other.get_principal(f"alice@{REALM}")
    other.update_principal(replace(p, disabled=False))
    assert store.get_principal(f"alice@{REALM}").disabled is False
    assert store.changes_since(seen + 1) == [f"alice@{REALM}"]
    other.set_config("kdc_tcp_port", "88")
    assert store.get_realm_config() == {"kdc_tcp_port": "88"}
    other.delete_principal(f"alice@{REALM}")
    assert store.get_principal(f"alice@{REALM}") is None
    assert store.change_counter() == other.change_counter() == seen + 4


# ---------------------------------------------------------------------- transactions


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
    assert store.change_counter() == 2


def test_error_inside_transaction_rolls_back_all(store):
    store.add_principal(Principal(f"a@{REALM}"))
    with pytest.raises(PrincipalExists), store.transaction():
        store.add_principal(Principal(f"b@{REALM}"))
        store.add_principal(Principal(f"a@{REALM}"))
    assert store.list_principals() == [f"a@{REALM}"]
    store.add_principal(Principal(f"c@{REALM}"))  # the object is usable afterwards
    assert store.change_counter() == 2


def test_transaction_excludes_other_writers(flavor, store):
    impatient = flavor.open(impatient=True)
    try:
        with store.transaction():
            store.add_principal(Principal(f"a@{REALM}"))
            with pytest.raises(BackendUnavailable, match="database is busy"):
                impatient.add_principal(Principal(f"b@{REALM}"))
            with (
                pytest.raises(BackendUnavailable, match="database is busy"),
                impatient.transaction(),
            ):
                pass
            # readers are not blocked, and see only committed data
            assert impatient.get_principal(f"a@{REALM}") is None
            assert impatient.change_counter() == 0
        assert impatient.get_principal(f"a@{REALM}") is not None
        assert impatient.change_counter() == 1
        impatient.add_principal(Principal(f"b@{REALM}"))  # and it recovers
        assert store.list_principals() == [f"a@{REALM}", f"b@{REALM}"]
    finally:
        impatient.close()


# ---------------------------------------------------------------------- realm state


def test_realm_config_and_nodes(store, other, clock):
    store.set_config(REALM_KEY, REALM)
    store.set_config(INITIALIZED_KEY, "true")
    store.set_config(INITIALIZED_KEY, "false")
    assert store.get_realm_config() == {REALM_KEY: REALM, INITIALIZED_KEY: "false"}
    assert other.get_config(REALM_KEY) == REALM
    store.set_config(INITIALIZED_KEY, None)
    assert store.get_config(INITIALIZED_KEY) is None
    store.set_config("kdc_udp_port", "")  # empty is a value, not an absence
    assert store.get_config("kdc_udp_port") == ""
    store.register_node("emr-header-1")
    clock.now += 1
    store.register_node("emr-worker-1")
    counter = store.change_counter()
    store.register_node("emr-header-1")  # again: refreshes, is not a new node
    assert store.list_nodes() == ["emr-header-1", "emr-worker-1"]
    assert other.list_nodes() == ["emr-header-1", "emr-worker-1"]
    assert store.change_counter() == counter


def test_deregister_node_forgets_it_everywhere(store, other):
    store.register_node("emr-header-1")
    store.register_node("emr-worker-2")
    counter = store.change_counter()
    assert store.deregister_node("emr-worker-2") is True
    assert store.list_nodes() == ["emr-header-1"]
    assert other.list_nodes() == ["emr-header-1"]
    assert store.change_counter() == counter + 1
    assert store.deregister_node("emr-worker-2") is False  # nothing left: no change
    assert store.change_counter() == counter + 1
    store.register_node("emr-worker-2")  # a node that starts again registers anew
    assert store.list_nodes() == ["emr-header-1", "emr-worker-2"]


def test_register_node_refreshes_last_seen(flavor, store, clock):
    store.register_node("emr-header-1")
    clock.now += 30
    store.register_node("emr-header-1")
    rows = flavor.query(store, "SELECT registered, last_seen FROM kdc_nodes")
    assert [tuple(r) for r in rows] == [(clock.now - 30, clock.now)]


def test_node_status_is_a_heartbeat_not_a_realm_change(store, other, clock):
    store.register_node("emr-header-1")
    counter = store.change_counter()
    clock.now += 10
    store.record_node_status("emr-header-1", '{"kdc_requests": 5}')
    assert store.change_counter() == counter  # no KDC needs to hear of it
    clock.now += 10
    store.record_node_status("emr-header-1", '{"kdc_requests": 9}')
    records = other.node_records()
    assert [(r.host, r.registered, r.last_seen, r.status) for r in records] == [
        ("emr-header-1", clock.now - 20, clock.now, '{"kdc_requests": 9}')
    ]
    assert store.record_node_status("emr-header-1", '{"kdc_requests": 9}')  # same second
    # a heartbeat never registers: a node removed by an operator stays removed
    assert not store.record_node_status("emr-worker-1", "{}")
    assert store.list_nodes() == ["emr-header-1"]
    assert store.change_counter() == counter
    store.register_node("emr-worker-1")
    assert store.record_node_status("emr-worker-1", "{}")
    store.register_node("emr-worker-1")
    assert other.node_records()[1].status == "{}"  # registration keeps the status


def test_run_transaction_runs_the_work_once_and_joins_an_open_one(store):
    runs = []

    def work() -> str:
        runs.append(store.in_transaction)
        store.add_principal(alice())
        return "done"

    assert not store.in_transaction
    assert store.run_transaction(work) == "done"
    assert runs == [True]
    with store.transaction(), pytest.raises(PrincipalExists):
        store.run_transaction(work)  # joins: no retry inside an open transaction
    assert runs == [True, True]


# ---------------------------------------------------------------------- many processes


def _add_many(config: BackendConfig, prefix: str, count: int, go: Any) -> None:
    backend = open_backend(config, migrate=False)
    try:
        go.wait(30)
        for i in range(count):
            backend.add_principal(
                Principal(f"{prefix}{i}@{REALM}", keys=[KeyData(18, 1, bytes(32))])
            )
    finally:
        backend.close()


def _init_realm(config: BackendConfig, results: Any, go: Any) -> None:
    """What ``kdcinit init`` does, reduced to its check-and-create."""
    try:
        backend = open_backend(config, migrate=False)
    except Exception as exc:
        results.put(f"error: {exc}")
        return
    try:
        go.wait(30)
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


def run_concurrent_inits(config: BackendConfig, count: int) -> list[str]:
    """Start ``count`` processes that all try to initialize the realm at one moment."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=_init_realm, args=(config, results, go)) for _ in range(count)]
    for proc in procs:
        proc.start()
    go.set()
    outcomes = sorted(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(60)
    return outcomes


def test_concurrent_writer_processes(flavor, store):
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [
        ctx.Process(target=_add_many, args=(flavor.config, f"p{n}-", 40, go)) for n in range(4)
    ]
    for proc in procs:
        proc.start()
    go.set()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert len(store.list_principals()) == 160
    assert store.change_counter() == 160
    assert len(store.changes_since(0)) == 160


def test_concurrent_init_happens_once(flavor, store):
    outcomes = run_concurrent_inits(flavor.config, 6)
    assert outcomes == ["initialized"] + ["skipped"] * 5
    assert store.list_principals() == [f"kadmin/{REALM}@{REALM}", f"krbtgt/{REALM}@{REALM}"]
    assert store.change_counter() == 3


# ---------------------------------------------------------------------- schema


def test_migrate_from_empty_and_again(flavor):
    backend = flavor.open()
    try:
        assert backend.schema_version() == 0
        assert backend.migrate() == backend.latest_schema_version
        backend.add_principal(Principal(f"a@{REALM}"))
        assert backend.migrate() == backend.latest_schema_version  # idempotent, data kept
        assert backend.list_principals() == [f"a@{REALM}"]
        rows = flavor.query(backend, "SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, backend.latest_schema_version + 1))
    finally:
        backend.close()


def test_upgrade_path_from_version_1(flavor, clock):
    backend = flavor.open(clock)
    try:
        assert backend.migrate(target=1) == 1
        assert backend.schema_version() == 1
        stored = backend.add_principal(alice())
        backend.set_config(REALM_KEY, REALM)
        backend.register_node("emr-header-1")
        assert not flavor.has_change_log_index(backend)
        assert backend.migrate() == backend.latest_schema_version
        assert flavor.has_change_log_index(backend)
        assert backend.schema_version() == backend.latest_schema_version
        assert backend.list_plugin_users() == []
        assert backend.get_principal(f"alice@{REALM}") == stored
        assert backend.get_config(REALM_KEY) == REALM
        assert backend.list_nodes() == ["emr-header-1"]
        assert backend.changes_since(0) == [f"alice@{REALM}"]
    finally:
        backend.close()


def test_newer_schema_refused(flavor, store):
    flavor.execute(store, "INSERT INTO schema_version VALUES (99, 'from the future', 0)")
    with pytest.raises(SchemaError, match="schema version 99 is newer than this has-kdc"):
        store.migrate()
    with pytest.raises(SchemaError, match="upgrade has-kdc"):
        open_backend(flavor.config, migrate=False)
    beyond = store.latest_schema_version + 1
    with pytest.raises(SchemaError, match=f"no schema version {beyond}"):
        store.migrate(target=beyond)


def test_open_backend(flavor):
    with pytest.raises(SchemaError, match=r"no schema yet; run migrate"):
        open_backend(flavor.config, migrate=False)
    with open_backend(flavor.config) as backend:
        assert backend.schema_version() == backend.latest_schema_version
        backend.add_principal(Principal(f"a@{REALM}"))
    with open_backend(flavor.config, migrate=False) as backend:
        assert backend.list_principals() == [f"a@{REALM}"]


def test_unmigrated_store_says_so(flavor):
    backend = flavor.open()
    try:
        with pytest.raises(SchemaError, match="run migrate"):
            backend.get_principal(f"a@{REALM}")
        with pytest.raises(SchemaError, match="run migrate"):
            backend.change_counter()
    finally:
        backend.close()


def test_keys_never_in_repr(store):
    stored = store.add_principal(alice())
    text = repr(stored) + str(stored) + repr(stored.keys) + repr(store)
    assert AES256_KEY.hex() not in text
    assert repr(AES256_KEY) not in text
    assert "key=" not in text


# ---------------------------------------------------------------------- plugin users
# The MySQL authentication plugin's users (TGT over HTTPS): schema version 3.

HASH_A = "$scrypt$ln=1,r=8,p=1$c2FsdA$aGFzaC1h"
HASH_B = "$scrypt$ln=1,r=8,p=1$c2FsdA$aGFzaC1i"


def test_plugin_user_put_get_list_delete(store, clock):
    assert store.get_plugin_user("alice") is None
    stored = store.put_plugin_user(PluginUser("alice", HASH_A))
    assert (stored.created, stored.modified, stored.disabled) == (clock.now, clock.now, False)
    assert store.get_plugin_user("alice") == stored
    store.put_plugin_user(PluginUser("bob", HASH_B, disabled=True))
    assert [u.name for u in store.list_plugin_users()] == ["alice", "bob"]
    assert store.get_plugin_user("bob").disabled is True
    assert store.delete_plugin_user("alice") is True
    assert store.delete_plugin_user("alice") is False
    assert store.get_plugin_user("alice") is None
    assert [u.name for u in store.list_plugin_users()] == ["bob"]


def test_plugin_user_replace_keeps_created(store, clock):
    first = store.put_plugin_user(PluginUser("alice", HASH_A))
    clock.now += 100
    second = store.put_plugin_user(PluginUser("alice", HASH_B, disabled=True))
    assert second.created == first.created
    assert second.modified == first.created + 100
    again = store.get_plugin_user("alice")
    assert (again.password_hash, again.disabled, again.created) == (HASH_B, True, first.created)
    assert len(store.list_plugin_users()) == 1


def test_plugin_user_names_are_exact(store):
    store.put_plugin_user(PluginUser("Alice", HASH_A))
    store.put_plugin_user(PluginUser("alice", HASH_B))
    assert store.get_plugin_user("Alice").password_hash == HASH_A
    assert store.get_plugin_user("alice").password_hash == HASH_B
    assert store.get_plugin_user("alice ") is None
    assert store.get_plugin_user("ALICE") is None


def test_plugin_users_are_not_principal_changes(store):
    before = store.change_counter()
    store.put_plugin_user(PluginUser("alice", HASH_A))
    store.delete_plugin_user("alice")
    assert store.change_counter() == before
    assert store.list_principals() == []


def test_plugin_user_seen_by_another_node_at_once(store, other):
    store.put_plugin_user(PluginUser("alice", HASH_A))
    assert other.get_plugin_user("alice").password_hash == HASH_A
    other.put_plugin_user(PluginUser("alice", HASH_B, disabled=True))
    assert store.get_plugin_user("alice").disabled is True


def test_plugin_user_bad_values_refused(store):
    with pytest.raises(BackendError, match="1 to 255 bytes"):
        store.put_plugin_user(PluginUser("", HASH_A))
    with pytest.raises(BackendError, match="1 to 255 bytes"):
        store.put_plugin_user(PluginUser("x" * 256, HASH_A))
    with pytest.raises(BackendError, match="password hash"):
        store.put_plugin_user(PluginUser("alice", ""))
    assert store.list_plugin_users() == []


def test_plugin_user_put_joins_a_transaction(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.put_plugin_user(PluginUser("alice", HASH_A))
        raise RuntimeError("roll back")
    assert store.get_plugin_user("alice") is None


def test_plugin_user_hash_never_in_repr(store):
    stored = store.put_plugin_user(PluginUser("alice", HASH_A))
    assert HASH_A not in repr(stored) + str(stored) + repr(store.list_plugin_users())


# -- password policies (schema version 6)


def test_password_policies_round_trip(store, clock):
    counter = store.change_counter()
    made = store.put_policy(PasswordPolicy("users", min_length=12, min_classes=3, history_num=5))
    assert made.created == made.modified == int(clock())
    assert store.change_counter() == counter + 1
    assert store.get_policy("users") == made
    assert store.get_policy("USERS") is None
    clock.now += 10
    changed = store.put_policy(replace(made, max_life=90 * 86400))
    assert (changed.created, changed.modified) == (made.created, made.created + 10)
    store.put_policy(PasswordPolicy("admins"))
    assert [p.name for p in store.list_policies()] == ["admins", "users"]
    assert store.delete_policy("admins") is True
    assert store.delete_policy("admins") is False
    assert store.list_policies() == [changed]
    with pytest.raises(BackendError, match="min_length is out of range"):
        store.put_policy(PasswordPolicy("bad", min_length=-1))


def test_principal_password_state_round_trip(store):
    history = bytes(range(256)) * 4
    stored = store.add_principal(alice(policy="users", last_pwd_change=1_700_000_000))
    assert store.get_principal(stored.name).policy == "users"
    updated = store.update_principal(replace(stored, pw_history=history, policy=None))
    got = store.get_principal(stored.name)
    assert got == updated
    assert (got.policy, got.last_pwd_change, got.pw_history) == (None, 1_700_000_000, history)
    with pytest.raises(BackendError, match="password history is too large"):
        store.update_principal(replace(got, pw_history=b"x" * 70_000))
