"""Realm initialization: the built-in principals, created once, however many nodes ask.

``kdcinit init`` (HAS's ``init``) may run on every node at the same moment, by hand or
from Ansible. So the whole check-and-create runs inside one exclusive backend
transaction (SQLite's write lock, MySQL's row lock on the change counter): the first
caller creates ``krbtgt/REALM@REALM``, ``kadmin/REALM@REALM`` and ``HTTP/<host>@REALM``
for the configured ``kdc_host`` and every registered node, all with random keys in
every configured enctype, and sets the ``initialized`` realm entry; every later
caller finds it set and changes nothing. Either way the result carries the current
``kadmin`` keys, so any node can write the one shared ``admin.keytab`` — a repeated
``init`` never re-keys the realm.

A database that already belongs to another realm (its ``realm`` entry differs from
kdc.conf's ``kdc_realm``) is refused rather than mixed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.admin.errors import AdminError, RealmNotInitializedError
from has_kdc.admin.keys import random_keys
from has_kdc.admin.principals import keytab_entries
from has_kdc.backend import INITIALIZED_KEY, REALM_KEY, IdentityBackend, Principal
from has_kdc.conf import KdcConfig
from has_kdc.formats import KeytabEntry, write_keytab
from has_kdc.principal import format_principal

__all__ = [
    "ADMIN_KEYTAB",
    "RealmInit",
    "admin_keys",
    "admin_principal_name",
    "changepw_principal_name",
    "ensure_node_principals",
    "http_principal_name",
    "init_realm",
    "is_initialized",
    "tgs_principal_name",
    "write_admin_keytab",
]

ADMIN_KEYTAB = "admin.keytab"


def tgs_principal_name(realm: str) -> str:
    return format_principal(("krbtgt", realm), realm)


def admin_principal_name(realm: str) -> str:
    return format_principal(("kadmin", realm), realm)


def changepw_principal_name(realm: str) -> str:
    """``kadmin/changepw``: MIT clients ask for it when a password has expired."""
    return format_principal(("kadmin", "changepw"), realm)


#: MIT gives kadmin/changepw a five-minute ticket life: its tickets only change a password.
CHANGEPW_MAX_LIFE = 300


def http_principal_name(host: str, realm: str) -> str:
    return format_principal(("HTTP", host), realm)


@dataclass
class RealmInit:
    """What ``init_realm`` did: ``created`` is False when the realm was already set up."""

    realm: str
    created: bool
    created_principals: list[str]
    admin_principal: Principal = field(repr=False)
    initialized_at: str | None = None

    def admin_keytab_entries(self) -> list[KeytabEntry]:
        return keytab_entries(self.admin_principal)


def is_initialized(backend: IdentityBackend) -> bool:
    """Whether any node has initialized the realm in this store."""
    return bool(backend.get_config(INITIALIZED_KEY))


def _add_random(
    backend: IdentityBackend, name: str, enctypes: tuple[int, ...], max_life: int | None = None
) -> bool:
    if backend.get_principal(name) is not None:
        return False
    backend.add_principal(
        Principal(name=name, kvno=1, keys=random_keys(enctypes, 1), max_life=max_life)
    )
    return True


def _check_realm(backend: IdentityBackend, realm: str) -> None:
    stored = backend.get_config(REALM_KEY)
    if stored is not None and stored != realm:
        raise AdminError(
            f"this database belongs to realm {stored}, but kdc.conf sets kdc_realm = {realm}; "
            "fix kdc_realm or point backend.conf at the right database"
        )


def init_realm(backend: IdentityBackend, kdc: KdcConfig) -> RealmInit:
    """Create the realm's built-in principals once; see the module docstring."""
    realm = kdc.kdc_realm
    enctypes = tuple(kdc.supported_enctypes)
    admin_name = admin_principal_name(realm)
    with backend.transaction():
        _check_realm(backend, realm)
        stamp = backend.get_config(INITIALIZED_KEY)
        if stamp:
            admin = backend.get_principal(admin_name)
            if admin is None:
                raise AdminError(
                    f"realm {realm} is marked initialized but {admin_name} is missing; "
                    "restore it from a backup of the database"
                )
            return RealmInit(realm, False, [], admin, stamp)
        created = []
        hosts = [kdc.kdc_host, *backend.list_nodes()]
        names = [tgs_principal_name(realm), admin_name]
        names += [http_principal_name(h, realm) for h in dict.fromkeys(hosts)]
        for name in names:
            if _add_random(backend, name, enctypes):
                created.append(name)
        changepw = changepw_principal_name(realm)
        if _add_random(backend, changepw, enctypes, max_life=CHANGEPW_MAX_LIFE):
            created.append(changepw)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        backend.set_config(REALM_KEY, realm)
        backend.set_config(INITIALIZED_KEY, stamp)
        admin = backend.get_principal(admin_name)
        assert admin is not None  # created or found just above, in this transaction
        return RealmInit(realm, True, created, admin, stamp)


def ensure_node_principals(backend: IdentityBackend, kdc: KdcConfig, host: str) -> bool:
    """``HTTP/<host>@REALM`` for a node joining an initialized realm; True if created.

    A node started after ``init`` registers itself and calls this, so every node has
    its HTTP principal whichever order things happened in. Before ``init`` it does
    nothing: ``init`` creates the principals of every node registered by then.
    """
    enctypes = tuple(kdc.supported_enctypes)
    with backend.transaction():
        if not is_initialized(backend):
            return False
        # Realms initialized before kadmin/changepw was a built-in get it here too.
        _add_random(
            backend,
            changepw_principal_name(kdc.kdc_realm),
            enctypes,
            max_life=CHANGEPW_MAX_LIFE,
        )
        return _add_random(backend, http_principal_name(host, kdc.kdc_realm), enctypes)


def admin_keys(backend: IdentityBackend, kdc: KdcConfig) -> Principal:
    """The ``kadmin/REALM@REALM`` principal of an initialized realm."""
    name = admin_principal_name(kdc.kdc_realm)
    found = backend.get_principal(name)
    if found is None or not is_initialized(backend):
        raise RealmNotInitializedError(
            f"realm {kdc.kdc_realm} is not initialized yet: run 'kdcinit <conf_dir> init -p DIR'"
        )
    return found


def write_admin_keytab(directory: str | os.PathLike[str], admin: Principal) -> Path:
    """Write ``DIR/admin.keytab`` (the kadmin keys only), atomically, mode 0600."""
    target_dir = Path(directory)
    if not target_dir.is_dir():
        raise AdminError(f"cannot write {ADMIN_KEYTAB}: {target_dir} is not a directory")
    path = target_dir / ADMIN_KEYTAB
    write_keytab(path, keytab_entries(admin))
    return path
