"""Where SQLite and MySQL differ in the statements the stores share, and the one
call every store makes of its database (``Session.atomic``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from has_kdc.backend.rows import pattern_as_glob, pattern_as_like

__all__ = ["MYSQL", "SQLITE", "Cursor", "Dialect", "Session"]

T = TypeVar("T")


class Cursor(Protocol):
    """What the stores use of a DB-API cursor (``sqlite3`` and PyMySQL alike)."""

    rowcount: int
    lastrowid: Any

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """One SQL dialect as the shared stores see it."""

    #: the parameter placeholder
    mark: str
    #: the two-argument maximum function
    greatest: str
    #: what a read that a write depends on adds to lock its row ("" where the
    #: write lock is the whole database's, taken at BEGIN)
    for_update: str
    #: a name as the driver sends it: SQLite keeps text, MySQL's VARBINARY columns bytes
    encode: Callable[[str], str | bytes]
    #: how ``audit_log.target`` matches a pattern of ``*`` and ``?``: (clause, the
    #: pattern in the clause's syntax)
    target_clause: str
    target_pattern: Callable[[str], str]

    def marks(self, count: int) -> str:
        """``count`` placeholders, comma-separated."""
        return ", ".join([self.mark] * count)


def _utf8(name: str) -> bytes:
    return name.encode("utf-8")


def _same(name: str) -> str:
    return name


SQLITE = Dialect(
    mark="?",
    greatest="MAX",
    for_update="",
    encode=_same,
    target_clause="target GLOB ?",
    target_pattern=pattern_as_glob,
)
MYSQL = Dialect(
    mark="%s",
    greatest="GREATEST",
    for_update=" FOR UPDATE",
    encode=_utf8,
    target_clause="target LIKE %s ESCAPE '\\\\'",
    target_pattern=pattern_as_like,
)


class Session(Protocol):
    """A database as the stores use it: units of work, each atomic on its own, or part
    of the transaction open in this session."""

    dialect: Dialect

    @property
    def where(self) -> str:
        """The database, for messages."""
        ...

    def now(self) -> int:
        """The store's clock, in whole seconds."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction around several units of work (nested ones join it)."""
        ...

    def atomic(
        self, work: Callable[[Cursor], T], *, write: bool = False, snapshot: bool = False
    ) -> T:
        """``work(cursor)`` in a transaction of its own, or as part of the open one.

        ``write``: it changes the store (takes the write lock up front). ``snapshot``:
        its reads must see one moment (where the dialect can give that cheaply).
        """
        ...
