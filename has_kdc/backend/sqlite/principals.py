"""Principals and their keys in SQLite, where it differs from MySQL: a glob is
SQLite's own GLOB, and bulk creation is one ``add_principal`` per name in one
transaction."""

from __future__ import annotations

from collections.abc import Iterable

from has_kdc.backend.model import Principal
from has_kdc.backend.sql.dialect import Cursor
from has_kdc.backend.sql.principals import SqlPrincipals

__all__ = ["SqlitePrincipals"]


class SqlitePrincipals(SqlPrincipals):
    """``SqlPrincipals`` with SQLite's globs."""

    def list_principals(self, glob: str | None = None) -> list[str]:
        def work(cur: Cursor) -> list[tuple]:
            if glob is None:
                cur.execute("SELECT name FROM principals ORDER BY name")
            else:
                cur.execute("SELECT name FROM principals WHERE name GLOB ? ORDER BY name", (glob,))
            return list(cur.fetchall())

        return [r[0] for r in self.db.atomic(work)]

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        with self.db.transaction():
            return [self.add_principal(p) for p in principals]
