"""Principals and their keys in MySQL: the KDC's hot path (one indexed join per
lookup) and bulk creation in a few statements per 500 names."""

from __future__ import annotations

from collections.abc import Iterable

from pymysql.cursors import Cursor

from has_kdc.backend.errors import (
    BackendError,
    ConcurrentModification,
    PrincipalExists,
    PrincipalNotFound,
    stored_name,
)
from has_kdc.backend.model import KeyData, Principal
from has_kdc.backend.mysql.globs import glob_to_like, glob_to_regex
from has_kdc.backend.mysql.schema import MysqlSchema
from has_kdc.backend.mysql.session import MysqlSession
from has_kdc.backend.rows import (
    PrincipalSelect,
    added,
    check_keys,
    principals_from_rows,
    renamed,
    settable,
    storable_name,
    text,
    updated,
)
from has_kdc.backend.sql.changes import log_change, log_changes
from has_kdc.backend.sql.dialect import MYSQL
from has_kdc.backend.stores import Principals

__all__ = ["MysqlPrincipals"]

_MAX_NAME = 1024  # bytes of UTF-8, the width of the name columns


class MysqlPrincipals(PrincipalSelect, Principals):
    """``Principals`` over the ``principals`` and ``principal_keys`` tables (names are
    VARBINARY: compared byte for byte, like SQLite's BINARY collation)."""

    _KEY_COLUMN = "key_contents"

    def __init__(self, db: MysqlSession, schema: MysqlSchema):
        self.db = db
        self.schema_version = schema.schema_version
        schema.after_migrate.append(self.forget_columns)

    def forget_columns(self) -> None:
        """The schema changed: read its principals columns again."""
        self._principal_columns = None

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

        return principals_from_rows(self.db.atomic(work), columns).get(name)

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

            out.update(principals_from_rows(self.db.atomic(work), columns))
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

        names = [text(r[0]) for r in self.db.atomic(work)]
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
        now = self.db.now()
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
            log_change(cur, MYSQL, "principal", name, now)

        self.db.atomic(work, write=True)
        return stored

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

        self.db.atomic(work, write=True)
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
        log_changes(cur, MYSQL, "principal", list(names), now)

    def update_principal(self, principal: Principal) -> Principal:
        self._check_principal(principal, principal.name)
        now = self.db.now()
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
            log_change(cur, MYSQL, "principal", principal.name, now)

        self.db.atomic(work, write=True)
        return stored

    def delete_principal(self, name: str) -> None:
        def work(cur: Cursor) -> None:
            cur.execute("DELETE FROM principals WHERE name = %s", (self._name_param(name),))
            if cur.rowcount == 0:
                raise PrincipalNotFound(name)
            log_change(cur, MYSQL, "principal", name, self.db.now())

        self.db.atomic(work, write=True)

    def rename_principal(self, old: str, new: str) -> Principal:
        new = stored_name(new)
        self._check_principal(Principal(new), new)
        with self.db.transaction():
            current = self.get_principal(old)
            if current is None:
                raise PrincipalNotFound(old)
            stored = renamed(current, old, new, self.db.now())

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
                log_change(cur, MYSQL, "principal", old, stored.modified)
                log_change(cur, MYSQL, "principal", new, stored.modified)

            self.db.atomic(work, write=True)
        return stored
