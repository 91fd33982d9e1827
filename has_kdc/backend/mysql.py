"""The shared identity store: one MySQL/MariaDB database behind every HAS node.

Redundant nodes hold no state of their own, so everything that makes a realm lives
here, and this module is where "two nodes, one realm" is made true:

* **Exclusive units.** ``transaction()`` (and every write) starts by locking the one
  row of ``change_counter`` with ``SELECT ... FOR UPDATE``. Every write also bumps
  that row, so all writers, on every node, queue on it: a read-check-write such as
  realm initialization runs exactly once however many nodes start it together.
  Reads take no lock and are never blocked by a writer.
* **READ COMMITTED.** A KDC keeps its connection for days and polls
  ``change_counter()`` every second; under InnoDB's default REPEATABLE READ a
  transaction's snapshot could hide other nodes' commits. Each session is set to
  READ COMMITTED, and each call runs in its own short transaction that ends with
  COMMIT (which also releases metadata locks a later migration would wait on).
* **Bounded waits.** Connect, read and write timeouts and the lock-wait timeouts
  are small (3, 5, 5 and 4 seconds by default), so no call outlives a Kerberos
  client's patience: a dead or hung server turns into ``BackendUnavailable``
  within those bounds, and the KDC answers KDC_ERR_SVC_UNAVAILABLE.
* **Recovery without restart.** A lost connection is dropped and the next call
  opens a new one. A call that finds its connection dead at once (the server was
  restarted since the last call) is retried once on a new connection, so the first
  request after a database restart succeeds. After a failed connect, calls fail
  fast for ``reconnect_interval`` seconds instead of each waiting for a timeout.
* **Exact names.** Principal names, hosts and config keys are ``VARBINARY``:
  compared byte for byte like SQLite's BINARY collation. (``utf8mb4_bin`` is a PAD
  SPACE collation in MariaDB, where ``'a@R'`` equals ``'a@R '``.) Tables are
  InnoDB, utf8mb4.
* **Secrets.** The password is held in one private attribute; it never appears in
  a repr, a log line or an error (messages are scrubbed of it as well).

One connection per object, guarded by a lock so threads may share it. KDC worker
processes each open their own object; an object used after ``fork()`` drops the
inherited connection (without closing the parent's session) and opens a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import pymysql
from pymysql.cursors import Cursor

from has_kdc.backend.errors import (
    BackendError,
    BackendUnavailable,
    ConcurrentModification,
    PrincipalExists,
    PrincipalNotFound,
    SchemaError,
    TransactionConflict,
    stored_name,
)
from has_kdc.backend.hosts import HostList
from has_kdc.backend.interface import IdentityBackend, check_plugin_user
from has_kdc.backend.model import (
    AuditQuery,
    AuditRecord,
    DatabaseHostState,
    KeyData,
    NodeRecord,
    PasswordPolicy,
    PluginUser,
    Principal,
)
from has_kdc.backend.rows import (
    AUDIT_COLUMNS,
    CHANGE_LOG_RETENTION,
    POLICY_COLUMNS,
    USER_COLUMNS,
    PrincipalSelect,
    added,
    audit_conditions,
    audit_record_from_row,
    audit_values,
    changes_answer,
    check_keys,
    check_policy,
    migration_goal,
    newer_schema,
    pattern_as_like,
    plugin_user_from_row,
    policy_from_row,
    principals_from_rows,
    prune_due,
    renamed,
    settable,
    storable_name,
    text,
    updated,
)
from has_kdc.conf.backend import BackendConfig

__all__ = ["LATEST_VERSION", "MIGRATIONS", "MysqlBackend", "glob_to_like", "glob_to_regex"]

log = logging.getLogger("has_kdc.backend")

T = TypeVar("T")

_TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

# Versioned schema steps: (version, what it does, statements). Never edit a released
# step; add the next one. MySQL commits each DDL statement on its own, so a step cut
# short (a crash) is finished by running it again: "already exists" errors of a
# repeated statement are taken as done (see _ALREADY_DONE).
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "principals, keys, realm config, nodes, change counter and log",
        (
            f"""CREATE TABLE IF NOT EXISTS principals (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                name VARBINARY(1024) NOT NULL,
                kvno BIGINT NOT NULL,
                requires_preauth BOOLEAN NOT NULL,
                disabled BOOLEAN NOT NULL,
                allow_forwardable BOOLEAN NOT NULL,
                allow_proxiable BOOLEAN NOT NULL,
                allow_renewable BOOLEAN NOT NULL,
                allow_tix BOOLEAN NOT NULL,
                allow_svr BOOLEAN NOT NULL,
                max_life BIGINT NULL,
                max_renewable_life BIGINT NULL,
                expiration BIGINT NULL,
                pw_expiration BIGINT NULL,
                created BIGINT NOT NULL,
                modified BIGINT NOT NULL,
                version BIGINT NOT NULL,
                UNIQUE KEY principals_name (name)) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS principal_keys (
                principal_id BIGINT NOT NULL,
                position INT NOT NULL,
                enctype INT NOT NULL,
                kvno BIGINT NOT NULL,
                key_contents VARBINARY(512) NOT NULL,
                salt VARBINARY(2048) NULL,
                s2kparams VARBINARY(255) NULL,
                PRIMARY KEY (principal_id, kvno, enctype),
                CONSTRAINT principal_keys_principal FOREIGN KEY (principal_id)
                    REFERENCES principals (id) ON DELETE CASCADE) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS realm_config (
                name VARBINARY(255) NOT NULL PRIMARY KEY,
                value TEXT NOT NULL) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS kdc_nodes (
                host VARBINARY(255) NOT NULL PRIMARY KEY,
                registered BIGINT NOT NULL,
                last_seen BIGINT NOT NULL) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS change_counter (
                id TINYINT NOT NULL PRIMARY KEY,
                value BIGINT NOT NULL,
                pruned_through BIGINT NOT NULL,
                CONSTRAINT change_counter_one_row CHECK (id = 1)) {_TABLE}""",
            "INSERT IGNORE INTO change_counter (id, value, pruned_through) VALUES (1, 0, 0)",
            f"""CREATE TABLE IF NOT EXISTS change_log (
                seq BIGINT NOT NULL PRIMARY KEY,
                kind VARCHAR(16) NOT NULL,
                name VARBINARY(1024) NOT NULL,
                changed BIGINT NOT NULL) {_TABLE}""",
        ),
    ),
    (
        2,
        "index the change log by time, for pruning",
        ("CREATE INDEX change_log_changed ON change_log (changed)",),
    ),
    (
        3,
        "users of the MySQL authentication plugin (TGT over HTTPS)",
        (
            f"""CREATE TABLE IF NOT EXISTS has_users (
                name VARBINARY(255) NOT NULL PRIMARY KEY,
                password_hash VARCHAR(255) NOT NULL,
                disabled BOOLEAN NOT NULL,
                created BIGINT NOT NULL,
                modified BIGINT NOT NULL) {_TABLE}""",
        ),
    ),
    (
        4,
        "the audit trail; plugin users linked to principals with keys",
        (
            "ALTER TABLE has_users ADD COLUMN linked BOOLEAN NOT NULL DEFAULT FALSE",
            f"""CREATE TABLE IF NOT EXISTS audit_log (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                at DOUBLE NOT NULL,
                node VARCHAR(255) NOT NULL,
                via VARCHAR(64) NOT NULL,
                actor VARCHAR(255) NOT NULL,
                address VARCHAR(64) NOT NULL,
                action VARCHAR(64) NOT NULL,
                target VARCHAR(1024) NOT NULL,
                result VARCHAR(16) NOT NULL,
                detail TEXT NOT NULL,
                KEY audit_log_at (at)) {_TABLE}""",
        ),
    ),
    (
        5,
        "node status (heartbeats); write tokens, so a write whose COMMIT got no answer "
        "is neither lost nor applied twice",
        (
            "ALTER TABLE kdc_nodes ADD COLUMN status TEXT NULL",
            f"""CREATE TABLE IF NOT EXISTS write_tokens (
                token BINARY(16) NOT NULL PRIMARY KEY,
                written BIGINT NOT NULL,
                KEY write_tokens_written (written)) {_TABLE}""",
        ),
    ),
    (
        6,
        "password policies; a principal's policy, last password change and history",
        (
            "ALTER TABLE principals ADD COLUMN policy VARBINARY(255) NULL",
            "ALTER TABLE principals ADD COLUMN last_pwd_change BIGINT NULL",
            "ALTER TABLE principals ADD COLUMN pw_history BLOB NULL",
            f"""CREATE TABLE IF NOT EXISTS password_policies (
                name VARBINARY(255) NOT NULL PRIMARY KEY,
                min_length INT NOT NULL,
                min_classes INT NOT NULL,
                history_num INT NOT NULL,
                min_life BIGINT NOT NULL,
                max_life BIGINT NOT NULL,
                created BIGINT NOT NULL,
                modified BIGINT NOT NULL) {_TABLE}""",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1][0]

_MAX_NAME = 1024  # bytes of UTF-8, the width of the name columns

# MySQL / MariaDB error numbers (mysqld_error.h, errmsg.h).
_CONNECTION_LOST = frozenset(
    {
        0,  # PyMySQL: the connection is already closed
        1053,  # ER_SERVER_SHUTDOWN
        1927,  # ER_CONNECTION_KILLED (MariaDB)
        2006,  # CR_SERVER_GONE_ERROR
        2013,  # CR_SERVER_LOST
        2014,  # CR_COMMANDS_OUT_OF_SYNC
        2055,  # CR_SERVER_LOST_EXTENDED
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
    }
)
_CANNOT_CONNECT = frozenset({2002, 2003, 2005, 1040, 1129, 1203})
_BUSY = frozenset({1205})  # lock wait timeout
_DEADLOCK = 1213  # InnoDB deadlock, or a Galera certification conflict: all rolled back
# Galera aborts a local transaction that stands in the way of a replicated write or a
# schema change (TOI) while a statement of it runs: that statement answers "Query
# execution was interrupted"; the transaction is rolled back and can be run again.
_INTERRUPTED = 1317
_NOT_READY = frozenset({1047})  # WSREP has not yet prepared node for application use
_COMMIT_FAILED = 1180  # Got error ... during COMMIT (e.g. Galera replication failed)
_UNKNOWN_VARIABLE = 1193
_READ_ONLY = frozenset({1290, 1792, 1836})
_ACCESS_DENIED = frozenset({1044, 1045, 1698})
_NO_SUCH_TABLE = 1146
_UNKNOWN_DATABASE = 1049
_ALREADY_DONE = frozenset({1050, 1060, 1061})  # table, column, index exists
_SSL_ERROR = 2026

# A dead connection found this fast is stale (the server restarted since the last
# call), not slow: the call is repeated once on a new connection.
_STALE_RETRY_WITHIN = 1.0
_MIGRATE_LOCK_WAIT = 120.0
_MIGRATE_IO_TIMEOUT = 60.0
# A unit that keeps losing certification to concurrent writers gives up after this many.
_MAX_CONFLICTS = 6
# How long a lost COMMIT may take to be found applied or not (a Galera cluster settles
# on its new membership within a few seconds of losing a node).
_COMMIT_CHECK_WAIT = 15.0
# Write tokens are only read back seconds after they are written; older ones go.
_TOKEN_RETENTION = 3600


class _ConnectionLost(BackendUnavailable):
    """The connection broke mid-call; ``during_commit`` means the outcome is unknown,
    ``timed_out`` that the host stopped answering (it is then skipped for a while)."""

    def __init__(self, message: str, *, during_commit: bool = False, timed_out: bool = False):
        super().__init__(message)
        self.during_commit = during_commit
        self.timed_out = timed_out


class _CommitUnknown(BackendUnavailable):
    """A unit's COMMIT got no answer: ``token`` tells whether it was applied."""

    def __init__(self, message: str, token: bytes | None, result: object):
        super().__init__(message)
        self.token = token
        self.result = result


def _reason_of(message: str) -> str:
    """A backend message without its "cannot reach MySQL at host:port/db: " lead."""
    for lead in (
        "cannot reach MySQL at ",
        "cannot connect to MySQL at ",
        "lost the connection to MySQL at ",
    ):
        if message.startswith(lead) and ": " in message:
            return message.split(": ", 1)[1]
    return message


def _galera_on(cur: Cursor) -> bool:
    """Whether the server is a Galera node (MySQL has no ``wsrep_on`` at all)."""
    try:
        cur.execute("SELECT @@GLOBAL.wsrep_on")
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] == _UNKNOWN_VARIABLE:
            return False
        raise
    row = cur.fetchone()
    return bool(row and int(row[0]))


def galera_status(cur: Cursor) -> dict[str, str]:
    """The Galera status of the server (``wsrep_`` variables, lower case), empty if none."""
    if not _galera_on(cur):
        return {}
    cur.execute(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', "
        "'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_state_uuid', "
        "'wsrep_connected')"
    )
    return {str(k).lower(): str(v) for k, v in cur.fetchall()}


def _galera_refusal(cur: Cursor) -> str | None:
    """Why a Galera node must not be used now (None: a Synced member of a primary
    component, or no Galera node at all)."""
    state = galera_status(cur)
    if not state:
        return None
    ready = state.get("wsrep_ready")
    status = state.get("wsrep_cluster_status")
    comment = state.get("wsrep_local_state_comment")
    if ready == "ON" and status == "Primary" and comment == "Synced":
        return None
    return f"the Galera node is {comment} in a {status} component (wsrep_ready {ready})"


# ---------------------------------------------------------------------- globs


def _glob_tokens(glob: str) -> Iterator[tuple[str, str]]:
    """Split a SQLite-style glob into ('lit', c), ('any', ''), ('one', ''), ('set', regex)."""
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            yield "any", ""
        elif ch == "?":
            yield "one", ""
        elif ch == "[":
            j = i + 1
            negate = j < len(glob) and glob[j] == "^"
            if negate:
                j += 1
            start = j
            if j < len(glob) and glob[j] == "]":
                j += 1  # a ']' first in the set is a member
            while j < len(glob) and glob[j] != "]":
                j += 1
            if j >= len(glob):  # no closing ']': SQLite matches nothing
                yield "never", ""
                return
            members = glob[start:j]
            parts = []
            k = 0
            while k < len(members):
                if k + 2 < len(members) and members[k + 1] == "-":
                    parts.append(f"{re.escape(members[k])}-{re.escape(members[k + 2])}")
                    k += 3
                else:
                    parts.append(re.escape(members[k]))
                    k += 1
            yield "set", ("[^" if negate else "[") + "".join(parts) + "]"
            i = j
        else:
            yield "lit", ch
        i += 1


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """The exact meaning of a SQLite GLOB (``*``, ``?``, ``[a-z]``, ``[^...]``) as a regex."""
    out = []
    for kind, value in _glob_tokens(glob):
        if kind == "never":
            return re.compile(r"(?!)")
        out.append(
            {"any": ".*", "one": ".", "set": value, "lit": re.escape(value)}[kind]  # type: ignore[index]
        )
    return re.compile("".join(out), re.DOTALL)


def glob_to_like(glob: str) -> str:
    """A LIKE pattern (escape ``\\``) matching a superset of ``glob``, for the index.

    ``?`` and ``[...]`` become ``%``; the regex of ``glob_to_regex`` then keeps the exact
    matches. A pattern starting with literal text uses the name index.
    """
    out = []
    for kind, value in _glob_tokens(glob):
        if kind == "any":
            out.append("%")
        elif kind in ("one", "set"):
            # '_' would match one byte of the VARBINARY name, not one character.
            out.append("%")
        elif kind == "lit":
            out.append("\\" + value if value in "%_\\" else value)
    return "".join(out)


# ---------------------------------------------------------------------- backend


class MysqlBackend(PrincipalSelect, IdentityBackend):
    """``IdentityBackend`` over one MySQL or MariaDB database (PyMySQL), on one or more hosts.

    Nothing is opened until the first call, so an object can be made while the
    database is down; every call then says ``BackendUnavailable`` until it is back.
    ``hosts`` (host, port) pairs, in the order to try them, replace ``host``/``port``
    when the database has several hosts (a Galera cluster).
    """

    latest_schema_version = LATEST_VERSION

    _KEY_COLUMN = "key_contents"

    def __init__(
        self,
        host: str,
        port: int = 3306,
        database: str = "has",
        user: str = "has",
        password: str = "",
        *,
        hosts: Sequence[tuple[str, int]] | None = None,
        create_database: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = 2.0,
        io_timeout: float = 5.0,
        lock_timeout: int = 4,
        reconnect_interval: float = 0.5,
        retry_preferred_after: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        if lock_timeout < 1 or lock_timeout >= io_timeout:
            raise BackendError(
                f"MySQL lock timeout {lock_timeout} s must be at least 1 s and shorter than "
                f"the read timeout ({io_timeout} s), or a lock wait would look like a dead server"
            )
        self.hosts = HostList(
            hosts or [(host, int(port))],
            reconnect_interval=reconnect_interval,
            retry_preferred_after=retry_preferred_after,
        )
        self.host, self.port = self.hosts.hosts[0].host, self.hosts.hosts[0].port
        self.database = database
        self.user = user
        self.__password = password
        self._principal_columns: tuple[str, ...] | None = None
        self.create_database = create_database
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.lock_timeout = int(lock_timeout)
        self.reconnect_interval = reconnect_interval
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: pymysql.connections.Connection | None = None
        self._cur: Cursor | None = None
        self._token: bytes | None = None
        self._tokens = True
        self._pid = os.getpid()
        self._at = 0  # the host in use, or being tried: the one messages name

    @classmethod
    def from_config(cls, config: BackendConfig, **options: Any) -> MysqlBackend:
        """The backend a ``backend.conf`` (``mysql_url``, user, password, TLS) describes.

        JDBC parameters in the URL, as Connector/J reads them, override the defaults:
        ``connectTimeout`` and ``socketTimeout`` (milliseconds), and
        ``secondsBeforeRetryPrimaryHost`` (how soon to try an earlier host again).
        """
        if not config.mysql_host or not config.mysql_database:
            raise BackendError("the mysql backend needs mysql_url with a host and a database")
        if not config.mysql_user:
            raise BackendError("the mysql backend needs mysql_user")
        params = {k.lower(): v for k, v in config.mysql_params.items()}
        for param, option, scale in (
            ("connecttimeout", "connect_timeout", 1000),
            ("sockettimeout", "io_timeout", 1000),
            ("secondsbeforeretryprimaryhost", "retry_preferred_after", 1),
        ):
            if param in params and option not in options:
                try:
                    value = int(params[param])
                except ValueError:
                    unit = "milliseconds" if scale == 1000 else "seconds"
                    raise BackendError(
                        f"mysql_url: {param}={params[param]!r} is not a number of {unit}"
                    ) from None
                if value > 0:
                    options[option] = value / scale
        if "io_timeout" in options and "lock_timeout" not in options:
            options["lock_timeout"] = max(1, int(options["io_timeout"]) - 1)
            if options["lock_timeout"] >= options["io_timeout"]:
                options["io_timeout"] = options["lock_timeout"] + 1.0
        context = None
        if config.mysql_ssl:
            context = ssl_context_for(
                str(config.mysql_ssl_ca) if config.mysql_ssl_ca else None,
                verify=config.mysql_ssl_verify,
            )
        return cls(
            config.mysql_host,
            config.mysql_port,
            config.mysql_database,
            config.mysql_user,
            config.mysql_password or "",
            hosts=config.database_hosts(),
            create_database=config.mysql_create_database,
            ssl_context=context,
            **options,
        )

    def __repr__(self) -> str:
        addresses = ",".join(h.address for h in self.hosts.hosts)
        return f"MysqlBackend('mysql://{self.user}@{addresses}/{self.database}')"

    @property
    def where(self) -> str:
        """``MySQL at host:port/database`` of the host in use (or being tried), for messages."""
        return f"MySQL at {self.hosts.hosts[self._at].address}/{self.database}"

    @property
    def current_host(self) -> str | None:
        """``host:port`` of the open connection, None when there is none."""
        index = self.hosts.current
        return None if index is None else self.hosts.hosts[index].address

    # ---------------------------------------------------------------- connection

    def _scrub(self, text: str) -> str:
        if self.__password and self.__password in text:
            text = text.replace(self.__password, "********")
        return text

    def _describe(self, exc: BaseException) -> str:
        args = getattr(exc, "args", ())
        if len(args) >= 2 and isinstance(args[0], int):
            return self._scrub(f"({args[0]}) {args[1]}")
        return self._scrub(str(exc) or type(exc).__name__)

    def _connect_args(self, index: int, **overrides: Any) -> dict[str, Any]:
        target = self.hosts.hosts[index]
        kwargs: dict[str, Any] = {
            "host": target.host,
            "port": target.port,
            "user": self.user,
            "password": self.__password,
            "database": self.database,
            "charset": "utf8mb4",
            "autocommit": False,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.io_timeout,
            "write_timeout": self.io_timeout,
        }
        if self.ssl_context is not None:
            kwargs["ssl"] = self.ssl_context
        kwargs.update(overrides)
        return kwargs

    def _open(self, index: int) -> pymysql.connections.Connection:
        """A new connection to host ``index``, set up for short READ COMMITTED transactions.

        A Galera node that is not a Synced member of the primary component (it lost
        quorum, or is joining, or is a donor) is refused like an unreachable server.
        """
        self._at = index
        kwargs = self._connect_args(index)
        try:
            try:
                conn = pymysql.connect(**kwargs)
            except pymysql.err.OperationalError as exc:
                if exc.args[0] != _UNKNOWN_DATABASE or not self.create_database:
                    raise
                self._create_database(kwargs)
                conn = pymysql.connect(**kwargs)
            try:
                with conn.cursor() as cur:
                    if (refusal := _galera_refusal(cur)) is not None:
                        raise BackendUnavailable(f"{self.where} is not usable: {refusal}")
                    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    cur.execute(
                        "SET SESSION innodb_lock_wait_timeout = %s, lock_wait_timeout = %s, "
                        "sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,"
                        "ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE'",
                        (self.lock_timeout, self.lock_timeout),
                    )
                conn.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.close()
                raise
        except pymysql.err.MySQLError as exc:
            raise self._connect_error(exc) from None
        except (OSError, ssl.SSLError) as exc:
            raise BackendUnavailable(f"cannot reach {self.where}: {self._describe(exc)}") from None
        return conn

    def _create_database(self, kwargs: dict[str, Any]) -> None:
        """``createDB=true``: make the database (utf8mb4, binary collation) once."""
        bare = dict(kwargs, database=None)
        conn = pymysql.connect(**bare)
        try:
            with conn.cursor() as cur:
                name = self.database.replace("`", "``")
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
            conn.commit()
            log.info("%s: database created", self.where)
        finally:
            conn.close()

    def _connect_error(self, exc: pymysql.err.MySQLError) -> BackendError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else -1
        detail = self._describe(exc)
        if code in _ACCESS_DENIED:
            return BackendError(
                f"{self.where} refused user {self.user!r}: access denied ({detail}); check "
                "mysql_user and mysql_password (or mysql_password_file) and the user's grants"
            )
        if code == _UNKNOWN_DATABASE:
            return BackendError(
                f"{self.where}: the database {self.database!r} does not exist; create it, or "
                "add createDB=true to mysql_url"
            )
        if code == _SSL_ERROR:
            return BackendError(f"{self.where}: TLS to the database failed: {detail}")
        if code in _CANNOT_CONNECT or code in _CONNECTION_LOST:
            return BackendUnavailable(f"cannot reach {self.where}: {detail}")
        return BackendUnavailable(f"cannot connect to {self.where}: {detail}")

    def _connection(self) -> pymysql.connections.Connection:
        """The open connection, or a new one to the first host that answers (see
        `has_kdc.backend.hosts` for the order and how failed hosts are skipped)."""
        if self._pid != os.getpid():
            # Inherited through fork(): the parent owns that session. Forget it
            # without COM_QUIT, which would end the parent's session too.
            self._conn = None
            self._pid = os.getpid()
            self.hosts.disconnected()
        if self._conn is not None:
            if self._depth == 0:
                self._win_back_preferred()
            return self._conn
        candidates = self.hosts.candidates()
        if not candidates:
            raise BackendUnavailable(
                f"{self._unreachable()} (next connection attempt in "
                f"{self.hosts.next_attempt_in():.1f} s)"
            )
        for index in candidates:
            try:
                conn = self._open(index)
            except BackendUnavailable as exc:
                self.hosts.failed(index, _reason_of(str(exc)))
                last = exc
                continue
            self._use(index, conn)
            return conn
        if len(self.hosts) == 1:
            raise last
        raise BackendUnavailable(self._unreachable())

    def _unreachable(self) -> str:
        if len(self.hosts) == 1:
            only = self.hosts.hosts[0]
            return f"cannot reach MySQL at {only.address}/{self.database}: {only.reason}"
        return f"no database host of {self!r} answers: {self.hosts.summary()}"

    def _use(self, index: int, conn: pymysql.connections.Connection) -> None:
        was_failing = self.hosts.connected(index)
        self._conn = conn
        self._at = index
        skipped = [h.address for h in self.hosts.hosts[:index] if h.failures]
        if skipped:
            log.warning(
                "%s: using it while %s cannot be used (%s)",
                self.where,
                ", ".join(skipped),
                "; ".join(f"{h.address}: {h.reason}" for h in self.hosts.hosts[:index]),
            )
        elif was_failing or index:
            log.info("%s: connected again", self.where)

    def _win_back_preferred(self) -> None:
        """On a later host: now and then try the earlier ones, and move back to one."""
        for index in self.hosts.preferred_due():
            current = self.hosts.current
            try:
                conn = self._open(index)
            except BackendUnavailable as exc:
                self.hosts.failed(index, _reason_of(str(exc)))
                self._at = current if current is not None else 0
                continue
            self._drop()
            self._use(index, conn)
            return

    def _drop(self, *, failed: str | None = None) -> None:
        """Forget a broken connection (closing it politely if it still can be).

        ``failed``: why the host is to be skipped for a while (a timeout), if it is.
        """
        conn, self._conn, self._cur = self._conn, None, None
        if failed is not None and self.hosts.current is not None:
            self.hosts.failed(self.hosts.current, failed)
        self.hosts.disconnected()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _translate(
        self, exc: pymysql.err.MySQLError, *, during_commit: bool = False
    ) -> BackendError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else -1
        detail = self._describe(exc)
        if isinstance(exc, pymysql.err.InterfaceError) or code in _CONNECTION_LOST:
            if during_commit:
                return _ConnectionLost(
                    f"lost the connection to {self.where} while committing; the change may "
                    f"or may not have been applied ({detail})",
                    during_commit=True,
                    timed_out="timed out" in detail,
                )
            return _ConnectionLost(
                f"lost the connection to {self.where}: {detail}", timed_out="timed out" in detail
            )
        if code in _NOT_READY:
            # The node left the cluster's primary component: a statement is refused
            # before it runs; a COMMIT so refused may have been replicated already.
            return _ConnectionLost(
                f"{self.where} left the Galera cluster's primary component: {detail}",
                during_commit=during_commit,
                timed_out=True,
            )
        if code == _COMMIT_FAILED and during_commit:
            return _ConnectionLost(
                f"{self.where}: the commit failed, it may or may not have been applied ({detail})",
                during_commit=True,
            )
        if code == _INTERRUPTED:
            return TransactionConflict(
                f"{self.where}: the transaction was aborted by a concurrent change or schema "
                f"change ({detail}); it can be run again"
            )
        if code == _DEADLOCK:
            return TransactionConflict(
                f"{self.where}: the transaction was rolled back, a concurrent change on this "
                f"or another database host won ({detail}); it can be run again"
            )
        if code in _CANNOT_CONNECT:
            return BackendUnavailable(f"cannot reach {self.where}: {detail}")
        if code in _BUSY:
            return BackendUnavailable(f"{self.where}: database is busy: {detail}")
        if code in _READ_ONLY:
            return BackendUnavailable(f"{self.where} is read-only: {detail}")
        if code == _NO_SUCH_TABLE:
            return SchemaError(f"{self.where}: the schema is missing ({detail}); run migrate()")
        return BackendError(f"{self.where}: {detail}")

    def _begin(self, write: bool) -> Cursor:
        """A cursor on a live connection; for a write, with the counter row locked and this
        unit's write token (``self._token``) recorded.

        Nothing has been done yet when a dead connection or a host gone from the
        cluster shows here, so this is tried again on a new connection (another host,
        if that one is gone), as long as that stays within the read timeout.
        """
        started = time.monotonic()
        for attempt in range(len(self.hosts) + 2):
            reused = self._conn is not None and self._pid == os.getpid()
            conn = self._connection()
            try:
                cur = conn.cursor()
                if write:
                    conn.begin()
                    cur.execute("SELECT value FROM change_counter WHERE id = 1 FOR UPDATE")
                    if cur.fetchone() is None:
                        raise SchemaError(f"{self.where}: the change counter row is missing")
                    self._token = self._write_token(cur)
                return cur
            except pymysql.err.MySQLError as exc:
                error = self._translate(exc)
                self._rollback_or_drop(error)
                if (
                    isinstance(error, _ConnectionLost | TransactionConflict)
                    and attempt <= len(self.hosts)
                    and (reused or len(self.hosts) > 1)
                    and time.monotonic() - started < min(self.io_timeout, _STALE_RETRY_WITHIN * 4)
                ):
                    continue
                raise error from None
            except BaseException as exc:
                self._rollback_or_drop(exc)
                raise
        raise AssertionError("unreachable")

    def _write_token(self, cur: Cursor) -> bytes | None:
        """Record a new write token in the unit begun on ``cur`` (None on a schema older
        than version 5, which has no table for them: such a unit is not repeated)."""
        if not self._tokens:
            return None
        token = os.urandom(16)
        now = self._now()
        try:
            cur.execute("INSERT INTO write_tokens (token, written) VALUES (%s, %s)", (token, now))
            if token[0] == 0:  # now and then (1 write in 256), forget the old ones
                cur.execute(
                    "DELETE FROM write_tokens WHERE written < %s", (now - _TOKEN_RETENTION,)
                )
        except pymysql.err.MySQLError as exc:
            if not exc.args or exc.args[0] != _NO_SUCH_TABLE:
                raise
            self._tokens = False  # until migrate() creates the table
            return None
        return token

    def _rollback_or_drop(self, exc: BaseException) -> None:
        if isinstance(exc, _ConnectionLost) or not isinstance(exc, Exception):
            # Broken, or interrupted mid-protocol (KeyboardInterrupt): start afresh.
            timed_out = isinstance(exc, _ConnectionLost) and exc.timed_out
            self._drop(failed=_reason_of(str(exc)) if timed_out else None)
            return
        if self._conn is not None:
            try:
                self._conn.rollback()
            except Exception:
                self._drop()

    def _commit(self, cur: Cursor, write: bool) -> None:
        """COMMIT; an outcome that cannot be known raises ``_ConnectionLost(during_commit)``."""
        try:
            cur.connection.commit()
        except pymysql.err.MySQLError as exc:
            error = self._translate(exc, during_commit=write)
            self._rollback_or_drop(error)
            raise error from None

    def _atomic(self, work: Callable[[Cursor], T], *, write: bool = False) -> T:
        """Run ``work`` in a transaction of its own, or as part of the open one.

        On its own, a unit is repeated when that is safe (see the module docstring):
        on a new connection or another host when the first was lost before anything
        was committed, after a Galera certification conflict, or when a lost COMMIT
        turns out not to have been applied (its write token is not there).
        """
        with self._lock:
            if self._depth:
                assert self._cur is not None
                try:
                    return work(self._cur)
                except pymysql.err.MySQLError as exc:
                    error = self._translate(exc)
                    if isinstance(error, _ConnectionLost):
                        error = TransactionConflict(
                            f"{error}; the transaction was rolled back and can be run again"
                        )
                    raise error from None
            return self._repeating(work, write)

    def _repeating(self, work: Callable[[Cursor], T], write: bool) -> T:
        started = time.monotonic()
        lost = conflicts = 0
        while True:
            reused = self._conn is not None and self._pid == os.getpid()
            attempt_started = time.monotonic()
            try:
                return self._run_once(work, write)
            except TransactionConflict:
                conflicts += 1
                if conflicts >= _MAX_CONFLICTS:
                    raise
                log.info("%s: write conflict, running it again (%d)", self.where, conflicts)
                time.sleep(random.uniform(0.005, 0.05) * conflicts)
            except _CommitUnknown as unknown:
                if self._committed(unknown.token):
                    log.warning("%s; it was applied", unknown)
                    return unknown.result  # type: ignore[return-value]
                log.warning("%s; it was not applied, running it again", unknown)
                lost += 1
                if lost > len(self.hosts):
                    raise BackendUnavailable(str(unknown)) from None
            except _ConnectionLost:
                lost += 1
                took = time.monotonic() - attempt_started
                if (
                    lost > len(self.hosts)
                    or time.monotonic() - started > self.io_timeout
                    or (not reused and len(self.hosts) == 1)
                    or (len(self.hosts) == 1 and took > _STALE_RETRY_WITHIN)
                ):
                    raise
                log.info("%s: connection lost, trying again", self.where)

    def _run_once(self, work: Callable[[Cursor], T], write: bool) -> T:
        cur = self._begin(write)
        token = self._token if write else None
        try:
            result = work(cur)
        except pymysql.err.MySQLError as exc:
            error = self._translate(exc)
            self._rollback_or_drop(error)
            raise error from None
        except BaseException as exc:
            self._rollback_or_drop(exc)
            raise
        try:
            self._commit(cur, write)
        except _ConnectionLost as lost:
            if not lost.during_commit:
                raise
            raise _CommitUnknown(str(lost), token, result) from None
        return result

    def _committed(self, token: bytes | None) -> bool:
        """Whether the unit that wrote ``token`` was committed (False: certainly not).

        Asked on a new connection (another host if that one is gone); on Galera with
        ``wsrep_sync_wait``, so a commit replicated before its node died is seen.
        Raises ``BackendUnavailable`` when no host can tell within ``_COMMIT_CHECK_WAIT``.
        """
        if token is None:
            return False
        deadline = time.monotonic() + _COMMIT_CHECK_WAIT
        while True:
            try:
                cur = self._connection().cursor()
                galera = _galera_on(cur)
                if galera:
                    cur.execute("SET SESSION wsrep_sync_wait = 1")
                cur.execute("SELECT 1 FROM write_tokens WHERE token = %s", (token,))
                found = cur.fetchone() is not None
                if galera:
                    cur.execute("SET SESSION wsrep_sync_wait = 0")
                cur.connection.commit()
                return found
            except pymysql.err.MySQLError as exc:
                error = self._translate(exc)
                self._rollback_or_drop(error)
                last: BackendError = error
            except BackendUnavailable as exc:
                last = exc
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"a change to {self!r} may or may not have been applied, and no database "
                    f"host could tell within {_COMMIT_CHECK_WAIT:.0f} s ({last}); check before "
                    "repeating it"
                )
            time.sleep(0.2)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[MysqlBackend]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            try:
                cur = self._begin(write=True)
            except _ConnectionLost as lost:  # nothing was done: the caller may run it again
                raise TransactionConflict(
                    f"{lost}; nothing was done, it can be run again"
                ) from None
            token = self._token
            self._cur = cur
            self._depth = 1
            try:
                yield self
            except BaseException as exc:
                self._rollback_or_drop(exc)
                raise
            finally:
                self._depth = 0
                self._cur = None
            try:
                self._commit(cur, True)
            except _ConnectionLost as lost:
                if not lost.during_commit:
                    raise TransactionConflict(f"{lost}; nothing was applied") from None
                if not self._committed(token):
                    raise TransactionConflict(
                        f"{lost}: it was not applied, and can be run again"
                    ) from None
                log.warning("%s; it was applied", lost)

    def _now(self) -> int:
        return int(self._clock())

    @staticmethod
    def _log_change(cur: Cursor, kind: str, name: str, now: int) -> int:
        """Bump the counter and record what changed; runs inside a write transaction."""
        cur.execute("UPDATE change_counter SET value = value + 1 WHERE id = 1")
        cur.execute("SELECT value FROM change_counter WHERE id = 1")
        seq = int(cur.fetchone()[0])
        cur.execute(
            "INSERT INTO change_log (seq, kind, name, changed) VALUES (%s, %s, %s, %s)",
            (seq, kind, name.encode("utf-8"), now),
        )
        if prune_due(seq):
            MysqlBackend._prune(cur, now - CHANGE_LOG_RETENTION)
        return seq

    @staticmethod
    def _prune(cur: Cursor, cutoff: int) -> int:
        cur.execute("SELECT COUNT(*), MAX(seq) FROM change_log WHERE changed < %s", (cutoff,))
        count, top = cur.fetchone()
        if not count:
            return 0
        cur.execute("DELETE FROM change_log WHERE seq <= %s", (top,))
        cur.execute(
            "UPDATE change_counter SET pruned_through = GREATEST(pruned_through, %s) WHERE id = 1",
            (top,),
        )
        return int(count)

    # ---------------------------------------------------------------- principals

    @staticmethod
    def _name_param(name: str) -> bytes:
        return name.encode("utf-8")

    def get_principal(self, name: str) -> Principal | None:
        if not storable_name(name):
            return None
        columns, select = self._columns(), self._SELECT

        def work(cur: Cursor) -> list[tuple]:
            cur.execute(select + "WHERE p.name = %s ORDER BY k.position", (self._name_param(name),))
            return list(cur.fetchall())

        return principals_from_rows(self._atomic(work), columns).get(name)

    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        wanted = [n for n in dict.fromkeys(names) if storable_name(n)]
        out: dict[str, Principal] = {}
        columns, select = self._columns(), self._SELECT
        for start in range(0, len(wanted), 500):
            chunk = [self._name_param(n) for n in wanted[start : start + 500]]

            def work(cur: Cursor, chunk: list[bytes] = chunk) -> list[tuple]:
                marks = ", ".join(["%s"] * len(chunk))
                cur.execute(
                    select + f"WHERE p.name IN ({marks}) ORDER BY p.id, k.position",
                    chunk,
                )
                return list(cur.fetchall())

            out.update(principals_from_rows(self._atomic(work), columns))
        return out

    def list_principals(self, glob: str | None = None) -> list[str]:
        def work(cur: Cursor) -> list[tuple]:
            if glob is None:
                cur.execute("SELECT name FROM principals ORDER BY name")
            else:
                cur.execute(
                    "SELECT name FROM principals WHERE name LIKE %s ESCAPE '\\\\' ORDER BY name",
                    (glob_to_like(glob).encode("utf-8"),),
                )
            return list(cur.fetchall())

        names = [text(r[0]) for r in self._atomic(work)]
        if glob is None:
            return names
        exact = glob_to_regex(glob)
        return [n for n in names if exact.fullmatch(n)]

    @staticmethod
    def _check_principal(principal: Principal, name: str) -> None:
        if len(name.encode("utf-8")) > _MAX_NAME:
            raise BackendError(
                f"principal {name[:60]}...: the name is longer than {_MAX_NAME} bytes"
            )
        check_keys(principal, name)

    @staticmethod
    def _write_keys(cur: Cursor, principal_id: int, keys: list[KeyData]) -> None:
        cur.execute("DELETE FROM principal_keys WHERE principal_id = %s", (principal_id,))
        if keys:
            cur.executemany(
                "INSERT INTO principal_keys (principal_id, position, enctype, kvno, key_contents, "
                "salt, s2kparams) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (principal_id, i, k.enctype, k.kvno, bytes(k.key), k.salt, k.s2kparams)
                    for i, k in enumerate(keys)
                ],
            )

    def add_principal(self, principal: Principal) -> Principal:
        name = stored_name(principal.name)
        self._check_principal(principal, name)
        now = self._now()
        stored = added(principal, name, now)
        columns = self._columns()

        def work(cur: Cursor) -> None:
            cur.execute("SELECT 1 FROM principals WHERE name = %s", (self._name_param(name),))
            if cur.fetchone():
                raise PrincipalExists(name)
            values = [getattr(stored, c) for c in columns]
            values[0] = self._name_param(name)
            cur.execute(
                f"INSERT INTO principals ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                values,
            )
            self._write_keys(cur, cur.lastrowid, stored.keys)
            self._log_change(cur, "principal", name, now)

        self._atomic(work, write=True)
        return stored

    _BULK_CHUNK = 500  # names per IN list and per multi-row INSERT batch

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        """Many principals in one transaction, a few statements per 500 (not per name).

        Multi-row INSERTs (PyMySQL's ``executemany``) for principals, keys and the
        change log; the counter moves by the number added, each name getting its
        own change number, exactly as one ``add_principal`` per name would.
        """
        now = self._now()
        stored: list[Principal] = []
        seen: set[str] = set()
        for principal in principals:
            name = stored_name(principal.name)
            self._check_principal(principal, name)
            if name in seen:
                raise PrincipalExists(name)
            seen.add(name)
            stored.append(added(principal, name, now))
        if not stored:
            return []
        columns = self._columns()

        def work(cur: Cursor) -> None:
            for start in range(0, len(stored), self._BULK_CHUNK):
                self._insert_chunk(cur, stored[start : start + self._BULK_CHUNK], now, columns)

        self._atomic(work, write=True)
        return stored

    def _insert_chunk(
        self, cur: Cursor, chunk: list[Principal], now: int, columns: tuple[str, ...]
    ) -> None:
        names = [self._name_param(p.name) for p in chunk]
        marks = ", ".join(["%s"] * len(names))
        cur.execute(f"SELECT name FROM principals WHERE name IN ({marks}) LIMIT 1", names)  # noqa: S608
        taken = cur.fetchone()
        if taken:
            raise PrincipalExists(text(taken[0]))
        rows = []
        for principal, name in zip(chunk, names, strict=True):
            values = [getattr(principal, c) for c in columns]
            values[0] = name
            rows.append(values)
        cur.executemany(
            f"INSERT INTO principals ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            rows,
        )
        cur.execute(f"SELECT name, id FROM principals WHERE name IN ({marks})", names)  # noqa: S608
        ids = {bytes(n): int(i) for n, i in cur.fetchall()}
        keys = [
            (ids[name], i, k.enctype, k.kvno, bytes(k.key), k.salt, k.s2kparams)
            for principal, name in zip(chunk, names, strict=True)
            for i, k in enumerate(principal.keys)
        ]
        if keys:
            cur.executemany(
                "INSERT INTO principal_keys (principal_id, position, enctype, kvno, key_contents, "
                "salt, s2kparams) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                keys,
            )
        cur.execute("UPDATE change_counter SET value = value + %s WHERE id = 1", (len(chunk),))
        cur.execute("SELECT value FROM change_counter WHERE id = 1")
        last = int(cur.fetchone()[0])
        first = last - len(chunk) + 1
        cur.executemany(
            "INSERT INTO change_log (seq, kind, name, changed) VALUES (%s, %s, %s, %s)",
            [(first + i, "principal", name, now) for i, name in enumerate(names)],
        )
        if prune_due(first, last):
            self._prune(cur, now - CHANGE_LOG_RETENTION)

    def update_principal(self, principal: Principal) -> Principal:
        self._check_principal(principal, principal.name)
        now = self._now()
        stored = updated(principal, now)
        changing = settable(self._columns())

        def work(cur: Cursor) -> None:
            cur.execute(
                "SELECT id, version FROM principals WHERE name = %s",
                (self._name_param(principal.name),),
            )
            row = cur.fetchone()
            if row is None:
                raise PrincipalNotFound(principal.name)
            if row[1] != principal.version:
                raise ConcurrentModification(principal.name, principal.version, int(row[1]))
            cur.execute(
                f"UPDATE principals SET {', '.join(f'{c} = %s' for c in changing)}, "  # noqa: S608
                "version = %s WHERE id = %s",
                [*(getattr(stored, c) for c in changing), stored.version, row[0]],
            )
            self._write_keys(cur, row[0], stored.keys)
            self._log_change(cur, "principal", principal.name, now)

        self._atomic(work, write=True)
        return stored

    def delete_principal(self, name: str) -> None:
        def work(cur: Cursor) -> None:
            cur.execute("DELETE FROM principals WHERE name = %s", (self._name_param(name),))
            if cur.rowcount == 0:
                raise PrincipalNotFound(name)
            self._log_change(cur, "principal", name, self._now())

        self._atomic(work, write=True)

    def rename_principal(self, old: str, new: str) -> Principal:
        new = stored_name(new)
        self._check_principal(Principal(new), new)
        with self.transaction():
            current = self.get_principal(old)
            if current is None:
                raise PrincipalNotFound(old)
            stored = renamed(current, old, new, self._now())

            def work(cur: Cursor) -> None:
                cur.execute("SELECT 1 FROM principals WHERE name = %s", (self._name_param(new),))
                if cur.fetchone():
                    raise PrincipalExists(new)
                cur.execute("SELECT id FROM principals WHERE name = %s", (self._name_param(old),))
                row_id = cur.fetchone()[0]
                cur.execute(
                    "UPDATE principals SET name = %s, modified = %s, version = %s WHERE id = %s",
                    (self._name_param(new), stored.modified, stored.version, row_id),
                )
                self._write_keys(cur, row_id, stored.keys)
                self._log_change(cur, "principal", old, stored.modified)
                self._log_change(cur, "principal", new, stored.modified)

            self._atomic(work, write=True)
        return stored

    # ---------------------------------------------------------------- realm config, nodes

    def get_realm_config(self) -> dict[str, str]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute("SELECT name, value FROM realm_config")
            return list(cur.fetchall())

        return {text(k): v for k, v in self._atomic(work)}

    def get_config(self, key: str) -> str | None:
        def work(cur: Cursor) -> tuple | None:
            cur.execute("SELECT value FROM realm_config WHERE name = %s", (key.encode("utf-8"),))
            return cur.fetchone()

        row = self._atomic(work)
        return None if row is None else row[0]

    def set_config(self, key: str, value: str | None) -> None:
        name = key.encode("utf-8")

        def work(cur: Cursor) -> None:
            if value is None:
                cur.execute("DELETE FROM realm_config WHERE name = %s", (name,))
            else:
                cur.execute("SELECT 1 FROM realm_config WHERE name = %s", (name,))
                if cur.fetchone():
                    cur.execute(
                        "UPDATE realm_config SET value = %s WHERE name = %s", (str(value), name)
                    )
                else:
                    cur.execute(
                        "INSERT INTO realm_config (name, value) VALUES (%s, %s)", (name, str(value))
                    )
            self._log_change(cur, "config", key, self._now())

        self._atomic(work, write=True)

    def register_node(self, host: str) -> None:
        now = self._now()
        encoded = host.encode("utf-8")

        def work(cur: Cursor) -> None:
            cur.execute("SELECT 1 FROM kdc_nodes WHERE host = %s", (encoded,))
            if cur.fetchone():
                cur.execute("UPDATE kdc_nodes SET last_seen = %s WHERE host = %s", (now, encoded))
            else:
                cur.execute(
                    "INSERT INTO kdc_nodes (host, registered, last_seen) VALUES (%s, %s, %s)",
                    (encoded, now, now),
                )
                self._log_change(cur, "node", host, now)

        self._atomic(work, write=True)

    def deregister_node(self, host: str) -> bool:
        encoded = host.encode("utf-8")

        def work(cur: Cursor) -> bool:
            gone = cur.execute("DELETE FROM kdc_nodes WHERE host = %s", (encoded,))
            if gone:
                self._log_change(cur, "node", host, self._now())
            return bool(gone)

        return self._atomic(work, write=True)

    def list_nodes(self) -> list[str]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute("SELECT host FROM kdc_nodes ORDER BY registered, host")
            return list(cur.fetchall())

        return [text(r[0]) for r in self._atomic(work)]

    def record_node_status(self, host: str, status: str) -> bool:
        now = self._now()
        encoded = host.encode("utf-8")

        def work(cur: Cursor) -> bool:
            if cur.execute(
                "UPDATE kdc_nodes SET last_seen = %s, status = %s WHERE host = %s",
                (now, status, encoded),
            ):
                return True
            # 0 rows changed: same second and status, or no such node
            cur.execute("SELECT 1 FROM kdc_nodes WHERE host = %s", (encoded,))
            return cur.fetchone() is not None

        return self._atomic(work, write=True)

    def node_records(self) -> list[NodeRecord]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(
                "SELECT host, registered, last_seen, status FROM kdc_nodes "
                "ORDER BY registered, host"
            )
            return list(cur.fetchall())

        return [NodeRecord(text(h), int(r), int(s), st) for h, r, s, st in self._atomic(work)]

    def database_hosts(self) -> list[DatabaseHostState]:
        """Each host of the URL as it answers now, on a connection of its own (short
        timeouts): reachable or why not, its schema version, its Galera state."""
        out = []
        for index, target in enumerate(self.hosts.hosts):
            state = DatabaseHostState(
                address=target.address,
                in_use=index == self.hosts.current,
                preferred=index == 0,
            )
            try:
                conn = pymysql.connect(
                    **self._connect_args(
                        index,
                        connect_timeout=min(1.0, self.connect_timeout),
                        read_timeout=min(2.0, self.io_timeout),
                        write_timeout=min(2.0, self.io_timeout),
                    )
                )
            except (pymysql.err.MySQLError, OSError, ssl.SSLError) as exc:
                state.error = self._describe(exc)
                out.append(state)
                continue
            try:
                with conn.cursor() as cur:
                    state.galera = galera_status(cur)
                    state.reachable = True
                    refusal = _galera_refusal(cur)
                    state.usable = refusal is None
                    state.error = refusal
                    if state.usable:
                        state.schema_version = self._read_schema_version(cur)
            except pymysql.err.MySQLError as exc:
                state.error = self._describe(exc)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()
            out.append(state)
        return out

    # ---------------------------------------------------------------- plugin users

    def get_plugin_user(self, name: str) -> PluginUser | None:
        def work(cur: Cursor) -> tuple | None:
            cur.execute(
                f"SELECT {USER_COLUMNS} FROM has_users WHERE name = %s",  # noqa: S608
                (name.encode("utf-8"),),
            )
            return cur.fetchone()

        row = self._atomic(work)
        return None if row is None else plugin_user_from_row(row)

    def put_plugin_user(self, user: PluginUser) -> PluginUser:
        check_plugin_user(user)
        now = self._now()
        encoded = user.name.encode("utf-8")

        def work(cur: Cursor) -> int:
            cur.execute("SELECT created FROM has_users WHERE name = %s FOR UPDATE", (encoded,))
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    f"INSERT INTO has_users ({USER_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (encoded, user.password_hash, user.disabled, now, now, user.linked),
                )
                return now
            cur.execute(
                "UPDATE has_users SET password_hash = %s, disabled = %s, modified = %s, "
                "linked = %s WHERE name = %s",
                (user.password_hash, user.disabled, now, user.linked, encoded),
            )
            return int(row[0])

        created = self._atomic(work, write=True)
        return replace(user, created=created, modified=now)

    def delete_plugin_user(self, name: str) -> bool:
        def work(cur: Cursor) -> bool:
            return cur.execute("DELETE FROM has_users WHERE name = %s", (name.encode("utf-8"),)) > 0

        return self._atomic(work, write=True)

    def list_plugin_users(self) -> list[PluginUser]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(f"SELECT {USER_COLUMNS} FROM has_users ORDER BY name")  # noqa: S608
            return list(cur.fetchall())

        return [plugin_user_from_row(r) for r in self._atomic(work)]

    # ---------------------------------------------------------------- password policies

    _POLICY_SELECT = f"SELECT {', '.join(POLICY_COLUMNS)} FROM password_policies "  # noqa: S608

    def get_policy(self, name: str) -> PasswordPolicy | None:
        def work(cur: Cursor) -> tuple | None:
            cur.execute(self._POLICY_SELECT + "WHERE name = %s", (name.encode("utf-8"),))
            return cur.fetchone()

        row = self._atomic(work)
        return None if row is None else policy_from_row(row)

    def put_policy(self, policy: PasswordPolicy) -> PasswordPolicy:
        check_policy(policy)
        now = self._now()
        encoded = policy.name.encode("utf-8")

        def work(cur: Cursor) -> PasswordPolicy:
            cur.execute(
                "SELECT created FROM password_policies WHERE name = %s FOR UPDATE", (encoded,)
            )
            row = cur.fetchone()
            stored = replace(policy, created=int(row[0]) if row else now, modified=now)
            values = [getattr(stored, c) for c in POLICY_COLUMNS]
            values[0] = encoded
            cur.execute(
                f"REPLACE INTO password_policies ({', '.join(POLICY_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(POLICY_COLUMNS))})",
                values,
            )
            self._log_change(cur, "policy", policy.name, now)
            return stored

        return self._atomic(work, write=True)

    def delete_policy(self, name: str) -> bool:
        def work(cur: Cursor) -> bool:
            gone = cur.execute(
                "DELETE FROM password_policies WHERE name = %s", (name.encode("utf-8"),)
            )
            if gone:
                self._log_change(cur, "policy", name, self._now())
            return gone > 0

        return self._atomic(work, write=True)

    def list_policies(self) -> list[PasswordPolicy]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(self._POLICY_SELECT + "ORDER BY name")
            return list(cur.fetchall())

        return [policy_from_row(r) for r in self._atomic(work)]

    # ---------------------------------------------------------------- audit trail

    def add_audit_record(self, record: AuditRecord) -> AuditRecord:
        values = audit_values(record)

        def work(cur: Cursor) -> int:
            cur.execute(
                f"INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(AUDIT_COLUMNS))})",
                values,
            )
            return int(cur.lastrowid)

        return replace(record, id=self._atomic(work, write=True))

    def list_audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        conditions, pattern = audit_conditions(query)
        clauses = [sql.format("%s") for sql, _value in conditions]
        params: list[object] = [value for _sql, value in conditions]
        if pattern is not None:
            clauses.append("target LIKE %s ESCAPE '\\\\'")
            params.append(pattern_as_like(pattern))
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""

        def work(cur: Cursor) -> list[tuple]:
            cur.execute(
                f"SELECT id, {', '.join(AUDIT_COLUMNS)} FROM audit_log "  # noqa: S608
                f"{where}ORDER BY id DESC LIMIT %s",
                [*params, query.limit],
            )
            return list(cur.fetchall())

        return [audit_record_from_row(r) for r in reversed(self._atomic(work))]

    # ---------------------------------------------------------------- changes

    def change_counter(self) -> int:
        def work(cur: Cursor) -> int:
            cur.execute("SELECT value FROM change_counter WHERE id = 1")
            row = cur.fetchone()
            if row is None:
                raise SchemaError(f"{self.where}: the change counter row is missing")
            return int(row[0])

        return self._atomic(work)

    def changes_since(self, counter: int) -> list[str] | None:
        # The log is read first and the counter after: under READ COMMITTED the two
        # reads see different moments, and in this order a prune that raced the log
        # read shows up in pruned_through, so no incomplete answer is given.
        def work(cur: Cursor) -> list[str] | None:
            cur.execute(
                "SELECT name FROM change_log WHERE seq > %s AND kind = 'principal' ORDER BY seq",
                (counter,),
            )
            rows = list(cur.fetchall())
            cur.execute("SELECT value, pruned_through FROM change_counter WHERE id = 1")
            value, pruned = cur.fetchone()
            return changes_answer(counter, value, pruned, (text(r[0]) for r in rows))

        return self._atomic(work)

    def prune_changes(self, older_than: int) -> int:
        return self._atomic(lambda cur: self._prune(cur, self._now() - older_than), write=True)

    # ---------------------------------------------------------------- schema

    @staticmethod
    def _read_schema_version(cur: Cursor) -> int:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = 'schema_version'"
        )
        if not cur.fetchone()[0]:
            return 0
        cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(cur.fetchone()[0])

    def schema_version(self) -> int:
        return self._atomic(self._read_schema_version)

    def _migrate_lock_name(self) -> str:
        # GET_LOCK names are server-wide and at most 64 characters.
        digest = hashlib.sha256(self.database.encode("utf-8")).hexdigest()[:32]
        return f"has_kdc.schema.{digest}"

    def migrate(self, target: int | None = None) -> int:
        """Create or upgrade the schema; one node at a time (``GET_LOCK``), others wait."""
        goal = migration_goal(target, LATEST_VERSION)
        with self._lock:
            if self._depth:
                raise BackendError("migrate() cannot run inside a transaction (DDL commits)")
            # Lock, steps and release on one connection: GET_LOCK belongs to the session.
            version = self._atomic(lambda cur: self._migrate_with_lock(cur, goal))
            self._tokens = True
            self._principal_columns = None
            return version

    def _migrate_with_lock(self, cur: Cursor, goal: int) -> int:
        # Schema changes are not on any request's path, and on Galera a DDL statement
        # waits its turn in the cluster's total order: wait longer than a request may.
        conn = cur.connection
        saved = conn._read_timeout, conn._write_timeout
        conn._read_timeout = conn._write_timeout = _MIGRATE_IO_TIMEOUT
        try:
            return self._migrate_locked_steps(cur, goal)
        finally:
            conn._read_timeout, conn._write_timeout = saved

    def _migrate_locked_steps(self, cur: Cursor, goal: int) -> int:
        lock_name = self._migrate_lock_name()
        deadline = time.monotonic() + _MIGRATE_LOCK_WAIT
        wait = max(1, self.lock_timeout - 1)  # each wait stays inside the read timeout
        while True:
            cur.execute("SELECT GET_LOCK(%s, %s)", (lock_name, wait))
            if cur.fetchone()[0] == 1:
                break
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"{self.where}: another node has been migrating the schema for over "
                    f"{_MIGRATE_LOCK_WAIT:.0f} s; try again later"
                )
        try:
            return self._migrate_locked(cur, goal)
        finally:
            with contextlib.suppress(pymysql.err.MySQLError):
                cur.execute("DO RELEASE_LOCK(%s)", (lock_name,))

    def _migrate_locked(self, cur: Cursor, goal: int) -> int:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY, "
            f"description VARCHAR(255) NOT NULL, applied BIGINT NOT NULL) {_TABLE}"
        )
        current = self._read_schema_version(cur)
        if current > LATEST_VERSION:
            raise newer_schema(self.where, current, LATEST_VERSION)
        for version, description, statements in MIGRATIONS:
            if current < version <= goal:
                for statement in statements:
                    try:
                        cur.execute(statement)
                    except pymysql.err.MySQLError as exc:
                        if not exc.args or exc.args[0] not in _ALREADY_DONE:
                            raise
                # IGNORE: on Galera another host's run may have recorded it first.
                cur.execute(
                    "INSERT IGNORE INTO schema_version (version, description, applied) "
                    "VALUES (%s, %s, %s)",
                    (version, description, self._now()),
                )
                cur.connection.commit()
                log.info("%s: schema upgraded to version %d (%s)", self.where, version, description)
        return max(current, goal)

    # ---------------------------------------------------------------- lifetime

    def close(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._conn = None
                return
            self._drop()


def ssl_context_for(ca_file: str | None, *, verify: bool = True) -> ssl.SSLContext:
    """TLS to the database: the given CA (or the system's), host name checked if ``verify``."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise BackendError(
            f"mysql_ssl_ca = {ca_file}: cannot load the CA certificate: {exc}"
        ) from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
