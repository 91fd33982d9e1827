"""What every SQL store does the same way, whatever its dialect.

The SQLite and MySQL stores keep one table layout (``principals``,
``principal_keys``, ``change_counter``, ``change_log``, ``has_users``) and one set
of rules for the rows in it: how a principal is read back from a join of
principal and key rows, what a stored principal looks like after add, update and
rename, when the change log is pruned, and what ``changes_since`` answers. They
live here once, so the two stores cannot drift apart; each store keeps only its
SQL and its connection handling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from has_kdc.backend.errors import BackendError, SchemaError
from has_kdc.backend.model import KeyData, PluginUser, Principal
from has_kdc.principal import default_salt, parse_principal

__all__ = [
    "CHANGE_LOG_RETENTION",
    "COLUMNS",
    "FLAGS",
    "PRUNE_EVERY",
    "SETTABLE",
    "USER_COLUMNS",
    "added",
    "changes_answer",
    "check_keys",
    "migration_goal",
    "newer_schema",
    "plugin_user_from_row",
    "principals_from_rows",
    "prune_due",
    "renamed",
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
#: the ``principals`` columns, in the order both stores select and insert them
COLUMNS = ("name", "kvno", *FLAGS, *LIMITS, "created", "modified", "version")
#: what ``update_principal`` may change (name by rename only; version by the store)
SETTABLE = tuple(c for c in COLUMNS if c not in ("name", "created", "version"))
USER_COLUMNS = "name, password_hash, disabled, created, modified"


def text(value: str | bytes | bytearray | memoryview) -> str:
    """A name column as text: SQLite gives ``str``, MySQL's VARBINARY gives bytes."""
    return value if isinstance(value, str) else bytes(value).decode("utf-8")


def principals_from_rows(rows: Iterable[tuple]) -> dict[str, Principal]:
    """Principals from rows of ``COLUMNS`` followed by enctype, kvno, key, salt, s2kparams.

    One row per key (a LEFT JOIN, so a principal without keys has one row of NULL
    key columns); rows of one principal come together, keys in position order.
    """
    out: dict[str, Principal] = {}
    width = len(COLUMNS)
    for row in rows:
        name = text(row[0])
        principal = out.get(name)
        if principal is None:
            values = dict(zip(COLUMNS, row[:width], strict=True))
            values["name"] = name
            for flag in FLAGS:
                values[flag] = bool(values[flag])
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
    name, password_hash, disabled, created, modified = row
    return PluginUser(text(name), str(password_hash), bool(disabled), int(created), int(modified))


def check_keys(principal: Principal, name: str) -> None:
    """Refuse two keys of one enctype and kvno (the key table's primary key) up front."""
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
