"""Principals and their keys in SQLite: names as TEXT (BINARY collation), globs as
SQLite's own GLOB."""

from __future__ import annotations

from collections.abc import Iterable

from has_kdc.backend.errors import (
    ConcurrentModification,
    PrincipalExists,
    PrincipalNotFound,
    stored_name,
)
from has_kdc.backend.model import KeyData, Principal
from has_kdc.backend.rows import (
    PrincipalSelect,
    added,
    check_keys,
    principals_from_rows,
    renamed,
    settable,
    storable_name,
    updated,
)
from has_kdc.backend.sql.changes import log_change
from has_kdc.backend.sql.dialect import SQLITE, Cursor
from has_kdc.backend.sqlite.connection import SqliteConnection
from has_kdc.backend.sqlite.schema import SqliteSchema
from has_kdc.backend.stores import Principals

__all__ = ["SqlitePrincipals"]


def _write_keys(cur: Cursor, principal_id: int, keys: list[KeyData]) -> None:
    cur.execute("DELETE FROM principal_keys WHERE principal_id = ?", (principal_id,))
    cur.executemany(
        "INSERT INTO principal_keys (principal_id, position, enctype, kvno, key, salt, "
        "s2kparams) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (principal_id, i, k.enctype, k.kvno, bytes(k.key), k.salt, k.s2kparams)
            for i, k in enumerate(keys)
        ],
    )


class SqlitePrincipals(PrincipalSelect, Principals):
    """``Principals`` over the ``principals`` and ``principal_keys`` tables."""

    def __init__(self, db: SqliteConnection, schema: SqliteSchema):
        self.db = db
        self.schema_version = schema.schema_version
        schema.after_migrate.append(self.forget_columns)

    def forget_columns(self) -> None:
        """The schema changed: read its principals columns again."""
        self._principal_columns = None

    def get_principal(self, name: str) -> Principal | None:
        if not storable_name(name):
            return None
        select = self._SELECT + "WHERE p.name = ? ORDER BY k.position"

        def work(cur: Cursor) -> list[tuple]:
            return cur.execute(select, (name,)).fetchall()

        return principals_from_rows(self.db.atomic(work), self._columns()).get(name)

    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        wanted = [n for n in dict.fromkeys(names) if storable_name(n)]
        out: dict[str, Principal] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            select = (
                self._SELECT
                + f"WHERE p.name IN ({','.join('?' * len(chunk))}) ORDER BY p.id, k.position"
            )

            def work(cur: Cursor, select: str = select, chunk: list[str] = chunk) -> list[tuple]:
                return cur.execute(select, chunk).fetchall()

            out.update(principals_from_rows(self.db.atomic(work), self._columns()))
        return out

    def list_principals(self, glob: str | None = None) -> list[str]:
        def work(cur: Cursor) -> list[tuple]:
            if glob is None:
                return cur.execute("SELECT name FROM principals ORDER BY name").fetchall()
            return cur.execute(
                "SELECT name FROM principals WHERE name GLOB ? ORDER BY name", (glob,)
            ).fetchall()

        return [r[0] for r in self.db.atomic(work)]

    def add_principal(self, principal: Principal) -> Principal:
        name = stored_name(principal.name)
        check_keys(principal, name)
        stored = added(principal, name, self.db.now())
        columns = self._columns()

        def work(cur: Cursor) -> None:
            if cur.execute("SELECT 1 FROM principals WHERE name = ?", (name,)).fetchone():
                raise PrincipalExists(name)
            cur.execute(
                f"INSERT INTO principals ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(columns))})",
                [getattr(stored, c) for c in columns],
            )
            _write_keys(cur, cur.lastrowid, stored.keys)
            log_change(cur, SQLITE, "principal", name, self.db.now())

        self.db.atomic(work, write=True)
        return stored

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        with self.db.transaction():
            return [self.add_principal(p) for p in principals]

    def update_principal(self, principal: Principal) -> Principal:
        check_keys(principal, principal.name)
        stored = updated(principal, self.db.now())
        changing = settable(self._columns())

        def work(cur: Cursor) -> None:
            row = cur.execute(
                "SELECT id, version FROM principals WHERE name = ?", (principal.name,)
            ).fetchone()
            if row is None:
                raise PrincipalNotFound(principal.name)
            if row[1] != principal.version:
                raise ConcurrentModification(principal.name, principal.version, row[1])
            cur.execute(
                f"UPDATE principals SET {', '.join(f'{c} = ?' for c in changing)}, "  # noqa: S608
                "version = ? WHERE id = ?",
                [*(getattr(stored, c) for c in changing), stored.version, row[0]],
            )
            _write_keys(cur, row[0], stored.keys)
            log_change(cur, SQLITE, "principal", principal.name, self.db.now())

        self.db.atomic(work, write=True)
        return stored

    def delete_principal(self, name: str) -> None:
        def work(cur: Cursor) -> None:
            cur.execute("DELETE FROM principals WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise PrincipalNotFound(name)
            log_change(cur, SQLITE, "principal", name, self.db.now())

        self.db.atomic(work, write=True)

    def rename_principal(self, old: str, new: str) -> Principal:
        new = stored_name(new)
        with self.db.transaction():
            current = self.get_principal(old)
            if current is None:
                raise PrincipalNotFound(old)

            def work(cur: Cursor) -> Principal:
                if cur.execute("SELECT 1 FROM principals WHERE name = ?", (new,)).fetchone():
                    raise PrincipalExists(new)
                stored = renamed(current, old, new, self.db.now())
                row_id = cur.execute("SELECT id FROM principals WHERE name = ?", (old,)).fetchone()[
                    0
                ]
                cur.execute(
                    "UPDATE principals SET name = ?, modified = ?, version = ? WHERE id = ?",
                    (new, stored.modified, stored.version, row_id),
                )
                _write_keys(cur, row_id, stored.keys)
                log_change(cur, SQLITE, "principal", old, self.db.now())
                log_change(cur, SQLITE, "principal", new, self.db.now())
                return stored

            return self.db.atomic(work, write=True)
