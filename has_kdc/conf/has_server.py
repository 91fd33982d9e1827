"""has-server.conf: where a HAS node serves HTTPS, how it authenticates, which plugin.

HAS writes it as (has-project/docs/has-ha.md)::

    [HAS]
      https_host = emr-header-1
      https_port = 8092
      filter_auth_type = kerberos
      enable_conf = true

    [PLUGIN]
      auth_type = RAM

and, since HAS looks keys up before any section first, the same lines without the
headers load too. The keys are HAS's (``HasConfigKey`` in has-common), with HAS's
defaults where HAS has one:

- ``https_host`` (0.0.0.0), ``https_port`` (9871), ``http_host``/``http_port`` —
  HAS always also served plain HTTP (on 0.0.0.0:9870); has-kdc serves it only when
  ``http_host`` or ``http_port`` is written.
- ``filter_auth_type`` (kerberos): how admin requests authenticate — ``kerberos``
  (SPNEGO) or ``simple`` (Hadoop's pseudo authentication, for tests).
- ``enable_conf``: whether the configuration endpoints (configkdc, setplugin, …) are
  open. HAS refuses to start without the key; has-kdc reads its absence as false.
- ``[PLUGIN] auth_type`` (RAM): the plugin that turns other credentials into a TGT.
  Absent, it is RAM, as in HAS (``HasConfigKey.AUTH_TYPE``; Kerby's later has-project
  branch changed that default to MySQL: such a node names its plugin, as HAS's
  ``set_plugin`` and its documentation write it).
- ``realm``, ``admin_keytab``, ``admin_keytab_principal``, ``kerberos_keytab``,
  ``kerberos_name_rules``.
- ``kerberos_principal``: the SPNEGO service principal(s) of this node, comma-separated
  (HAS takes one, with Hadoop's ``_HOST`` standing for the node's host name). The node
  always accepts ``HTTP/<https_host>`` and ``HTTP/<kdc_host>``; list here the other
  names clients reach it by, e.g. ``kerberos_principal = HTTP/emr-header-1@HADOOP.COM``
  when https_host is an address. ``_HOST`` expands to https_host and kdc_host.
- ``admin_principals``: principals admitted to the admin endpoints besides
  ``kadmin/REALM@REALM`` (and ``admin_keytab_principal``), comma-separated, e.g.
  ``admin_principals = alice@HADOOP.COM, ops/admin@HADOOP.COM``. Re-read with the
  file: a change applies without a restart.
- TLS: HAS's ``ssl_server_conf`` (an ssl-server.conf with Java key stores; default
  ``<conf_dir>/ssl-server.conf`` when that file exists), ``ssl_client_conf``, and
  ``ssl_client_cert`` (the certificate HAS hands to clients at ``/conf/getcert``).
  has-kdc's own keys name PEM files: ``ssl_cert_file``, ``ssl_key_file`` (given
  together) and ``ssl_ca_file`` (the CA bundle clients are given to trust).

has-kdc's own limits of the HTTPS service (HAS has none; defaults in brackets):
``https_max_connections`` (256) open connections per node and
``https_max_connections_per_client`` (32) per client address; a client gets
``https_handshake_timeout`` (10 s) for the TLS handshake, ``https_header_timeout``
(15 s) for the request line and headers — also how long an idle connection stays
open — and ``https_body_timeout`` (15 s) for the body. Times take the forms of
kdc.conf's durations (``15``, ``1m``).

Relative paths are taken from the directory of has-server.conf.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from has_kdc.conf.edit import set_relations
from has_kdc.conf.errors import ConfigError
from has_kdc.conf.has_ini import (
    HasIniValues,
    parse_has_ini,
    parse_host,
    parse_name,
    parse_path,
    parse_port,
    read_has_ini,
)
from has_kdc.conf.profile import Relation
from has_kdc.conf.ssl_conf import SslConf, read_ssl_conf
from has_kdc.conf.values import parse_bool, parse_duration
from has_kdc.fileio import PUBLIC_MODE, write_atomic

__all__ = [
    "DEFAULT_HTTPS_PORT",
    "DEFAULT_HTTP_PORT",
    "FILTER_AUTH_TYPES",
    "HAS_SERVER_CONF",
    "HAS_SERVER_KEYS",
    "HasServerConfig",
    "has_server_config_from_values",
    "parse_has_server_conf",
    "read_has_server_conf",
    "set_enable_conf",
]

log = logging.getLogger("has_kdc.conf")

HAS_SERVER_CONF = "has-server.conf"
SSL_SERVER_CONF = "ssl-server.conf"
# HAS's WebConfigKey defaults.
DEFAULT_HTTPS_HOST = "0.0.0.0"  # noqa: S104 (HAS's default bind address)
DEFAULT_HTTPS_PORT = 9871
DEFAULT_HTTP_PORT = 9870
DEFAULT_AUTH_TYPE = "RAM"
FILTER_AUTH_TYPES = ("kerberos", "simple")

# Every key and its home section (HasConfigKey names, lower case, plus ours).
HAS_SERVER_KEYS: dict[str, str] = {
    "https_host": "HAS",
    "https_port": "HAS",
    "http_host": "HAS",
    "http_port": "HAS",
    "filter_auth_type": "HAS",
    "enable_conf": "HAS",
    "realm": "HAS",
    "ssl_server_conf": "HAS",
    "ssl_client_conf": "HAS",
    "ssl_client_cert": "HAS",
    "ssl_cert_file": "HAS",
    "ssl_key_file": "HAS",
    "ssl_ca_file": "HAS",
    "kerberos_principal": "HAS",
    "kerberos_keytab": "HAS",
    "kerberos_name_rules": "HAS",
    "admin_keytab": "HAS",
    "admin_keytab_principal": "HAS",
    "admin_principals": "HAS",
    "https_max_connections": "HAS",
    "https_max_connections_per_client": "HAS",
    "https_handshake_timeout": "HAS",
    "https_header_timeout": "HAS",
    "https_body_timeout": "HAS",
    "auth_type": "PLUGIN",
}
#: (smallest, largest) value of each HTTPS limit; see the module docstring
_LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "https_max_connections": (1, 100_000),
    "https_max_connections_per_client": (1, 100_000),
    "https_handshake_timeout": (1, 3600),
    "https_header_timeout": (1, 3600),
    "https_body_timeout": (1, 3600),
}
_REALM = re.compile(r"^[^\s@/\\]+$")


@dataclass(frozen=True)
class HasServerConfig:
    """One node's has-server.conf. Paths are absolute; ports are ints."""

    https_host: str = DEFAULT_HTTPS_HOST
    https_port: int = DEFAULT_HTTPS_PORT
    http_host: str | None = None
    http_port: int | None = None
    filter_auth_type: str = "kerberos"
    enable_conf: bool = False
    auth_type: str = DEFAULT_AUTH_TYPE
    realm: str | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None
    ssl_ca_file: Path | None = None
    ssl_server_conf: Path | None = None
    ssl_server: SslConf | None = None
    ssl_client_conf: Path | None = None
    ssl_client_cert: Path | None = None
    #: SPNEGO principals as written (``_HOST`` not yet expanded); see the module docstring
    kerberos_principal: tuple[str, ...] = ()
    kerberos_keytab: Path | None = None
    kerberos_name_rules: str | None = None
    admin_keytab: Path | None = None
    admin_keytab_principal: str | None = None
    admin_principals: tuple[str, ...] = ()
    https_max_connections: int = 256
    https_max_connections_per_client: int = 32
    https_handshake_timeout: int = 10
    https_header_timeout: int = 15
    https_body_timeout: int = 15
    source: str | None = field(default=None, compare=False)

    @property
    def http_enabled(self) -> bool:
        """Plain HTTP is served only when has-server.conf asks for it."""
        return self.http_host is not None or self.http_port is not None


def _filter_auth_type(rel: Relation) -> str:
    text = str(rel.value).strip().lower()
    if text not in FILTER_AUTH_TYPES:
        raise ConfigError(
            f"filter_auth_type = {rel.value}: expected {' or '.join(FILTER_AUTH_TYPES)}",
            rel.source,
            rel.line,
        )
    return text


def _realm(rel: Relation) -> str:
    text = str(rel.value).strip()
    if not _REALM.match(text):
        raise ConfigError(
            f"realm = {rel.value}: expected a realm name such as HADOOP.COM", rel.source, rel.line
        )
    return text


def _principal_list(rel: Relation, example: str) -> tuple[str, ...]:
    """Comma-separated principal names; each checked as one word, none twice."""
    parts = [p.strip() for p in str(rel.value).split(",")]
    if not parts or any(not p for p in parts):
        raise ConfigError(
            f"{rel.name} = {rel.value}: expected principal names separated by commas "
            f"(e.g. {example})",
            rel.source,
            rel.line,
        )
    names = tuple(
        parse_name(replace(rel, value=part), f"principal names such as {example}") for part in parts
    )
    if len(set(names)) != len(names):
        raise ConfigError(
            f"{rel.name} = {rel.value}: a principal is listed twice", rel.source, rel.line
        )
    return names


def _limit(rel: Relation) -> int:
    low, high = _LIMIT_RANGES[rel.name]
    if "connections" in rel.name:
        text = str(rel.value).strip()
        value, unit = (int(text) if text.isdigit() else -1), ""
    else:
        value, unit = parse_duration(rel), " seconds"
    if not low <= value <= high:
        raise ConfigError(
            f"{rel.name} = {rel.value}: expected {low} to {high}{unit}", rel.source, rel.line
        )
    return value


def has_server_config_from_values(values: HasIniValues) -> HasServerConfig:
    """Check and type the values of a has-server.conf (see the module docstring)."""
    out: dict[str, object] = {"source": values.source}
    get = values.get
    for key in ("https_host", "http_host"):
        if (rel := get(key)) is not None:
            out[key] = parse_host(rel)
    for key in ("https_port", "http_port"):
        if (rel := get(key)) is not None:
            out[key] = parse_port(rel)
    if ("http_host" in out) != ("http_port" in out):
        out.setdefault("http_host", DEFAULT_HTTPS_HOST)
        out.setdefault("http_port", DEFAULT_HTTP_PORT)
    if (rel := get("filter_auth_type")) is not None:
        out["filter_auth_type"] = _filter_auth_type(rel)
    if (rel := get("enable_conf")) is not None:
        out["enable_conf"] = parse_bool(rel)
    if (rel := get("auth_type")) is not None:
        out["auth_type"] = parse_name(rel, "a plugin name such as MySQL or RAM")
    if (rel := get("realm")) is not None:
        out["realm"] = _realm(rel)
    if (rel := get("admin_keytab_principal")) is not None:
        out["admin_keytab_principal"] = parse_name(
            rel, "a principal name such as kadmin/HADOOP.COM@HADOOP.COM"
        )
    if (rel := get("kerberos_principal")) is not None:
        out["kerberos_principal"] = _principal_list(rel, "HTTP/emr-header-1@HADOOP.COM")
    if (rel := get("admin_principals")) is not None:
        out["admin_principals"] = _principal_list(rel, "alice@HADOOP.COM, ops/admin@HADOOP.COM")
    for key in _LIMIT_RANGES:
        if (rel := get(key)) is not None:
            out[key] = _limit(rel)
    if (rel := get("kerberos_name_rules")) is not None:
        out["kerberos_name_rules"] = str(rel.value).strip()
    for name in (
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_ca_file",
        "ssl_server_conf",
        "ssl_client_conf",
        "ssl_client_cert",
        "kerberos_keytab",
        "admin_keytab",
    ):
        if (rel := get(name)) is not None:
            out[name] = parse_path(rel, values.base)

    cert, private_key = get("ssl_cert_file"), get("ssl_key_file")
    if (cert is None) != (private_key is None):
        given = cert or private_key
        assert given is not None
        missing = "ssl_key_file" if private_key is None else "ssl_cert_file"
        raise ConfigError(
            f"{given.name} is set but {missing} is not; give the certificate and its key "
            "together (PEM files)",
            given.source,
            given.line,
        )

    ssl_server_conf = out.get("ssl_server_conf")
    if ssl_server_conf is None and not values.source.startswith("<"):
        candidate = values.base / SSL_SERVER_CONF
        if candidate.is_file():
            ssl_server_conf = out["ssl_server_conf"] = candidate
    if isinstance(ssl_server_conf, Path):
        rel = get("ssl_server_conf")
        if rel is not None and not ssl_server_conf.is_file():
            raise ConfigError(
                f"ssl_server_conf = {rel.value}: {ssl_server_conf} does not exist; expected "
                "HAS's ssl-server.conf (or set ssl_cert_file and ssl_key_file instead)",
                rel.source,
                rel.line,
            )
        out["ssl_server"] = read_ssl_conf(ssl_server_conf, "server")
    return HasServerConfig(**out)  # type: ignore[arg-type]


def read_has_server_conf(path: str | os.PathLike[str]) -> HasServerConfig:
    """Read has-server.conf; wrong values raise ``ConfigError`` naming file:line."""
    return has_server_config_from_values(read_has_ini(path, HAS_SERVER_KEYS))


def parse_has_server_conf(text: str, source: str = "<string>") -> HasServerConfig:
    return has_server_config_from_values(parse_has_ini(text, source, HAS_SERVER_KEYS))


def set_enable_conf(path: str | os.PathLike[str], enabled: bool) -> bool:
    """Set ``enable_conf`` in has-server.conf, keeping every other line as written.

    HAS flips this key in the file itself (open while the realm is being configured,
    closed once the KDC starts). Returns whether the file changed. The file keeps its
    mode; the write is atomic.
    """
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", str(target)) from None
    new = set_relations(text, "HAS", {"enable_conf": "true" if enabled else "false"})
    if new == text:
        return False
    write_atomic(target, new, mode or PUBLIC_MODE)
    return True
