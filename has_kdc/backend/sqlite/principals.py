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

    def list_principals(
        self, glob: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[str]:
        where, args = ["1"], []  # TEXT's BINARY collation sorts by the UTF-8 bytes
        if glob is not None:
            where.append("name GLOB ?")
            args.append(glob)
        if after is not None:
            where.append("name > ?")
            args.append(after)
        # the clauses are constants; every value is a parameter
        sql = f"SELECT name FROM principals WHERE {' AND '.join(where)} ORDER BY name LIMIT ?"  # noqa: S608
        params = (*args, -1 if limit is None else limit)

        def work(cur: Cursor) -> list[tuple]:
            cur.execute(sql, params)
            return list(cur.fetchall())

        return [r[0] for r in self.db.atomic(work)]

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        with self.db.transaction():
            return [self.add_principal(p) for p in principals]
