"""Hadoop host roles: the service principals and keytabs a cluster's hosts need, in bulk.

A Hadoop cluster of N hosts running M services needs N x M service principals
(``hdfs/host1@REALM``, ``yarn/host1@REALM`` ...) and one keytab per host and
service. HAS names the services "host roles" (``HostRoleType``: a role and the
principal names it needs) and offers three commands over them, kept here with
HAS's names and formats:

- ``hostroles``: the roles and their principal names (`HOST_ROLES`).
- ``creprincs hostroles.json``: principals for hosts x roles, from HAS's JSON::

      {"HOSTS": [{"name": "host1", "hostRoles": "HDFS,YARN"},
                 {"name": "host2", "hostRoles": "ZOOKEEPER,HBASE"}]}

  Names that exist are skipped (so a re-run after adding hosts only adds the new
  ones, and it never re-keys a principal whose keytab is deployed). New principals
  get random keys in every configured enctype and require pre-authentication, as
  ``addprinc -randkey``. They are written in chunks, each chunk one backend
  transaction of batched inserts (`IdentityBackend.add_principals`), so 10,000
  principals take seconds, not minutes, on a remote MySQL.
- ``expkeytabs host [role]``: per host and role, ``<ROLE>-<host>.keytab`` (HAS's
  file name) with the current keys of the role's principals for that host; roles
  with no principal for the host are skipped. Keys are exported as they are (no
  re-keying, unlike ``ktadd``): exporting one role must not invalidate keytabs
  already deployed for the others.

Both work through a `PrincipalAdmin`, on behalf of its actor: one ``creprincs`` audit
record (counts and the names created) per run, one ``expkeytabs`` record per export.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.admin import org_json
from has_kdc.admin.errors import AdminError
from has_kdc.admin.keys import random_keys
from has_kdc.admin.principals import PrincipalAdmin, keytab_entries
from has_kdc.backend import BackendError, IdentityBackend, Principal, PrincipalExists
from has_kdc.formats import KeytabEntry, write_keytab
from has_kdc.principal import PrincipalNameError, format_principal

__all__ = [
    "HOST_ROLES",
    "BulkResult",
    "HostRoles",
    "KeytabExport",
    "create_principals",
    "export_host_keytabs",
    "host_role_principals",
    "host_roles_json",
    "keytab_file_name",
    "parse_hostroles",
    "read_hostroles",
    "role_principals",
]

#: HAS's HostRoleType: role -> the service names of its principals (``name/host@REALM``).
HOST_ROLES: dict[str, tuple[str, ...]] = {
    "HDFS": ("HTTP", "hdfs"),
    "YARN": ("yarn",),
    "MAPRED": ("mapred",),
    "HBASE": ("hbase",),
    "ZOOKEEPER": ("zookeeper",),
    "SPARK": ("spark",),
    "HIVE": ("hive",),
    "OOZIE": ("oozie",),
    "HUE": ("hue",),
}


def host_roles_json() -> list[dict[str, object]]:
    """``[{"HostRole": "HDFS", "PrincipalNames": ["HTTP", "hdfs"]}, ...]`` as HAS answers."""
    return [{"HostRole": role, "PrincipalNames": list(names)} for role, names in HOST_ROLES.items()]


DEFAULT_CHUNK = 500
_BAD_HOST_CHARS = frozenset("/@\\\"'")


@dataclass(frozen=True)
class HostRoles:
    """One entry of hostroles.json: a host and the roles it runs (upper case)."""

    host: str
    roles: tuple[str, ...]


def _check_role(role: str, where: str) -> str:
    upper = role.strip().upper()
    if upper not in HOST_ROLES:
        raise AdminError(
            f"{where}: unknown host role {role.strip()!r}; known roles: {', '.join(HOST_ROLES)}"
        )
    return upper


def _check_host(host: object, where: str) -> str:
    if not isinstance(host, str) or not host.strip():
        raise AdminError(f"{where}: 'name' must be a host name, found {host!r}")
    text = host.strip()
    if any(c.isspace() or c in _BAD_HOST_CHARS for c in text):
        raise AdminError(f"{where}: {text!r} is not a host name (no spaces, '/', '@' or quotes)")
    return text


def parse_hostroles(text: str, source: str = "hostroles") -> list[HostRoles]:
    """The hosts and roles of a HAS hostroles JSON document; every role is checked.

    Roles are a comma-separated string (``"HDFS,YARN"``, as HAS writes it) or a JSON
    list; case does not matter. What HAS's org.json parser took is taken too
    (`has_kdc.admin.org_json`: unquoted keys as in has-start.md's ``{ HOSTS: [...] }``).
    A host listed twice has its roles merged.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        try:  # as HAS read it: org.json takes {HOSTS: [...]} and more
            document = org_json.loads(text)
        except ValueError:
            raise AdminError(f"{source}: not valid JSON: {exc}") from None
    hosts = document.get("HOSTS") if isinstance(document, dict) else None
    if not isinstance(hosts, list):
        raise AdminError(
            f'{source}: expected {{"HOSTS": [{{"name": "host1", "hostRoles": "HDFS,YARN"}}, ...]}}'
        )
    merged: dict[str, list[str]] = {}
    for index, entry in enumerate(hosts):
        where = f"{source}: HOSTS[{index}]"
        if not isinstance(entry, dict):
            raise AdminError(f'{where}: expected {{"name": ..., "hostRoles": ...}}')
        host = _check_host(entry.get("name"), where)
        raw = entry.get("hostRoles")
        if isinstance(raw, str):
            parts = [r for r in raw.split(",") if r.strip()]
        elif isinstance(raw, list) and all(isinstance(r, str) for r in raw):
            parts = list(raw)
        else:
            raise AdminError(f"{where} ({host}): 'hostRoles' must be like \"HDFS,YARN\"")
        if not parts:
            raise AdminError(f"{where} ({host}): no roles given")
        roles = merged.setdefault(host, [])
        for part in parts:
            role = _check_role(part, f"{where} ({host})")
            if role not in roles:
                roles.append(role)
    return [HostRoles(host, tuple(roles)) for host, roles in merged.items()]


def read_hostroles(path: str | os.PathLike[str]) -> list[HostRoles]:
    """`parse_hostroles` of a file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AdminError(f"cannot read host roles file {path}: {exc.strerror}") from None
    return parse_hostroles(text, str(path))


def role_principals(host: str, role: str, realm: str) -> list[str]:
    """The principals ``role`` needs on ``host``: ``name/host@REALM`` per name of the role."""
    role = _check_role(role, f"host {host}")
    try:
        return [format_principal((name, host), realm) for name in HOST_ROLES[role]]
    except PrincipalNameError as exc:
        raise AdminError(f"host {host}: {exc}") from None


def host_role_principals(hosts: Iterable[HostRoles], realm: str) -> list[str]:
    """Every principal of hosts x roles, each name once, in file order."""
    names: dict[str, None] = {}
    for entry in hosts:
        for role in entry.roles:
            names.update(dict.fromkeys(role_principals(entry.host, role, realm)))
    return list(names)


# ---------------------------------------------------------------------- creprincs


@dataclass
class BulkResult:
    """What ``create_principals`` did. ``failed`` pairs a name with the reason."""

    created: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.created + self.skipped + len(self.failed)

    def summary(self) -> str:
        return (
            f"created {self.created}, skipped {self.skipped}, failed {len(self.failed)} "
            f"in {self.seconds:.1f} s"
        )


Progress = Callable[[int, int], None]


def create_principals(
    admin: PrincipalAdmin,
    names: Sequence[str],
    *,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> BulkResult:
    """Create the principals of ``names`` that do not exist yet (random keys in the
    realm's enctypes, preauth).

    Each chunk is one exclusive transaction: read which names exist, insert the
    others in one batch. A chunk that fails is retried one principal at a time, so
    one bad name costs only itself and is reported with its reason.
    ``progress(done, total)`` is called after each chunk. The run is one audit record
    (written after the last chunk, since the chunks commit on their own).
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    backend, enctypes = admin.backend, admin.enctypes
    started = clock()
    result = BulkResult()
    wanted = list(dict.fromkeys(names))
    label = wanted[0] if len(wanted) == 1 else f"{len(wanted)} principals"
    with admin.audit.change("creprincs", label, atomic=False) as change:
        made: list[str] = []
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            try:
                with backend.transaction():
                    existing = backend.get_principals(part)
                    new = [_new_principal(n, enctypes) for n in part if n not in existing]
                    backend.add_principals(new)
                result.created += len(new)
                result.skipped += len(part) - len(new)
                made += [p.name for p in new]
            except BackendError:
                made += _one_by_one(backend, part, enctypes, result)
            if progress is not None:
                progress(min(start + chunk, len(wanted)), len(wanted))
        result.seconds = clock() - started
        change.note(
            created=result.created,
            skipped=result.skipped,
            failed=len(result.failed),
            principals=made[:_LISTED],
        )
        if result.failed:
            change.failed(f"{len(result.failed)} principal(s) could not be created")
        elif not made:
            change.unchanged()
    return result


#: how many created names a creprincs audit record lists (the counts are exact)
_LISTED = 100


def _new_principal(name: str, enctypes: Sequence[int]) -> Principal:
    return Principal(name=name, kvno=1, keys=random_keys(enctypes, 1))


def _one_by_one(
    backend: IdentityBackend, names: Sequence[str], enctypes: Sequence[int], result: BulkResult
) -> list[str]:
    made = []
    for name in names:
        try:
            backend.add_principal(_new_principal(name, enctypes))
        except PrincipalExists:
            result.skipped += 1
        except BackendError as exc:
            result.failed.append((name, str(exc)))
        else:
            result.created += 1
            made.append(name)
    return made


# ---------------------------------------------------------------------- expkeytabs


@dataclass(frozen=True)
class KeytabExport:
    """One keytab written by ``export_host_keytabs``."""

    role: str
    path: Path
    principals: tuple[str, ...]
    entries: tuple[KeytabEntry, ...] = field(repr=False)


def keytab_file_name(host: str, role: str) -> str:
    """HAS's name for a host's keytab of one role: ``<ROLE>-<host>.keytab``."""
    return f"{role}-{host}.keytab"


def export_host_keytabs(
    admin: PrincipalAdmin,
    host: str,
    directory: str | os.PathLike[str],
    role: str | None = None,
) -> list[KeytabExport]:
    """Write ``DIR/<ROLE>-<host>.keytab`` for ``role`` (or every role) of ``host``.

    Each file holds the current keys of the role's principals on that host that
    exist, replacing any older file of that name (atomically, 0600); a role with no
    such principal gets no file. Raises `AdminError` when nothing was found at all.
    """
    realm = admin.realm
    with admin.audit.change("expkeytabs", host, role=role, to=str(directory)) as change:
        host = _check_host(host, "expkeytabs")
        target = Path(directory)
        if not target.is_dir():
            raise AdminError(f"cannot write keytabs: {target} is not a directory")
        roles = [_check_role(role, "expkeytabs")] if role is not None else list(HOST_ROLES)
        wanted = {r: role_principals(host, r, realm) for r in roles}
        found = admin.backend.get_principals([n for names in wanted.values() for n in names])
        exports = []
        for r, names in wanted.items():
            present = [found[n] for n in names if n in found]
            if not present:
                continue
            entries = [e for p in present for e in keytab_entries(p)]
            path = target / keytab_file_name(host, r)
            write_keytab(path, entries)
            exports.append(KeytabExport(r, path, tuple(p.name for p in present), tuple(entries)))
        if not exports:
            which = f"role {roles[0]}" if role is not None else "any host role"
            raise AdminError(
                f"no principal of {which} exists for host {host} in realm {realm}; "
                "create them with 'creprincs hostroles.json' first"
            )
        change.note(principals=[n for e in exports for n in e.principals])
        return exports
