"""Users of the MySQL authentication plugin, the same in both dialects."""

from __future__ import annotations

from dataclasses import replace

from has_kdc.backend.interface import check_plugin_user
from has_kdc.backend.model import PluginUser
from has_kdc.backend.rows import USER_COLUMNS, plugin_user_from_row
from has_kdc.backend.sql.dialect import Cursor, Session
from has_kdc.backend.stores import PluginUsers

__all__ = ["SqlPluginUsers"]


class SqlPluginUsers(PluginUsers):
    """``PluginUsers`` over the ``has_users`` table. Not a realm change: no counter step."""

    def __init__(self, db: Session):
        self.db = db
        self.dialect = db.dialect

    def get_plugin_user(self, name: str) -> PluginUser | None:
        def work(cur: Cursor) -> tuple | None:
            cur.execute(
                f"SELECT {USER_COLUMNS} FROM has_users WHERE name = {self.dialect.mark}",
                (self.dialect.encode(name),),
            )
            return cur.fetchone()

        row = self.db.atomic(work)
        return None if row is None else plugin_user_from_row(row)

    def put_plugin_user(self, user: PluginUser) -> PluginUser:
        check_plugin_user(user)
        now = self.db.now()
        encoded, d, m = self.dialect.encode(user.name), self.dialect, self.dialect.mark

        def work(cur: Cursor) -> int:
            cur.execute(f"SELECT created FROM has_users WHERE name = {m}{d.for_update}", (encoded,))
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    f"INSERT INTO has_users ({USER_COLUMNS}) VALUES ({d.marks(6)})",
                    (encoded, user.password_hash, user.disabled, now, now, user.linked),
                )
                return now
            cur.execute(
                f"UPDATE has_users SET password_hash = {m}, disabled = {m}, modified = {m}, "
                f"linked = {m} WHERE name = {m}",
                (user.password_hash, user.disabled, now, user.linked, encoded),
            )
            return int(row[0])

        created = self.db.atomic(work, write=True)
        return replace(user, created=created, modified=now)

    def delete_plugin_user(self, name: str) -> bool:
        def work(cur: Cursor) -> bool:
            cur.execute(
                f"DELETE FROM has_users WHERE name = {self.dialect.mark}",
                (self.dialect.encode(name),),
            )
            return cur.rowcount > 0

        return self.db.atomic(work, write=True)

    def list_plugin_users(self) -> list[PluginUser]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(f"SELECT {USER_COLUMNS} FROM has_users ORDER BY name")
            return list(cur.fetchall())

        return [plugin_user_from_row(r) for r in self.db.atomic(work)]
