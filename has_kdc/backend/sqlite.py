"""The embedded identity store: one SQLite file, shared by every process of one node.

The KDC worker processes, ``has-server``'s web part and the ``kdcinit`` /
``hadmin-local`` tools open the same file at once, so:

* WAL journal: readers never block the writer nor each other.
* ``BEGIN IMMEDIATE`` for every write: the write lock is taken up front, so two
  writers queue on the busy timeout instead of one failing with "database is
  locked" when it upgrades a read lock.
* ``synchronous=FULL``: a principal whose keys were handed out in a keytab must
  not vanish in a power cut.
* The file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm
  files the same mode): it holds every key of the realm.

One connection per object, guarded by a lock so threads may share it; open a new
object after ``fork()``, never share one across processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from has_kdc.backend.errors import (
    BackendError,
    BackendUnavailable,
    ConcurrentModification,
    PrincipalExists,
    PrincipalNotFound,
    SchemaError,
    stored_name,
)
from has_kdc.backend.interface import IdentityBackend, check_plugin_user
from has_kdc.backend.model import (
    AuditQuery,
    AuditRecord,
    KeyData,
    NodeRecord,
    PasswordPolicy,
    PluginUser,
    Principal,
)
from has_kdc.backend.rows import (
    AUDIT_COLUMNS,
    CHANGE_LOG_RETENTION,
    POLICY_COLUMNS,
    USER_COLUMNS,
    PrincipalSelect,
    added,
    audit_conditions,
    audit_record_from_row,
    audit_values,
    changes_answer,
    check_keys,
    check_policy,
    migration_goal,
    newer_schema,
    pattern_as_glob,
    plugin_user_from_row,
    policy_from_row,
    principals_from_rows,
    prune_due,
    renamed,
    settable,
    storable_name,
    updated,
)

__all__ = ["MIGRATIONS", "SqliteBackend"]

log = logging.getLogger("has_kdc.backend")

# Versioned schema steps: (version, what it does, statements). Never edit a released
# step; add the next one.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
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


def _create_private_file(path: Path) -> None:
    """Create ``path`` 0600 if it does not exist; warn if an existing one is wider."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "%s has mode %04o; it holds the realm's keys and should be 0600", path, mode
            )
        return
    except FileNotFoundError:
        raise BackendError(
            f"cannot create {path}: directory {path.parent} does not exist"
        ) from None
    except PermissionError:
        raise BackendError(f"cannot create {path}: permission denied") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SqliteBackend(PrincipalSelect, IdentityBackend):
    """``IdentityBackend`` over one SQLite file."""

    latest_schema_version = LATEST_VERSION

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._principal_columns: tuple[str, ...] | None = None
        _create_private_file(self.path)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise BackendError(f"{self.path}: cannot switch to WAL journal mode ({mode})")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"cannot open {self.path}: {exc}") from None

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"

    # ---------------------------------------------------------------- plumbing

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate sqlite3 errors into BackendError kinds (messages carry no data)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise BackendUnavailable(f"{self.path}: database is busy: {text}") from None
            if "no such table" in text:
                raise SchemaError(
                    f"{self.path}: the schema is missing ({text}); run migrate()"
                ) from None
            raise BackendError(f"{self.path}: {text}") from None
        except sqlite3.DatabaseError as exc:
            raise BackendError(f"{self.path}: {exc}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqliteBackend]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            with self._errors():
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                with self._errors():
                    self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors():
            yield self._conn

    def _now(self) -> int:
        return int(self._clock())

    def _log_change(self, kind: str, name: str) -> int:
        """Bump the counter and record what changed; call inside a transaction."""
        conn = self._conn
        conn.execute("UPDATE change_counter SET value = value + 1 WHERE id = 1")
        seq = conn.execute("SELECT value FROM change_counter WHERE id = 1").fetchone()[0]
        now = self._now()
        conn.execute(
            "INSERT INTO change_log (seq, kind, name, changed) VALUES (?, ?, ?, ?)",
            (seq, kind, name, now),
        )
        if prune_due(seq):
            self._prune(now - CHANGE_LOG_RETENTION)
        return seq

    def _prune(self, cutoff: int) -> int:
        conn = self._conn
        row = conn.execute(
            "SELECT COUNT(*), MAX(seq) FROM change_log WHERE changed < ?", (cutoff,)
        ).fetchone()
        if not row[0]:
            return 0
        conn.execute("DELETE FROM change_log WHERE seq <= ?", (row[1],))
        conn.execute(
            "UPDATE change_counter SET pruned_through = MAX(pruned_through, ?) WHERE id = 1",
            (row[1],),
        )
        return int(row[0])

    # ---------------------------------------------------------------- principals

    def get_principal(self, name: str) -> Principal | None:
        if not storable_name(name):
            return None
        with self._read() as conn:
            rows = conn.execute(
                self._SELECT + "WHERE p.name = ? ORDER BY k.position", (name,)
            ).fetchall()
        return principals_from_rows(rows, self._columns()).get(name)

    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        wanted = [n for n in dict.fromkeys(names) if storable_name(n)]
        out: dict[str, Principal] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._read() as conn:
                rows = conn.execute(
                    self._SELECT + f"WHERE p.name IN ({marks}) ORDER BY p.id, k.position",
                    chunk,
                ).fetchall()
            out.update(principals_from_rows(rows, self._columns()))
        return out

    def list_principals(self, glob: str | None = None) -> list[str]:
        with self._read() as conn:
            if glob is None:
                rows = conn.execute("SELECT name FROM principals ORDER BY name").fetchall()
            else:
                rows = conn.execute(
                    "SELECT name FROM principals WHERE name GLOB ? ORDER BY name", (glob,)
                ).fetchall()
        return [r[0] for r in rows]

    def _write_keys(self, principal_id: int, keys: list[KeyData]) -> None:
        self._conn.execute("DELETE FROM principal_keys WHERE principal_id = ?", (principal_id,))
        self._conn.executemany(
            "INSERT INTO principal_keys (principal_id, position, enctype, kvno, key, salt, "
            "s2kparams) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (principal_id, i, k.enctype, k.kvno, bytes(k.key), k.salt, k.s2kparams)
                for i, k in enumerate(keys)
            ],
        )

    def add_principal(self, principal: Principal) -> Principal:
        name = stored_name(principal.name)
        check_keys(principal, name)
        stored = added(principal, name, self._now())
        columns = self._columns()
        with self.transaction(), self._errors():
            conn = self._conn
            if conn.execute("SELECT 1 FROM principals WHERE name = ?", (name,)).fetchone():
                raise PrincipalExists(name)
            cur = conn.execute(
                f"INSERT INTO principals ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(columns))})",
                [getattr(stored, c) for c in columns],
            )
            self._write_keys(cur.lastrowid, stored.keys)
            self._log_change("principal", name)
        return stored

    def update_principal(self, principal: Principal) -> Principal:
        check_keys(principal, principal.name)
        stored = updated(principal, self._now())
        changing = settable(self._columns())
        with self.transaction(), self._errors():
            conn = self._conn
            row = conn.execute(
                "SELECT id, version FROM principals WHERE name = ?", (principal.name,)
            ).fetchone()
            if row is None:
                raise PrincipalNotFound(principal.name)
            if row[1] != principal.version:
                raise ConcurrentModification(principal.name, principal.version, row[1])
            conn.execute(
                f"UPDATE principals SET {', '.join(f'{c} = ?' for c in changing)}, "  # noqa: S608
                "version = ? WHERE id = ?",
                [*(getattr(stored, c) for c in changing), stored.version, row[0]],
            )
            self._write_keys(row[0], stored.keys)
            self._log_change("principal", principal.name)
        return stored

    def delete_principal(self, name: str) -> None:
        with self.transaction(), self._errors():
            cur = self._conn.execute("DELETE FROM principals WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise PrincipalNotFound(name)
            self._log_change("principal", name)

    def rename_principal(self, old: str, new: str) -> Principal:
        new = stored_name(new)
        with self.transaction(), self._errors():
            current = self.get_principal(old)
            if current is None:
                raise PrincipalNotFound(old)
            if self._conn.execute("SELECT 1 FROM principals WHERE name = ?", (new,)).fetchone():
                raise PrincipalExists(new)
            stored = renamed(current, old, new, self._now())
            row_id = self._conn.execute(
                "SELECT id FROM principals WHERE name = ?", (old,)
            ).fetchone()[0]
            self._conn.execute(
                "UPDATE principals SET name = ?, modified = ?, version = ? WHERE id = ?",
                (new, stored.modified, stored.version, row_id),
            )
            self._write_keys(row_id, stored.keys)
            self._log_change("principal", old)
            self._log_change("principal", new)
        return stored

    # ---------------------------------------------------------------- realm config, nodes

    def get_realm_config(self) -> dict[str, str]:
        with self._read() as conn:
            return dict(conn.execute("SELECT name, value FROM realm_config").fetchall())

    def get_config(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM realm_config WHERE name = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_config(self, key: str, value: str | None) -> None:
        with self.transaction(), self._errors():
            if value is None:
                self._conn.execute("DELETE FROM realm_config WHERE name = ?", (key,))
            else:
                self._conn.execute(
                    "INSERT INTO realm_config (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (key, str(value)),
                )
            self._log_change("config", key)

    def register_node(self, host: str) -> None:
        now = self._now()
        with self.transaction(), self._errors():
            known = self._conn.execute("SELECT 1 FROM kdc_nodes WHERE host = ?", (host,)).fetchone()
            self._conn.execute(
                "INSERT INTO kdc_nodes (host, registered, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (host) DO UPDATE SET last_seen = excluded.last_seen",
                (host, now, now),
            )
            if not known:
                self._log_change("node", host)

    def deregister_node(self, host: str) -> bool:
        with self.transaction(), self._errors():
            gone = self._conn.execute("DELETE FROM kdc_nodes WHERE host = ?", (host,)).rowcount
            if gone:
                self._log_change("node", host)
        return bool(gone)

    def list_nodes(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute("SELECT host FROM kdc_nodes ORDER BY registered, host").fetchall()
        return [r[0] for r in rows]

    def record_node_status(self, host: str, status: str) -> bool:
        now = self._now()
        with self.transaction(), self._errors():
            cur = self._conn.execute(
                "UPDATE kdc_nodes SET last_seen = ?, status = ? WHERE host = ?",
                (now, status, host),
            )
            return cur.rowcount > 0

    def node_records(self) -> list[NodeRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT host, registered, last_seen, status FROM kdc_nodes "
                "ORDER BY registered, host"
            ).fetchall()
        return [NodeRecord(h, int(r), int(s), st) for h, r, s, st in rows]

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    # ---------------------------------------------------------------- plugin users

    def get_plugin_user(self, name: str) -> PluginUser | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {USER_COLUMNS} FROM has_users WHERE name = ?",  # noqa: S608
                (name,),
            ).fetchone()
        return None if row is None else plugin_user_from_row(row)

    def put_plugin_user(self, user: PluginUser) -> PluginUser:
        check_plugin_user(user)
        now = self._now()
        with self.transaction(), self._errors():
            row = self._conn.execute(
                "SELECT created FROM has_users WHERE name = ?", (user.name,)
            ).fetchone()
            created = int(row[0]) if row else now
            self._conn.execute(
                f"INSERT INTO has_users ({USER_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "password_hash = excluded.password_hash, disabled = excluded.disabled, "
                "modified = excluded.modified, linked = excluded.linked",
                (user.name, user.password_hash, int(user.disabled), created, now, int(user.linked)),
            )
        return replace(user, created=created, modified=now)

    def delete_plugin_user(self, name: str) -> bool:
        with self.transaction(), self._errors():
            cur = self._conn.execute("DELETE FROM has_users WHERE name = ?", (name,))
            return cur.rowcount > 0

    def list_plugin_users(self) -> list[PluginUser]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {USER_COLUMNS} FROM has_users ORDER BY name"  # noqa: S608
            ).fetchall()
        return [plugin_user_from_row(r) for r in rows]

    # ---------------------------------------------------------------- password policies

    _POLICY_SELECT = f"SELECT {', '.join(POLICY_COLUMNS)} FROM password_policies "  # noqa: S608

    def get_policy(self, name: str) -> PasswordPolicy | None:
        with self._read() as conn, self._errors():
            row = conn.execute(self._POLICY_SELECT + "WHERE name = ?", (name,)).fetchone()
        return None if row is None else policy_from_row(row)

    def put_policy(self, policy: PasswordPolicy) -> PasswordPolicy:
        check_policy(policy)
        now = self._now()
        with self.transaction(), self._errors():
            row = self._conn.execute(
                "SELECT created FROM password_policies WHERE name = ?", (policy.name,)
            ).fetchone()
            stored = replace(policy, created=int(row[0]) if row else now, modified=now)
            self._conn.execute(
                f"INSERT OR REPLACE INTO password_policies ({', '.join(POLICY_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(POLICY_COLUMNS))})",
                [getattr(stored, c) for c in POLICY_COLUMNS],
            )
            self._log_change("policy", policy.name)
        return stored

    def delete_policy(self, name: str) -> bool:
        with self.transaction(), self._errors():
            cur = self._conn.execute("DELETE FROM password_policies WHERE name = ?", (name,))
            if cur.rowcount:
                self._log_change("policy", name)
            return cur.rowcount > 0

    def list_policies(self) -> list[PasswordPolicy]:
        with self._read() as conn, self._errors():
            rows = conn.execute(self._POLICY_SELECT + "ORDER BY name").fetchall()
        return [policy_from_row(r) for r in rows]

    # ---------------------------------------------------------------- audit trail

    def add_audit_record(self, record: AuditRecord) -> AuditRecord:
        with self.transaction(), self._errors():
            cur = self._conn.execute(
                f"INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})",
                audit_values(record),
            )
            record_id = int(cur.lastrowid or 0)
        return replace(record, id=record_id)

    def list_audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        conditions, pattern = audit_conditions(query)
        clauses = [sql.format("?") for sql, _value in conditions]
        params: list[object] = [value for _sql, value in conditions]
        if pattern is not None:
            clauses.append("target GLOB ?")
            params.append(pattern_as_glob(pattern))
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, {', '.join(AUDIT_COLUMNS)} FROM audit_log "  # noqa: S608
                f"{where}ORDER BY id DESC LIMIT ?",
                [*params, query.limit],
            ).fetchall()
        return [audit_record_from_row(r) for r in reversed(rows)]

    # ---------------------------------------------------------------- changes

    def change_counter(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT value FROM change_counter WHERE id = 1").fetchone()[0])

    def changes_since(self, counter: int) -> list[str] | None:
        with self._snapshot() as conn:
            value, pruned = conn.execute(
                "SELECT value, pruned_through FROM change_counter WHERE id = 1"
            ).fetchone()
            rows = conn.execute(
                "SELECT name FROM change_log WHERE seq > ? AND kind = 'principal' ORDER BY seq",
                (counter,),
            ).fetchall()
        return changes_answer(counter, value, pruned, (r[0] for r in rows))

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (a deferred transaction)."""
        with self._read() as conn:
            if self._depth:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def prune_changes(self, older_than: int) -> int:
        with self.transaction(), self._errors():
            return self._prune(self._now() - older_than)

    # ---------------------------------------------------------------- schema

    def schema_version(self) -> int:
        with self._read() as conn:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if not exists:
                return 0
            return int(
                conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            )

    def migrate(self, target: int | None = None) -> int:
        goal = migration_goal(target, LATEST_VERSION)
        with self.transaction(), self._errors():
            conn = self._conn
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied INTEGER NOT NULL)"
            )
            current = self.schema_version()
            if current > LATEST_VERSION:
                raise newer_schema(str(self.path), current, LATEST_VERSION)
            for version, description, statements in MIGRATIONS:
                if current < version <= goal:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_version (version, description, applied) "
                        "VALUES (?, ?, ?)",
                        (version, description, self._now()),
                    )
                    log.info(
                        "%s: schema upgraded to version %d (%s)", self.path, version, description
                    )
            self._principal_columns = None
            return max(current, goal)

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()
