"""What every SQL store does the same way, whatever its dialect.

The SQLite and MySQL stores keep one table layout (``principals``,
``principal_keys``, ``change_counter``, ``change_log``, ``has_users``,
``audit_log``) and one set of rules for the rows in it: how a principal is read back from a join of
principal and key rows, what a stored principal looks like after add, update and
rename, when the change log is pruned, what ``changes_since`` answers, and how an
audit record fits its columns and is searched. They
live here once, so the two stores cannot drift apart; each store keeps only its
SQL and its connection handling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from has_kdc.backend.errors import BackendError, SchemaError
from has_kdc.backend.model import (
    AuditQuery,
    AuditRecord,
    KeyData,
    PasswordPolicy,
    PluginUser,
    Principal,
)
from has_kdc.principal import default_salt, parse_principal

#: the stores' own logger name, as their other records use
log = logging.getLogger("has_kdc.backend")

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_WIDTHS",
    "CHANGE_LOG_RETENTION",
    "COLUMNS",
    "FLAGS",
    "MAX_PW_HISTORY",
    "POLICY_COLUMNS",
    "PRUNE_EVERY",
    "SETTABLE",
    "USER_COLUMNS",
    "PrincipalSelect",
    "added",
    "audit_conditions",
    "audit_record_from_row",
    "audit_values",
    "changes_answer",
    "check_keys",
    "check_policy",
    "migration_goal",
    "newer_schema",
    "pattern_as_glob",
    "pattern_as_like",
    "plugin_user_from_row",
    "policy_from_row",
    "principal_columns",
    "principals_from_rows",
    "prune_due",
    "renamed",
    "settable",
    "storable_name",
    "text",
    "updated",
]

# Entries of the change log older than this are pruned as new changes arrive; a KDC
# polling every second needs seconds of history, a day leaves room for stopped nodes.
CHANGE_LOG_RETENTION = 24 * 3600
PRUNE_EVERY = 1000

FLAGS = (
    "requires_preauth",
    "disabled",
    "allow_forwardable",
    "allow_proxiable",
    "allow_renewable",
    "allow_tix",
    "allow_svr",
)
LIMITS = ("max_life", "max_renewable_life", "expiration", "pw_expiration")
#: password policy state of a principal, columns since schema version 6
PASSWORD_STATE = ("policy", "last_pwd_change", "pw_history")
PASSWORD_STATE_VERSION = 6
#: the ``principals`` columns of schema versions 1 to 5
BASE_COLUMNS = ("name", "kvno", *FLAGS, *LIMITS, "created", "modified", "version")
#: the ``principals`` columns, in the order both stores select and insert them
COLUMNS = (*BASE_COLUMNS, *PASSWORD_STATE)
#: what ``update_principal`` may change (name by rename only; version by the store)
SETTABLE = tuple(c for c in COLUMNS if c not in ("name", "created", "version"))


def principal_columns(schema_version: int) -> tuple[str, ...]:
    """The ``principals`` columns a schema of ``schema_version`` has: a store opened on
    an older schema (before ``migrate``, or beside a node not yet upgraded) reads and
    writes only those; the password state then stays at its defaults."""
    if 0 < schema_version < PASSWORD_STATE_VERSION:
        return BASE_COLUMNS
    return COLUMNS


class PrincipalSelect:
    """The principals columns a store's schema has and the SELECT that reads a
    principal with its keys, shared by both stores (they differ in the key column's
    name only). The store sets ``_principal_columns`` to None after a migration."""

    _principal_columns: tuple[str, ...] | None = None
    #: the column that holds a key's bytes
    _KEY_COLUMN = "key"
    schema_version: Callable[[], int]  # the store's own

    def _columns(self) -> tuple[str, ...]:
        """The principals columns of this store's schema (read once; again after migrate)."""
        if self._principal_columns is None:
            version = self.schema_version()
            if version == 0:
                return principal_columns(0)
            self._principal_columns = principal_columns(version)
        return self._principal_columns

    @property
    def _SELECT(self) -> str:
        # Built from the fixed column lists of this module, never from input.
        return (
            "SELECT "  # noqa: S608
            + ", ".join(f"p.{c}" for c in self._columns())
            + f", k.enctype, k.kvno, k.{self._KEY_COLUMN}, k.salt, k.s2kparams FROM principals p "
            "LEFT JOIN principal_keys k ON k.principal_id = p.id "
        )


def settable(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns of ``columns`` that ``update_principal`` writes."""
    return tuple(c for c in columns if c not in ("name", "created", "version"))


USER_COLUMNS = "name, password_hash, disabled, created, modified, linked"
#: the ``password_policies`` columns, in the order both stores select and insert them
POLICY_COLUMNS = (
    "name",
    "min_length",
    "min_classes",
    "history_num",
    "min_life",
    "max_life",
    "created",
    "modified",
)
#: the most bytes of packed password history one principal keeps
MAX_PW_HISTORY = 60_000

#: the ``audit_log`` columns (after ``id``), in the order both stores insert them
AUDIT_COLUMNS = ("at", "node", "via", "actor", "address", "action", "target", "result", "detail")
#: the longest text each column holds, in characters; longer values are cut to fit
AUDIT_WIDTHS = {
    "node": 255,
    "via": 64,
    "actor": 255,
    "address": 64,
    "action": 64,
    "target": 1024,
    "result": 16,
    "detail": 4000,
}
#: the most records one read returns
MAX_AUDIT_READ = 10_000


def text(value: str | bytes | bytearray | memoryview) -> str:
    """A name column as text: SQLite gives ``str``, MySQL's VARBINARY gives bytes."""
    return value if isinstance(value, str) else bytes(value).decode("utf-8")


def storable_name(name: str) -> bool:
    """Whether ``name`` is text a store can hold: a name decoded from the wire keeps
    bytes that were not UTF-8 as lone surrogates, which no stored name has (lookups
    of such a name find nothing; the drivers could not even send it)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def principals_from_rows(
    rows: Iterable[tuple], columns: tuple[str, ...] = COLUMNS
) -> dict[str, Principal]:
    """Principals from rows of ``columns`` followed by enctype, kvno, key, salt, s2kparams.

    One row per key (a LEFT JOIN, so a principal without keys has one row of NULL
    key columns); rows of one principal come together, keys in position order.
    """
    out: dict[str, Principal] = {}
    width = len(columns)
    for row in rows:
        name = text(row[0])
        principal = out.get(name)
        if principal is None:
            values = dict(zip(columns, row[:width], strict=True))
            values["name"] = name
            for flag in FLAGS:
                values[flag] = bool(values[flag])
            if values.get("policy") is not None:
                values["policy"] = text(values["policy"])
            if values.get("pw_history") is not None:
                values["pw_history"] = bytes(values["pw_history"])
            principal = out[name] = Principal(**values)
        enctype, kvno, key, salt, s2kparams = row[width:]
        if enctype is not None:
            principal.keys.append(
                KeyData(
                    int(enctype),
                    int(kvno),
                    bytes(key),
                    None if salt is None else bytes(salt),
                    None if s2kparams is None else bytes(s2kparams),
                )
            )
    return out


def plugin_user_from_row(row: tuple) -> PluginUser:
    """A plugin user from a row of ``USER_COLUMNS``."""
    name, password_hash, disabled, created, modified, linked = row
    return PluginUser(
        text(name), str(password_hash), bool(disabled), int(created), int(modified), bool(linked)
    )


def policy_from_row(row: tuple) -> PasswordPolicy:
    """A password policy from a row of ``POLICY_COLUMNS``."""
    name, *numbers = row
    return PasswordPolicy(text(name), *(int(n) for n in numbers))


def check_policy(policy: PasswordPolicy) -> None:
    """What every store refuses in a policy: names it cannot key on, numbers out of range."""
    if not policy.name or len(policy.name.encode("utf-8")) > 255:
        raise BackendError("a password policy name must be 1 to 255 bytes long")
    for field_name in POLICY_COLUMNS[1:6]:
        value = getattr(policy, field_name)
        if not isinstance(value, int) or not 0 <= value < 2**31:
            raise BackendError(f"password policy {policy.name}: {field_name} is out of range")


def _fit(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 3] + "..."


def audit_values(record: AuditRecord) -> list[object]:
    """The ``AUDIT_COLUMNS`` values of ``record``, each text cut to its column's width.

    Cutting here (not failing) is what lets every change be recorded, whatever a
    client named it.
    """
    values: list[object] = [float(record.at)]
    for column in AUDIT_COLUMNS[1:]:
        values.append(_fit(str(getattr(record, column)), AUDIT_WIDTHS[column]))
    return values


def audit_record_from_row(row: tuple) -> AuditRecord:
    """An audit record from a row of ``id`` then ``AUDIT_COLUMNS``."""
    record_id, at, *texts = row
    return AuditRecord(
        float(at),
        *(text(t) for t in texts),
        id=int(record_id),  # type: ignore[arg-type]
    )


def audit_conditions(query: AuditQuery) -> tuple[list[tuple[str, object]], str | None]:
    """The exact conditions of ``query`` as (SQL with one ``{}`` placeholder, value)
    pairs, and its target pattern (``None``: any); each store adds its placeholder
    style and its way of matching the pattern. Refuses a limit out of range.
    """
    if not 1 <= query.limit <= MAX_AUDIT_READ:
        raise BackendError(
            f"an audit read returns 1 to {MAX_AUDIT_READ} records, not {query.limit}"
        )
    conditions: list[tuple[str, object]] = []
    if query.since is not None:
        conditions.append(("at >= {}", float(query.since)))
    if query.until is not None:
        conditions.append(("at <= {}", float(query.until)))
    for column in ("actor", "via", "action", "result"):
        value = getattr(query, column)
        if value is not None:
            conditions.append((f"{column} = {{}}", value))
    return conditions, query.target


def pattern_as_glob(pattern: str) -> str:
    """An audit target pattern (``*``, ``?``) as a SQLite GLOB: brackets made literal."""
    return "".join({"[": "[[]", "]": "[]]"}.get(c, c) for c in pattern)


def pattern_as_like(pattern: str) -> str:
    """An audit target pattern (``*``, ``?``) as a LIKE pattern with escape ``\\``."""
    out = []
    for c in pattern:
        if c in "%_\\":
            out.append("\\" + c)
        else:
            out.append({"*": "%", "?": "_"}.get(c, c))
    return "".join(out)


def check_keys(principal: Principal, name: str) -> None:
    """Refuse two keys of one enctype and kvno (the key table's primary key) up front,
    and a password history larger than its column."""
    if principal.pw_history is not None and len(principal.pw_history) > MAX_PW_HISTORY:
        raise BackendError(f"principal {name}: the password history is too large")
    seen: set[tuple[int, int]] = set()
    for key in principal.keys:
        ident = (key.kvno, key.enctype)
        if ident in seen:
            raise BackendError(
                f"principal {name}: two keys for enctype {key.enctype} and kvno {key.kvno}"
            )
        seen.add(ident)


def added(principal: Principal, name: str, now: int) -> Principal:
    """``principal`` as ``add_principal`` stores it: canonical name, version 1, times set."""
    return replace(
        principal,
        name=name,
        keys=list(principal.keys),
        created=principal.created or now,
        modified=now,
        version=1,
    )


def updated(principal: Principal, now: int) -> Principal:
    """``principal`` as ``update_principal`` stores it: the next version, modified now."""
    return replace(
        principal, keys=list(principal.keys), modified=now, version=principal.version + 1
    )


def renamed(current: Principal, old: str, new: str, now: int) -> Principal:
    """``current`` under its new name, keys made with the old default salt kept usable."""
    old_salt = default_salt(*parse_principal(old))
    keys = [k if k.salt is not None else replace(k, salt=old_salt) for k in current.keys]
    return replace(current, name=new, keys=keys, modified=now, version=current.version + 1)


def prune_due(first: int, last: int | None = None) -> bool:
    """Whether change numbers ``first`` to ``last`` (default: just ``first``) pass a
    multiple of ``PRUNE_EVERY``: the log is pruned that often, inside the write.
    """
    top = first if last is None else last
    return top // PRUNE_EVERY != (first - 1) // PRUNE_EVERY


def changes_answer(counter: int, value: int, pruned: int, names: Iterable[str]) -> list[str] | None:
    """``changes_since(counter)`` from the counter row and the log's principal names.

    ``None`` when the log cannot answer: the counter is ahead of the store (restored
    from an older backup) or behind what was pruned.
    """
    if counter > value or counter < pruned:
        return None
    return list(dict.fromkeys(names))


def migration_goal(target: int | None, latest: int) -> int:
    """The schema version ``migrate(target)`` is to reach; refuses one this code lacks."""
    goal = latest if target is None else target
    if not 0 <= goal <= latest:
        raise SchemaError(f"no schema version {goal}; this has-kdc knows 1 to {latest}")
    return goal


def newer_schema(where: str, current: int, latest: int) -> SchemaError:
    """The error for a store whose schema a newer has-kdc wrote."""
    return SchemaError(
        f"{where}: schema version {current} is newer than this has-kdc understands "
        f"({latest}); upgrade has-kdc"
    )


#: A schema step: (version, what it does, its statements). Never edit a released one.
Migration = tuple[int, str, tuple[str, ...]]


def pending_migrations(
    migrations: Sequence[Migration], current: int, goal: int, where: str
) -> Iterator[Migration]:
    """The steps from a store at ``current`` to ``goal``, in order, for the caller to apply.

    Both stores' migration loops are this plus their dialect (MySQL tolerates a step a
    Galera peer already ran and commits each; SQLite runs them in one transaction).
    A step is logged when the caller comes back for the next one, so one that failed
    is not reported as done. Refuses a store that a newer has-kdc wrote.
    """
    latest = migrations[-1][0]
    if current > latest:
        raise newer_schema(where, current, latest)
    for step in migrations:
        version, description, _ = step
        if current < version <= goal:
            yield step
            log.info("%s: schema upgraded to version %d (%s)", where, version, description)
