"""What every source reader produces: one neutral model of a realm to be imported.

Each reader (Kerby's MySQL tables, Kerby's JSON file, an MIT dump) turns its own
format into these records and nothing more: principals with every key the source
holds (whatever the enctype, so the refusal of a DES key is decided and reported in
one place), the attributes already mapped to has-kdc's names (`has_kdc.admin.ATTRIBUTES`),
and for whatever has no has-kdc counterpart a `Skipped` entry saying what and why.
Plugin users come with the password as the source keeps it (HAS's ``has_user``
table holds plain text); it is hashed when the import is applied and never printed.

Times are POSIX seconds; ``None`` means "never" / "no limit", as in `Principal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from has_kdc.principal import PrincipalNameError, parse_principal

__all__ = ["Skipped", "SourceKey", "SourcePrincipal", "SourceRealm", "SourceUser"]


@dataclass(frozen=True)
class SourceKey:
    """One long-term key as the source stores it, decrypted.

    ``salt`` is the string-to-key salt when the source records one other than the
    name's default (MIT's NOREALM, ONLYREALM or SPECIAL salts); ``None`` means the
    RFC 4120 default salt of the principal's name, as has-kdc's `KeyData` says it.
    """

    enctype: int
    kvno: int
    key: bytes = field(repr=False)
    salt: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Skipped:
    """Something of the source that is not carried: ``what`` of ``name``, and why.

    ``name`` is a principal or plugin user name, or ``None`` for the source as a
    whole (an MIT password policy, for instance). Never holds key material.
    """

    name: str | None
    what: str
    reason: str

    def line(self) -> str:
        where = f"{self.name}: " if self.name else ""
        return f"{where}{self.what}: {self.reason}"


@dataclass
class SourcePrincipal:
    """A principal of the source: its name, keys, has-kdc attributes and what is left out.

    ``name`` is in MIT canonical text form with its realm. ``attributes`` holds only
    what the source says (keys of `has_kdc.admin.ATTRIBUTES`); what it leaves out
    takes has-kdc's default. ``skipped`` lists the source's attributes that have no
    has-kdc counterpart (as `Skipped` with this principal's name).
    """

    name: str
    keys: list[SourceKey] = field(default_factory=list)
    attributes: dict[str, object] = field(default_factory=dict)
    created: int | None = None
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append(Skipped(self.name, what, reason))


@dataclass(frozen=True)
class SourceUser:
    """A user of HAS's MySQL plugin (``has_user``): name and the password as stored there."""

    name: str
    password: str = field(repr=False)
    disabled: bool = False


@dataclass
class SourceRealm:
    """Everything a reader found: the realm it serves, principals, plugin users, and
    what it could not read at all (``skipped``, e.g. a record it cannot decrypt).

    ``kind`` names the format (``kerby-mysql``, ``kerby-json``, ``mit-dump``) and
    ``location`` the source as it may be shown (a URL never with its password).
    """

    kind: str
    location: str
    realm: str | None
    principals: list[SourcePrincipal] = field(default_factory=list)
    plugin_users: list[SourceUser] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def key_count(self) -> int:
        return sum(len(p.keys) for p in self.principals)

    def guess_realm(self) -> str | None:
        """The realm of the source's ``krbtgt/R@R``, else its most common realm."""
        counts: dict[str, int] = {}
        for principal in self.principals:
            try:
                components, realm = parse_principal(principal.name)
            except PrincipalNameError:
                continue
            if components == ("krbtgt", realm):
                return realm
            counts[realm] = counts.get(realm, 0) + 1
        return max(counts, key=lambda r: counts[r]) if counts else None
