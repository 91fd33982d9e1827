"""has-client.conf and hadmin.conf: how clients and admin tools reach the HAS nodes.

HAS makes has-client.conf (``kdcinit gethas``) from has-server.conf with https_host
replaced by every node, comma-separated, and clients try them in order
(has-project/docs/has-ha.md)::

    [HAS]
      https_host = emr-header-1,emr-worker-1
      https_port = 8092
      filter_auth_type = kerberos
      enable_conf = true

    [PLUGIN]
      auth_type = RAM

hadmin.conf (kerby-dist/has-dist/conf/hadmin.conf) is the admin tools' view::

    [HAS]
        https_host = plusplus-desktop
        https_port = 8092
        admin_keytab = /etc/has/admin.keytab
        admin_keytab_principal = kadmin/HADOOP.COM@HADOOP.COM
        filter_auth_type = kerberos

Trust: HAS's client takes the CA certificate from ``$CA_ROOT`` or
``/etc/has/ca-root.pem`` and keeps a per-host ``/etc/has/<https_host>/ssl-client.conf``
with a Java trust store. has-kdc writes the CA bundle path into the file as
``ssl_ca_file`` (PEM) so one file says everything; without it ``$CA_ROOT``, then a
``ca-root.pem`` beside the file (where ``kdcinit gethas -p DIR`` exports it), then
HAS's ``/etc/has/ca-root.pem`` apply (``trust_anchor()``). HAS's ``ssl_client_conf``
key is read and kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.conf.errors import ConfigError
from has_kdc.conf.has_ini import (
    HasIniValues,
    format_has_ini,
    parse_has_ini,
    parse_host_list,
    parse_name,
    parse_path,
    parse_port,
    read_has_ini,
)
from has_kdc.conf.has_server import FILTER_AUTH_TYPES
from has_kdc.conf.profile import Relation
from has_kdc.conf.values import parse_bool
from has_kdc.fileio import PUBLIC_MODE, write_if_changed

__all__ = [
    "ADMIN_CONF",
    "CA_ROOT_DEFAULT",
    "CA_ROOT_ENV",
    "HADMIN_CONF",
    "HAS_CLIENT_CONF",
    "HadminConfig",
    "HasClientConfig",
    "client_config_of_dir",
    "find_admin_conf",
    "format_hadmin_conf",
    "format_has_client_conf",
    "parse_hadmin_conf",
    "parse_has_client_conf",
    "read_hadmin_conf",
    "read_has_client_conf",
    "write_client_file",
    "write_hadmin_conf",
    "write_has_client_conf",
]

HAS_CLIENT_CONF = "has-client.conf"
HADMIN_CONF = "hadmin.conf"
ADMIN_CONF = "admin.conf"  # what Kerby's has-project tools call hadmin.conf
CA_ROOT_ENV = "CA_ROOT"  # HasClient: the CA certificate, PEM
CA_ROOT_DEFAULT = Path("/etc/has/ca-root.pem")

_CLIENT_KEYS: dict[str, str] = {
    "https_host": "HAS",
    "https_port": "HAS",
    "filter_auth_type": "HAS",
    "enable_conf": "HAS",
    "realm": "HAS",
    "ssl_ca_file": "HAS",
    "ssl_client_conf": "HAS",
    "auth_type": "PLUGIN",
    # has-client.conf is a copy of has-server.conf in HAS, so server-only keys turn up;
    # they are accepted quietly and ignored.
    "http_host": "HAS",
    "http_port": "HAS",
    "ssl_server_conf": "HAS",
    "ssl_client_cert": "HAS",
    "ssl_cert_file": "HAS",
    "ssl_key_file": "HAS",
}
_HADMIN_KEYS: dict[str, str] = {
    "https_host": "HAS",
    "https_port": "HAS",
    "filter_auth_type": "HAS",
    "realm": "HAS",
    "admin_keytab": "HAS",
    "admin_keytab_principal": "HAS",
    "ssl_ca_file": "HAS",
    "ssl_client_conf": "HAS",
}
_HEADER = "written by has-kdc"


def _trust_anchor(
    ssl_ca_file: Path | None, environ: Mapping[str, str] | None, source: str | None
) -> Path:
    if ssl_ca_file is not None:
        return ssl_ca_file
    env = os.environ if environ is None else environ
    if env.get(CA_ROOT_ENV):
        return Path(env[CA_ROOT_ENV])
    beside = (
        Path(source).parent / CA_ROOT_DEFAULT.name
        if source and not source.startswith("<")
        else None
    )
    return beside if beside is not None and beside.is_file() else CA_ROOT_DEFAULT


@dataclass(frozen=True)
class HasClientConfig:
    """has-client.conf: the HAS nodes in the order clients try them."""

    https_hosts: tuple[str, ...]
    https_port: int
    filter_auth_type: str = "kerberos"
    enable_conf: bool | None = None
    auth_type: str | None = None
    realm: str | None = None
    ssl_ca_file: Path | None = None
    ssl_client_conf: Path | None = None
    source: str | None = field(default=None, compare=False)

    def base_urls(self) -> list[str]:
        """``https://host:port/has/v1`` for each node, in order."""
        return [f"https://{_url_host(h)}:{self.https_port}/has/v1" for h in self.https_hosts]

    def trust_anchor(self, environ: Mapping[str, str] | None = None) -> Path:
        """The CA bundle to verify the nodes with: ssl_ca_file, else $CA_ROOT, else
        ca-root.pem beside this file, else HAS's /etc/has/ca-root.pem."""
        return _trust_anchor(self.ssl_ca_file, environ, self.source)


@dataclass(frozen=True)
class HadminConfig:
    """hadmin.conf: the admin tools' node list and the admin keytab they log in with."""

    https_hosts: tuple[str, ...]
    https_port: int
    admin_keytab: Path
    admin_keytab_principal: str | None = None
    filter_auth_type: str = "kerberos"
    realm: str | None = None
    ssl_ca_file: Path | None = None
    ssl_client_conf: Path | None = None
    source: str | None = field(default=None, compare=False)

    def base_urls(self) -> list[str]:
        return [f"https://{_url_host(h)}:{self.https_port}/has/v1" for h in self.https_hosts]

    def trust_anchor(self, environ: Mapping[str, str] | None = None) -> Path:
        return _trust_anchor(self.ssl_ca_file, environ, self.source)

    def principal(self) -> str:
        """The admin principal: as written, else kadmin/REALM@REALM (HAS's admin)."""
        if self.admin_keytab_principal:
            return self.admin_keytab_principal
        if self.realm:
            return f"kadmin/{self.realm}@{self.realm}"
        raise ConfigError(
            "set admin_keytab_principal (or realm) under [HAS]; expected e.g. "
            "kadmin/HADOOP.COM@HADOOP.COM",
            self.source,
        )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _required(values: HasIniValues, key: str, example: str) -> Relation:
    rel = values.get(key)
    if rel is None:
        raise ConfigError(f"{key} is required: add '{key} = {example}' under [HAS]", values.source)
    return rel


def _common(values: HasIniValues) -> dict[str, object]:
    out: dict[str, object] = {"source": values.source}
    out["https_hosts"] = parse_host_list(
        _required(values, "https_host", "emr-header-1,emr-worker-1")
    )
    out["https_port"] = parse_port(_required(values, "https_port", "8092"))
    if (rel := values.get("filter_auth_type")) is not None:
        text = str(rel.value).strip().lower()
        if text not in FILTER_AUTH_TYPES:
            raise ConfigError(
                f"filter_auth_type = {rel.value}: expected {' or '.join(FILTER_AUTH_TYPES)}",
                rel.source,
                rel.line,
            )
        out["filter_auth_type"] = text
    if (rel := values.get("realm")) is not None:
        out["realm"] = parse_name(rel, "a realm name such as HADOOP.COM")
    for key in ("ssl_ca_file", "ssl_client_conf"):
        if (rel := values.get(key)) is not None:
            out[key] = parse_path(rel, values.base)
    return out


def has_client_config_from_values(values: HasIniValues) -> HasClientConfig:
    out = _common(values)
    if (rel := values.get("enable_conf")) is not None:
        out["enable_conf"] = parse_bool(rel)
    if (rel := values.get("auth_type")) is not None:
        out["auth_type"] = parse_name(rel, "a plugin name such as MySQL or RAM")
    return HasClientConfig(**out)  # type: ignore[arg-type]


def hadmin_config_from_values(values: HasIniValues) -> HadminConfig:
    out = _common(values)
    out["admin_keytab"] = parse_path(
        _required(values, "admin_keytab", "/etc/has/admin.keytab"), values.base
    )
    if (rel := values.get("admin_keytab_principal")) is not None:
        out["admin_keytab_principal"] = parse_name(
            rel, "a principal name such as kadmin/HADOOP.COM@HADOOP.COM"
        )
    return HadminConfig(**out)  # type: ignore[arg-type]


def read_has_client_conf(path: str | os.PathLike[str]) -> HasClientConfig:
    return has_client_config_from_values(read_has_ini(path, _CLIENT_KEYS))


def parse_has_client_conf(text: str, source: str = "<string>") -> HasClientConfig:
    return has_client_config_from_values(parse_has_ini(text, source, _CLIENT_KEYS))


def find_admin_conf(conf_dir: str | os.PathLike[str]) -> Path | None:
    """The admin tools' file of a conf_dir: hadmin.conf, else has-project's admin.conf."""
    for name in (HADMIN_CONF, ADMIN_CONF):
        path = Path(conf_dir) / name
        if path.is_file():
            return path
    return None


def client_config_of_dir(conf_dir: str | os.PathLike[str]) -> HasClientConfig | None:
    """How a client of ``conf_dir`` reaches the nodes: its has-client.conf, else — an
    admin host set up the HAS way, with hadmin.conf only — the nodes, port, realm and
    CA of hadmin.conf (or admin.conf). None when the directory has neither."""
    client = Path(conf_dir) / HAS_CLIENT_CONF
    if client.is_file():
        return read_has_client_conf(client)
    admin = find_admin_conf(conf_dir)
    if admin is None:
        return None
    conf = read_hadmin_conf(admin)
    return HasClientConfig(
        https_hosts=conf.https_hosts,
        https_port=conf.https_port,
        filter_auth_type=conf.filter_auth_type,
        realm=conf.realm,
        ssl_ca_file=conf.ssl_ca_file,
        ssl_client_conf=conf.ssl_client_conf,
        source=conf.source,
    )


def read_hadmin_conf(path: str | os.PathLike[str]) -> HadminConfig:
    return hadmin_config_from_values(read_has_ini(path, _HADMIN_KEYS))


def parse_hadmin_conf(text: str, source: str = "<string>") -> HadminConfig:
    return hadmin_config_from_values(parse_has_ini(text, source, _HADMIN_KEYS))


def format_has_client_conf(conf: HasClientConfig, *, header: str | None = _HEADER) -> str:
    """has-client.conf text in HAS's layout; reads back to an equal ``HasClientConfig``."""
    return format_has_ini(
        {
            "HAS": {
                "https_host": conf.https_hosts,
                "https_port": conf.https_port,
                "filter_auth_type": conf.filter_auth_type,
                "enable_conf": conf.enable_conf,
                "realm": conf.realm,
                "ssl_ca_file": conf.ssl_ca_file,
                "ssl_client_conf": conf.ssl_client_conf,
            },
            "PLUGIN": {"auth_type": conf.auth_type},
        },
        header=header,
    )


def format_hadmin_conf(conf: HadminConfig, *, header: str | None = _HEADER) -> str:
    """hadmin.conf text in HAS's layout; reads back to an equal ``HadminConfig``."""
    return format_has_ini(
        {
            "HAS": {
                "https_host": conf.https_hosts,
                "https_port": conf.https_port,
                "admin_keytab": conf.admin_keytab,
                "admin_keytab_principal": conf.admin_keytab_principal,
                "filter_auth_type": conf.filter_auth_type,
                "realm": conf.realm,
                "ssl_ca_file": conf.ssl_ca_file,
                "ssl_client_conf": conf.ssl_client_conf,
            }
        },
        header=header,
    )


def write_client_file(path: str | os.PathLike[str], text: str) -> bool:
    """Write a client config (0644, atomic) unless it already reads ``text``; True if changed."""
    return write_if_changed(path, text, PUBLIC_MODE)


def write_has_client_conf(path: str | os.PathLike[str], conf: HasClientConfig) -> bool:
    """Write has-client.conf (0644, atomic); returns whether the file changed."""
    return write_client_file(path, format_has_client_conf(conf))


def write_hadmin_conf(path: str | os.PathLike[str], conf: HadminConfig) -> bool:
    """Write hadmin.conf (0644: it names the keytab, holds no secret); True if changed."""
    return write_client_file(path, format_hadmin_conf(conf))
