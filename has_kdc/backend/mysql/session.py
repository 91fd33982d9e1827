"""Units of work on a MySQL connection: each call one short transaction, repeated
when that is safe, and ``transaction()`` grouping several into one exclusive unit.

* **Exclusive units.** A write (and ``transaction()``) starts by locking the one row
  of ``change_counter`` with ``SELECT ... FOR UPDATE``. Every write also bumps that
  row, so all writers, on every node, queue on it: a read-check-write such as realm
  initialization runs exactly once however many nodes start it together. Reads take
  no lock and are never blocked by a writer. Each unit ends with COMMIT (which also
  releases metadata locks a later migration would wait on).
* **Recovery without restart.** A lost connection is dropped and the next call opens
  a new one. A call that finds its connection dead at once (the server was restarted
  since the last call) is retried once on a new connection, so the first request
  after a database restart succeeds.
* **Repeats that are safe.** A Galera certification conflict (1213) or an interrupted
  statement (1317) rolled the whole unit back: it runs again. A COMMIT that got no
  answer is settled by the unit's write token (schema 5): found, it was applied;
  absent, the unit runs again — never lost, never applied twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pymysql
from pymysql.cursors import Cursor

from has_kdc.backend.errors import (
    BackendError,
    BackendUnavailable,
    SchemaError,
    TransactionConflict,
)
from has_kdc.backend.mysql.connection import MysqlConnection
from has_kdc.backend.mysql.errors import NO_SUCH_TABLE, CommitUnknown, ConnectionLost, reason_of
from has_kdc.backend.mysql.galera import galera_on
from has_kdc.backend.sql.dialect import MYSQL
from has_kdc.backend.sql.nesting import NestedTransactions

__all__ = ["MysqlSession"]

log = logging.getLogger("has_kdc.backend")

T = TypeVar("T")

# A dead connection found this fast is stale (the server restarted since the last
# call), not slow: the call is repeated once on a new connection.
STALE_RETRY_WITHIN = 1.0
# A unit that keeps losing certification to concurrent writers gives up after this many.
MAX_CONFLICTS = 6
# How long a lost COMMIT may take to be found applied or not (a Galera cluster settles
# on its new membership within a few seconds of losing a node).
COMMIT_CHECK_WAIT = 15.0
# Write tokens are only read back seconds after they are written; older ones go.
TOKEN_RETENTION = 3600


class MysqlSession(NestedTransactions):
    """The ``Session`` the MySQL stores run their work in: one connection, guarded by a
    lock so threads may share it."""

    dialect = MYSQL

    def __init__(self, link: MysqlConnection, *, clock: Callable[[], float] = time.time):
        self.link = link
        self.lock = threading.RLock()
        self.tokens = True  # until a unit finds no write_tokens table (schema < 5)
        self._clock = clock
        self._cur: Cursor | None = None
        self._token: bytes | None = None

    def __repr__(self) -> str:
        return self.link.label

    @property
    def where(self) -> str:
        return self.link.where

    def now(self) -> int:
        return int(self._clock())

    def close(self) -> None:
        with self.lock:
            self.link.close()

    def _begin(self, write: bool) -> Cursor:
        """A cursor on a live connection; for a write, with the counter row locked and this
        unit's write token (``self._token``) recorded.

        Nothing has been done yet when a dead connection or a host gone from the
        cluster shows here, so this is tried again on a new connection (another host,
        if that one is gone), as long as that stays within the read timeout.
        """
        started = time.monotonic()
        for attempt in range(len(self.link.hosts) + 2):
            reused = self.link.is_open()
            conn = self.link.connection()
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
                error = self.link.translate(exc)
                self._rollback_or_drop(error)
                if (
                    isinstance(error, ConnectionLost | TransactionConflict)
                    and attempt <= len(self.link.hosts)
                    and (reused or len(self.link.hosts) > 1)
                    and time.monotonic() - started
                    < min(self.link.io_timeout, STALE_RETRY_WITHIN * 4)
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
        if not self.tokens:
            return None
        token = os.urandom(16)
        now = self.now()
        try:
            cur.execute("INSERT INTO write_tokens (token, written) VALUES (%s, %s)", (token, now))
            if token[0] == 0:  # now and then (1 write in 256), forget the old ones
                cur.execute("DELETE FROM write_tokens WHERE written < %s", (now - TOKEN_RETENTION,))
        except pymysql.err.MySQLError as exc:
            if not exc.args or exc.args[0] != NO_SUCH_TABLE:
                raise
            self.tokens = False  # until migrate() creates the table
            return None
        return token

    def _rollback_or_drop(self, exc: BaseException) -> None:
        if isinstance(exc, ConnectionLost) or not isinstance(exc, Exception):
            # Broken, or interrupted mid-protocol (KeyboardInterrupt): start afresh.
            timed_out = isinstance(exc, ConnectionLost) and exc.timed_out
            self.link.drop(failed=reason_of(str(exc)) if timed_out else None)
            return
        if self.link.conn is not None:
            try:
                self.link.conn.rollback()
            except Exception:
                self.link.drop()

    def _commit(self, cur: Cursor, write: bool) -> None:
        """COMMIT; an outcome that cannot be known raises ``ConnectionLost(during_commit)``."""
        try:
            cur.connection.commit()
        except pymysql.err.MySQLError as exc:
            error = self.link.translate(exc, during_commit=write)
            self._rollback_or_drop(error)
            raise error from None

    def atomic(
        self, work: Callable[[Cursor], T], *, write: bool = False, snapshot: bool = False
    ) -> T:
        """Run ``work`` in a transaction of its own, or as part of the open one.
        (``snapshot`` asks nothing more here: a unit's reads that must agree are ordered
        so that READ COMMITTED cannot mislead them.)

        On its own, a unit is repeated when that is safe (see the module docstring):
        on a new connection or another host when the first was lost before anything
        was committed, after a Galera certification conflict, or when a lost COMMIT
        turns out not to have been applied (its write token is not there).
        """
        with self.lock:
            if self._depth:
                assert self._cur is not None
                try:
                    return work(self._cur)
                except pymysql.err.MySQLError as exc:
                    error = self.link.translate(exc)
                    if isinstance(error, ConnectionLost):
                        error = TransactionConflict(
                            f"{error}; the transaction was rolled back and can be run again"
                        )
                    raise error from None
            return self._repeating(work, write)

    def _repeating(self, work: Callable[[Cursor], T], write: bool) -> T:
        started = time.monotonic()
        lost = conflicts = 0
        while True:
            reused = self.link.is_open()
            attempt_started = time.monotonic()
            try:
                return self._run_once(work, write)
            except TransactionConflict:
                conflicts += 1
                if conflicts >= MAX_CONFLICTS:
                    raise
                log.info("%s: write conflict, running it again (%d)", self.where, conflicts)
                time.sleep(random.uniform(0.005, 0.05) * conflicts)
            except CommitUnknown as unknown:
                if self._committed(unknown.token):
                    log.warning("%s; it was applied", unknown)
                    return unknown.result  # type: ignore[return-value]
                log.warning("%s; it was not applied, running it again", unknown)
                lost += 1
                if lost > len(self.link.hosts):
                    raise BackendUnavailable(str(unknown)) from None
            except ConnectionLost:
                lost += 1
                took = time.monotonic() - attempt_started
                if (
                    lost > len(self.link.hosts)
                    or time.monotonic() - started > self.link.io_timeout
                    or (not reused and len(self.link.hosts) == 1)
                    or (len(self.link.hosts) == 1 and took > STALE_RETRY_WITHIN)
                ):
                    raise
                log.info("%s: connection lost, trying again", self.where)

    def _run_once(self, work: Callable[[Cursor], T], write: bool) -> T:
        cur = self._begin(write)
        token = self._token if write else None
        try:
            result = work(cur)
        except pymysql.err.MySQLError as exc:
            error = self.link.translate(exc)
            self._rollback_or_drop(error)
            raise error from None
        except BaseException as exc:
            self._rollback_or_drop(exc)
            raise
        try:
            self._commit(cur, write)
        except ConnectionLost as lost:
            if not lost.during_commit:
                raise
            raise CommitUnknown(str(lost), token, result) from None
        return result

    def _committed(self, token: bytes | None) -> bool:
        """Whether the unit that wrote ``token`` was committed (False: certainly not).

        Asked on a new connection (another host if that one is gone); on Galera with
        ``wsrep_sync_wait``, so a commit replicated before its node died is seen.
        Raises ``BackendUnavailable`` when no host can tell within ``COMMIT_CHECK_WAIT``.
        """
        if token is None:
            return False
        deadline = time.monotonic() + COMMIT_CHECK_WAIT
        while True:
            try:
                cur = self.link.connection().cursor()
                galera = galera_on(cur)
                if galera:
                    cur.execute("SET SESSION wsrep_sync_wait = 1")
                cur.execute("SELECT 1 FROM write_tokens WHERE token = %s", (token,))
                found = cur.fetchone() is not None
                if galera:
                    cur.execute("SET SESSION wsrep_sync_wait = 0")
                cur.connection.commit()
                return found
            except pymysql.err.MySQLError as exc:
                error = self.link.translate(exc)
                self._rollback_or_drop(error)
                last: BackendError = error
            except BackendUnavailable as exc:
                last = exc
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"a change to {self.link.label} may or may not have been applied, and no "
                    f"database host could tell within {COMMIT_CHECK_WAIT:.0f} s ({last}); check "
                    "before repeating it"
                )
            time.sleep(0.2)

    @contextlib.contextmanager
    def _outermost(self) -> Iterator[None]:
        try:
            cur = self._begin(write=True)
        except ConnectionLost as lost:  # nothing was done: the caller may run it again
            raise TransactionConflict(f"{lost}; nothing was done, it can be run again") from None
        token = self._token
        self._cur = cur
        self._depth = 1
        try:
            yield
        except BaseException as exc:
            self._rollback_or_drop(exc)
            raise
        finally:
            self._depth = 0
            self._cur = None
        try:
            self._commit(cur, True)
        except ConnectionLost as lost:
            if not lost.during_commit:
                raise TransactionConflict(f"{lost}; nothing was applied") from None
            if not self._committed(token):
                raise TransactionConflict(
                    f"{lost}: it was not applied, and can be run again"
                ) from None
            log.warning("%s; it was applied", lost)
