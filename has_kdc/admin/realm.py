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

A node is often reached by more names than its ``kdc_host``: clients open
``https://emr-header-1:8092`` while the node binds an address, and MIT's GSS library
asks for a ticket to ``HTTP/<the name in the URL>``. `node_service_principals` says
which SPNEGO principals a node answers for (HTTP/ of https_host and kdc_host, plus
has-server.conf's ``kerberos_principal`` list); has-server records them in the realm
configuration (``principals/<host>``) when it registers (`register_node`, which also
keeps the node's ports under ``node/<host>``), so that ``init`` — run on whichever
node — creates them for every registered node, and `ensure_node_principals` creates
them for a node that joins later.

Each of these is a change on behalf of an `Actor` and one audit record: ``init``
(also when an initialized realm's admin keys are handed out again), ``register_node``
(a new node, or new ports or principals; a restart that changes nothing is not
recorded) and ``node_principals``.

A database that already belongs to another realm (its ``realm`` entry differs from
kdc.conf's ``kdc_realm``) is refused rather than mixed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.admin.audit import Actor, AuditTrail
from has_kdc.admin.errors import AdminError, RealmNotInitializedError
from has_kdc.admin.keys import random_keys
from has_kdc.admin.principals import keytab_entries
from has_kdc.backend import INITIALIZED_KEY, REALM_KEY, IdentityBackend, Principal
from has_kdc.conf import HasServerConfig, KdcConfig
from has_kdc.formats import KeytabEntry, write_keytab
from has_kdc.principal import PrincipalNameError, format_principal, normalize_principal

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
    "node_host_names",
    "node_service_principals",
    "recorded_node_principals",
    "register_node",
    "tgs_principal_name",
    "write_admin_keytab",
]

ADMIN_KEYTAB = "admin.keytab"
#: realm configuration key prefix: ``principals/<host>`` = that node's SPNEGO principals
NODE_PRINCIPALS_PREFIX = "principals/"
#: realm configuration key prefix: ``node/<host>`` = ``kdc_port=88;https_port=8092``
NODE_KEY_PREFIX = "node/"
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 (bind addresses, compared)
_HOST_PLACEHOLDER = "_HOST"  # Hadoop's stand-in for the host name


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


def node_host_names(kdc: KdcConfig, server: HasServerConfig | None) -> list[str]:
    """The host names a node is known by: https_host (unless a wildcard) and kdc_host.

    Lower case, as MIT's ``krb5_sname_to_principal`` makes the host part of ``HTTP/``.
    """
    hosts = []
    if server is not None and server.https_host not in _WILDCARD_HOSTS:
        hosts.append(server.https_host.strip("[]").lower())
    hosts.append(kdc.kdc_host.strip("[]").lower())
    return list(dict.fromkeys(hosts))


def node_service_principals(kdc: KdcConfig, server: HasServerConfig | None) -> list[str]:
    """The SPNEGO principals of a node: ``HTTP/<host>@REALM`` for each of its host names,
    then has-server.conf's ``kerberos_principal`` entries (``_HOST`` expanded to each host
    name, the realm added where missing). Entries of another realm are refused:
    this node's KDC cannot issue tickets for them.
    """
    realm = kdc.kdc_realm
    hosts = node_host_names(kdc, server)
    names = [http_principal_name(h, realm) for h in hosts]
    for entry in server.kerberos_principal if server is not None else ():
        expanded = (
            [entry.replace(_HOST_PLACEHOLDER, h) for h in hosts]
            if _HOST_PLACEHOLDER in entry
            else [entry]
        )
        for text in expanded:
            try:
                name = normalize_principal(text, realm)
            except PrincipalNameError as exc:
                raise AdminError(f"kerberos_principal {entry}: {exc}") from None
            if not name.endswith("@" + realm):
                raise AdminError(
                    f"kerberos_principal {entry} is not in realm {realm}: this node's KDC "
                    "cannot issue tickets for it"
                )
            names.append(name)
    return list(dict.fromkeys(names))


def format_node_ports(kdc_port: int, https_port: int) -> str:
    """The ``node/<host>`` value: ``kdc_port=88;https_port=8092``."""
    return f"kdc_port={kdc_port};https_port={https_port}"


def register_node(
    backend: IdentityBackend,
    kdc: KdcConfig,
    actor: Actor,
    *,
    host: str,
    ports: tuple[int, int] | None = None,
    principals: Iterable[str] | None = None,
) -> bool:
    """Record that a HAS node runs on ``host``: in the node table (refreshing its
    last-seen time), with its ``(kdc_port, https_port)`` and its SPNEGO ``principals``
    in the realm configuration. True (and one ``register_node`` audit record) when
    anything changed: a new node, other ports, other principals.
    """
    principals = list(principals) if principals is not None else None  # may run twice
    audit = AuditTrail.for_realm(backend, kdc, actor)

    def attempt() -> bool:
        with audit.change("register_node", host) as change:
            new = host not in backend.list_nodes()
            backend.register_node(host)
            changed = new
            wanted: dict[str, str] = {}
            if ports is not None:
                wanted[NODE_KEY_PREFIX + host] = format_node_ports(*ports)
                change.note(kdc_port=ports[0], https_port=ports[1])
            if principals is not None:
                names = list(principals)
                wanted[NODE_PRINCIPALS_PREFIX + host] = ",".join(names)
                change.note(principals=names)
            for key, value in wanted.items():
                if backend.get_config(key) != value:
                    backend.set_config(key, value)
                    changed = True
            change.note(new=new)
            if not changed:
                change.unchanged()
            return changed

    return backend.repeat_on_conflict(attempt)


def deregister_node(backend: IdentityBackend, kdc: KdcConfig, actor: Actor, *, host: str) -> bool:
    """Forget the HAS node on ``host``: its row in the node table and its ``node/`` and
    ``principals/`` entries, so that no client file lists it any more (``hadmin-local
    delnode``, ``DELETE /has/v1/admin/deletenode``, the ``has_node`` module). True (and
    one ``deregister_node`` audit record) when anything was there to remove.

    Its ``HTTP/`` principals stay: a service may still hold their keys. A has-server
    still running on ``host`` goes on serving but stays unlisted (its heartbeats are not
    recorded, and it logs so) until it next starts, which registers it again.
    """
    if not host or host != host.strip():
        raise AdminError(f"not a node host name: {host!r}")
    with AuditTrail.for_realm(backend, kdc, actor).change("deregister_node", host) as change:
        removed = backend.deregister_node(host)
        for key in (NODE_KEY_PREFIX + host, NODE_PRINCIPALS_PREFIX + host):
            if backend.get_config(key) is not None:
                backend.set_config(key, None)
                removed = True
        if not removed:
            change.unchanged()
        return removed


def recorded_node_principals(config: dict[str, str], host: str) -> list[str]:
    """The principals `record_node_principals` stored for ``host`` (none: empty list)."""
    value = config.get(NODE_PRINCIPALS_PREFIX + host, "")
    return [name for name in value.split(",") if name]


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


def init_realm(
    backend: IdentityBackend,
    kdc: KdcConfig,
    actor: Actor,
    *,
    hand_out: bool = False,
    audit: AuditTrail | None = None,
) -> RealmInit:
    """Create the realm's built-in principals once; see the module docstring.

    ``hand_out``: the caller gives the admin keys to someone (the kdcinit answer, a
    file); then a call on an initialized realm is recorded too, as the hand-out it is.
    ``audit``: the trail (on this ``backend``) of a bigger change this init is a step
    of, such as an import; its record then covers the init.
    """
    realm = kdc.kdc_realm
    enctypes = tuple(kdc.supported_enctypes)
    admin_name = admin_principal_name(realm)
    audit = audit if audit is not None else AuditTrail.for_realm(backend, kdc, actor)
    # Run again whole if another database host's transaction wins (Galera): the next
    # run finds the realm initialized, so it is created exactly once.
    return backend.repeat_on_conflict(
        lambda: _init_once(backend, kdc, audit, realm, enctypes, admin_name, hand_out)
    )


def _init_once(
    backend: IdentityBackend,
    kdc: KdcConfig,
    audit: AuditTrail,
    realm: str,
    enctypes: tuple[int, ...],
    admin_name: str,
    hand_out: bool,
) -> RealmInit:
    """The check-and-create of ``init_realm``: one audited, exclusive transaction."""
    with audit.change("init", realm, admin_keys_handed_out=hand_out) as change:
        _check_realm(backend, realm)
        stamp = backend.get_config(INITIALIZED_KEY)
        if stamp:
            admin = backend.get_principal(admin_name)
            if admin is None:
                raise AdminError(
                    f"realm {realm} is marked initialized but {admin_name} is missing; "
                    "restore it from a backup of the database"
                )
            change.note(created=False)
            if not hand_out:
                change.unchanged()
            return RealmInit(realm, False, [], admin, stamp)
        created = []
        hosts = [kdc.kdc_host, *backend.list_nodes()]
        config = backend.get_realm_config()
        names = [tgs_principal_name(realm), admin_name]
        for host in dict.fromkeys(hosts):
            names.append(http_principal_name(host, realm))
            names += [n for n in recorded_node_principals(config, host) if n.endswith("@" + realm)]
        names = list(dict.fromkeys(names))
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
        change.note(created=True, principals=created)
        return RealmInit(realm, True, created, admin, stamp)


def ensure_node_principals(
    backend: IdentityBackend,
    kdc: KdcConfig,
    host: str,
    extra: Iterable[str] = (),
    *,
    actor: Actor,
) -> bool:
    """``HTTP/<host>@REALM`` (and the ``extra`` principals, e.g. the node's other SPNEGO
    names) for a node joining an initialized realm; True if any was created.

    A node started after ``init`` registers itself and calls this, so every node has
    its HTTP principals whichever order things happened in. Before ``init`` it does
    nothing: ``init`` creates the principals of every node registered by then.
    """
    enctypes = tuple(kdc.supported_enctypes)
    extra = list(extra)  # the attempt may run more than once
    audit = AuditTrail.for_realm(backend, kdc, actor)

    def attempt() -> bool:
        with audit.change("node_principals", host) as change:
            if not is_initialized(backend):
                change.unchanged()
                return False
            made = []
            # Realms initialized before kadmin/changepw was a built-in get it here too.
            changepw = changepw_principal_name(kdc.kdc_realm)
            if _add_random(backend, changepw, enctypes, max_life=CHANGEPW_MAX_LIFE):
                made.append(changepw)
            for name in dict.fromkeys([http_principal_name(host, kdc.kdc_realm), *extra]):
                if _add_random(backend, name, enctypes):
                    made.append(name)
            change.note(principals=made)
            if not made:
                change.unchanged()
            return any(n != changepw for n in made)

    return backend.repeat_on_conflict(attempt)


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
