"""What a Galera node says of itself, and when it must not be used."""

from __future__ import annotations

import pymysql
from pymysql.cursors import Cursor

from has_kdc.backend.mysql.errors import UNKNOWN_VARIABLE

__all__ = ["galera_on", "galera_refusal", "galera_status"]


def galera_on(cur: Cursor) -> bool:
    """Whether the server is a Galera node (MySQL has no ``wsrep_on`` at all)."""
    try:
        cur.execute("SELECT @@GLOBAL.wsrep_on")
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] == UNKNOWN_VARIABLE:
            return False
        raise
    row = cur.fetchone()
    return bool(row and int(row[0]))


def galera_status(cur: Cursor) -> dict[str, str]:
    """The Galera status of the server (``wsrep_`` variables, lower case), empty if none."""
    if not galera_on(cur):
        return {}
    cur.execute(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', "
        "'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_state_uuid', "
        "'wsrep_connected')"
    )
    return {str(k).lower(): str(v) for k, v in cur.fetchall()}


def galera_refusal(cur: Cursor) -> str | None:
    """Why a Galera node must not be used now (None: a Synced member of a primary
    component, or no Galera node at all)."""
    state = galera_status(cur)
    if not state:
        return None
    ready = state.get("wsrep_ready")
    status = state.get("wsrep_cluster_status")
    comment = state.get("wsrep_local_state_comment")
    if ready == "ON" and status == "Primary" and comment == "Synced":
        return None
    return f"the Galera node is {comment} in a {status} component (wsrep_ready {ready})"
