"""Several database hosts behind one MySQL store: failover, the preferred host won back,
and writes that are repeated only when that is safe.

Real MariaDB servers (tests/mariadb.py) stand for the hosts of a ``mysql_url``: one
that runs, one this module starts and stops, and ports where nothing listens. The
Galera-specific parts (certification conflicts between hosts, a host leaving the
primary component) are exercised on a real cluster in tests/test_galera_*.py; here a
conflict or a lost COMMIT is made to happen at a chosen moment, on a real server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from has_kdc.backend import BackendUnavailable, Principal, TransactionConflict
from has_kdc.backend.hosts import HostList
from has_kdc.backend.mysql import MysqlBackend, MysqlSession
from has_kdc.conf.backend import read_backend_conf
from tests.conftest import MYSQL_TEST_PASSWORD, MYSQL_TEST_USER
from tests.mariadb import MariaDb, free_tcp_port

REALM = "HADOOP.COM"
FAST = {"connect_timeout": 1.0, "io_timeout": 2.0, "lock_timeout": 1, "reconnect_interval": 0.2}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------- host order


def test_host_order_skips_failed_hosts_with_growing_backoff():
    clock = Clock()
    hosts = HostList([("db1", 1), ("db2", 2), ("db3", 3)], reconnect_interval=0.5, clock=clock)
    assert hosts.candidates() == [0, 1, 2]
    hosts.failed(0, "refused")
    assert hosts.candidates() == [1, 2]
    clock.now += 0.5
    assert hosts.candidates() == [0, 1, 2]
    hosts.failed(0, "refused")  # second failure: skipped for 1 s
    clock.now += 0.6
    assert hosts.candidates() == [1, 2]
    clock.now += 0.4
    assert hosts.candidates() == [0, 1, 2]
    for _ in range(20):
        hosts.failed(0, "refused")
    clock.now += 29
    assert hosts.candidates() == [1, 2]  # capped at 30 s
    clock.now += 1
    assert hosts.candidates() == [0, 1, 2]


def test_when_every_host_failed_each_is_tried_again_after_reconnect_interval():
    clock = Clock()
    hosts = HostList([("db1", 1), ("db2", 2)], reconnect_interval=0.5, clock=clock)
    for _ in range(5):
        hosts.failed(0, "refused")
        hosts.failed(1, "timed out")
    assert hosts.candidates() == []
    assert hosts.next_attempt_in() == pytest.approx(0.5)
    assert hosts.summary() == "db1:1: refused; db2:2: timed out"
    clock.now += 0.5
    assert hosts.candidates() == [0, 1]


def test_an_earlier_host_is_tried_again_every_retry_period():
    clock = Clock()
    hosts = HostList([("db1", 1), ("db2", 2)], retry_preferred_after=30, clock=clock)
    hosts.failed(0, "refused")
    hosts.connected(1)
    assert hosts.preferred_due() == []
    clock.now += 30
    assert hosts.preferred_due() == [0]
    assert hosts.preferred_due() == []  # once per period
    hosts.connected(0)
    clock.now += 60
    assert hosts.preferred_due() == []  # on the first host: nothing earlier


# ---------------------------------------------------------------------- real servers


@pytest.fixture(scope="module")
def spare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDb]:
    """A second MariaDB this module stops and starts (a database host that comes back)."""
    server = MariaDb(tmp_path_factory.mktemp("mariadb-spare"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _database(server: MariaDb, name: str) -> None:
    server.drop_database(name)
    server.create_database(name, MYSQL_TEST_USER, MYSQL_TEST_PASSWORD)


def _backend(hosts: list[tuple[str, int]], database: str, **extra: Any) -> MysqlBackend:
    options = {**FAST, **extra}
    return MysqlBackend(
        hosts[0][0],
        hosts[0][1],
        database,
        MYSQL_TEST_USER,
        MYSQL_TEST_PASSWORD,
        hosts=hosts,
        **options,
    )


def test_backend_conf_with_several_hosts_uses_the_first_that_answers(mariadb, tmp_path, caplog):
    dead = free_tcp_port()
    _database(mariadb, "fo_url")
    conf = tmp_path / "backend.conf"
    conf.write_text(
        "kdc_identity_backend = mysql\n"
        f"mysql_url = jdbc:mysql://127.0.0.1:{dead},127.0.0.1:{mariadb.port}/fo_url"
        "?connectTimeout=1000&secondsBeforeRetryPrimaryHost=7\n"
        f"mysql_user = {MYSQL_TEST_USER}\nmysql_password = {MYSQL_TEST_PASSWORD}\n"
    )
    conf.chmod(0o600)
    config = read_backend_conf(conf, environ={})
    backend = MysqlBackend.from_config(config)
    try:
        assert backend.link.connect_timeout == 1.0 and backend.link.hosts.retry_preferred_after == 7
        with caplog.at_level(logging.WARNING, logger="has_kdc.backend"):
            assert backend.migrate() == backend.latest_schema_version
        assert backend.current_host == f"127.0.0.1:{mariadb.port}"
        assert f"using it while 127.0.0.1:{dead} cannot be used" in caplog.text
        assert MYSQL_TEST_PASSWORD not in caplog.text
    finally:
        backend.close()
    # mysql_prefer_host puts a host first whatever its place in the URL
    text = (
        conf.read_text()
        .replace("?connectTimeout", "?x")
        .replace("mysql_user", f"mysql_prefer_host = 127.0.0.1:{mariadb.port}\nmysql_user")
    )
    conf.write_text(text)
    preferred = MysqlBackend.from_config(read_backend_conf(conf, environ={}))
    try:
        preferred.change_counter()
        assert preferred.link.hosts.candidates()[0] == 0
        hosts = preferred.link.hosts
        assert hosts.hosts[0].port == mariadb.port and hosts.current == 0
    finally:
        preferred.close()
    mariadb.drop_database("fo_url")


def test_every_host_down_says_why_for_each_then_fails_fast():
    ports = [free_tcp_port(), free_tcp_port()]
    backend = _backend([("127.0.0.1", p) for p in ports], "has", reconnect_interval=0.5)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as first:
        backend.change_counter()
    assert time.monotonic() - started < 1.0
    for port in ports:
        assert f"127.0.0.1:{port}: (2003)" in str(first.value)
    assert str(first.value).startswith("no database host of MysqlBackend(")
    with pytest.raises(BackendUnavailable, match="next connection attempt in"):
        backend.change_counter()
    assert MYSQL_TEST_PASSWORD not in str(first.value)


def test_a_lost_host_fails_over_within_the_call_and_the_preferred_one_is_won_back(
    mariadb, spare, caplog
):
    """spare is the preferred host, mariadb the other: kill spare, calls go on; start it
    again, and after retry_preferred_after the backend is back on it."""
    for server in (spare, mariadb):  # two separate databases: no replication here
        _database(server, "fo_back")
        alone = _backend([("127.0.0.1", server.port)], "fo_back")
        alone.migrate()
        alone.close()
    backend = _backend(
        [("127.0.0.1", spare.port), ("127.0.0.1", mariadb.port)],
        "fo_back",
        retry_preferred_after=1.0,
    )
    try:
        backend.change_counter()
        assert backend.current_host == f"127.0.0.1:{spare.port}"
        spare.kill()
        started = time.monotonic()
        assert backend.change_counter() == 0  # the same call moved to the other host
        moved = time.monotonic() - started
        assert backend.current_host == f"127.0.0.1:{mariadb.port}"
        spare.start()
        time.sleep(1.1)
        with caplog.at_level(logging.INFO, logger="has_kdc.backend"):
            backend.change_counter()
        assert backend.current_host == f"127.0.0.1:{spare.port}"
        assert "connected again" in caplog.text
        print(f"\nfailover within one call: {moved * 1000:.0f} ms")
    finally:
        backend.close()
        if not spare.running:
            spare.start()
        mariadb.drop_database("fo_back")


# ---------------------------------------------------------------------- safe repeats


class LosingCommits(MysqlSession):
    """Loses the answer to the next COMMITs: after applying them (``applied``) or not."""

    lose = 0
    applied = True

    def _commit(self, cur: Any, write: bool) -> None:
        if self.lose and write:
            self.lose -= 1
            if self.applied:
                cur.connection.commit()
            else:
                cur.connection.rollback()
            self.link.drop()
            err = pymysql.err.OperationalError(2013, "Lost connection to server during query")
            raise self.link.translate(err, during_commit=True)
        super()._commit(cur, write)


@pytest.fixture
def losing(mysql_backend_config) -> Iterator[MysqlBackend]:
    backend = MysqlBackend.from_config(mysql_backend_config, session_type=LosingCommits, **FAST)
    backend.migrate()
    yield backend
    backend.close()


@pytest.mark.parametrize("applied", [True, False])
def test_a_lost_commit_is_resolved_by_its_write_token(losing, applied, caplog):
    losing.db.applied = applied
    losing.db.lose = 1
    with caplog.at_level(logging.WARNING, logger="has_kdc.backend"):
        stored = losing.add_principal(Principal(f"once@{REALM}"))
    assert stored.version == 1
    assert losing.list_principals() == [f"once@{REALM}"]
    assert losing.change_counter() == 1  # applied exactly once either way
    assert ("it was applied" if applied else "it was not applied, running it again") in caplog.text


@pytest.mark.parametrize("applied", [True, False])
def test_a_transaction_whose_commit_was_lost(losing, applied):
    losing.db.applied = applied
    losing.db.lose = 1
    if applied:
        with losing.transaction():
            losing.add_principal(Principal(f"t@{REALM}"))
        assert losing.list_principals() == [f"t@{REALM}"]
        return
    with pytest.raises(TransactionConflict, match="not applied"), losing.transaction():
        losing.add_principal(Principal(f"t@{REALM}"))
    assert losing.list_principals() == []
    losing.db.lose = 1
    result = losing.run_transaction(lambda: losing.add_principal(Principal(f"t@{REALM}")))
    assert result.name == f"t@{REALM}" and losing.list_principals() == [f"t@{REALM}"]


@pytest.mark.parametrize(
    "refusal",
    [
        (1213, "Deadlock found when trying to get lock; try restarting transaction"),
        (1317, "Query execution was interrupted"),  # Galera aborted it mid-statement
    ],
    ids=["certification", "interrupted"],
)
def test_a_write_conflict_is_run_again(mysql_backend_config, refusal):
    backend = MysqlBackend.from_config(mysql_backend_config, **FAST)
    backend.migrate()
    calls = []

    def work(cur: Any) -> int:
        calls.append(1)
        cur.execute("UPDATE change_counter SET value = value + 1 WHERE id = 1")
        if len(calls) < 3:  # as the server says when another host's commit won
            raise pymysql.err.OperationalError(*refusal)
        return len(calls)

    try:
        assert backend.db.atomic(work, write=True) == 3
        assert backend.change_counter() == 1  # the two rolled-back runs left nothing
    finally:
        backend.close()
