"""The store split along what it stores: one small interface per kind of state.

A caller that needs one kind names that interface: the KDC's hot path needs only
``PrincipalStore`` (a principal by name, and whether anything changed), the audit
code only ``AuditTrail``. ``IdentityBackend`` (``interface.py``) is all of them behind
one object, with the transactions that span them; each SQL dialect builds it from
one store object per interface here (``composed.py``).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import Protocol

from has_kdc.backend.model import (
    AuditQuery,
    AuditRecord,
    NodeRecord,
    PasswordPolicy,
    PluginUser,
    Principal,
)

__all__ = [
    "AuditTrail",
    "ChangeLog",
    "PasswordPolicies",
    "PluginUsers",
    "PrincipalStore",
    "Principals",
    "RealmState",
    "Schema",
]


class PrincipalStore(Protocol):
    """The KDC's hot path: a principal with its keys by name, and the change counter
    that tells its cache what to forget (``has_kdc.kdc.principal_cache``)."""

    def get_principal(self, name: str) -> Principal | None: ...

    def change_counter(self) -> int: ...

    def changes_since(self, counter: int) -> Iterable[str] | None: ...


class Principals(abc.ABC):
    """Principals and their keys."""

    @abc.abstractmethod
    def get_principal(self, name: str) -> Principal | None:
        """The principal called ``name``, keys included, or ``None``."""

    @abc.abstractmethod
    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        """Several principals in one round trip; names that do not exist are left out."""

    @abc.abstractmethod
    def list_principals(
        self, glob: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Names matching a shell glob (``*``, ``?``, ``[...]``, case-sensitive), sorted
        by their UTF-8 bytes; with ``after``/``limit``, the first ``limit`` names sorting
        after ``after`` (a page: the caller's next page starts after its last name)."""

    @abc.abstractmethod
    def add_principal(self, principal: Principal) -> Principal:
        """Store a new principal; returns it as stored (version 1, times set).

        Raises ``PrincipalExists``.
        """

    @abc.abstractmethod
    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        """Store several new principals at once: all of them or, on any error, none.

        For bulk creation (``creprincs``: hosts x Hadoop roles). One transaction and
        one change-counter step per principal, as ``add_principal`` would give;
        implementations batch the statements. Raises ``PrincipalExists`` if any name
        is taken (or given twice).
        """

    @abc.abstractmethod
    def update_principal(self, principal: Principal) -> Principal:
        """Replace attributes and keys of an existing principal, if its version is current.

        Raises ``PrincipalNotFound`` or ``ConcurrentModification``; returns the
        principal as stored, with its new version.
        """

    @abc.abstractmethod
    def delete_principal(self, name: str) -> None:
        """Remove a principal and its keys. Raises ``PrincipalNotFound``."""

    @abc.abstractmethod
    def rename_principal(self, old: str, new: str) -> Principal:
        """Give a principal a new name, keeping its keys usable.

        Keys made with the default salt of the old name keep that salt, stored
        explicitly, so existing passwords still work. Raises ``PrincipalNotFound``
        or ``PrincipalExists``.
        """

    def iter_principals(self, glob: str | None = None, batch: int = 500) -> Iterator[Principal]:
        """Every principal matching ``glob``, fetched ``batch`` at a time (e.g. for exports)."""
        names = self.list_principals(glob)
        for start in range(0, len(names), batch):
            found = self.get_principals(names[start : start + batch])
            for name in names[start : start + batch]:
                if name in found:
                    yield found[name]


class RealmState(abc.ABC):
    """What every node of the realm shares besides identities: realm configuration
    and the registry of nodes, with their heartbeats."""

    @abc.abstractmethod
    def get_realm_config(self) -> dict[str, str]:
        """All realm configuration entries."""

    @abc.abstractmethod
    def get_config(self, key: str) -> str | None:
        """One realm configuration entry."""

    @abc.abstractmethod
    def set_config(self, key: str, value: str | None) -> None:
        """Set (or with ``None`` remove) one realm configuration entry."""

    @abc.abstractmethod
    def register_node(self, host: str) -> None:
        """Record that a HAS node runs on ``host`` (idempotent; refreshes its last-seen time)."""

    @abc.abstractmethod
    def deregister_node(self, host: str) -> bool:
        """Forget the node on ``host``; ``False`` when none was registered."""

    @abc.abstractmethod
    def list_nodes(self) -> list[str]:
        """Hosts of the registered nodes, in registration order."""

    @abc.abstractmethod
    def record_node_status(self, host: str, status: str) -> bool:
        """A node's heartbeat: its last-seen time is now and ``status`` (JSON text) is what
        it reports. Not a realm change (no counter step). ``False``, and nothing written,
        when ``host`` is not registered: a heartbeat never brings back a node an operator
        removed (``deregister_node``); only a node's start registers it."""

    @abc.abstractmethod
    def node_records(self) -> list[NodeRecord]:
        """Every registered node with its last heartbeat and status, in registration order."""


class PluginUsers(abc.ABC):
    """Users of the MySQL authentication plugin (TGT over HTTPS)."""

    @abc.abstractmethod
    def get_plugin_user(self, name: str) -> PluginUser | None:
        """The plugin user called ``name`` (exact, case-sensitive), or ``None``."""

    @abc.abstractmethod
    def put_plugin_user(self, user: PluginUser) -> PluginUser:
        """Create the user, or replace hash, ``disabled`` and ``linked`` of an existing one.

        Returns the user as stored: ``created`` kept from the first write,
        ``modified`` set to now. Not a principal change: the change counter stays.
        """

    @abc.abstractmethod
    def delete_plugin_user(self, name: str) -> bool:
        """Remove the user; ``False`` when there was none."""

    @abc.abstractmethod
    def list_plugin_users(self) -> list[PluginUser]:
        """Every plugin user, sorted by name."""


class PasswordPolicies(abc.ABC):
    """Password policies (schema version 6)."""

    @abc.abstractmethod
    def get_policy(self, name: str) -> PasswordPolicy | None:
        """The password policy called ``name`` (exact), or ``None``."""

    @abc.abstractmethod
    def put_policy(self, policy: PasswordPolicy) -> PasswordPolicy:
        """Create the policy or replace the numbers of an existing one; returns it as
        stored (``created`` kept from the first write, ``modified`` now). A realm change:
        the counter steps (principals naming it are not reloaded: the KDC reads no policy).
        """

    @abc.abstractmethod
    def delete_policy(self, name: str) -> bool:
        """Remove the policy; ``False`` when there was none. Principals naming it keep
        the name and are treated as having no policy, as MIT does."""

    @abc.abstractmethod
    def list_policies(self) -> list[PasswordPolicy]:
        """Every password policy, sorted by name."""


class AuditTrail(abc.ABC):
    """The audit trail (schema version 4): append-only through this interface."""

    @abc.abstractmethod
    def add_audit_record(self, record: AuditRecord) -> AuditRecord:
        """Append ``record`` (texts cut to their columns' widths); returns it with its id."""

    @abc.abstractmethod
    def list_audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        """The newest ``query.limit`` records matching ``query``, oldest first."""


class ChangeLog(abc.ABC):
    """The change counter and the log of what each step changed."""

    @abc.abstractmethod
    def change_counter(self) -> int:
        """The number of the latest committed change (0 for a new store)."""

    @abc.abstractmethod
    def changes_since(self, counter: int) -> list[str] | None:
        """Principal names changed after ``counter``, or ``None`` if that is unknowable."""

    @abc.abstractmethod
    def prune_changes(self, older_than: int) -> int:
        """Drop change-log entries older than ``older_than`` seconds; returns how many."""


class Schema(abc.ABC):
    """The versioned schema of the store."""

    #: the newest schema version this implementation's migrations produce
    latest_schema_version: int = 0

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the database (0 when it has none yet)."""

    @abc.abstractmethod
    def migrate(self, target: int | None = None) -> int:
        """Create or upgrade the schema (to ``target``, default the latest); idempotent."""
