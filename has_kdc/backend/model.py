"""What the identity store holds: principals and their keys.

Names follow MIT's ``kadm5_principal_ent`` and attribute flags, written positively
(``allow_forwardable`` for MIT's DISALLOW_FORWARDABLE cleared, ``allow_svr`` for
DISALLOW_SVR cleared, ``allow_tix`` for DISALLOW_ALL_TIX cleared) so that a fresh
``Principal`` allows what MIT allows by default.

``version`` is the store's row version: it starts at 1 when the principal is added and
goes up by one on every change. ``update_principal`` refuses a principal whose
version is not the stored one, so two admins (or two nodes) never silently
overwrite each other's changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AuditQuery",
    "AuditRecord",
    "DatabaseHostState",
    "KeyData",
    "NodeRecord",
    "PasswordPolicy",
    "PluginUser",
    "Principal",
]


@dataclass
class KeyData:
    """One long-term key: RFC 3961 enctype number, key version, key bytes.

    ``salt`` is the string-to-key salt the key was made with; ``None`` means the
    RFC 4120 default salt of the principal's name (realm + components).
    ``s2kparams`` are the string-to-key parameters (e.g. the PBKDF2 iteration
    count) as sent in PA-ETYPE-INFO2; ``None`` means the enctype's default.
    """

    enctype: int
    kvno: int
    key: bytes = field(repr=False)
    salt: bytes | None = None
    s2kparams: bytes | None = None


@dataclass
class Principal:
    """A principal as the store keeps it. Times are POSIX seconds; ``None`` means no limit."""

    name: str
    kvno: int = 1
    keys: list[KeyData] = field(default_factory=list)
    requires_preauth: bool = True
    disabled: bool = False
    allow_forwardable: bool = True
    allow_proxiable: bool = True
    allow_renewable: bool = True
    allow_tix: bool = True
    allow_svr: bool = True
    max_life: int | None = None
    max_renewable_life: int | None = None
    expiration: int | None = None
    pw_expiration: int | None = None
    created: int = 0
    modified: int = 0
    version: int = 0
    #: the password policy (`PasswordPolicy`) by name; one that does not exist is none
    policy: str | None = None
    #: when the password was last set (None: never from a password, or before schema 6)
    last_pwd_change: int | None = None
    #: the keys of earlier passwords, as `has_kdc.admin.policy` packs them (opaque here)
    pw_history: bytes | None = field(default=None, repr=False)

    def keys_for_kvno(self, kvno: int | None = None) -> list[KeyData]:
        """The keys of ``kvno`` (the current one by default), in stored order."""
        wanted = self.kvno if kvno is None else kvno
        return [k for k in self.keys if k.kvno == wanted]


@dataclass
class PasswordPolicy:
    """A password policy, as MIT's ``kadm5_policy_ent`` names its fields.

    ``min_length`` characters, of at least ``min_classes`` of the five classes (lower
    case, upper case, digits, punctuation, other); the last ``history_num`` passwords
    (the current one included) may not be used again; a password may be changed by
    its owner ``min_life`` seconds after it was set at the earliest and expires
    ``max_life`` seconds after (0: never). Times are POSIX seconds, set by the store.
    """

    name: str
    min_length: int = 1
    min_classes: int = 1
    history_num: int = 1
    min_life: int = 0
    max_life: int = 0
    created: int = 0
    modified: int = 0


@dataclass
class PluginUser:
    """A user of the MySQL authentication plugin (TGT over HTTPS), in the shared store.

    HAS keeps these in a ``has_user`` table with the password in plain text; here
    ``password_hash`` is a self-describing scrypt hash (`has_kdc.plugins.passwords`).
    The store never looks inside it. ``disabled`` users are refused without their
    password being checked. ``linked`` is an administrator's statement that this user
    may log in as the principal of the same name even though that principal has keys
    of its own (see `has_kdc.plugins.mapping`). Times are POSIX seconds, set by the store.
    """

    name: str
    password_hash: str = field(repr=False)
    disabled: bool = False
    created: int = 0
    modified: int = 0
    linked: bool = False


@dataclass(frozen=True)
class AuditRecord:
    """One change to the realm, as the audit trail keeps it (`has_kdc.admin.audit`).

    ``at`` is POSIX seconds; ``node`` the HAS node (kdc_host) that made the change;
    ``via`` the way in (``hadmin-local``, ``rest``, ``kdcinit``, ``ansible:<module>``,
    ``has-server``); ``actor`` who, as that way in authenticated them (an OS user, a
    Kerberos principal, ``anonymous``); ``address`` where from (``local``, a client
    address); ``action`` what (``addprinc``, ``cpw``, ``setplugin`` ...) on ``target``;
    ``result`` ``success`` or ``failure``; ``detail`` a JSON object of non-secret facts
    (attributes changed, kvno, the error message). ``id`` is set by the store.
    """

    at: float
    node: str
    via: str
    actor: str
    address: str
    action: str
    target: str
    result: str
    detail: str = "{}"
    id: int = 0


@dataclass(frozen=True)
class AuditQuery:
    """Which audit records to read: every given condition must hold.

    ``since``/``until`` bound ``at`` (inclusive); ``target`` is a pattern where ``*``
    is any text and ``?`` one character; the rest are exact. The newest ``limit``
    records that match are returned, oldest first.
    """

    since: float | None = None
    until: float | None = None
    actor: str | None = None
    via: str | None = None
    action: str | None = None
    target: str | None = None
    result: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class NodeRecord:
    """A registered HAS node: when it registered, its last heartbeat (epoch seconds) and
    the status it reported then (JSON text written by has-server, None before any)."""

    host: str
    registered: int
    last_seen: int
    status: str | None = None


@dataclass
class DatabaseHostState:
    """One database host as it answered a probe just now (see ``database_hosts``).

    ``usable``: reachable and, on Galera, a Synced member of a primary component;
    ``galera``: its ``wsrep_`` status variables (empty for a server without Galera).
    """

    address: str
    reachable: bool = False
    usable: bool = False
    in_use: bool = False
    preferred: bool = False
    schema_version: int | None = None
    error: str | None = None
    galera: dict[str, str] = field(default_factory=dict)
