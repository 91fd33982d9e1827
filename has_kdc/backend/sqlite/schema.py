"""The SQLite schema: versioned migrations, run inside the database's write lock."""

from __future__ import annotations

from collections.abc import Callable

from has_kdc.backend.rows import Migration, migration_goal, pending_migrations
from has_kdc.backend.sql.dialect import Cursor
from has_kdc.backend.sqlite.connection import SqliteConnection
from has_kdc.backend.stores import Schema

__all__ = ["LATEST_VERSION", "MIGRATIONS", "SqliteSchema"]


# Versioned schema steps: (version, what it does, statements). Never edit a released
# step; add the next one.
MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "principals, keys, realm config, nodes, change counter and log",
        (
            """CREATE TABLE principals (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE,
                kvno INTEGER NOT NULL,
                requires_preauth INTEGER NOT NULL,
                disabled INTEGER NOT NULL,
                allow_forwardable INTEGER NOT NULL,
                allow_proxiable INTEGER NOT NULL,
                allow_renewable INTEGER NOT NULL,
                allow_tix INTEGER NOT NULL,
                allow_svr INTEGER NOT NULL,
                max_life INTEGER,
                max_renewable_life INTEGER,
                expiration INTEGER,
                pw_expiration INTEGER,
                created INTEGER NOT NULL,
                modified INTEGER NOT NULL,
                version INTEGER NOT NULL)""",
            """CREATE TABLE principal_keys (
                principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                enctype INTEGER NOT NULL,
                kvno INTEGER NOT NULL,
                key BLOB NOT NULL,
                salt BLOB,
                s2kparams BLOB,
                PRIMARY KEY (principal_id, kvno, enctype))""",
            "CREATE TABLE realm_config (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE kdc_nodes (
                host TEXT PRIMARY KEY,
                registered INTEGER NOT NULL,
                last_seen INTEGER NOT NULL)""",
            """CREATE TABLE change_counter (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                value INTEGER NOT NULL,
                pruned_through INTEGER NOT NULL)""",
            "INSERT INTO change_counter (id, value, pruned_through) VALUES (1, 0, 0)",
            """CREATE TABLE change_log (
                seq INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                changed INTEGER NOT NULL)""",
        ),
    ),
    (
        2,
        "index the change log by time, for pruning",
        ("CREATE INDEX change_log_changed ON change_log (changed)",),
    ),
    (
        3,
        "users of the MySQL authentication plugin (TGT over HTTPS)",
        (
            """CREATE TABLE has_users (
                name TEXT NOT NULL PRIMARY KEY,
                password_hash TEXT NOT NULL,
                disabled INTEGER NOT NULL,
                created INTEGER NOT NULL,
                modified INTEGER NOT NULL)""",
        ),
    ),
    (
        4,
        "the audit trail; plugin users linked to principals with keys",
        (
            "ALTER TABLE has_users ADD COLUMN linked INTEGER NOT NULL DEFAULT 0",
            """CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                node TEXT NOT NULL,
                via TEXT NOT NULL,
                actor TEXT NOT NULL,
                address TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                result TEXT NOT NULL,
                detail TEXT NOT NULL)""",
            "CREATE INDEX audit_log_at ON audit_log (at)",
        ),
    ),
    (
        5,
        "node status (heartbeats)",
        ("ALTER TABLE kdc_nodes ADD COLUMN status TEXT",),
    ),
    (
        6,
        "password policies; a principal's policy, last password change and history",
        (
            "ALTER TABLE principals ADD COLUMN policy TEXT",
            "ALTER TABLE principals ADD COLUMN last_pwd_change INTEGER",
            "ALTER TABLE principals ADD COLUMN pw_history BLOB",
            """CREATE TABLE password_policies (
                name TEXT NOT NULL PRIMARY KEY,
                min_length INTEGER NOT NULL,
                min_classes INTEGER NOT NULL,
                history_num INTEGER NOT NULL,
                min_life INTEGER NOT NULL,
                max_life INTEGER NOT NULL,
                created INTEGER NOT NULL,
                modified INTEGER NOT NULL)""",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1][0]


def read_schema_version(cur: Cursor) -> int:
    """The schema version of the database (0: none yet)."""
    cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    if not cur.fetchone():
        return 0
    cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    return int(cur.fetchone()[0])


class SqliteSchema(Schema):
    """``Schema`` of one SQLite file; ``after_migrate`` are told when it changed."""

    latest_schema_version = LATEST_VERSION

    def __init__(self, db: SqliteConnection):
        self.db = db
        self.after_migrate: list[Callable[[], None]] = []

    def schema_version(self) -> int:
        return self.db.atomic(read_schema_version)

    def migrate(self, target: int | None = None) -> int:
        goal = migration_goal(target, LATEST_VERSION)
        version = self.db.atomic(lambda cur: self._migrate(cur, goal), write=True)
        for told in self.after_migrate:
            told()
        return version

    def _migrate(self, cur: Cursor, goal: int) -> int:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
            "description TEXT NOT NULL, applied INTEGER NOT NULL)"
        )
        current = read_schema_version(cur)
        for version, description, statements in pending_migrations(
            MIGRATIONS, current, goal, self.db.where
        ):
            for statement in statements:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
                (version, description, self.db.now()),
            )
        return max(current, goal)
