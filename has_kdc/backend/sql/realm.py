"""Realm configuration and the node registry, the same in both dialects."""

from __future__ import annotations

from has_kdc.backend.model import NodeRecord
from has_kdc.backend.rows import text
from has_kdc.backend.sql.changes import log_change
from has_kdc.backend.sql.dialect import Cursor, Session
from has_kdc.backend.stores import RealmState

__all__ = ["SqlRealmState"]

_NODES = "FROM kdc_nodes ORDER BY registered, host"


class SqlRealmState(RealmState):
    """``RealmState`` over the ``realm_config`` and ``kdc_nodes`` tables."""

    def __init__(self, db: Session):
        self.db = db
        self.dialect = db.dialect

    def get_realm_config(self) -> dict[str, str]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute("SELECT name, value FROM realm_config")
            return list(cur.fetchall())

        return {text(k): v for k, v in self.db.atomic(work)}

    def get_config(self, key: str) -> str | None:
        def work(cur: Cursor) -> tuple | None:
            cur.execute(
                f"SELECT value FROM realm_config WHERE name = {self.dialect.mark}",
                (self.dialect.encode(key),),
            )
            return cur.fetchone()

        row = self.db.atomic(work)
        return None if row is None else row[0]

    def set_config(self, key: str, value: str | None) -> None:
        name, m = self.dialect.encode(key), self.dialect.mark

        def work(cur: Cursor) -> None:
            if value is None:
                cur.execute(f"DELETE FROM realm_config WHERE name = {m}", (name,))
            else:
                cur.execute(f"SELECT 1 FROM realm_config WHERE name = {m}", (name,))
                if cur.fetchone():
                    cur.execute(
                        f"UPDATE realm_config SET value = {m} WHERE name = {m}", (str(value), name)
                    )
                else:
                    cur.execute(
                        f"INSERT INTO realm_config (name, value) VALUES ({m}, {m})",
                        (name, str(value)),
                    )
            log_change(cur, self.dialect, "config", key, self.db.now())

        self.db.atomic(work, write=True)

    def register_node(self, host: str) -> None:
        now = self.db.now()
        encoded, m = self.dialect.encode(host), self.dialect.mark

        def work(cur: Cursor) -> None:
            cur.execute(f"SELECT 1 FROM kdc_nodes WHERE host = {m}", (encoded,))
            if cur.fetchone():
                cur.execute(
                    f"UPDATE kdc_nodes SET last_seen = {m} WHERE host = {m}", (now, encoded)
                )
            else:
                cur.execute(
                    f"INSERT INTO kdc_nodes (host, registered, last_seen) VALUES ({m}, {m}, {m})",
                    (encoded, now, now),
                )
                log_change(cur, self.dialect, "node", host, now)

        self.db.atomic(work, write=True)

    def deregister_node(self, host: str) -> bool:
        encoded = self.dialect.encode(host)

        def work(cur: Cursor) -> bool:
            cur.execute(f"DELETE FROM kdc_nodes WHERE host = {self.dialect.mark}", (encoded,))
            gone = cur.rowcount > 0
            if gone:
                log_change(cur, self.dialect, "node", host, self.db.now())
            return gone

        return self.db.atomic(work, write=True)

    def list_nodes(self) -> list[str]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(f"SELECT host {_NODES}")
            return list(cur.fetchall())

        return [text(r[0]) for r in self.db.atomic(work)]

    def record_node_status(self, host: str, status: str) -> bool:
        now = self.db.now()
        encoded, m = self.dialect.encode(host), self.dialect.mark

        def work(cur: Cursor) -> bool:
            cur.execute(
                f"UPDATE kdc_nodes SET last_seen = {m}, status = {m} WHERE host = {m}",
                (now, status, encoded),
            )
            if cur.rowcount > 0:
                return True
            # 0 rows changed: no such node, or (MySQL counts changed rows, not matched
            # ones) the same second and status
            cur.execute(f"SELECT 1 FROM kdc_nodes WHERE host = {m}", (encoded,))
            return cur.fetchone() is not None

        return self.db.atomic(work, write=True)

    def node_records(self) -> list[NodeRecord]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(f"SELECT host, registered, last_seen, status {_NODES}")
            return list(cur.fetchall())

        return [NodeRecord(text(h), int(r), int(s), st) for h, r, s, st in self.db.atomic(work)]
