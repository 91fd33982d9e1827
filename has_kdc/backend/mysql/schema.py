"""The MySQL schema: versioned migrations, run by one node at a time.

``migrate`` takes a server-wide ``GET_LOCK`` named after the database, so nodes
starting together queue: the first upgrades, the others find the work done. MySQL
commits each DDL statement on its own, so a step cut short (a crash) is finished by
running it again: "already exists" errors of a repeated statement are taken as done.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable

import pymysql
from pymysql.cursors import Cursor

from has_kdc.backend.errors import BackendError, BackendUnavailable
from has_kdc.backend.mysql.errors import ALREADY_DONE
from has_kdc.backend.mysql.session import MysqlSession
from has_kdc.backend.rows import Migration, migration_goal, pending_migrations
from has_kdc.backend.stores import Schema

__all__ = ["LATEST_VERSION", "MIGRATIONS", "MysqlSchema", "read_schema_version"]


_TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

# Versioned schema steps: (version, what it does, statements). Never edit a released
# step; add the next one. MySQL commits each DDL statement on its own, so a step cut
# short (a crash) is finished by running it again: "already exists" errors of a
# repeated statement are taken as done (see ALREADY_DONE).
MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "principals, keys, realm config, nodes, change counter and log",
        (
            f"""CREATE TABLE IF NOT EXISTS principals (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                name VARBINARY(1024) NOT NULL,
                kvno BIGINT NOT NULL,
                requires_preauth BOOLEAN NOT NULL,
                disabled BOOLEAN NOT NULL,
                allow_forwardable BOOLEAN NOT NULL,
                allow_proxiable BOOLEAN NOT NULL,
                allow_renewable BOOLEAN NOT NULL,
                allow_tix BOOLEAN NOT NULL,
                allow_svr BOOLEAN NOT NULL,
                max_life BIGINT NULL,
                max_renewable_life BIGINT NULL,
                expiration BIGINT NULL,
                pw_expiration BIGINT NULL,
                created BIGINT NOT NULL,
                modified BIGINT NOT NULL,
                version BIGINT NOT NULL,
                UNIQUE KEY principals_name (name)) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS principal_keys (
                principal_id BIGINT NOT NULL,
                position INT NOT NULL,
                enctype INT NOT NULL,
                kvno BIGINT NOT NULL,
                key_contents VARBINARY(512) NOT NULL,
                salt VARBINARY(2048) NULL,
                s2kparams VARBINARY(255) NULL,
                PRIMARY KEY (principal_id, kvno, enctype),
                CONSTRAINT principal_keys_principal FOREIGN KEY (principal_id)
                    REFERENCES principals (id) ON DELETE CASCADE) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS realm_config (
                name VARBINARY(255) NOT NULL PRIMARY KEY,
                value TEXT NOT NULL) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS kdc_nodes (
                host VARBINARY(255) NOT NULL PRIMARY KEY,
                registered BIGINT NOT NULL,
                last_seen BIGINT NOT NULL) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS change_counter (
                id TINYINT NOT NULL PRIMARY KEY,
                value BIGINT NOT NULL,
                pruned_through BIGINT NOT NULL,
                CONSTRAINT change_counter_one_row CHECK (id = 1)) {_TABLE}""",
            "INSERT IGNORE INTO change_counter (id, value, pruned_through) VALUES (1, 0, 0)",
            f"""CREATE TABLE IF NOT EXISTS change_log (
                seq BIGINT NOT NULL PRIMARY KEY,
                kind VARCHAR(16) NOT NULL,
                name VARBINARY(1024) NOT NULL,
                changed BIGINT NOT NULL) {_TABLE}""",
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
            f"""CREATE TABLE IF NOT EXISTS has_users (
                name VARBINARY(255) NOT NULL PRIMARY KEY,
                password_hash VARCHAR(255) NOT NULL,
                disabled BOOLEAN NOT NULL,
                created BIGINT NOT NULL,
                modified BIGINT NOT NULL) {_TABLE}""",
        ),
    ),
    (
        4,
        "the audit trail; plugin users linked to principals with keys",
        (
            "ALTER TABLE has_users ADD COLUMN linked BOOLEAN NOT NULL DEFAULT FALSE",
            f"""CREATE TABLE IF NOT EXISTS audit_log (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                at DOUBLE NOT NULL,
                node VARCHAR(255) NOT NULL,
                via VARCHAR(64) NOT NULL,
                actor VARCHAR(255) NOT NULL,
                address VARCHAR(64) NOT NULL,
                action VARCHAR(64) NOT NULL,
                target VARCHAR(1024) NOT NULL,
                result VARCHAR(16) NOT NULL,
                detail TEXT NOT NULL,
                KEY audit_log_at (at)) {_TABLE}""",
        ),
    ),
    (
        5,
        "node status (heartbeats); write tokens, so a write whose COMMIT got no answer "
        "is neither lost nor applied twice",
        (
            "ALTER TABLE kdc_nodes ADD COLUMN status TEXT NULL",
            f"""CREATE TABLE IF NOT EXISTS write_tokens (
                token BINARY(16) NOT NULL PRIMARY KEY,
                written BIGINT NOT NULL,
                KEY write_tokens_written (written)) {_TABLE}""",
        ),
    ),
    (
        6,
        "password policies; a principal's policy, last password change and history",
        (
            "ALTER TABLE principals ADD COLUMN policy VARBINARY(255) NULL",
            "ALTER TABLE principals ADD COLUMN last_pwd_change BIGINT NULL",
            "ALTER TABLE principals ADD COLUMN pw_history BLOB NULL",
            f"""CREATE TABLE IF NOT EXISTS password_policies (
                name VARBINARY(255) NOT NULL PRIMARY KEY,
                min_length INT NOT NULL,
                min_classes INT NOT NULL,
                history_num INT NOT NULL,
                min_life BIGINT NOT NULL,
                max_life BIGINT NOT NULL,
                created BIGINT NOT NULL,
                modified BIGINT NOT NULL) {_TABLE}""",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1][0]

MIGRATE_LOCK_WAIT = 120.0
MIGRATE_IO_TIMEOUT = 60.0


def read_schema_version(cur: Cursor) -> int:
    """The schema version of the database ``cur`` is on (0: none yet)."""
    cur.execute(
        "SELECT COUNT(*) FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name = 'schema_version'"
    )
    if not cur.fetchone()[0]:
        return 0
    cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    return int(cur.fetchone()[0])


class MysqlSchema(Schema):
    """``Schema`` of a MySQL database; ``after_migrate`` are told when it changed."""

    latest_schema_version = LATEST_VERSION

    def __init__(self, db: MysqlSession):
        self.db = db
        self.after_migrate: list[Callable[[], None]] = []

    def schema_version(self) -> int:
        return self.db.atomic(read_schema_version)

    def _migrate_lock_name(self) -> str:
        # GET_LOCK names are server-wide and at most 64 characters.
        digest = hashlib.sha256(self.db.link.database.encode("utf-8")).hexdigest()[:32]
        return f"has_kdc.schema.{digest}"

    def migrate(self, target: int | None = None) -> int:
        """Create or upgrade the schema; one node at a time (``GET_LOCK``), others wait."""
        goal = migration_goal(target, LATEST_VERSION)
        with self.db.lock:
            if self.db.in_transaction:
                raise BackendError("migrate() cannot run inside a transaction (DDL commits)")
            # Lock, steps and release on one connection: GET_LOCK belongs to the session.
            version = self.db.atomic(lambda cur: self._migrate_with_lock(cur, goal))
            self.db.tokens = True
            for told in self.after_migrate:
                told()
            return version

    def _migrate_with_lock(self, cur: Cursor, goal: int) -> int:
        # Schema changes are not on any request's path, and on Galera a DDL statement
        # waits its turn in the cluster's total order: wait longer than a request may.
        conn = cur.connection
        saved = conn._read_timeout, conn._write_timeout
        conn._read_timeout = conn._write_timeout = MIGRATE_IO_TIMEOUT
        try:
            return self._migrate_locked_steps(cur, goal)
        finally:
            conn._read_timeout, conn._write_timeout = saved

    def _migrate_locked_steps(self, cur: Cursor, goal: int) -> int:
        lock_name = self._migrate_lock_name()
        deadline = time.monotonic() + MIGRATE_LOCK_WAIT
        wait = max(1, self.db.link.lock_timeout - 1)  # each wait stays inside the read timeout
        while True:
            cur.execute("SELECT GET_LOCK(%s, %s)", (lock_name, wait))
            if cur.fetchone()[0] == 1:
                break
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"{self.db.where}: another node has been migrating the schema for over "
                    f"{MIGRATE_LOCK_WAIT:.0f} s; try again later"
                )
        try:
            return self._migrate_locked(cur, goal)
        finally:
            with contextlib.suppress(pymysql.err.MySQLError):
                cur.execute("DO RELEASE_LOCK(%s)", (lock_name,))

    def _migrate_locked(self, cur: Cursor, goal: int) -> int:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY, "
            f"description VARCHAR(255) NOT NULL, applied BIGINT NOT NULL) {_TABLE}"
        )
        current = read_schema_version(cur)
        for version, description, statements in pending_migrations(
            MIGRATIONS, current, goal, self.db.where
        ):
            for statement in statements:
                try:
                    cur.execute(statement)
                except pymysql.err.MySQLError as exc:
                    if not exc.args or exc.args[0] not in ALREADY_DONE:
                        raise
            # IGNORE: on Galera another host's run may have recorded it first.
            cur.execute(
                "INSERT IGNORE INTO schema_version (version, description, applied) "
                "VALUES (%s, %s, %s)",
                (version, description, self.db.now()),
            )
            cur.connection.commit()
        return max(current, goal)
