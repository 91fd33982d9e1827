"""One SQLite file, shared by every process of one node, as the stores' session.

The KDC worker processes, ``has-server``'s web part and the ``kdcinit`` /
``hadmin-local`` tools open the same file at once, so:

* WAL journal: readers never block the writer nor each other.
* ``BEGIN IMMEDIATE`` for every write: the write lock is taken up front, so two
  writers queue on the busy timeout instead of one failing with "database is
  locked" when it upgrades a read lock.
* ``synchronous=FULL``: a principal whose keys were handed out in a keytab must
  not vanish in a power cut.
* The file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm
  files the same mode): it holds every key of the realm.

One connection per object, guarded by a lock so threads may share it; open a new
object after ``fork()``, never share one across processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from has_kdc.backend.errors import BackendError, BackendUnavailable, SchemaError
from has_kdc.backend.sql.dialect import SQLITE, Cursor
from has_kdc.backend.sql.nesting import NestedTransactions

__all__ = ["SqliteConnection"]

log = logging.getLogger("has_kdc.backend")

T = TypeVar("T")


def _create_private_file(path: Path) -> None:
    """Create ``path`` 0600 if it does not exist; warn if an existing one is wider."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "%s has mode %04o; it holds the realm's keys and should be 0600", path, mode
            )
        return
    except FileNotFoundError:
        raise BackendError(
            f"cannot create {path}: directory {path.parent} does not exist"
        ) from None
    except PermissionError:
        raise BackendError(f"cannot create {path}: permission denied") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SqliteConnection(NestedTransactions):
    """The ``Session`` the SQLite stores run their work in."""

    dialect = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(path)
        self._clock = clock
        self.lock = threading.RLock()
        _create_private_file(self.path)
        try:
            self.conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise BackendError(f"{self.path}: cannot switch to WAL journal mode ({mode})")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"cannot open {self.path}: {exc}") from None

    @property
    def where(self) -> str:
        return str(self.path)

    def now(self) -> int:
        return int(self._clock())

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Translate sqlite3 errors into BackendError kinds (messages carry no data)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise BackendUnavailable(f"{self.path}: database is busy: {text}") from None
            if "no such table" in text:
                raise SchemaError(
                    f"{self.path}: the schema is missing ({text}); run migrate()"
                ) from None
            raise BackendError(f"{self.path}: {text}") from None
        except sqlite3.DatabaseError as exc:
            raise BackendError(f"{self.path}: {exc}") from None

    @contextlib.contextmanager
    def _outermost(self) -> Iterator[None]:
        with self.errors():
            self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            with self.errors():
                self.conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise

    def atomic(
        self, work: Callable[[Cursor], T], *, write: bool = False, snapshot: bool = False
    ) -> T:
        """``work(cursor)``: a write inside ``transaction()``; a read as it comes (WAL
        readers see the last commit), or with ``snapshot`` in a deferred transaction so
        that its reads see one moment."""
        with self.lock:
            if write:
                with self.transaction(), self.errors():
                    return work(self.conn.cursor())
            with self.errors():
                if not snapshot or self._depth:
                    return work(self.conn.cursor())
                self.conn.execute("BEGIN")
                try:
                    return work(self.conn.cursor())
                finally:
                    self.conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock, contextlib.suppress(sqlite3.Error):
            self.conn.close()
