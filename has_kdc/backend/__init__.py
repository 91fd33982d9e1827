"""The identity store: small interfaces per kind of state (``stores``), one object for
all of them (``IdentityBackend``); embedded SQLite, or MySQL shared by nodes."""

from has_kdc.backend.errors import (
    BackendError,
    BackendUnavailable,
    ConcurrentModification,
    PrincipalExists,
    PrincipalNotFound,
    SchemaError,
    TransactionConflict,
)
from has_kdc.backend.factory import open_backend
from has_kdc.backend.interface import INITIALIZED_KEY, REALM_KEY, IdentityBackend
from has_kdc.backend.model import (
    DatabaseHostState,
    KeyData,
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
    PrincipalStore,
    RealmState,
    Schema,
)

__all__ = [
    "INITIALIZED_KEY",
    "REALM_KEY",
    "AuditTrail",
    "BackendError",
    "BackendUnavailable",
    "ChangeLog",
    "ConcurrentModification",
    "DatabaseHostState",
    "IdentityBackend",
    "KeyData",
    "NodeRecord",
    "PasswordPolicies",
    "PasswordPolicy",
    "PluginUser",
    "PluginUsers",
    "Principal",
    "PrincipalExists",
    "PrincipalNotFound",
    "PrincipalStore",
    "Principals",
    "RealmState",
    "Schema",
    "SchemaError",
    "TransactionConflict",
    "open_backend",
]
