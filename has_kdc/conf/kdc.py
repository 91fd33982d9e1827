"""kdc.conf as HAS writes it, plus the production settings MIT's kdc.conf names.

HAS writes only ``[kdcdefaults]`` with kdc_host, kdc_udp_port, kdc_tcp_port and
kdc_realm. A production KDC also needs ticket lifetimes, clock skew and the enctypes
it issues; HAS has no keys for those, so they take MIT's kdc.conf names
(``max_life``, ``max_renewable_life``, ``supported_enctypes``, ``master_key_type``)
and may sit either in ``[kdcdefaults]`` or, as in MIT, in ``[realms] REALM = { }``
(the realm block wins). Clock skew is ``clockskew`` in MIT's krb5.conf; both
``clock_skew`` and ``clockskew`` are read.

``kdc_stale_ok`` (a duration, default 1h; 0 turns it off) is how long the KDC keeps
answering from memory for the principals it has seen once no database host answers;
see docs/ha.md.

Listeners: with no port key at all the KDC listens on 88 over UDP and TCP, as every
client expects. Once any port is given, only the protocols given are served (HAS
docs show kdc.conf files with ``kdc_tcp_port`` alone). Kerby's ``kdc_port`` (both
protocols) and ``kdc_allow_udp``/``kdc_allow_tcp`` are honoured.

The password change service (kpasswd, RFC 3244) listens over UDP and TCP beside the
KDC, on ``kdc_host`` and MIT's ``kpasswd_port`` (default 464); MIT's
``kpasswd_listen`` (addresses and/or ports, comma or space separated: ``10.0.0.1``,
``10.0.0.1:1464``, ``[::1]:464``, ``1464``) replaces that when given. Both may sit in
``[kdcdefaults]`` or the realm block, as the other MIT settings.

Cross-realm trust (docs/cross-realm.md): the trust itself is the pair of
``krbtgt/OTHER@OURS`` / ``krbtgt/OURS@OTHER`` principals in the database; kdc.conf
may add MIT's ``[capaths]`` section (client realm = { server realm = intermediate
realm, one line per hop in order, ``.`` for none }), which decides the referral TGTs
the KDC hands out and which transited realms it accepts. A ``[realms]`` block for
another realm (``kdc = host:port`` lines) and ``[domain_realm]`` declare a trusted
realm for the client exports: its KDCs, its hosts' domains and the auth_to_local rules
that map its users to short names.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.conf.errors import ConfigError
from has_kdc.conf.profile import Profile, Relation, Relations, read_profile
from has_kdc.conf.values import (
    DEFAULT_ENCTYPES,
    parse_bool,
    parse_duration,
    parse_enctype,
    parse_enctypes,
    parse_port,
)

__all__ = ["DEFAULT_DATA_DIR", "KdcConfig", "kdc_config_from_profile", "read_kdc_conf"]

log = logging.getLogger("has_kdc.conf")

DEFAULT_DATA_DIR = Path("/var/lib/has")
DEFAULT_KDC_PORT = 88
DEFAULT_KPASSWD_PORT = 464

_REALM = re.compile(r"^[^\s@/\\]+$")
_HOST = re.compile(r"^[A-Za-z0-9._:%\[\]-]+$")


@dataclass(frozen=True)
class KdcConfig:
    """The KDC's own settings; durations are in seconds, enctypes are RFC 3961 numbers."""

    kdc_realm: str
    kdc_host: str = "127.0.0.1"
    kdc_udp_port: int | None = DEFAULT_KDC_PORT
    kdc_tcp_port: int | None = DEFAULT_KDC_PORT
    max_life: int = 24 * 3600
    max_renewable_life: int = 7 * 24 * 3600
    clock_skew: int = 300
    supported_enctypes: tuple[int, ...] = DEFAULT_ENCTYPES
    master_key_type: int = 18
    data_dir: Path = DEFAULT_DATA_DIR
    log_file: Path | None = None
    #: how long the KDC answers from memory once the database stops answering
    #: (``kdc_stale_ok``; 0: not at all); see docs/ha.md
    stale_ok: int = 3600
    #: the password change service: its port, and MIT's kpasswd_listen (host, port) pairs
    #: (host None: kdc_host; port None: kpasswd_port) replacing kdc_host:kpasswd_port
    kpasswd_port: int = DEFAULT_KPASSWD_PORT
    kpasswd_listen: tuple[tuple[str | None, int | None], ...] = ()
    #: MIT's [capaths]: (client realm, server realm, intermediate realms in order)
    capaths: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: other realms' ``kdc`` lines from [realms] (trusted realms, for client exports)
    trusted_realms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: MIT's [domain_realm]: (host or .domain, realm)
    domain_realm: tuple[tuple[str, str], ...] = ()
    source: str | None = field(default=None, compare=False)

    def capaths_map(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """``capaths`` as client realm -> server realm -> hops."""
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for client, server, hops in self.capaths:
            out.setdefault(client, {})[server] = hops
        return out

    def kpasswd_addresses(self) -> list[tuple[str, int]]:
        """Where the password change service listens: (host, port), UDP and TCP each."""
        if not self.kpasswd_listen:
            return [(self.kdc_host, self.kpasswd_port)]
        return [
            (host or self.kdc_host, port or self.kpasswd_port) for host, port in self.kpasswd_listen
        ]


def _path(rel: Relation, base: Path) -> Path:
    text = str(rel.value).strip()
    if not text:
        raise ConfigError(f"{rel.name}: expected a path, found nothing", rel.source, rel.line)
    path = Path(text)
    return path if path.is_absolute() else (base / path)


def _realm_name(rel: Relation) -> str:
    text = str(rel.value).strip()
    if not _REALM.match(text):
        raise ConfigError(
            f"kdc_realm = {rel.value}: expected a realm name such as HADOOP.COM "
            "(no spaces, '@', '/' or '\\')",
            rel.source,
            rel.line,
        )
    return text


def _host(rel: Relation) -> str:
    text = str(rel.value).strip()
    if not _HOST.match(text):
        raise ConfigError(
            f"kdc_host = {rel.value}: expected one host name or IP address", rel.source, rel.line
        )
    return text


def _listen(rel: Relation) -> tuple[tuple[str | None, int | None], ...]:
    """MIT's ``kpasswd_listen``: addresses and/or ports, comma or space separated."""
    out: list[tuple[str | None, int | None]] = []
    for item in re.split(r"[\s,]+", str(rel.value).strip()):
        if not item:
            continue
        host: str | None = item
        port_text: str | None = None
        if item.isdigit():
            host, port_text = None, item
        elif item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else (rest or None)
        elif item.count(":") == 1:
            host, port_text = item.split(":")
        port = None
        if port_text is not None:
            if not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
                raise ConfigError(
                    f"{rel.name} = {rel.value}: {item!r} has no port number from 1 to 65535",
                    rel.source,
                    rel.line,
                )
            port = int(port_text)
        if host is not None and not _HOST.match(host):
            raise ConfigError(
                f"{rel.name} = {rel.value}: {item!r} is not an address or address:port",
                rel.source,
                rel.line,
            )
        out.append((host or None, port))
    if len(out) > 16:
        raise ConfigError(f"{rel.name}: at most 16 addresses", rel.source, rel.line)
    return tuple(out)


def _capaths(section: Relations) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """MIT's ``[capaths]``: ``CLIENT = { SERVER = HOP }``, repeated lines in path order."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for client in section:
        if isinstance(client.value, str) or not _REALM.match(client.name):
            raise ConfigError(
                f"[capaths] {client.name}: expected 'CLIENT.REALM = {{ SERVER.REALM = HOP }}'",
                client.source,
                client.line,
            )
        hops: dict[str, list[str]] = {}
        for rel in client.value:
            hop = str(rel.value).strip()
            if (
                not isinstance(rel.value, str)
                or not _REALM.match(rel.name)
                or not _REALM.match(hop)
            ):
                raise ConfigError(
                    f"[capaths] {client.name}: {rel.name} = {rel.value}: expected "
                    "'SERVER.REALM = INTERMEDIATE.REALM' (or '.' for a direct trust)",
                    rel.source,
                    rel.line,
                )
            hops.setdefault(rel.name, []).append(hop)
        out += [(client.name, server, tuple(path)) for server, path in hops.items()]
    return tuple(out)


def _trusted_realms(realms: Relations, ours: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ``kdc`` lines of the other ``[realms]`` blocks: where trusted realms' KDCs are.

    A block without ``kdc`` lines (an MIT kdc.conf's settings for a realm this KDC
    does not serve) declares nothing and is left alone.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for block in realms:
        if block.name == ours or isinstance(block.value, str):
            continue
        kdcs = []
        for rel in block.value:
            if rel.name != "kdc":
                continue
            kdc = str(rel.value).strip()
            if not _HOST.match(kdc) or not _REALM.match(block.name):
                raise ConfigError(
                    f"[realms] {block.name}: kdc = {rel.value}: expected host or host:port "
                    "in a realm block",
                    rel.source,
                    rel.line,
                )
            kdcs.append(kdc)
        if kdcs:
            out.append((block.name, tuple(kdcs)))
    return tuple(out)


def _domain_realm(section: Relations) -> tuple[tuple[str, str], ...]:
    out = []
    for rel in section:
        realm = str(rel.value).strip()
        if isinstance(rel.value, str) and _HOST.match(rel.name) and _REALM.match(realm):
            out.append((rel.name, realm))
            continue
        raise ConfigError(
            f"[domain_realm] {rel.name} = {rel.value}: expected '.domain = REALM'",
            rel.source,
            rel.line,
        )
    return tuple(out)


_SETTINGS: dict[str, tuple[str, Callable[[Relation], object]]] = {
    "kpasswd_port": ("kpasswd_port", parse_port),
    "kpasswd_listen": ("kpasswd_listen", _listen),
    "max_life": ("max_life", parse_duration),
    "max_renewable_life": ("max_renewable_life", parse_duration),
    "clock_skew": ("clock_skew", parse_duration),
    "clockskew": ("clock_skew", parse_duration),
    "supported_enctypes": ("supported_enctypes", parse_enctypes),
    "master_key_type": ("master_key_type", parse_enctype),
}
_KDCDEFAULTS_ONLY = frozenset(
    {
        "kdc_realm",
        "kdc_host",
        "kdc_port",
        "kdc_udp_port",
        "kdc_tcp_port",
        "kdc_allow_udp",
        "kdc_allow_tcp",
        "data_dir",
        "log_file",
        "kdc_stale_ok",
    }
)


def _warn_unknown(section: Relations, known: Collection[str], where: str) -> None:
    for rel in section:
        if rel.name not in known:
            log.warning(
                "%s:%d: unknown setting %r in %s is ignored", rel.source, rel.line, rel.name, where
            )


def kdc_config_from_profile(profile: Profile) -> KdcConfig:
    """Build a ``KdcConfig`` from a parsed kdc.conf; see the module docstring for the rules."""
    source = profile.source
    base = Path(source).parent if source and not source.startswith("<") else Path.cwd()
    defaults = profile.section("kdcdefaults") or Relations("kdcdefaults", source, 0)
    for name in profile.sections:
        if name not in ("kdcdefaults", "realms", "capaths", "domain_realm"):
            log.warning("%s: section [%s] is not used by has-kdc and is ignored", source, name)
    _warn_unknown(defaults, _KDCDEFAULTS_ONLY | _SETTINGS.keys(), "[kdcdefaults]")

    realm_rel = defaults.find("kdc_realm")
    if realm_rel is None:
        raise ConfigError(
            "kdc_realm is required: add 'kdc_realm = YOUR.REALM' under [kdcdefaults]", source
        )
    values: dict[str, object] = {"kdc_realm": _realm_name(realm_rel), "source": source}

    if (rel := defaults.find("kdc_host")) is not None:
        values["kdc_host"] = _host(rel)
    for key in ("data_dir", "log_file"):
        if (rel := defaults.find(key)) is not None:
            values[key] = _path(rel, base)
    if (rel := defaults.find("kdc_stale_ok")) is not None:
        values["stale_ok"] = parse_duration(rel)

    both = defaults.find("kdc_port")
    udp_rel, tcp_rel = defaults.find("kdc_udp_port"), defaults.find("kdc_tcp_port")
    if both is None and udp_rel is None and tcp_rel is None:
        udp: int | None = DEFAULT_KDC_PORT
        tcp: int | None = DEFAULT_KDC_PORT
    else:
        shared = parse_port(both) if both is not None else None
        udp = parse_port(udp_rel) if udp_rel is not None else shared
        tcp = parse_port(tcp_rel) if tcp_rel is not None else shared
    if (rel := defaults.find("kdc_allow_udp")) is not None and not parse_bool(rel):
        udp = None
    if (rel := defaults.find("kdc_allow_tcp")) is not None and not parse_bool(rel):
        tcp = None
    if udp is None and tcp is None:
        raise ConfigError(
            "no KDC listener left: set kdc_udp_port and/or kdc_tcp_port under [kdcdefaults]",
            source,
        )
    values["kdc_udp_port"], values["kdc_tcp_port"] = udp, tcp

    realm_block = None
    realms = profile.section("realms")
    if realms is not None:
        realm_block = realms.subsection(values["kdc_realm"])  # type: ignore[arg-type]
        if realm_block is not None:
            _warn_unknown(realm_block, _SETTINGS.keys(), f"[realms] {values['kdc_realm']}")
    for block in (defaults, realm_block):  # the realm block comes last: it wins
        if block is None:
            continue
        taken: set[str] = set()
        for rel in block:
            target = _SETTINGS.get(rel.name)
            if target is None or target[0] in taken:
                continue  # within one block the first value wins, as profile_get_string
            attr, parse = target
            values[attr] = parse(rel)
            taken.add(attr)
    if (capaths := profile.section("capaths")) is not None:
        values["capaths"] = _capaths(capaths)
    if realms is not None:
        values["trusted_realms"] = _trusted_realms(realms, values["kdc_realm"])  # type: ignore[arg-type]
    if (domains := profile.section("domain_realm")) is not None:
        values["domain_realm"] = _domain_realm(domains)
    config = KdcConfig(**values)  # type: ignore[arg-type]
    if config.max_renewable_life and config.max_renewable_life < config.max_life:
        log.info(
            "%s: max_renewable_life (%ds) is shorter than max_life (%ds); renewable tickets "
            "end at max_renewable_life",
            source,
            config.max_renewable_life,
            config.max_life,
        )
    return config


def read_kdc_conf(path: str | os.PathLike[str]) -> KdcConfig:
    """Read a HAS or MIT kdc.conf file into a ``KdcConfig``."""
    return kdc_config_from_profile(read_profile(path))
