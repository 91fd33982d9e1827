"""What only the MySQL store does: reach a server, survive losing it, keep nodes in step.

The behaviour shared with SQLite is held by tests/test_backend_contract.py; here are
the parts that make two HAS nodes over one database work: backend.conf URLs end to
end, credentials and TLS, READ COMMITTED visibility between long-lived sessions,
realm initialization from 20 processes at once, concurrent migrations, and faults
(server killed, hung, restarted; a connection killed mid-transaction) that must end
in ``BackendUnavailable`` within bounded time and heal without a new object.

Every test runs against a real MariaDB (tests/mariadb.py). Tests that stop or kill a
server use one of their own, never the session's.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from has_kdc.backend import (
    BackendError,
    BackendUnavailable,
    KeyData,
    Principal,
    SchemaError,
    open_backend,
)
from has_kdc.backend.mysql import LATEST_VERSION, MysqlBackend, glob_to_like, glob_to_regex
from has_kdc.conf import BackendConfig
from has_kdc.conf.backend import read_backend_conf
from tests.conftest import MYSQL_TEST_PASSWORD, MYSQL_TEST_USER
from tests.mariadb import MariaDb, free_tcp_port
from tests.test_backend_contract import run_concurrent_inits

REALM = "HADOOP.COM"
FAST = {"connect_timeout": 2.0, "io_timeout": 2.0, "lock_timeout": 1}


def timed(call: Any) -> tuple[Any, float]:
    """(result or raised exception, seconds taken)."""
    start = time.monotonic()
    try:
        result = call()
    except Exception as exc:
        result = exc
    return result, time.monotonic() - start


@pytest.fixture
def store(mysql_backend_config: BackendConfig) -> Iterator[MysqlBackend]:
    backend = MysqlBackend.from_config(mysql_backend_config)
    backend.migrate()
    yield backend
    backend.close()


def session_value(backend: MysqlBackend, sql: str) -> Any:
    def work(cur: Any) -> Any:
        cur.execute(sql)
        return cur.fetchone()[0]

    return backend.db.atomic(work)


# ---------------------------------------------------------------------- backend.conf


@pytest.mark.parametrize(
    "url",
    [
        "jdbc:mysql://127.0.0.1:{port}/{db}",
        "jdbc:mysql:thin://127.0.0.1:{port}/{db}?createDB=false&characterEncoding=utf8",
        "jdbc:mariadb://127.0.0.1:{port}/{db}?connectTimeout=2500&socketTimeout=4000",
        "mysql://127.0.0.1:{port}/{db}",
    ],
)
def test_backend_conf_urls_end_to_end(url, mariadb, mysql_backend_config, tmp_path):
    conf = tmp_path / "backend.conf"
    conf.write_text(
        "kdc_identity_backend = "
        "org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend\n"
        "mysql_driver = org.drizzle.jdbc.DrizzleDriver\n"
        f"mysql_url = {url.format(port=mariadb.port, db=mysql_backend_config.mysql_database)}\n"
        f"mysql_user = {MYSQL_TEST_USER}\n"
    )
    password_file = tmp_path / "mysql.password"
    password_file.write_text(MYSQL_TEST_PASSWORD + "\n")
    password_file.chmod(0o600)
    with conf.open("a") as f:
        f.write(f"mysql_password_file = {password_file}\n")
    config = read_backend_conf(conf, environ={})
    with open_backend(config) as node1, open_backend(config) as node2:
        assert isinstance(node1, MysqlBackend)
        assert node1.schema_version() == LATEST_VERSION
        node1.add_principal(Principal(f"alice@{REALM}", keys=[KeyData(18, 1, bytes(32))]))
        assert node2.get_principal(f"alice@{REALM}").keys == [KeyData(18, 1, bytes(32))]
        if "connectTimeout" in url:
            link = node1.link
            assert (link.connect_timeout, link.io_timeout, link.lock_timeout) == (2.5, 4.0, 3)


def test_password_from_environment(mariadb, mysql_backend_config, tmp_path):
    conf = tmp_path / "backend.conf"
    conf.write_text(
        "kdc_identity_backend = mysql\n"
        f"mysql_url = jdbc:mysql://127.0.0.1:{mariadb.port}/{mysql_backend_config.mysql_database}\n"
        f"mysql_user = {MYSQL_TEST_USER}\n"
        "mysql_password = not-this-one\n"
    )
    config = read_backend_conf(conf, environ={"HAS_MYSQL_PASSWORD": MYSQL_TEST_PASSWORD})
    with open_backend(config) as backend:
        assert backend.change_counter() == 0


def test_create_database_on_demand(mariadb):
    mariadb.create_user("creator", "creator-Pw-77", "ALL PRIVILEGES ON `cr\\_%`.*")
    name = f"cr_{os.getpid()}"
    mariadb.drop_database(name)
    url = f"jdbc:mysql://127.0.0.1:{mariadb.port}/{name}"
    base = BackendConfig(
        kind="mysql",
        mysql_host="127.0.0.1",
        mysql_port=mariadb.port,
        mysql_database=name,
        mysql_user="creator",
        mysql_password="creator-Pw-77",
    )
    try:
        with pytest.raises(BackendError) as err:
            open_backend(base)
        assert str(err.value) == (
            f"MySQL at 127.0.0.1:{mariadb.port}/{name}: the database '{name}' does not exist; "
            "create it, or add createDB=true to mysql_url"
        ), url
        with open_backend(replace(base, mysql_create_database=True)) as backend:
            backend.add_principal(Principal(f"a@{REALM}"))
        rows = mariadb.query(
            "SELECT default_character_set_name, default_collation_name FROM "
            "information_schema.schemata WHERE schema_name = %s",
            (name,),
        )
        assert rows == [("utf8mb4", "utf8mb4_bin")]
        engines = mariadb.query(
            "SELECT DISTINCT engine, table_collation FROM information_schema.tables "
            "WHERE table_schema = %s",
            (name,),
        )
        assert engines == [("InnoDB", "utf8mb4_bin")]
    finally:
        mariadb.drop_database(name)


# ---------------------------------------------------------------------- secrets


def test_bad_password_is_clear_and_secret(mariadb, mysql_backend_config, caplog):
    wrong = "Wrong-Pass-9137"
    config = replace(mysql_backend_config, mysql_password=wrong)
    with caplog.at_level(logging.DEBUG):
        backend = MysqlBackend.from_config(config)
        with pytest.raises(BackendError) as err:
            backend.change_counter()
    message = str(err.value)
    assert not isinstance(err.value, BackendUnavailable)  # retrying will not help
    assert message.startswith(
        f"MySQL at 127.0.0.1:{mariadb.port}/{config.mysql_database} refused user 'has': "
        "access denied"
    )
    assert "check mysql_user and mysql_password" in message
    for text in (message, repr(backend), repr(config), caplog.text, repr(err.value.__cause__)):
        assert wrong not in text
        assert MYSQL_TEST_PASSWORD not in text
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_password_scrubbed_even_if_server_echoes_it(mysql_backend_config):
    backend = MysqlBackend.from_config(mysql_backend_config)
    try:
        backend.migrate()
        # a server message that happens to contain the password text
        with pytest.raises(BackendError) as err:
            backend.db.atomic(
                lambda cur: cur.execute(f"SELECT * FROM `{MYSQL_TEST_PASSWORD}`"),  # noqa: S608
                write=False,
            )
        assert MYSQL_TEST_PASSWORD not in str(err.value)
        assert "********" in str(err.value)
    finally:
        backend.close()


def test_repr_names_the_database_not_the_password(store, mariadb):
    text = repr(store)
    assert text == (f"MysqlBackend('mysql://has@127.0.0.1:{mariadb.port}/{store.link.database}')")
    assert MYSQL_TEST_PASSWORD not in text + str(vars(store).keys())


def test_unreachable_server_fails_fast_and_names_it():
    port = free_tcp_port()  # nothing listens there
    backend = MysqlBackend("127.0.0.1", port, "has", "has", "pw-Unseen-1", reconnect_interval=0.5)
    error, took = timed(backend.change_counter)
    assert isinstance(error, BackendUnavailable)
    assert str(error).startswith(f"cannot reach MySQL at 127.0.0.1:{port}/has: (2003)")
    assert "pw-Unseen-1" not in str(error)
    assert took < 1.0
    again, took = timed(backend.change_counter)  # within reconnect_interval: no new attempt
    assert isinstance(again, BackendUnavailable)
    assert "next connection attempt in" in str(again)
    assert took < 0.05
    backend.close()


def test_timeouts_must_nest():
    with pytest.raises(BackendError, match="must be at least 1 s and shorter than the read"):
        MysqlBackend("127.0.0.1", 3306, lock_timeout=5, io_timeout=5.0)


# ---------------------------------------------------------------------- nodes in step


def test_sessions_are_read_committed(store):
    assert session_value(store, "SELECT @@session.tx_isolation") == "READ-COMMITTED"
    assert session_value(store, "SELECT @@session.innodb_lock_wait_timeout") == 4
    assert session_value(store, "SELECT @@session.autocommit") == 0


def test_poll_is_one_single_row_primary_key_read(store):
    def explain(cur: Any) -> list[tuple]:
        cur.execute("EXPLAIN SELECT value FROM change_counter WHERE id = 1")
        return list(cur.fetchall())

    plan = store.db.atomic(explain)
    assert len(plan) == 1
    columns = dict(
        zip(("id", "select_type", "table", "type", "possible_keys", "key"), plan[0], strict=False)
    )
    assert (columns["type"], columns["key"]) == ("const", "PRIMARY")


def test_poller_sees_another_sessions_commit_at_once(mysql_backend_config, store):
    """A KDC's long-lived session polling the counter sees a write from another node."""
    poller = MysqlBackend.from_config(mysql_backend_config)
    try:
        start_value = poller.change_counter()
        seen = threading.Event()
        latency: list[float] = []
        committed_at: list[float] = []

        def poll() -> None:
            while not seen.is_set():
                if poller.change_counter() > start_value:
                    latency.append(time.monotonic() - committed_at[0])
                    seen.set()

        for _ in range(50):  # the poller's session reads many times before the write
            poller.change_counter()
        thread = threading.Thread(target=poll)
        store.add_principal(Principal(f"warmup@{REALM}"))
        start_value = poller.change_counter()
        thread.start()
        time.sleep(0.2)
        store.add_principal(Principal(f"new@{REALM}"))
        committed_at.append(time.monotonic())
        assert seen.wait(2.0), "the poller never saw the commit"
        thread.join(2)
        assert latency[0] < 0.1
        assert poller.changes_since(start_value) == [f"new@{REALM}"]
        assert poller.get_principal(f"new@{REALM}") is not None
    finally:
        poller.close()


def test_realm_initialized_once_by_20_processes(mysql_backend_config, store):
    started = time.monotonic()
    outcomes = run_concurrent_inits(mysql_backend_config, 20)
    took = time.monotonic() - started
    assert outcomes == ["initialized"] + ["skipped"] * 19
    assert store.list_principals() == [f"kadmin/{REALM}@{REALM}", f"krbtgt/{REALM}@{REALM}"]
    assert store.get_config("initialized") == "true"
    assert store.change_counter() == 3
    print(f"\n20 concurrent inits: one initialized, 19 skipped, {took:.1f} s with process start")


def _migrate(config: BackendConfig, results: Any, go: Any) -> None:
    try:
        backend = MysqlBackend.from_config(config)
        go.wait(30)
        results.put(backend.migrate())
        backend.close()
    except Exception as exc:
        results.put(f"error: {exc}")


def test_concurrent_migrations_build_one_schema(mysql_backend_config):
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=_migrate, args=(mysql_backend_config, results, go)) for _ in range(8)
    ]
    for proc in procs:
        proc.start()
    go.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert outcomes == [LATEST_VERSION] * 8
    with MysqlBackend.from_config(mysql_backend_config) as backend:

        def versions(cur: Any) -> list[tuple]:
            cur.execute("SELECT version FROM schema_version ORDER BY version")
            return list(cur.fetchall())

        assert [r[0] for r in backend.db.atomic(versions)] == list(range(1, LATEST_VERSION + 1))
        assert backend.change_counter() == 0


def test_half_done_migration_step_is_finished(mysql_backend_config):
    """A crash between a DDL statement and its schema_version row: the rerun completes it."""
    with MysqlBackend.from_config(mysql_backend_config) as backend:
        backend.migrate(target=1)
        backend.db.atomic(
            lambda cur: cur.execute("CREATE INDEX change_log_changed ON change_log (changed)")
        )
        assert backend.schema_version() == 1
        assert backend.migrate(target=2) == 2
        assert backend.schema_version() == 2


def test_migrate_refused_inside_transaction(store):
    with (
        pytest.raises(BackendError, match="cannot run inside a transaction"),
        store.transaction(),
    ):
        store.migrate()


def test_too_long_name_is_clear(store):
    long_name = "x" * 1100 + f"@{REALM}"
    with pytest.raises(BackendError, match="longer than 1024 bytes"):
        store.add_principal(Principal(long_name))
    assert store.change_counter() == 0


def test_fork_child_gets_its_own_session(store):
    store.add_principal(Principal(f"parent@{REALM}"))
    parent_id = session_value(store, "SELECT CONNECTION_ID()")
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()

    def child() -> None:
        try:
            store.add_principal(Principal(f"child@{REALM}"))
            results.put(session_value(store, "SELECT CONNECTION_ID()"))
            store.close()
        except Exception as exc:
            results.put(f"error: {exc}")

    proc = ctx.Process(target=child)
    proc.start()
    child_id = results.get(timeout=30)
    proc.join(30)
    assert isinstance(child_id, int) and child_id != parent_id
    # the parent's session survived the child (no COM_QUIT sent on its socket)
    assert session_value(store, "SELECT CONNECTION_ID()") == parent_id
    assert store.list_principals() == [f"child@{REALM}", f"parent@{REALM}"]


# ---------------------------------------------------------------------- lost connections


def kill_session(mariadb: MariaDb, backend: MysqlBackend) -> None:
    mariadb.execute(f"KILL CONNECTION {session_value(backend, 'SELECT CONNECTION_ID()')}")


def test_killed_idle_session_is_replaced_transparently(mariadb, store):
    store.add_principal(Principal(f"a@{REALM}"))
    kill_session(mariadb, store)
    assert store.change_counter() == 1  # stale connection found, replaced, call repeated
    kill_session(mariadb, store)
    store.add_principal(Principal(f"b@{REALM}"))
    kill_session(mariadb, store)
    with store.transaction():  # the lock is taken on a new session; the body runs once
        store.add_principal(Principal(f"c@{REALM}"))
    assert store.list_principals() == [f"a@{REALM}", f"b@{REALM}", f"c@{REALM}"]


def test_session_lost_inside_transaction_rolls_back(mariadb, store):
    store.add_principal(Principal(f"a@{REALM}"))
    with (
        pytest.raises(BackendUnavailable, match="lost the connection to MySQL at"),
        store.transaction(),
    ):
        store.add_principal(Principal(f"b@{REALM}"))
        kill_session(mariadb, store)
        store.add_principal(Principal(f"c@{REALM}"))
    assert store.list_principals() == [f"a@{REALM}"]
    assert store.change_counter() == 1
    store.add_principal(Principal(f"d@{REALM}"))  # same object, new session
    assert store.list_principals() == [f"a@{REALM}", f"d@{REALM}"]


# ---------------------------------------------------------------------- server faults


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDb]:
    """A MariaDB of this module's own, free to be killed and restarted."""
    server = MariaDb(tmp_path_factory.mktemp("mariadb-faults"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def fault_store(fault_server: MariaDb, request: pytest.FixtureRequest) -> Iterator[MysqlBackend]:
    if not fault_server.running:
        fault_server.start()
    name = f"f_{request.node.name[:40]}".replace("[", "_").replace("]", "_").replace("-", "_")
    fault_server.drop_database(name)
    fault_server.create_database(name, MYSQL_TEST_USER, MYSQL_TEST_PASSWORD)
    backend = MysqlBackend(
        "127.0.0.1",
        fault_server.port,
        name,
        MYSQL_TEST_USER,
        MYSQL_TEST_PASSWORD,
        reconnect_interval=0.2,
        **FAST,
    )
    backend.migrate()
    yield backend
    backend.close()


def wait_until_working(backend: MysqlBackend, limit: float = 30.0) -> float:
    """Seconds until the same object answers again."""
    start = time.monotonic()
    while True:
        try:
            backend.change_counter()
            return time.monotonic() - start
        except BackendUnavailable:
            if time.monotonic() - start > limit:
                raise
            time.sleep(0.05)


def test_server_killed_then_restarted(fault_server, fault_store):
    fault_store.add_principal(Principal(f"before@{REALM}", keys=[KeyData(18, 1, bytes(32))]))
    fault_server.kill()
    error, detect = timed(lambda: fault_store.get_principal(f"before@{REALM}"))
    assert isinstance(error, BackendUnavailable), error
    assert f"127.0.0.1:{fault_server.port}" in str(error)
    assert MYSQL_TEST_PASSWORD not in str(error)
    assert detect < 1.0
    for call in (
        fault_store.change_counter,
        lambda: fault_store.add_principal(Principal(f"during@{REALM}")),
        lambda: fault_store.changes_since(0),
    ):
        error, took = timed(call)
        assert isinstance(error, BackendUnavailable), error
        assert took < 1.0

    fault_server.start()  # same port, same datadir
    recover = wait_until_working(fault_store)
    got = fault_store.get_principal(f"before@{REALM}")
    assert got is not None and got.keys == [KeyData(18, 1, bytes(32))]
    assert fault_store.list_principals() == [f"before@{REALM}"]
    fault_store.add_principal(Principal(f"after@{REALM}"))
    assert fault_store.change_counter() == 2
    print(
        f"\nkill -9: first call failed after {detect * 1000:.0f} ms; after restart the same "
        f"object worked again in {recover * 1000:.0f} ms"
    )


def test_clean_restart_between_calls_is_invisible(fault_server, fault_store):
    fault_store.add_principal(Principal(f"a@{REALM}"))
    fault_server.stop()
    fault_server.start()
    # the old session is gone; the first call finds that out, reconnects, succeeds
    assert fault_store.get_principal(f"a@{REALM}") is not None
    assert fault_store.change_counter() == 1


def test_hung_server_times_out(fault_server, fault_store):
    fault_store.add_principal(Principal(f"a@{REALM}"))
    fault_server.pause()
    try:
        error, took = timed(fault_store.change_counter)
        assert isinstance(error, BackendUnavailable), error
        assert "lost the connection" in str(error) or "cannot reach" in str(error)
        # bounded by the read timeout (+ one connect timeout); never a hang
        assert took < FAST["io_timeout"] + FAST["connect_timeout"] + 1.0
    finally:
        fault_server.resume()
    recover = wait_until_working(fault_store)
    assert fault_store.get_principal(f"a@{REALM}") is not None
    print(f"\nSIGSTOP: call failed after {took:.1f} s; after SIGCONT back in {recover:.2f} s")


# ---------------------------------------------------------------------- TLS


def _tls_files(directory: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 (and one more CA that signed nothing)."""
    now = datetime.datetime.now(datetime.UTC)
    out: dict[str, Path] = {}

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        out[name] = path
        return path

    def ca(common_name: str) -> tuple[Any, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return key, cert

    ca_key, ca_cert = ca("has-kdc test CA")
    write("ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
    _, other_cert = ca("some other CA")
    write("other-ca.pem", other_cert.public_bytes(serialization.Encoding.PEM))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write("server.pem", cert.public_bytes(serialization.Encoding.PEM))
    write(
        "server-key.pem",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    )
    return out


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MariaDb, dict]]:
    tmp = tmp_path_factory.mktemp("mariadb-tls")
    files = _tls_files(tmp)
    server = MariaDb(
        tmp / "server",
        extra_args=(
            f"--ssl-ca={files['ca.pem']}",
            f"--ssl-cert={files['server.pem']}",
            f"--ssl-key={files['server-key.pem']}",
        ),
    )
    server.start()
    server.create_database("tlsdb", MYSQL_TEST_USER, MYSQL_TEST_PASSWORD)
    try:
        yield server, files
    finally:
        server.stop()


def test_tls_to_the_database(tls_server, tmp_path):
    server, files = tls_server
    conf = tmp_path / "backend.conf"
    base = (
        "kdc_identity_backend = mysql\n"
        f"mysql_url = jdbc:mysql://127.0.0.1:{server.port}/tlsdb?useSSL=true\n"
        f"mysql_user = {MYSQL_TEST_USER}\nmysql_password = {MYSQL_TEST_PASSWORD}\n"
    )
    conf.write_text(base + f"mysql_ssl_ca = {files['ca.pem']}\n")
    conf.chmod(0o600)
    with open_backend(read_backend_conf(conf, environ={})) as backend:

        def cipher(cur: Any) -> str:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            return cur.fetchone()[1]

        assert backend.db.atomic(cipher)  # the session is encrypted
        backend.add_principal(Principal(f"tls@{REALM}"))

    conf.write_text(base + f"mysql_ssl_ca = {files['other-ca.pem']}\n")
    backend = MysqlBackend.from_config(read_backend_conf(conf, environ={}))
    with pytest.raises(BackendError) as err:
        backend.change_counter()
    assert f"127.0.0.1:{server.port}" in str(err.value)
    assert "certificate verify failed" in str(err.value).lower()
    backend.close()

    conf.write_text(base + f"mysql_ssl_ca = {files['other-ca.pem']}\nmysql_ssl_verify = false\n")
    with open_backend(read_backend_conf(conf, environ={}), migrate=False) as backend:
        assert backend.list_principals() == [f"tls@{REALM}"]


# ---------------------------------------------------------------------- globs


@pytest.mark.parametrize(
    ("glob", "like"),
    [
        ("HTTP/*", "HTTP/%"),
        ("a_b%c\\*", "a\\_b\\%c\\\\%"),
        ("*/emr-?@*", "%/emr-%@%"),
        ("[hk]*", "%%"),
    ],
)
def test_glob_to_like_is_a_superset_filter(glob, like):
    assert glob_to_like(glob) == like


def test_glob_to_regex_follows_sqlite():
    assert glob_to_regex("[]a]x").fullmatch("]x")
    assert glob_to_regex("[^a-c]x").fullmatch("dx")
    assert not glob_to_regex("[^a-c]x").fullmatch("bx")
    assert not glob_to_regex("[abc").fullmatch("a")  # unclosed set matches nothing
    assert glob_to_regex("a*").fullmatch("a\nb")


def test_schema_error_for_missing_tables(mysql_backend_config):
    with (
        MysqlBackend.from_config(mysql_backend_config) as backend,
        pytest.raises(SchemaError, match=r"the schema is missing \(\(1146\)"),
    ):
        backend.list_nodes()
