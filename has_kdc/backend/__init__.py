"""The identity store behind one small interface: embedded SQLite, or MySQL shared by nodes."""

from has_kdc.backend.errors import (
    BackendError,
    BackendUnavailable,
    ConcurrentModification,
    PrincipalExists,
    PrincipalNotFound,
    SchemaError,
)
from has_kdc.backend.factory import open_backend
from has_kdc.backend.interface import INITIALIZED_KEY, REALM_KEY, IdentityBackend
from has_kdc.backend.model import KeyData, PluginUser, Principal

__all__ = [
    "INITIALIZED_KEY",
    "REALM_KEY",
    "BackendError",
    "BackendUnavailable",
    "ConcurrentModification",
    "IdentityBackend",
    "KeyData",
    "PluginUser",
    "Principal",
    "PrincipalExists",
    "PrincipalNotFound",
    "SchemaError",
    "open_backend",
]
