"""The audit trail, the same in both dialects but for how a target pattern matches."""

from __future__ import annotations

from dataclasses import replace

from has_kdc.backend.model import AuditQuery, AuditRecord
from has_kdc.backend.rows import (
    AUDIT_COLUMNS,
    audit_conditions,
    audit_record_from_row,
    audit_values,
)
from has_kdc.backend.sql.dialect import Cursor, Session
from has_kdc.backend.stores import AuditTrail

__all__ = ["SqlAuditTrail"]


class SqlAuditTrail(AuditTrail):
    """``AuditTrail`` over the ``audit_log`` table: insert and read, nothing else."""

    def __init__(self, db: Session):
        self.db = db
        self.dialect = db.dialect

    def add_audit_record(self, record: AuditRecord) -> AuditRecord:
        values = audit_values(record)

        def work(cur: Cursor) -> int:
            cur.execute(
                f"INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)}) "
                f"VALUES ({self.dialect.marks(len(AUDIT_COLUMNS))})",
                values,
            )
            return int(cur.lastrowid or 0)

        return replace(record, id=self.db.atomic(work, write=True))

    def list_audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        conditions, pattern = audit_conditions(query)
        clauses = [sql.format(self.dialect.mark) for sql, _value in conditions]
        params: list[object] = [value for _sql, value in conditions]
        if pattern is not None:
            clauses.append(self.dialect.target_clause)
            params.append(self.dialect.target_pattern(pattern))
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""

        def work(cur: Cursor) -> list[tuple]:
            cur.execute(
                f"SELECT id, {', '.join(AUDIT_COLUMNS)} FROM audit_log "
                f"{where}ORDER BY id DESC LIMIT {self.dialect.mark}",
                [*params, query.limit],
            )
            return list(cur.fetchall())

        return [audit_record_from_row(r) for r in reversed(self.db.atomic(work))]
