"""Principals and their keys, as far as both dialects agree: lookups (the KDC's hot
path, one indexed join), add, update, delete and rename. How a glob is matched and
how many are added at once is each dialect's (``mysql/principals.py``,
``sqlite/principals.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from has_kdc.backend.errors import (
    BackendError,
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
from has_kdc.backend.sql.dialect import Cursor, Session
from has_kdc.backend.stores import Principals

__all__ = ["MAX_NAME", "MigratingSchema", "SqlPrincipals"]

MAX_NAME = 1024  # bytes of UTF-8, the width of the name columns
_CHUNK = 500  # names per IN list


class MigratingSchema(Protocol):
    """What the principals store needs of its schema: its version, and word of a
    migration (the ``principals`` columns grew in version 6)."""

    schema_version: Callable[[], int]
    after_migrate: list[Callable[[], None]]


class SqlPrincipals(PrincipalSelect, Principals):
    """``Principals`` over the ``principals`` and ``principal_keys`` tables."""

    def __init__(self, db: Session, schema: MigratingSchema):
        self.db = db
        self.dialect = db.dialect
        self.schema_version = schema.schema_version
        schema.after_migrate.append(self.forget_columns)

    def forget_columns(self) -> None:
        """The schema changed: read its principals columns again."""
        self._principal_columns = None

    @staticmethod
    def check_principal(principal: Principal, name: str) -> None:
        """Refuse a name longer than its column, and keys the key table cannot hold."""
        if len(name.encode("utf-8")) > MAX_NAME:
            raise BackendError(
                f"principal {name[:60]}...: the name is longer than {MAX_NAME} bytes"
            )
        check_keys(principal, name)

    def write_keys(self, cur: Cursor, principal_id: int, keys: list[KeyData]) -> None:
        """Replace the keys of the principal ``principal_id``."""
        m = self.dialect.mark
        cur.execute(f"DELETE FROM principal_keys WHERE principal_id = {m}", (principal_id,))
        if keys:
            cur.executemany(
                "INSERT INTO principal_keys (principal_id, position, enctype, kvno, "
                f"{self._KEY_COLUMN}, salt, s2kparams) VALUES ({self.dialect.marks(7)})",
                [
                    (principal_id, i, k.enctype, k.kvno, bytes(k.key), k.salt, k.s2kparams)
                    for i, k in enumerate(keys)
                ],
            )

    def get_principal(self, name: str) -> Principal | None:
        if not storable_name(name):
            return None
        columns = self._columns()
        select = self._SELECT + f"WHERE p.name = {self.dialect.mark} ORDER BY k.position"
        param = self.dialect.encode(name)

        def work(cur: Cursor) -> list[tuple]:
            cur.execute(select, (param,))
            return list(cur.fetchall())

        return principals_from_rows(self.db.atomic(work), columns).get(name)

    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        wanted = [n for n in dict.fromkeys(names) if storable_name(n)]
        out: dict[str, Principal] = {}
        columns, select = self._columns(), self._SELECT
        for start in range(0, len(wanted), _CHUNK):
            chunk = [self.dialect.encode(n) for n in wanted[start : start + _CHUNK]]
            query = (
                select + f"WHERE p.name IN ({self.dialect.marks(len(chunk))}) "
                "ORDER BY p.id, k.position"
            )

            def work(cur: Cursor, query: str = query, chunk: list = chunk) -> list[tuple]:
                cur.execute(query, chunk)
                return list(cur.fetchall())

            out.update(principals_from_rows(self.db.atomic(work), columns))
        return out

    def add_principal(self, principal: Principal) -> Principal:
        name = stored_name(principal.name)
        self.check_principal(principal, name)
        now = self.db.now()
        stored = added(principal, name, now)
        columns = self._columns()
        d = self.dialect

        def work(cur: Cursor) -> None:
            cur.execute(f"SELECT 1 FROM principals WHERE name = {d.mark}", (d.encode(name),))
            if cur.fetchone():
                raise PrincipalExists(name)
            values = [getattr(stored, c) for c in columns]
            values[0] = d.encode(name)
            cur.execute(
                f"INSERT INTO principals ({', '.join(columns)}) VALUES ({d.marks(len(columns))})",
                values,
            )
            self.write_keys(cur, cur.lastrowid, stored.keys)
            log_change(cur, d, "principal", name, now)

        self.db.atomic(work, write=True)
        return stored

    def update_principal(self, principal: Principal) -> Principal:
        self.check_principal(principal, principal.name)
        now = self.db.now()
        stored = updated(principal, now)
        changing = settable(self._columns())
        d, m = self.dialect, self.dialect.mark

        def work(cur: Cursor) -> None:
            cur.execute(
                f"SELECT id, version FROM principals WHERE name = {m}",
                (d.encode(principal.name),),
            )
            row = cur.fetchone()
            if row is None:
                raise PrincipalNotFound(principal.name)
            if row[1] != principal.version:
                raise ConcurrentModification(principal.name, principal.version, int(row[1]))
            cur.execute(
                f"UPDATE principals SET {', '.join(f'{c} = {m}' for c in changing)}, "
                f"version = {m} WHERE id = {m}",
                [*(getattr(stored, c) for c in changing), stored.version, row[0]],
            )
            self.write_keys(cur, row[0], stored.keys)
            log_change(cur, d, "principal", principal.name, now)

        self.db.atomic(work, write=True)
        return stored

    def delete_principal(self, name: str) -> None:
        d = self.dialect

        def work(cur: Cursor) -> None:
            cur.execute(f"DELETE FROM principals WHERE name = {d.mark}", (d.encode(name),))
            if cur.rowcount == 0:
                raise PrincipalNotFound(name)
            log_change(cur, d, "principal", name, self.db.now())

        self.db.atomic(work, write=True)

    def rename_principal(self, old: str, new: str) -> Principal:
        new = stored_name(new)
        self.check_principal(Principal(new), new)
        d, m = self.dialect, self.dialect.mark
        with self.db.transaction():
            current = self.get_principal(old)
            if current is None:
                raise PrincipalNotFound(old)
            stored = renamed(current, old, new, self.db.now())

            def work(cur: Cursor) -> None:
                cur.execute(f"SELECT 1 FROM principals WHERE name = {m}", (d.encode(new),))
                if cur.fetchone():
                    raise PrincipalExists(new)
                cur.execute(f"SELECT id FROM principals WHERE name = {m}", (d.encode(old),))
                row_id = cur.fetchone()[0]
                cur.execute(
                    f"UPDATE principals SET name = {m}, modified = {m}, version = {m} "
                    f"WHERE id = {m}",
                    (d.encode(new), stored.modified, stored.version, row_id),
                )
                self.write_keys(cur, row_id, stored.keys)
                log_change(cur, d, "principal", old, stored.modified)
                log_change(cur, d, "principal", new, stored.modified)

            self.db.atomic(work, write=True)
        return stored
