"""Password policies, the same in both dialects."""

from __future__ import annotations

from dataclasses import replace

from has_kdc.backend.model import PasswordPolicy
from has_kdc.backend.rows import POLICY_COLUMNS, check_policy, policy_from_row
from has_kdc.backend.sql.changes import log_change
from has_kdc.backend.sql.dialect import Cursor, Session
from has_kdc.backend.stores import PasswordPolicies

__all__ = ["SqlPasswordPolicies"]

_SELECT = f"SELECT {', '.join(POLICY_COLUMNS)} FROM password_policies "


class SqlPasswordPolicies(PasswordPolicies):
    """``PasswordPolicies`` over the ``password_policies`` table; a change is a realm
    change (the counter steps)."""

    def __init__(self, db: Session):
        self.db = db
        self.dialect = db.dialect

    def get_policy(self, name: str) -> PasswordPolicy | None:
        def work(cur: Cursor) -> tuple | None:
            cur.execute(_SELECT + f"WHERE name = {self.dialect.mark}", (self.dialect.encode(name),))
            return cur.fetchone()

        row = self.db.atomic(work)
        return None if row is None else policy_from_row(row)

    def put_policy(self, policy: PasswordPolicy) -> PasswordPolicy:
        check_policy(policy)
        now = self.db.now()
        d = self.dialect
        encoded = d.encode(policy.name)

        def work(cur: Cursor) -> PasswordPolicy:
            cur.execute(
                f"SELECT created FROM password_policies WHERE name = {d.mark}{d.for_update}",
                (encoded,),
            )
            row = cur.fetchone()
            stored = replace(policy, created=int(row[0]) if row else now, modified=now)
            values = [getattr(stored, c) for c in POLICY_COLUMNS]
            values[0] = encoded
            cur.execute(
                f"REPLACE INTO password_policies ({', '.join(POLICY_COLUMNS)}) "
                f"VALUES ({d.marks(len(POLICY_COLUMNS))})",
                values,
            )
            log_change(cur, d, "policy", policy.name, now)
            return stored

        return self.db.atomic(work, write=True)

    def delete_policy(self, name: str) -> bool:
        def work(cur: Cursor) -> bool:
            cur.execute(
                f"DELETE FROM password_policies WHERE name = {self.dialect.mark}",
                (self.dialect.encode(name),),
            )
            gone = cur.rowcount > 0
            if gone:
                log_change(cur, self.dialect, "policy", name, self.db.now())
            return gone

        return self.db.atomic(work, write=True)

    def list_policies(self) -> list[PasswordPolicy]:
        def work(cur: Cursor) -> list[tuple]:
            cur.execute(_SELECT + "ORDER BY name")
            return list(cur.fetchall())

        return [policy_from_row(r) for r in self.db.atomic(work)]
