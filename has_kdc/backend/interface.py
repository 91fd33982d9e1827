"""The one principal store API, the same for the embedded SQLite file and shared MySQL.

Contract every implementation keeps:

* Each method is atomic on its own. ``transaction()`` groups several into one
  exclusive unit: inside it, no other writer (thread, process or node) can change
  the store, so read-check-write sequences such as realm initialization run exactly
  once even when every node tries at the same moment. SQLite takes its database
  write lock (``BEGIN IMMEDIATE``); MySQL locks the change-counter row (``SELECT
  ... FOR UPDATE``), which every write also updates, so the two serialize.
* Every change (principal added, updated, deleted, renamed; realm config set; node
  registered) increments one counter in the same transaction. Because that
  increment is an update of a single row, commits are ordered by it: a reader that
  saw counter N has seen every change numbered N or lower. A KDC polls
  ``change_counter()`` (one primary-key read) about once a second and, when it
  moved, asks ``changes_since(old)`` which principal names to drop from its cache;
  no query per request, staleness bounded by the poll interval.
* ``changes_since`` returns ``None`` when its log no longer reaches back to the
  given counter (pruned, or the database was restored to an older state): the
  caller must then drop its whole cache.
* Principal names are stored in MIT canonical text form (``normalize_principal``);
  lookups take that form, which is what a KDC builds from the request.
* Errors are ``BackendError`` subclasses; nothing in them contains key material.
* The audit trail (``add_audit_record``) is append-only through this interface: no
  method changes or deletes a record. Writing one is not a principal change (the
  counter stays); inside ``transaction()`` it commits or rolls back with the change
  it describes.
* Several database hosts (Galera) make ``transaction()`` optimistic between hosts:
  two hosts' transactions both run, and the second to commit is rolled back whole
  with ``TransactionConflict`` (every write updates the counter row, so any two
  writing transactions conflict). ``run_transaction(work)`` runs ``work`` again
  then, a bounded number of times: read-check-write sequences stay exactly-once.
"""

from __future__ import annotations

import abc
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TypeVar

from has_kdc.backend.errors import BackendError, SchemaError, TransactionConflict
from has_kdc.backend.model import (
    AuditQuery,
    AuditRecord,
    DatabaseHostState,
    NodeRecord,
    PasswordPolicy,
    PluginUser,
    Principal,
)
from has_kdc.backend.rows import newer_schema

__all__ = ["INITIALIZED_KEY", "REALM_KEY", "IdentityBackend", "check_plugin_user"]

T = TypeVar("T")

#: How many times ``run_transaction`` runs a transaction that keeps losing to others.
TRANSACTION_ATTEMPTS = 6

# Realm configuration keys every node reads the same way.
REALM_KEY = "realm"
INITIALIZED_KEY = "initialized"


def check_plugin_user(user: PluginUser) -> None:
    """What every store refuses: names it cannot key on, hashes it cannot hold."""
    if not user.name or len(user.name.encode("utf-8")) > 255:
        raise BackendError("a plugin user name must be 1 to 255 bytes long")
    if not user.password_hash or len(user.password_hash) > 255:
        raise BackendError(
            f"plugin user {user.name}: the password hash must be 1 to 255 characters"
        )


_retry = threading.local()


def conflict_will_be_retried() -> bool:
    """Whether a ``TransactionConflict`` raised now is run again by an enclosing
    ``repeat_on_conflict`` of this thread: the audit trail records such a lost attempt
    not as a failure, since the retry records what happened."""
    return bool(getattr(_retry, "ahead", False))


class IdentityBackend(abc.ABC):
    """Principals, realm configuration, node registry and change tracking."""

    #: the newest schema version this implementation's migrations produce
    latest_schema_version: int = 0

    # -- principals

    @abc.abstractmethod
    def get_principal(self, name: str) -> Principal | None:
        """The principal called ``name``, keys included, or ``None``."""

    @abc.abstractmethod
    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        """Several principals in one round trip; names that do not exist are left out."""

    @abc.abstractmethod
    def list_principals(self, glob: str | None = None) -> list[str]:
        """Names matching a shell glob (``*``, ``?``, ``[...]``, case-sensitive), sorted."""

    @abc.abstractmethod
    def add_principal(self, principal: Principal) -> Principal:
        """Store a new principal; returns it as stored (version 1, times set).

        Raises ``PrincipalExists``.
        """

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        """Store several new principals at once: all of them or, on any error, none.

        For bulk creation (``creprincs``: hosts x Hadoop roles). One transaction and
        one change-counter step per principal, as ``add_principal`` would give;
        implementations batch the statements. Raises ``PrincipalExists`` if any name
        is taken (or given twice).
        """
        with self.transaction():
            return [self.add_principal(p) for p in principals]

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

    # -- realm configuration (shared by every node)

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

    def database_hosts(self) -> list[DatabaseHostState]:
        """The database hosts behind this store as they answer now (none for a local file)."""
        return []

    # -- users of the MySQL authentication plugin (TGT over HTTPS)

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

    # -- password policies (schema version 6)

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

    # -- the audit trail (schema version 4)

    @abc.abstractmethod
    def add_audit_record(self, record: AuditRecord) -> AuditRecord:
        """Append ``record`` (texts cut to their columns' widths); returns it with its id."""

    @abc.abstractmethod
    def list_audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        """The newest ``query.limit`` records matching ``query``, oldest first."""

    # -- atomicity and change tracking

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[IdentityBackend]:
        """An exclusive transaction; calls made inside it join it. Rolls back on error."""

    @property
    def in_transaction(self) -> bool:
        """Whether a ``transaction()`` is open in this object."""
        return False

    def run_transaction(self, work: Callable[[], T]) -> T:
        """``work()`` inside ``transaction()``, run again while the store answers
        ``TransactionConflict`` (``repeat_on_conflict``). ``work`` must only read and
        write through the store, so that a run that was rolled back left nothing
        behind. Inside an open transaction it simply joins it: only the outermost one
        can be run again.
        """

        def once() -> T:
            with self.transaction():
                return work()

        return self.repeat_on_conflict(once)

    def repeat_on_conflict(self, attempt: Callable[[], T]) -> T:
        """``attempt()``, run again while it raises ``TransactionConflict`` (at most
        ``TRANSACTION_ATTEMPTS`` times, with a short random pause), for work that opens
        its transaction itself (e.g. an audited change). Inside an open transaction it
        runs once: the outermost one is the one to run again.
        """
        if self.in_transaction:
            return attempt()
        outer = conflict_will_be_retried()
        try:
            for number in range(1, TRANSACTION_ATTEMPTS + 1):
                _retry.ahead = number < TRANSACTION_ATTEMPTS
                try:
                    return attempt()
                except TransactionConflict:
                    if number == TRANSACTION_ATTEMPTS:
                        raise
                    time.sleep(random.uniform(0.01, 0.05) * number)
        finally:
            _retry.ahead = outer
        raise AssertionError("unreachable")

    @abc.abstractmethod
    def change_counter(self) -> int:
        """The number of the latest committed change (0 for a new store)."""

    @abc.abstractmethod
    def changes_since(self, counter: int) -> list[str] | None:
        """Principal names changed after ``counter``, or ``None`` if that is unknowable."""

    @abc.abstractmethod
    def prune_changes(self, older_than: int) -> int:
        """Drop change-log entries older than ``older_than`` seconds; returns how many."""

    # -- schema

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the database (0 when it has none yet)."""

    @abc.abstractmethod
    def migrate(self, target: int | None = None) -> int:
        """Create or upgrade the schema (to ``target``, default the latest); idempotent."""

    def check_schema(self) -> None:
        """Refuse a store with no schema, or one newer than this code (``SchemaError``)."""
        current = self.schema_version()
        if current == 0:
            raise SchemaError(f"{self!r}: no schema yet; run migrate()")
        if current > self.latest_schema_version:
            raise newer_schema(repr(self), current, self.latest_schema_version)

    # -- lifetime

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; the object is unusable afterwards."""

    def __enter__(self) -> IdentityBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def iter_principals(self, glob: str | None = None, batch: int = 500) -> Iterator[Principal]:
        """Every principal matching ``glob``, fetched ``batch`` at a time (e.g. for exports)."""
        names = self.list_principals(glob)
        for start in range(0, len(names), batch):
            found = self.get_principals(names[start : start + batch])
            for name in names[start : start + batch]:
                if name in found:
                    yield found[name]
