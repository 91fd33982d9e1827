"""MySQL and MariaDB error numbers, and what each means to the store.

The translation is where a Galera cluster's refusals become ``TransactionConflict``
(1213 a certification conflict, 1317 a statement interrupted by a replicated write or
schema change: both rolled back whole, so run again), and where a lost connection is
told from a lost COMMIT, whose outcome is unknown.
"""

from __future__ import annotations

import pymysql

from has_kdc.backend.errors import (
    BackendError,
    BackendUnavailable,
    SchemaError,
    TransactionConflict,
)

__all__ = ["CommitUnknown", "ConnectionLost", "connect_error", "reason_of", "translate"]

# MySQL / MariaDB error numbers (mysqld_error.h, errmsg.h).
CONNECTION_LOST = frozenset(
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
CANNOT_CONNECT = frozenset({2002, 2003, 2005, 1040, 1129, 1203})
BUSY = frozenset({1205})  # lock wait timeout
DEADLOCK = 1213  # InnoDB deadlock, or a Galera certification conflict: all rolled back
# Galera aborts a local transaction that stands in the way of a replicated write or a
# schema change (TOI) while a statement of it runs: that statement answers "Query
# execution was interrupted"; the transaction is rolled back and can be run again.
INTERRUPTED = 1317
NOT_READY = frozenset({1047})  # WSREP has not yet prepared node for application use
COMMIT_FAILED = 1180  # Got error ... during COMMIT (e.g. Galera replication failed)
UNKNOWN_VARIABLE = 1193
READ_ONLY = frozenset({1290, 1792, 1836})
ACCESS_DENIED = frozenset({1044, 1045, 1698})
NO_SUCH_TABLE = 1146
UNKNOWN_DATABASE = 1049
ALREADY_DONE = frozenset({1050, 1060, 1061})  # table, column, index exists
SSL_ERROR = 2026


class ConnectionLost(BackendUnavailable):
    """The connection broke mid-call; ``during_commit`` means the outcome is unknown,
    ``timed_out`` that the host stopped answering (it is then skipped for a while)."""

    def __init__(self, message: str, *, during_commit: bool = False, timed_out: bool = False):
        super().__init__(message)
        self.during_commit = during_commit
        self.timed_out = timed_out


class CommitUnknown(BackendUnavailable):
    """A unit's COMMIT got no answer: ``token`` tells whether it was applied."""

    def __init__(self, message: str, token: bytes | None, result: object):
        super().__init__(message)
        self.token = token
        self.result = result


def reason_of(message: str) -> str:
    """A backend message without its "cannot reach MySQL at host:port/db: " lead."""
    for lead in (
        "cannot reach MySQL at ",
        "cannot connect to MySQL at ",
        "lost the connection to MySQL at ",
    ):
        if message.startswith(lead) and ": " in message:
            return message.split(": ", 1)[1]
    return message


def error_code(exc: pymysql.err.MySQLError) -> int:
    """The server's error number of ``exc`` (-1 when it has none)."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else -1


def translate(
    exc: pymysql.err.MySQLError, where: str, detail: str, *, during_commit: bool = False
) -> BackendError:
    """The store's error for ``exc``, raised by a statement (or the COMMIT) on ``where``;
    ``detail`` is the server's message, already scrubbed of the password."""
    code = error_code(exc)
    if isinstance(exc, pymysql.err.InterfaceError) or code in CONNECTION_LOST:
        if during_commit:
            return ConnectionLost(
                f"lost the connection to {where} while committing; the change may "
                f"or may not have been applied ({detail})",
                during_commit=True,
                timed_out="timed out" in detail,
            )
        return ConnectionLost(
            f"lost the connection to {where}: {detail}", timed_out="timed out" in detail
        )
    if code in NOT_READY:
        # The node left the cluster's primary component: a statement is refused
        # before it runs; a COMMIT so refused may have been replicated already.
        return ConnectionLost(
            f"{where} left the Galera cluster's primary component: {detail}",
            during_commit=during_commit,
            timed_out=True,
        )
    if code == COMMIT_FAILED and during_commit:
        return ConnectionLost(
            f"{where}: the commit failed, it may or may not have been applied ({detail})",
            during_commit=True,
        )
    if code == INTERRUPTED:
        return TransactionConflict(
            f"{where}: the transaction was aborted by a concurrent change or schema "
            f"change ({detail}); it can be run again"
        )
    if code == DEADLOCK:
        return TransactionConflict(
            f"{where}: the transaction was rolled back, a concurrent change on this "
            f"or another database host won ({detail}); it can be run again"
        )
    if code in CANNOT_CONNECT:
        return BackendUnavailable(f"cannot reach {where}: {detail}")
    if code in BUSY:
        return BackendUnavailable(f"{where}: database is busy: {detail}")
    if code in READ_ONLY:
        return BackendUnavailable(f"{where} is read-only: {detail}")
    if code == NO_SUCH_TABLE:
        return SchemaError(f"{where}: the schema is missing ({detail}); run migrate()")
    return BackendError(f"{where}: {detail}")


def connect_error(
    exc: pymysql.err.MySQLError, where: str, detail: str, user: str, database: str
) -> BackendError:
    """The store's error for a connection attempt that ``exc`` refused."""
    code = error_code(exc)
    if code in ACCESS_DENIED:
        return BackendError(
            f"{where} refused user {user!r}: access denied ({detail}); check "
            "mysql_user and mysql_password (or mysql_password_file) and the user's grants"
        )
    if code == UNKNOWN_DATABASE:
        return BackendError(
            f"{where}: the database {database!r} does not exist; create it, or "
            "add createDB=true to mysql_url"
        )
    if code == SSL_ERROR:
        return BackendError(f"{where}: TLS to the database failed: {detail}")
    if code in CANNOT_CONNECT or code in CONNECTION_LOST:
        return BackendUnavailable(f"cannot reach {where}: {detail}")
    return BackendUnavailable(f"cannot connect to {where}: {detail}")
