"""``IdentityBackend`` made of one store per interface over one database session.

Each dialect builds its parts (``MysqlBackend``, ``SqliteBackend``); this class only
passes each call to the part that stores that kind of state, and opens the session's
transactions, which span every part. Callers keep one object, as before the split.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from has_kdc.backend.interface import IdentityBackend
from has_kdc.backend.model import (
    AuditQuery,
    AuditRecord,
    NodeRecord,
    PasswordPolicy,
    PluginUser,
    Principal,
)
from has_kdc.backend.stores import (
    AuditTrail,
    ChangeLog,
    PasswordPolicies,
    PluginUsers,
    Principals,
    RealmState,
    Schema,
)

__all__ = ["ComposedBackend", "Transactions"]


class Transactions(Protocol):
    """The session's side of ``transaction()``: one exclusive unit per session."""

    @property
    def in_transaction(self) -> bool: ...

    def transaction(self) -> AbstractContextManager[object]: ...

    def close(self) -> None: ...


class ComposedBackend(IdentityBackend):
    """Every call passed to the store that answers it."""

    def __init__(
        self,
        session: Transactions,
        *,
        principals: Principals,
        realm: RealmState,
        users: PluginUsers,
        policies: PasswordPolicies,
        audit: AuditTrail,
        changes: ChangeLog,
        schema: Schema,
    ):
        self.session = session
        self.principals = principals
        self.realm = realm
        self.users = users
        self.policies = policies
        self.audit = audit
        self.changes = changes
        self.schema = schema
        self.latest_schema_version = schema.latest_schema_version

    # -- transactions and lifetime: the session's

    @contextlib.contextmanager
    def transaction(self) -> Iterator[ComposedBackend]:
        with self.session.transaction():
            yield self

    @property
    def in_transaction(self) -> bool:
        return self.session.in_transaction

    def close(self) -> None:
        self.session.close()

    # -- principals

    def get_principal(self, name: str) -> Principal | None:
        return self.principals.get_principal(name)

    def get_principals(self, names: Iterable[str]) -> dict[str, Principal]:
        return self.principals.get_principals(names)

    def list_principals(
        self, glob: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[str]:
        return self.principals.list_principals(glob, after=after, limit=limit)

    def iter_principals(self, glob: str | None = None, batch: int = 500) -> Iterator[Principal]:
        return self.principals.iter_principals(glob, batch)

    def add_principal(self, principal: Principal) -> Principal:
        return self.principals.add_principal(principal)

    def add_principals(self, principals: Iterable[Principal]) -> list[Principal]:
        return self.principals.add_principals(principals)

    def update_principal(self, principal: Principal) -> Principal:
        return self.principals.update_principal(principal)

    def delete_principal(self, name: str) -> None:
        self.principals.delete_principal(name)

    def rename_principal(self, old: str, new: str) -> Principal:
        return self.principals.rename_principal(old, new)

    # -- realm configuration and nodes

    def get_realm_config(self) -> dict[str, str]:
        return self.realm.get_realm_config()

    def get_config(self, key: str) -> str | None:
        return self.realm.get_config(key)

    def set_config(self, key: str, value: str | None) -> None:
        self.realm.set_config(key, value)

    def register_node(self, host: str) -> None:
        self.realm.register_node(host)

    def deregister_node(self, host: str) -> bool:
        return self.realm.deregister_node(host)

    def list_nodes(self) -> list[str]:
        return self.realm.list_nodes()

    def record_node_status(self, host: str, status: str) -> bool:
        return self.realm.record_node_status(host, status)

    def node_records(self) -> list[NodeRecord]:
        return self.realm.node_records()

    # -- plugin users, policies, audit trail

    def get_plugin_user(self, name: str) -> PluginUser | None:
        return self.users.get_plugin_user(name)

    def put_plugin_user(self, user: PluginUser) -> PluginUser:
        return self.users.put_plugin_user(user)

    def delete_plugin_user(self, name: str) -> bool:
        return self.users.delete_plugin_user(name)

    def list_plugin_users(self) -> list[PluginUser]:
        return self.users.list_plugin_users()

    def get_policy(self, name: str) -> PasswordPolicy | None:
        return self.policies.get_policy(name)

    def put_policy(self, policy: PasswordPolicy) -> PasswordPolicy:
        return self.policies.put_policy(policy)

    def delete_policy(self, name: str) -> bool:
        return self.policies.delete_policy(name)

    def list_policies(self) -> list[PasswordPolicy]:
        return self.policies.list_policies()

    def add_audit_record(self, record: AuditRecord) -> AuditRecord:
        return self.audit.add_audit_record(record)

    def list_audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        return self.audit.list_audit_records(query)

    # -- change log and schema

    def change_counter(self) -> int:
        return self.changes.change_counter()

    def changes_since(self, counter: int) -> list[str] | None:
        return self.changes.changes_since(counter)

    def prune_changes(self, older_than: int) -> int:
        return self.changes.prune_changes(older_than)

    def schema_version(self) -> int:
        return self.schema.schema_version()

    def migrate(self, target: int | None = None) -> int:
        return self.schema.migrate(target)
