"""The one store API, the same for the embedded SQLite file and shared MySQL: every
small interface of ``stores.py`` behind one object, with transactions spanning them.

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
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TypeVar

from has_kdc.backend.errors import BackendError, SchemaError, TransactionConflict
from has_kdc.backend.model import DatabaseHostState, PluginUser
from has_kdc.backend.rows import newer_schema
from has_kdc.backend.stores import (
    AuditTrail,
    ChangeLog,
    PasswordPolicies,
    PluginUsers,
    Principals,
    RealmState,
    Schema,
)

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


class IdentityBackend(
    Principals, RealmState, PluginUsers, PasswordPolicies, AuditTrail, ChangeLog, Schema
):
    """Every store of the realm behind one object, and the transactions spanning them.

    The stores themselves are the small interfaces of ``stores.py``; this adds what
    only the whole has: one exclusive transaction over all of them, and a lifetime.
    """

    # -- atomicity

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

    def check_schema(self) -> None:
        """Refuse a store with no schema, or one newer than this code (``SchemaError``)."""
        current = self.schema_version()
        if current == 0:
            raise SchemaError(f"{self!r}: no schema yet; run migrate()")
        if current > self.latest_schema_version:
            raise newer_schema(repr(self), current, self.latest_schema_version)

    def database_hosts(self) -> list[DatabaseHostState]:
        """The database hosts behind this store as they answer now (none for a local file)."""
        return []

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
