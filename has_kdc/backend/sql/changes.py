"""The change counter and its log, the same in both dialects.

Every write of a realm change calls ``log_change`` inside its transaction: one step
of the counter, one log row, and now and then (``prune_due``) a prune of old rows.
"""

from __future__ import annotations

from has_kdc.backend.errors import SchemaError
from has_kdc.backend.rows import CHANGE_LOG_RETENTION, changes_answer, prune_due, text
from has_kdc.backend.sql.dialect import Cursor, Dialect, Session
from has_kdc.backend.stores import ChangeLog

__all__ = ["SqlChangeLog", "log_change", "log_changes", "prune"]

_READ_COUNTER = "SELECT value FROM change_counter WHERE id = 1"


def log_change(cur: Cursor, dialect: Dialect, kind: str, name: str, now: int) -> int:
    """Bump the counter and record what changed; runs inside a write transaction."""
    cur.execute("UPDATE change_counter SET value = value + 1 WHERE id = 1")
    cur.execute(_READ_COUNTER)
    seq = int(cur.fetchone()[0])
    cur.execute(
        f"INSERT INTO change_log (seq, kind, name, changed) VALUES ({dialect.marks(4)})",
        (seq, kind, dialect.encode(name), now),
    )
    if prune_due(seq):
        prune(cur, dialect, now - CHANGE_LOG_RETENTION)
    return seq


def log_changes(cur: Cursor, dialect: Dialect, kind: str, names: list[object], now: int) -> None:
    """``log_change`` for several names (already encoded) in one step of statements:
    each gets its own change number, as one call per name would give."""
    m = dialect.mark
    cur.execute(f"UPDATE change_counter SET value = value + {m} WHERE id = 1", (len(names),))
    cur.execute(_READ_COUNTER)
    last = int(cur.fetchone()[0])
    first = last - len(names) + 1
    cur.executemany(
        f"INSERT INTO change_log (seq, kind, name, changed) VALUES ({dialect.marks(4)})",
        [(first + i, kind, name, now) for i, name in enumerate(names)],
    )
    if prune_due(first, last):
        prune(cur, dialect, now - CHANGE_LOG_RETENTION)


def prune(cur: Cursor, dialect: Dialect, cutoff: int) -> int:
    """Drop log rows older than ``cutoff`` and remember how far the log was cut."""
    m = dialect.mark
    cur.execute(f"SELECT COUNT(*), MAX(seq) FROM change_log WHERE changed < {m}", (cutoff,))
    count, top = cur.fetchone()
    if not count:
        return 0
    cur.execute(f"DELETE FROM change_log WHERE seq <= {m}", (top,))
    cur.execute(
        f"UPDATE change_counter SET pruned_through = {dialect.greatest}(pruned_through, {m}) "
        "WHERE id = 1",
        (top,),
    )
    return int(count)


class SqlChangeLog(ChangeLog):
    """``ChangeLog`` over the ``change_counter`` and ``change_log`` tables."""

    def __init__(self, db: Session):
        self.db = db

    def change_counter(self) -> int:
        def work(cur: Cursor) -> int:
            cur.execute(_READ_COUNTER)
            row = cur.fetchone()
            if row is None:
                raise SchemaError(f"{self.db.where}: the change counter row is missing")
            return int(row[0])

        return self.db.atomic(work)

    def changes_since(self, counter: int) -> list[str] | None:
        # The log is read first and the counter after: where the two reads see
        # different moments (MySQL's READ COMMITTED), a prune that raced the log read
        # shows up in pruned_through, so no incomplete answer is given.
        def work(cur: Cursor) -> list[str] | None:
            cur.execute(
                "SELECT name FROM change_log WHERE seq > "
                f"{self.db.dialect.mark} AND kind = 'principal' ORDER BY seq",
                (counter,),
            )
            rows = list(cur.fetchall())
            cur.execute("SELECT value, pruned_through FROM change_counter WHERE id = 1")
            value, pruned = cur.fetchone()
            return changes_answer(counter, value, pruned, (text(r[0]) for r in rows))

        return self.db.atomic(work, snapshot=True)

    def prune_changes(self, older_than: int) -> int:
        cutoff = self.db.now() - older_than
        return self.db.atomic(lambda cur: prune(cur, self.db.dialect, cutoff), write=True)
