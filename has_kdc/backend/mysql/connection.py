"""One connection to a MySQL/MariaDB database on one of its hosts.

* **Failover.** The connection goes to the first host that answers, in the order
  ``has_kdc.backend.hosts`` keeps (failed hosts skipped for a while, the preferred
  one won back); a Galera node that is not a Synced member of a primary component
  is refused like an unreachable server.
* **READ COMMITTED, bounded waits.** Each session is set to READ COMMITTED (a KDC
  keeps its connection for days, and REPEATABLE READ could hide other nodes'
  commits) with lock waits shorter than the read timeout, so a hung server and a
  long lock wait are told apart.
* **Secrets.** The password is held in one private attribute; it never appears in
  a repr, a log line or an error (messages are scrubbed of it as well).
* **fork().** A connection inherited through fork() is forgotten, not closed: the
  parent owns that session.

Running units of work on it (transactions, retries) is ``session.py``'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import pymysql
from pymysql.cursors import Cursor

from has_kdc.backend.errors import BackendError, BackendUnavailable
from has_kdc.backend.hosts import HostList
from has_kdc.backend.model import DatabaseHostState
from has_kdc.backend.mysql.errors import (
    UNKNOWN_DATABASE,
    connect_error,
    reason_of,
    translate,
)
from has_kdc.backend.mysql.galera import galera_refusal, galera_status
from has_kdc.conf.backend import BackendConfig

__all__ = ["MysqlConnection", "settings_from_config", "ssl_context_for"]

log = logging.getLogger("has_kdc.backend")


class MysqlConnection:
    """The connection of one store object, to one of the database's hosts.

    Nothing is opened until the first call, so an object can be made while the
    database is down. ``hosts`` (host, port) pairs, in the order to try them, replace
    ``host``/``port`` when the database has several hosts (a Galera cluster).
    Not thread-safe: its session calls it under one lock.
    """

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
        self.create_database = create_database
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.lock_timeout = int(lock_timeout)
        self.reconnect_interval = reconnect_interval
        self.conn: pymysql.connections.Connection | None = None
        self._pid = os.getpid()
        self._at = 0  # the host in use, or being tried: the one messages name

    @property
    def label(self) -> str:
        """The store as messages name it (no password)."""
        addresses = ",".join(h.address for h in self.hosts.hosts)
        return f"MysqlBackend('mysql://{self.user}@{addresses}/{self.database}')"

    def __repr__(self) -> str:
        return self.label

    @property
    def where(self) -> str:
        """``MySQL at host:port/database`` of the host in use (or being tried), for messages."""
        return f"MySQL at {self.hosts.hosts[self._at].address}/{self.database}"

    @property
    def current_host(self) -> str | None:
        """``host:port`` of the open connection, None when there is none."""
        index = self.hosts.current
        return None if index is None else self.hosts.hosts[index].address

    def scrub(self, text: str) -> str:
        if self.__password and self.__password in text:
            text = text.replace(self.__password, "********")
        return text

    def describe(self, exc: BaseException) -> str:
        args = getattr(exc, "args", ())
        if len(args) >= 2 and isinstance(args[0], int):
            return self.scrub(f"({args[0]}) {args[1]}")
        return self.scrub(str(exc) or type(exc).__name__)

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
                if exc.args[0] != UNKNOWN_DATABASE or not self.create_database:
                    raise
                self._create_database(kwargs)
                conn = pymysql.connect(**kwargs)
            try:
                with conn.cursor() as cur:
                    if (refusal := galera_refusal(cur)) is not None:
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
            raise connect_error(
                exc, self.where, self.describe(exc), self.user, self.database
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise BackendUnavailable(f"cannot reach {self.where}: {self.describe(exc)}") from None
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

    def connection(self) -> pymysql.connections.Connection:
        """The open connection, or a new one to the first host that answers (see
        `has_kdc.backend.hosts` for the order and how failed hosts are skipped)."""
        if self._pid != os.getpid():
            # Inherited through fork(): the parent owns that session. Forget it
            # without COM_QUIT, which would end the parent's session too.
            self.conn = None
            self._pid = os.getpid()
            self.hosts.disconnected()
        if self.conn is not None:
            self._win_back_preferred()
            return self.conn
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
                self.hosts.failed(index, reason_of(str(exc)))
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
        return f"no database host of {self.label} answers: {self.hosts.summary()}"

    def _use(self, index: int, conn: pymysql.connections.Connection) -> None:
        was_failing = self.hosts.connected(index)
        self.conn = conn
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
                self.hosts.failed(index, reason_of(str(exc)))
                self._at = current if current is not None else 0
                continue
            self.drop()
            self._use(index, conn)
            return

    def drop(self, *, failed: str | None = None) -> None:
        """Forget a broken connection (closing it politely if it still can be).

        ``failed``: why the host is to be skipped for a while (a timeout), if it is.
        """
        conn, self.conn = self.conn, None
        if failed is not None and self.hosts.current is not None:
            self.hosts.failed(self.hosts.current, failed)
        self.hosts.disconnected()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def is_open(self) -> bool:
        """Whether a connection of this process is open (one to reuse, not a new one)."""
        return self.conn is not None and self._pid == os.getpid()

    def translate(
        self, exc: pymysql.err.MySQLError, *, during_commit: bool = False
    ) -> BackendError:
        """The store's error for ``exc``, named after the host in use, scrubbed."""
        return translate(exc, self.where, self.describe(exc), during_commit=during_commit)

    def probe(self, schema_version: Callable[[Cursor], int]) -> list[DatabaseHostState]:
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
                state.error = self.describe(exc)
                out.append(state)
                continue
            try:
                with conn.cursor() as cur:
                    state.galera = galera_status(cur)
                    state.reachable = True
                    refusal = galera_refusal(cur)
                    state.usable = refusal is None
                    state.error = refusal
                    if state.usable:
                        state.schema_version = schema_version(cur)
            except pymysql.err.MySQLError as exc:
                state.error = self.describe(exc)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()
            out.append(state)
        return out

    def close(self) -> None:
        """Close the connection (only forget it in a child of the process that opened it)."""
        if self._pid != os.getpid():
            self.conn = None
            return
        self.drop()


def settings_from_config(config: BackendConfig, **options: Any) -> dict[str, Any]:
    """``MysqlConnection``'s arguments (and ``options``) for the store a
    ``backend.conf`` (``mysql_url``, user, password, TLS) describes.

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
    return {
        "host": config.mysql_host,
        "port": config.mysql_port,
        "database": config.mysql_database,
        "user": config.mysql_user,
        "password": config.mysql_password or "",
        "hosts": config.database_hosts(),
        "create_database": config.mysql_create_database,
        "ssl_context": context,
        **options,
    }


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
