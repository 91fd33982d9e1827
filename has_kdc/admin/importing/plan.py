"""What an import would do: the source compared with the realm's store, nothing written.

`plan_import` turns a `SourceRealm` into has-kdc principals and sorts each into one
of: added (new here), unchanged (same keys, kvno and attributes already), changed
(differs; replaced only when the caller asked for ``update``), kept (the realm's own
built-ins of an initialized realm, never replaced), or refused (nothing of it can be
carried). What is carried only in part is listed apart (``not_carried``). The same
comparison serves the dry run, the report after the import, and re-runs: a second
import of the same source finds everything unchanged and writes nothing.

Rules, and why:

- Only AES keys (enctypes 17, 18, 19, 20) are carried: they are all has-kdc serves.
  A DES, 3DES, RC4 or Camellia key is reported with the reason; a principal left
  with no key is refused.
- A principal of another realm than kdc.conf's ``kdc_realm`` is refused: this KDC
  cannot issue tickets for it. A source that serves another realm altogether is an
  error, since tickets and keytabs name their realm.
- Into a realm not yet initialized the source's ``krbtgt/REALM`` and
  ``kadmin/REALM`` are carried with their kvnos, so tickets the old KDC issued stay
  valid and ``admin.keytab`` keeps working; the import then initializes the realm.
  Into an initialized realm they (and ``kadmin/changepw``) are kept as they are:
  replacing the ticket-granting key of a running realm would end every ticket it
  issued.
- Keys are compared as the KDC uses them: enctype, kvno, bytes, and the salt and
  string-to-key parameters, a missing one read as the name's default salt and the
  enctype's default parameters.
- Plugin users (HAS keeps their passwords in clear) are compared by checking the
  source password against the stored hash; the password itself goes nowhere but
  into a new hash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from has_kdc.admin.errors import AdminError
from has_kdc.admin.importing.records import Skipped, SourcePrincipal, SourceRealm, SourceUser
from has_kdc.admin.keys import salt_for
from has_kdc.admin.principals import ATTRIBUTES
from has_kdc.admin.realm import (
    admin_principal_name,
    changepw_principal_name,
    is_initialized,
    tgs_principal_name,
)
from has_kdc.backend import IdentityBackend, KeyData, PluginUser, Principal
from has_kdc.conf import KdcConfig
from has_kdc.crypto import SUPPORTED_ENCTYPES, UnsupportedEnctype, enctype_by_id, enctype_name
from has_kdc.principal import PrincipalNameError, parse_principal

__all__ = ["ImportPlan", "PasswordScheme", "PrincipalChange", "UserChange", "plan_import"]

_BATCH = 500
_KVNO_LIMIT = 2**32


@dataclass(frozen=True)
class PasswordScheme:
    """How plugin users' passwords are kept, supplied by the caller (plugins/ owns it):
    ``hash(password)``, ``verify(password, hash)`` and ``check_name(name)`` (raises
    ``ValueError`` for a name the plugin cannot serve)."""

    hash: Callable[[str], str]
    verify: Callable[[str, str], bool]
    check_name: Callable[[str], str]


@dataclass
class PrincipalChange:
    """A principal of the source that differs from the stored one, and how."""

    current: Principal
    wanted: Principal
    fields: list[str]


@dataclass
class UserChange:
    user: SourceUser
    current: PluginUser | None
    fields: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """The sorted outcome of comparing a source with the store (see the module docstring)."""

    kind: str
    location: str
    realm: str
    initialize: bool
    update: bool
    add: list[Principal] = field(default_factory=list)
    changed: list[PrincipalChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[Skipped] = field(default_factory=list)
    refused: list[Skipped] = field(default_factory=list)
    not_carried: list[Skipped] = field(default_factory=list)
    users_add: list[UserChange] = field(default_factory=list)
    users_changed: list[UserChange] = field(default_factory=list)
    users_unchanged: list[str] = field(default_factory=list)
    source_principals: int = 0
    source_keys: int = 0
    keys_unchanged: int = 0

    @property
    def keys_carried(self) -> int:
        """Source keys in the realm after this import: those of the principals added,
        found unchanged, and (with update) replaced."""
        replaced = [c.wanted for c in self.changed] if self.update else []
        return self.keys_unchanged + sum(len(p.keys) for p in [*self.add, *replaced])

    @property
    def keys_written(self) -> int:
        """Keys this import writes (or, in a dry run, would write)."""
        return self.keys_carried - self.keys_unchanged

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.initialize
            or self.add
            or self.users_add
            or (self.update and (self.changed or self.users_changed))
        )


# ---------------------------------------------------------------- principals


def _carried_keys(source: SourcePrincipal, skipped: list[Skipped]) -> list[KeyData]:
    keys: list[KeyData] = []
    seen: set[tuple[int, int]] = set()
    for key in source.keys:
        label = f"key {enctype_name(key.enctype) or key.enctype} kvno {key.kvno}"
        try:
            enctype = enctype_by_id(key.enctype)
        except UnsupportedEnctype as exc:
            skipped.append(Skipped(source.name, label, f"{exc}; has-kdc serves AES only"))
            continue
        if len(key.key) != enctype.key_size:
            skipped.append(
                Skipped(
                    source.name,
                    label,
                    f"the key is {len(key.key)} bytes, {enctype.name} needs {enctype.key_size}",
                )
            )
            continue
        if not 0 < key.kvno < _KVNO_LIMIT or (key.kvno, key.enctype) in seen:
            reason = "kvno out of range" if (key.kvno, key.enctype) not in seen else "a duplicate"
            skipped.append(Skipped(source.name, label, reason))
            continue
        seen.add((key.kvno, key.enctype))
        keys.append(KeyData(key.enctype, key.kvno, key.key, key.salt))
    keys.sort(key=lambda k: -k.kvno)
    return keys


def _attributes(source: SourcePrincipal, skipped: list[Skipped]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in source.attributes.items():
        types = ATTRIBUTES.get(name)
        ok = types is not None and isinstance(value, types)
        if types is not None and ok and isinstance(value, int) and not isinstance(value, bool):
            ok = bool not in types and 0 <= value < 2**63
        if not ok:
            skipped.append(Skipped(source.name, f"attribute {name} = {value!r}", "not valid"))
            continue
        out[name] = value
    return out


def wanted_principal(
    source: SourcePrincipal, realm: str, skipped: list[Skipped]
) -> tuple[Principal | None, str | None]:
    """The has-kdc principal for ``source`` (or None and why it is refused)."""
    try:
        _components, its_realm = parse_principal(source.name)
    except PrincipalNameError as exc:
        return None, f"not a principal name has-kdc accepts: {exc}"
    if its_realm != realm:
        return None, f"a principal of realm {its_realm}; this KDC serves {realm}"
    keys = _carried_keys(source, skipped)
    if not keys:
        return None, (
            "no key has-kdc can serve (AES: "
            + ", ".join(enctype_name(e) or str(e) for e in SUPPORTED_ENCTYPES)
            + "); re-key it on the old KDC with an AES enctype, or create it anew here"
            if source.keys
            else "it has no keys"
        )
    attrs = _attributes(source, skipped)
    principal = Principal(name=source.name, kvno=max(k.kvno for k in keys), keys=keys)
    principal = replace(principal, created=source.created or 0, **attrs)  # type: ignore[arg-type]
    return principal, None


def _key_identities(principal: Principal) -> list[tuple[object, ...]]:
    """The keys as the KDC uses them, sorted: a missing salt read as the name's default,
    missing string-to-key parameters as the enctype's."""
    default_salt = salt_for(principal.name) if any(k.salt is None for k in principal.keys) else b""
    out = []
    for key in principal.keys:
        try:
            params = enctype_by_id(key.enctype).default_params
        except UnsupportedEnctype:
            params = None
        out.append(
            (
                key.kvno,
                key.enctype,
                bytes(key.key),
                key.salt if key.salt is not None else default_salt,
                key.s2kparams if key.s2kparams is not None else params,
            )
        )
    return sorted(out)


def differences(current: Principal, wanted: Principal) -> list[str]:
    """The fields in which ``current`` is not what the import would make of it."""
    fields = []

    def stored(p: Principal) -> list[tuple[object, ...]]:
        return sorted((k.kvno, k.enctype, bytes(k.key), k.salt, k.s2kparams) for k in p.keys)

    if stored(current) != stored(wanted) and _key_identities(current) != _key_identities(wanted):
        fields.append("keys")
    if current.kvno != wanted.kvno:
        fields.append("kvno")
    fields += [a for a in ATTRIBUTES if getattr(current, a) != getattr(wanted, a)]
    return fields


# ---------------------------------------------------------------- plugin users


def _plan_users(
    plan: ImportPlan,
    backend: IdentityBackend,
    users: Sequence[SourceUser],
    scheme: PasswordScheme | None,
) -> None:
    if not users:
        return
    if scheme is None:
        for user in users:
            why = "no password scheme was given to hash it"
            plan.refused.append(Skipped(user.name, "plugin user", why))
        return
    seen: set[str] = set()
    for user in users:
        try:
            name = scheme.check_name(user.name)
        except ValueError as exc:
            plan.refused.append(Skipped(user.name, "plugin user", str(exc)))
            continue
        if name in seen or not user.password:
            why = "listed twice in the source" if name in seen else "an empty password"
            plan.refused.append(Skipped(name, "plugin user", why))
            continue
        seen.add(name)
        current = backend.get_plugin_user(name)
        if current is None:
            plan.users_add.append(UserChange(user, None))
            continue
        fields = []
        try:
            same = scheme.verify(user.password, current.password_hash)
        except ValueError:
            same = False
        if not same:
            fields.append("password")
        if current.disabled != user.disabled:
            fields.append("disabled")
        if fields:
            plan.users_changed.append(UserChange(user, current, fields))
        else:
            plan.users_unchanged.append(name)


# ---------------------------------------------------------------- the plan


def plan_import(
    backend: IdentityBackend,
    kdc: KdcConfig,
    source: SourceRealm,
    *,
    update: bool = False,
    scheme: PasswordScheme | None = None,
) -> ImportPlan:
    """Compare ``source`` with the store; see the module docstring. Writes nothing."""
    realm = kdc.kdc_realm
    if source.principals and source.realm is not None and source.realm != realm:
        raise AdminError(
            f"{source.location} holds realm {source.realm}, but this node serves {realm} "
            "(kdc_realm in kdc.conf): import into a has-kdc realm of the same name, since "
            "tickets and keytabs name their realm"
        )
    initialize = not is_initialized(backend)
    plan = ImportPlan(source.kind, source.location, realm, initialize, update)
    unread = [s for s in source.skipped if s.name is not None and s.what == "principal"]
    plan.source_principals = len(source.principals) + len(unread)
    plan.source_keys = source.key_count()
    plan.not_carried.extend(s for s in source.skipped if s.name is None or s.what != "principal")
    plan.refused.extend(unread)
    builtins = {tgs_principal_name(realm), admin_principal_name(realm)}
    if not initialize:
        builtins.add(changepw_principal_name(realm))
    wanted: list[Principal] = []
    names: set[str] = set()
    for item in source.principals:
        plan.not_carried.extend(item.skipped)
        principal, why = wanted_principal(item, realm, plan.not_carried)
        if principal is None:
            plan.refused.append(Skipped(item.name, "principal", why or "not carried"))
        elif principal.name in names:
            plan.refused.append(Skipped(item.name, "principal", "listed twice in the source"))
        else:
            names.add(principal.name)
            wanted.append(principal)
    for start in range(0, len(wanted), _BATCH):
        part = wanted[start : start + _BATCH]
        existing = backend.get_principals([p.name for p in part])
        for principal in part:
            current = existing.get(principal.name)
            if current is None:
                plan.add.append(principal)
                continue
            fields = differences(current, principal)
            if not fields:
                plan.unchanged.append(principal.name)
                plan.keys_unchanged += len(principal.keys)
            elif principal.name in builtins and not initialize:
                plan.kept.append(
                    Skipped(
                        principal.name,
                        "principal",
                        f"the realm's own ({', '.join(fields)} differ); kept as it is, since "
                        "replacing it in an initialized realm would end the tickets it issued",
                    )
                )
            else:
                plan.changed.append(PrincipalChange(current, principal, fields))
    _plan_users(plan, backend, source.plugin_users, scheme)
    return plan
