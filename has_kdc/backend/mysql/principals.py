"""Principals and their keys in MySQL, where it differs from SQLite: names are
VARBINARY (compared byte for byte, like SQLite's BINARY collation), a glob is a LIKE
on the name index plus an exact regex, and bulk creation takes a few statements per
500 names."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pymysql.cursors import Cursor

from has_kdc.backend.errors import PrincipalExists, stored_name
from has_kdc.backend.model import Principal
from has_kdc.backend.mysql.globs import glob_to_like, glob_to_regex
from has_kdc.backend.rows import added, text
from has_kdc.backend.sql.changes import log_changes
from has_kdc.backend.sql.dialect import MYSQL
from has_kdc.backend.sql.principals import SqlPrincipals

__all__ = ["MysqlPrincipals"]


class MysqlPrincipals(SqlPrincipals):
    """``SqlPrincipals`` with MySQL's globs and bulk inserts."""

    _KEY_COLUMN = "key_contents"

    def list_principals(
        self, glob: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[str]:
        # LIKE narrows the rows (it cannot say '[...]'); the glob's regex decides. A page
        # the regex thins out is topped up from where the last query stopped.
        exact = glob_to_regex(glob) if glob is not None else None
        like = glob_to_like(glob).encode("utf-8") if glob is not None else None
        out: list[str] = []
        while True:
            wanted = None if limit is None else limit - len(out)
            names = [text(r[0]) for r in self.db.atomic(_names_query(like, after, wanted))]
            out += [n for n in names if exact is None or exact.fullmatch(n)]
            if wanted is None or len(names) < wanted or len(out) == limit:
                return out
            after = names[-1]

    _BULK_CHUNK = 500  # names per IN list and per multi-row INSERT batch

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        """Many principals in one transaction, a few statements per 500 (not per name).

        Multi-row INSERTs (PyMySQL's ``executemany``) for principals, keys and the
        change log; the counter moves by the number added, each name getting its
        own change number, exactly as one ``add_principal`` per name would.
        """
        now = self.db.now()
        stored: list[Principal] = []
        seen: set[str] = set()
        for principal in principals:
            name = stored_name(principal.name)
            self.check_principal(principal, name)
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

        self.db.atomic(work, write=True)
        return stored

    def _insert_chunk(
        self, cur: Cursor, chunk: list[Principal], now: int, columns: tuple[str, ...]
    ) -> None:
        names = [p.name.encode("utf-8") for p in chunk]  # MYSQL.encode, typed as bytes
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
        log_changes(cur, MYSQL, "principal", list(names), now)


def _names_query(
    like: bytes | None, after: str | None, limit: int | None
) -> Callable[[Cursor], list[tuple]]:
    where, args = ["1"], []
    if like is not None:
        where.append("name LIKE %s ESCAPE '\\\\'")
        args.append(like)
    if after is not None:
        where.append("name > %s")
        args.append(after.encode("utf-8"))
    # the clauses are constants; every value is a parameter
    sql = f"SELECT name FROM principals WHERE {' AND '.join(where)} ORDER BY name"  # noqa: S608
    if limit is not None:
        sql += " LIMIT %s"
        args.append(limit)

    def work(cur: Cursor) -> list[tuple]:
        cur.execute(sql, args)
        return list(cur.fetchall())

    return work
