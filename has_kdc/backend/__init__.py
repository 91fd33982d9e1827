"""The identity store behind one small interface: embedded SQLite, or MySQL shared by nodes."""

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

__all__ = [
    "INITIALIZED_KEY",
    "REALM_KEY",
    "BackendError",
    "BackendUnavailable",
    "ConcurrentModification",
    "DatabaseHostState",
    "IdentityBackend",
    "KeyData",
    "NodeRecord",
    "PasswordPolicy",
    "PluginUser",
    "Principal",
    "PrincipalExists",
    "PrincipalNotFound",
    "SchemaError",
    "TransactionConflict",
    "open_backend",
]
