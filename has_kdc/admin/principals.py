"""Principal operations, as ``kadmin`` offers them: the one place that changes identities.

`PrincipalAdmin` wraps an `IdentityBackend` with the realm's settings (default realm,
configured enctypes, lifetimes) and is what ``hadmin-local``, the REST API and the
Ansible modules call. Each read-modify-write runs in one backend transaction, so two
admins (or two nodes) changing the same principal at once are serialized, never lost.
It is made for one `Actor` (who asks, through which edge, from where), and every change
and key export it makes is one record of the audit trail (`has_kdc.admin.audit`).

Behaviour chosen where MIT and HAS differ, and why:

- New principals require pre-authentication (``requires_preauth`` true), whether they
  get a password or ``-randkey``. HAS (Kerby) enforces pre-authentication realm-wide
  (``preauth_required`` defaults to true) and the MIT realms Hadoop runs with set
  ``default_principal_flags = +preauth``; both mean every principal, services
  included. ``-requires_preauth`` switches it off for one principal.
- ``max_life``/``max_renewable_life`` left unset mean "the realm's limit" (kdc.conf
  ``max_life``/``max_renewable_life``); the KDC always applies the smaller of the two.
- ``cpw`` and ``-randkey`` bump the kvno and keep only the new kvno's keys (MIT
  without ``-keepold``). Keytabs keep older kvnos, so tickets issued before stay
  readable by services until they expire.
- ``cpw -keepold`` keeps the older kvnos' keys beside the new ones, as MIT's: the KDC
  issues under the new kvno only, and still decrypts tickets (TGTs above all, for a
  ``krbtgt`` rotation) presented under a kept one. ``purgekeys`` drops them later:
  without options every kvno but the current, ``-keepkvno N`` those below N, ``-all``
  every key (MIT's semantics; refused for the realm's krbtgt and kadmin, which it
  would break). The new kvno is one more than the highest kept, so a kept kvno is
  never reused.
- ``ktadd``/``xst`` without ``-norandkey`` re-randomizes the keys first (new kvno),
  exactly as MIT's; with ``-norandkey`` it exports every kept kvno's keys unchanged
  (MIT's ``kadm5_get_principal_keys`` with kvno 0). The keytab file is extended, not
  replaced (as MIT's), and written atomically, 0600.
- ``renprinc`` keeps the keys; the backend stores the old name's salt explicitly, so
  the old password still works under the new name (MIT does the same).
- A glob for ``listprincs``/``ktadd -glob`` without ``@`` gets ``@DEFAULT_REALM``
  appended, as MIT's ``listprincs`` does; no glob lists every principal.
"""

from __future__ import annotations

import functools
import hmac
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from has_kdc.admin.audit import Actor, AuditTrail
from has_kdc.admin.errors import AdminError, NoSuchPrincipalError, PrincipalExistsError
from has_kdc.admin.keys import password_keys, random_keys
from has_kdc.admin.plugin_users import PluginUserAdmin
from has_kdc.admin.policy import (
    DEFAULT_POLICY,
    PolicyAdmin,
    check_new_password,
    password_state,
)
from has_kdc.admin.timespec import format_duration, format_time
from has_kdc.backend import (
    IdentityBackend,
    KeyData,
    PasswordPolicy,
    Principal,
    PrincipalExists,
    PrincipalNotFound,
)
from has_kdc.conf import KdcConfig
from has_kdc.crypto import enctype_name
from has_kdc.formats import Keytab, KeytabEntry, make_entry, read_keytab, write_keytab
from has_kdc.formats.common import NT_PRINCIPAL, NT_SRV_INST, FormatPrincipal
from has_kdc.principal import normalize_principal, parse_principal

__all__ = ["ATTRIBUTES", "PrincipalAdmin", "keytab_entries", "keytab_has", "keytab_holds"]

#: What ``modify_principal`` (and ``add_principal``'s ``attributes``) may set, with type.
ATTRIBUTES: dict[str, tuple[type, ...]] = {
    "requires_preauth": (bool,),
    "disabled": (bool,),
    "allow_forwardable": (bool,),
    "allow_proxiable": (bool,),
    "allow_renewable": (bool,),
    "allow_tix": (bool,),
    "allow_svr": (bool,),
    "max_life": (int, type(None)),
    "max_renewable_life": (int, type(None)),
    "expiration": (int, type(None)),
    "pw_expiration": (int, type(None)),
    "policy": (str, type(None)),
}

# getprinc "Attributes:" words, MIT's names for the flags the model stores positively.
_FLAG_WORDS = (
    ("requires_preauth", True, "REQUIRES_PRE_AUTH"),
    ("allow_forwardable", False, "DISALLOW_FORWARDABLE"),
    ("allow_proxiable", False, "DISALLOW_PROXIABLE"),
    ("allow_renewable", False, "DISALLOW_RENEWABLE"),
    ("allow_tix", False, "DISALLOW_ALL_TIX"),
    ("allow_svr", False, "DISALLOW_SVR"),
    ("disabled", True, "DISABLED"),
)


def _check_attributes(attributes: Mapping[str, object]) -> dict[str, object]:
    checked: dict[str, object] = {}
    for key, value in attributes.items():
        if key not in ATTRIBUTES:
            raise AdminError(
                f"unknown principal attribute {key!r}; expected one of {', '.join(ATTRIBUTES)}"
            )
        types = ATTRIBUTES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise AdminError(f"principal attribute {key} cannot be {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise AdminError(f"principal attribute {key} cannot be negative ({value})")
        checked[key] = value
    return checked


def keytab_entries(principal: Principal, kvno: int | None = None) -> list[KeytabEntry]:
    """Keytab entries for the keys of ``principal`` at ``kvno``; by default for every
    kept kvno, newest first, so a keytab exported during a rotation opens tickets
    issued under the old kvno and the new one alike."""
    components, realm = parse_principal(principal.name)
    # As MIT's krb5_parse_name: NT-SRV-INST for krbtgt, NT-PRINCIPAL for everything else.
    name_type = NT_SRV_INST if components[0] == "krbtgt" and len(components) == 2 else NT_PRINCIPAL
    fprinc = FormatPrincipal(name_type, realm, components)
    return [
        make_entry(fprinc, key.kvno, key.enctype, key.key)
        for key in (
            sorted(principal.keys, key=lambda k: -k.kvno)
            if kvno is None
            else principal.keys_for_kvno(kvno)
        )
    ]


def keytab_has(keytab: Keytab, entry: KeytabEntry) -> bool:
    """Whether ``keytab`` has ``entry``'s key already (same kvno, enctype and bytes)."""
    found = keytab.key_for(entry.principal, entry.enctype, entry.kvno)
    return found is not None and hmac.compare_digest(found.key, entry.key)


def keytab_holds(keytab: Keytab | None, principal: Principal) -> bool:
    """Whether ``keytab`` has every kept key of ``principal`` (same kvno, enctype, bytes).

    This is the test that keeps an existing keytab: nothing is rewritten, re-keyed or
    re-numbered while it still holds what the database holds.
    """
    if keytab is None:
        return False
    wanted = keytab_entries(principal)
    return bool(wanted) and all(keytab_has(keytab, entry) for entry in wanted)


T = TypeVar("T")


def _kvnos(principal: Principal, *, but: int | None) -> set[int]:
    """The kvnos ``principal`` keeps keys of, leaving out ``but``."""
    return {k.kvno for k in principal.keys} - {but}


def _keepold(keepold: bool) -> dict[str, bool]:
    return {"keepold": True} if keepold else {}


def _kept(principal: Principal, keepold: bool) -> dict[str, object]:
    """The audit fact of a ``-keepold`` re-key: which older kvnos are still kept."""
    return {"kept_kvnos": _kvnos(principal, but=principal.kvno)} if keepold else {}


def _next_kvno(current: Principal) -> int:
    """The kvno of new keys: above every kvno kept, so a kept one is never reused (MIT)."""
    kvno = max([current.kvno, *(k.kvno for k in current.keys)]) + 1
    if kvno >= 2**32:
        raise AdminError(f"cannot re-key {current.name}: kvno {kvno - 1} is the last one")
    return kvno


def _rerun_on_conflict(method: Callable[..., T]) -> Callable[..., T]:
    """Run a change again when another database host's transaction won it (Galera, see
    ``IdentityBackend.repeat_on_conflict``): the lost attempt was rolled back whole and
    left no record in the audit trail; the next one reads and decides
    again. Inside a bigger change (e.g. ``ktadd``) it runs once, as part of it."""

    @functools.wraps(method)
    def run(self: PrincipalAdmin, *args: object, **kwargs: object) -> T:
        return self.backend.repeat_on_conflict(lambda: method(self, *args, **kwargs))

    return run


class PrincipalAdmin:
    """Principal and keytab operations for one realm over one identity store, on
    behalf of ``actor`` (whose changes the audit trail records)."""

    def __init__(self, backend: IdentityBackend, kdc: KdcConfig, actor: Actor) -> None:
        self.backend = backend
        self.kdc = kdc
        self.realm = kdc.kdc_realm
        self.enctypes = tuple(kdc.supported_enctypes)
        self.audit = AuditTrail.for_realm(backend, kdc, actor)
        self.plugin_users = PluginUserAdmin(backend, self.audit)
        self.policies = PolicyAdmin(backend, self.audit)

    # -- names ----------------------------------------------------------------------

    def canonical(self, name: str) -> str:
        """``name`` in canonical form; a name without ``@`` takes the default realm."""
        return normalize_principal(name.strip(), self.realm)

    def realm_glob(self, glob: str | None) -> str | None:
        """MIT's listprincs rule: a glob without '@' is matched in the default realm."""
        if not glob:
            return None
        escaped = False
        for ch in glob:
            if ch == "@" and not escaped:
                return glob
            escaped = ch == "\\" and not escaped
        return f"{glob}@{self.realm}"

    # -- reads ------------------------------------------------------------------------

    def get_principal(self, name: str) -> Principal:
        """The principal with its keys; `NoSuchPrincipalError` if absent."""
        canonical = self.canonical(name)
        found = self.backend.get_principal(canonical)
        if found is None:
            raise NoSuchPrincipalError(canonical)
        return found

    def exists(self, name: str) -> bool:
        return self.backend.get_principal(self.canonical(name)) is not None

    def list_principals(
        self, glob: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Names matching ``glob`` (shell wildcards; realm rule as MIT), sorted; with
        ``after``/``limit`` one page of them (see `IdentityBackend.list_principals`)."""
        return self.backend.list_principals(self.realm_glob(glob), after=after, limit=limit)

    def describe_principal(self, name: str) -> str:
        """``getprinc`` text: attributes, lifetimes and the key list — never key bytes."""
        p = self.get_principal(name)
        realm_life = format_duration(self.kdc.max_life)
        realm_renew = format_duration(self.kdc.max_renewable_life)
        max_life = (
            format_duration(p.max_life) if p.max_life is not None else f"{realm_life} (realm limit)"
        )
        max_renew = (
            format_duration(p.max_renewable_life)
            if p.max_renewable_life is not None
            else f"{realm_renew} (realm limit)"
        )
        lines = [
            f"Principal: {p.name}",
            f"Expiration date: {format_time(p.expiration)}",
            f"Password expiration date: {format_time(p.pw_expiration)}",
            f"Maximum ticket life: {max_life}",
            f"Maximum renewable life: {max_renew}",
            f"Created: {format_time(p.created)}",
            f"Last modified: {format_time(p.modified)}",
            f"Number of keys: {len(p.keys)}",
        ]
        for key in sorted(p.keys, key=lambda k: (-k.kvno, self._enctype_rank(k.enctype))):
            name_of = enctype_name(key.enctype) or f"enctype {key.enctype}"
            lines.append(f"Key: vno {key.kvno}, {name_of}")
        flags = [word for attr, on, word in _FLAG_WORDS if getattr(p, attr) is on]
        lines.append(f"Attributes: {' '.join(flags)}".rstrip())
        lines.append(f"Policy: {p.policy or '[none]'}")
        return "\n".join(lines)

    def _enctype_rank(self, etype: int) -> int:
        return self.enctypes.index(etype) if etype in self.enctypes else len(self.enctypes)

    # -- changes ------------------------------------------------------------------------

    @_rerun_on_conflict
    def add_principal(
        self,
        name: str,
        *,
        password: str | None = None,
        randkey: bool = False,
        attributes: Mapping[str, object] | None = None,
        enctypes: Sequence[int] | None = None,
    ) -> Principal:
        """Create ``name`` with keys from ``password`` or random keys (``randkey``).

        ``enctypes`` (MIT's ``addprinc -e``) replaces the realm's supported_enctypes for
        this principal's keys: a cross-realm krbtgt shares its password with another
        realm's KDC, and both must derive the same keys in the same enctypes.
        """
        canonical = self.canonical(name)
        chosen = self._chosen_enctypes(canonical, enctypes)
        keys = "password" if password is not None else "random"
        with self.audit.change("addprinc", canonical, keys=keys) as change:
            if (password is None) == (not randkey):
                raise AdminError(
                    f"cannot add {canonical}: give either a password or random keys, not both"
                    if password is not None
                    else f"cannot add {canonical}: give a password or ask for random keys"
                )
            settings = _check_attributes(attributes or {})
            change.note(attributes=sorted(settings))
            if "policy" not in settings and self.backend.get_policy(DEFAULT_POLICY) is not None:
                settings["policy"] = DEFAULT_POLICY  # MIT kadmin's rule
            policy = self._named_policy(settings.get("policy"))  # type: ignore[arg-type]
            if password is not None:
                check_new_password(policy, None, password)
                now = int(time.time())
                state = password_state(policy, None, now)
                if "pw_expiration" in settings:
                    state.pop("pw_expiration")
                settings.update(state)
            new_keys = (
                password_keys(canonical, password, chosen, 1)
                if password is not None
                else random_keys(chosen, 1)
            )
            principal = Principal(name=canonical, kvno=1, keys=new_keys, **settings)  # type: ignore[arg-type]
            try:
                return self.backend.add_principal(principal)
            except PrincipalExists:
                raise PrincipalExistsError(canonical) from None

    @_rerun_on_conflict
    def delete_principal(self, name: str) -> None:
        canonical = self.canonical(name)
        with self.audit.change("delprinc", canonical):
            self._refuse_builtin(canonical, "delete")
            try:
                self.backend.delete_principal(canonical)
            except PrincipalNotFound:
                raise NoSuchPrincipalError(canonical) from None

    @_rerun_on_conflict
    def rename_principal(self, old: str, new: str) -> Principal:
        """Rename keeping keys (and so the old password, via the stored old salt)."""
        old_name, new_name = self.canonical(old), self.canonical(new)
        with self.audit.change("renprinc", old_name, new_name=new_name):
            self._refuse_builtin(old_name, "rename")
            if old_name == new_name:
                raise AdminError(f"cannot rename {old_name} to itself")
            try:
                return self.backend.rename_principal(old_name, new_name)
            except PrincipalNotFound:
                raise NoSuchPrincipalError(old_name) from None
            except PrincipalExists:
                raise PrincipalExistsError(new_name) from None

    @_rerun_on_conflict
    def change_password(
        self,
        name: str,
        password: str,
        *,
        keepold: bool = False,
        own_change: bool = False,
        enctypes: Sequence[int] | None = None,
    ) -> Principal:
        """New password keys at a new kvno; older keys are dropped unless ``keepold``.

        The principal's password policy decides (`has_kdc.admin.policy`); ``own_change``
        is a principal changing its own password (kpasswd), bound by the minimum life.
        """
        canonical = self.canonical(name)
        chosen = self._chosen_enctypes(canonical, enctypes)
        action = "kpasswd" if own_change else "cpw"
        with self.audit.change(action, canonical, keys="password", **_keepold(keepold)) as change:

            def work() -> Principal:
                current = self.backend.get_principal(canonical)
                if current is None:
                    raise NoSuchPrincipalError(canonical)
                policy = self.policies.find(current.policy)
                check_new_password(policy, current, password, own_change=own_change)
                kvno = _next_kvno(current)
                keys = password_keys(canonical, password, chosen, kvno)
                if keepold:
                    keys += list(current.keys)
                state = password_state(policy, current, int(time.time()))
                return self.backend.update_principal(
                    replace(current, kvno=kvno, keys=keys, **state)  # type: ignore[arg-type]
                )

            changed = self.backend.run_transaction(work)
            change.note(kvno=changed.kvno, **_kept(changed, keepold))
            return changed

    def _chosen_enctypes(self, canonical: str, enctypes: Sequence[int] | None) -> tuple[int, ...]:
        """``enctypes`` as asked (``-e``), else the realm's; an empty choice is refused."""
        if enctypes is None:
            return self.enctypes
        chosen = tuple(dict.fromkeys(enctypes))
        if not chosen:
            raise AdminError(f"cannot key {canonical}: -e names no enctype this KDC implements")
        return chosen

    def _named_policy(self, name: str | None) -> PasswordPolicy | None:
        """The policy a principal is to name; refuses a name that does not exist."""
        if name is None:
            return None
        return self.policies.get(name)

    @_rerun_on_conflict
    def randomize_keys(self, name: str, *, keepold: bool = False) -> Principal:
        """New random keys at a new kvno (``cpw -randkey [-keepold]``, and ``ktadd``
        without -norandkey)."""
        canonical = self.canonical(name)
        with self.audit.change("cpw", canonical, keys="random", **_keepold(keepold)) as change:
            changed = self._rekey(canonical, lambda kvno: random_keys(self.enctypes, kvno), keepold)
            change.note(kvno=changed.kvno, **_kept(changed, keepold))
            return changed

    def _rekey(
        self, canonical: str, make_keys: Callable[[int], list[KeyData]], keepold: bool
    ) -> Principal:
        def work() -> Principal:
            current = self.backend.get_principal(canonical)
            if current is None:
                raise NoSuchPrincipalError(canonical)
            kvno = _next_kvno(current)
            keys = make_keys(kvno) + (list(current.keys) if keepold else [])
            return self.backend.update_principal(replace(current, kvno=kvno, keys=keys))

        return self.backend.run_transaction(work)

    @_rerun_on_conflict
    def purge_keys(
        self, name: str, *, keepkvno: int | None = None, purge_all: bool = False
    ) -> Principal:
        """``purgekeys``: drop the keys below kvno ``keepkvno`` (default: the current
        kvno, so every older one), or every key with ``purge_all``, as MIT's."""
        canonical = self.canonical(name)
        with self.audit.change("purgekeys", canonical, keepkvno=keepkvno, all=purge_all) as change:
            if keepkvno is not None and purge_all:
                raise AdminError("give -keepkvno or -all, not both")
            if keepkvno is not None and not 0 < keepkvno < 2**32:
                raise AdminError(f"kvno {keepkvno} is out of range (1 to 4294967295)")
            with self.backend.transaction():
                current = self.backend.get_principal(canonical)
                if current is None:
                    raise NoSuchPrincipalError(canonical)
                floor = 2**32 if purge_all else keepkvno or current.kvno
                kept = [k for k in current.keys if k.kvno >= floor]
                purged = {k.kvno for k in current.keys if k.kvno < floor}
                change.note(purged_kvnos=purged)
                if not purged:
                    change.unchanged()
                    return current
                if not kept:
                    self._refuse_builtin(canonical, "purge every key of")
                return self.backend.update_principal(replace(current, keys=kept))

    @_rerun_on_conflict
    def modify_principal(
        self, name: str, attributes: Mapping[str, object], *, kvno: int | None = None
    ) -> Principal:
        """Set attributes (see `ATTRIBUTES`); ``kvno`` relabels the current keys (MIT -kvno)."""
        canonical = self.canonical(name)
        with self.audit.change("modprinc", canonical, kvno=kvno) as change:
            settings = _check_attributes(attributes)
            change.note(attributes=sorted(settings))
            if kvno is not None and not 0 < kvno < 2**32:
                raise AdminError(f"kvno {kvno} is out of range (1 to 4294967295)")
            with self.backend.transaction():
                current = self.backend.get_principal(canonical)
                if current is None:
                    raise NoSuchPrincipalError(canonical)
                policy = self._named_policy(settings.get("policy"))  # type: ignore[arg-type]
                if policy is not None and policy.max_life and "pw_expiration" not in settings:
                    # MIT: a policy with a maximum life dates the current password
                    since = current.last_pwd_change or int(time.time())
                    settings["pw_expiration"] = since + policy.max_life
                changed = replace(current, **settings)  # type: ignore[arg-type]
                if kvno is not None:  # kept older kvnos stay, unless one is the new label
                    changed.keys = [replace(k, kvno=kvno) for k in current.keys_for_kvno()] + [
                        k for k in current.keys if k.kvno not in (current.kvno, kvno)
                    ]
                    changed.kvno = kvno
                return self.backend.update_principal(changed)

    def _refuse_builtin(self, canonical: str, verb: str) -> None:
        if canonical in (f"krbtgt/{self.realm}@{self.realm}", f"kadmin/{self.realm}@{self.realm}"):
            raise AdminError(
                f"cannot {verb} {canonical}: the realm needs it (it was created by init)"
            )

    # -- keytabs ------------------------------------------------------------------------

    def resolve_names(self, names: Iterable[str] = (), glob: str | None = None) -> list[str]:
        """Canonical names from explicit names and/or a glob; unknown names are errors."""
        wanted = [self.canonical(n) for n in names]
        if glob is not None:
            matched = self.list_principals(glob)
            if not matched:
                raise AdminError(f"no principal matches {self.realm_glob(glob)}")
            wanted += matched
        if not wanted:
            raise AdminError("no principal given: name one or more, or use -glob")
        return list(dict.fromkeys(wanted))

    def export_keytab(
        self,
        path: str | os.PathLike[str],
        names: Iterable[str] = (),
        *,
        glob: str | None = None,
        norandkey: bool = False,
    ) -> list[KeytabEntry]:
        """``ktadd``: add keys of the principals to the keytab at ``path``.

        Without ``norandkey`` each principal gets new random keys first (kvno + 1),
        as MIT's ``ktadd`` does; with it the current keys are exported unchanged. The
        keytab keeps its other entries and is replaced atomically with mode 0600.
        Returns the entries added (the caller reports them; key bytes stay inside).
        The re-keying commits with the one ``ktadd`` audit record, after the keytab
        is written: a keytab that cannot be written leaves the keys as they were.
        """
        target = Path(path)
        label = ", ".join(names) if names else ""
        if glob is not None:
            label = f"{label}, {glob}" if label else glob
        with self.audit.change("ktadd", label, to=str(target), norandkey=norandkey) as change:
            canonical = self.resolve_names(names, glob)
            change.note(principals=canonical)
            if target.is_dir():
                raise AdminError(f"keytab {target} is a directory; give a file path")
            existing = Keytab()
            if target.exists():
                try:
                    existing = read_keytab(target)
                except ValueError as exc:
                    raise AdminError(f"cannot add to keytab {target}: {exc}") from None
            added: list[KeytabEntry] = []
            for name in canonical:
                if not norandkey:
                    self._refuse_builtin_rekey(name)
                principal = self.get_principal(name) if norandkey else self.randomize_keys(name)
                entries = keytab_entries(principal)
                if not entries:
                    raise AdminError(f"principal {name} has no keys to export")
                added.extend(entries)
            existing.add(added)
            write_keytab(target, existing)
            return added

    def export_keys(self, name: str, *, randkey: bool = False, to: str) -> Principal:
        """The principal whose current keys the caller hands out (to ``to``: a file, an
        HTTP answer), re-keyed first with ``randkey``; one ``ktadd`` audit record."""
        canonical = self.canonical(name)
        with self.audit.change("ktadd", canonical, to=to, norandkey=not randkey) as change:
            if randkey:
                self._refuse_builtin_rekey(canonical)
                principal = self.randomize_keys(canonical)
            else:
                principal = self.get_principal(canonical)
            change.note(kvno=principal.kvno)
            return principal

    def _refuse_builtin_rekey(self, canonical: str) -> None:
        if canonical == f"krbtgt/{self.realm}@{self.realm}":
            raise AdminError(
                f"refusing to re-randomize {canonical} for a keytab (every ticket in the realm "
                "would stop working); use -norandkey"
            )
