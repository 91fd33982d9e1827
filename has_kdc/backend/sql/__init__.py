"""The stores both SQL dialects share: written once against ``Session``, they differ
only in what ``Dialect`` says (placeholder, name encoding, pattern matching)."""

from typing import Any

from has_kdc.backend.sql.audit import SqlAuditTrail
from has_kdc.backend.sql.changes import SqlChangeLog, log_change, log_changes, prune
from has_kdc.backend.sql.dialect import MYSQL, SQLITE, Cursor, Dialect, Session
from has_kdc.backend.sql.policies import SqlPasswordPolicies
from has_kdc.backend.sql.principals import SqlPrincipals
from has_kdc.backend.sql.realm import SqlRealmState
from has_kdc.backend.sql.users import SqlPluginUsers

__all__ = [
    "MYSQL",
    "SQLITE",
    "Cursor",
    "Dialect",
    "Session",
    "SqlAuditTrail",
    "SqlChangeLog",
    "SqlPasswordPolicies",
    "SqlPluginUsers",
    "SqlPrincipals",
    "SqlRealmState",
    "log_change",
    "log_changes",
    "prune",
    "shared_stores",
]


def shared_stores(session: Session) -> dict[str, Any]:
    """The stores of ``session`` that are the same in every dialect, by the names
    ``ComposedBackend`` takes them."""
    return {
        "realm": SqlRealmState(session),
        "users": SqlPluginUsers(session),
        "policies": SqlPasswordPolicies(session),
        "audit": SqlAuditTrail(session),
        "changes": SqlChangeLog(session),
    }
