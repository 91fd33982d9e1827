"""backend.conf: which identity store the KDC uses and how to reach it.

HAS (Kerby) writes this file as bare ``key = value`` lines and names the store by a
Java class::

    kdc_identity_backend = org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend
    mysql_driver = org.drizzle.jdbc.DrizzleDriver
    mysql_url = jdbc:mysql:thin://127.0.0.1:3306/mysqlbackend?createDB=true
    mysql_user = root
    mysql_password = passwd

Such a file is read as written: the MySQL class name of every HAS generation
(``org.apache.hadoop.has.server.kdc.``, ``org.apache.kerby.has.server.kdc.`` — what
HAS's ConfigApi wrote before Kerby moved the class — and
``org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend``) means
``mysql``, and the JDBC URL forms (``jdbc:mysql://``, ``jdbc:mysql:thin://``,
``jdbc:mariadb://``, ``jdbc:mariadb:sequential://``, ``jdbc:mariadb:failover://``)
and plain ``mysql://`` are all taken. Kerby's JSON store is refused with the
command that imports its file (``hadmin-local CONF import DIR/json-backend.json``,
keys kept); the other Kerby stores (Zookeeper, LDAP, Mavibot, Memory) are named in a
clear error; ``sqlite``, the embedded default, is used when the key is absent.

Several database hosts (a Galera cluster) are written as JDBC drivers take them,
comma-separated before the database name::

    mysql_url = jdbc:mysql://db1:3306,db2:3306,db3:3306/has
    mysql_prefer_host = db2

The node connects to the first host that answers, in that order, except that
``mysql_prefer_host`` (the database host on the node's own machine, say) is tried
first; how it moves between them is `has_kdc.backend.mysql`'s business.

The MySQL password need not sit in this file: ``mysql_password_file`` (first
choice), then the environment variable ``HAS_MYSQL_PASSWORD``, then
``mysql_password``. It never appears in a repr, a log line or an error.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from has_kdc.conf.errors import ConfigError
from has_kdc.conf.kdc import DEFAULT_DATA_DIR
from has_kdc.conf.profile import Profile, Relation, Relations, read_profile
from has_kdc.conf.values import parse_bool

__all__ = [
    "PASSWORD_ENV",
    "SQLITE_FILE_NAME",
    "BackendConfig",
    "backend_config_from_profile",
    "default_backend_config",
    "read_backend_conf",
]

log = logging.getLogger("has_kdc.conf")

PASSWORD_ENV = "HAS_MYSQL_PASSWORD"  # noqa: S105 (a variable name, not a password)
SQLITE_FILE_NAME = "has.sqlite"
SUPPORTED = (
    "sqlite (embedded, the default) and mysql "
    "(also written as org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend)"
)

_MYSQL_CLASS = "org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend"
#: the same class under the packages of HAS's earlier generations
_MYSQL_CLASSES = frozenset(
    {
        _MYSQL_CLASS,
        "org.apache.kerby.has.server.kdc.MySQLIdentityBackend",
        "org.apache.hadoop.has.server.kdc.MySQLIdentityBackend",
    }
)
_JSON_CLASS = "org.apache.kerby.kerberos.kdc.identitybackend.JsonIdentityBackend"
_JSON_FILE = "json-backend.json"  # JsonIdentityBackend's file in backend.json.dir
_KERBY_BACKENDS = {
    "org.apache.kerby.kerberos.kdc.identitybackend.ZookeeperIdentityBackend": "Zookeeper",
    "org.apache.kerby.kerberos.kdc.identitybackend.LdapIdentityBackend": "LDAP",
    "org.apache.kerby.MavibotBackend": "Mavibot",
    "org.apache.kerby.kerberos.kerb.identity.backend.MemoryIdentityBackend": "Memory",
}
_KNOWN_KEYS = frozenset(
    {
        "kdc_identity_backend",
        "sqlite_path",
        "mysql_url",
        "mysql_user",
        "mysql_password",
        "mysql_password_file",
        "mysql_ssl_ca",
        "mysql_ssl_verify",
        "mysql_prefer_host",
        "mysql_driver",  # HAS names the JDBC driver class; nothing to do with it here
        "backend.json.dir",  # Kerby's JSON store: named in the refusal
        "master_key_file",
    }
)
_URL = re.compile(
    r"^(?:jdbc:)?(?:mysql(?::thin)?|mariadb(?::sequential|:failover)?)://", re.IGNORECASE
)
_HOST_NAME = re.compile(r"^[A-Za-z0-9._-]{1,253}$")
_DB_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_TRUE_PARAM = ("true", "1", "yes")


@dataclass(frozen=True)
class BackendConfig:
    """Where principals live. ``kind`` is ``"sqlite"`` or ``"mysql"``."""

    kind: str = "sqlite"
    sqlite_path: Path | None = None
    #: the first database host of ``mysql_url`` (``mysql_hosts[0]``)
    mysql_host: str | None = None
    mysql_port: int = 3306
    #: every database host of ``mysql_url``, in its order; empty means just
    #: (``mysql_host``, ``mysql_port``)
    mysql_hosts: tuple[tuple[str, int], ...] = ()
    #: the host (one of ``mysql_hosts``) to try first, whatever its place in the URL
    mysql_prefer_host: tuple[str, int] | None = None
    mysql_database: str | None = None
    mysql_user: str | None = None
    mysql_password: str | None = field(default=None, repr=False)
    mysql_params: Mapping[str, str] = field(default_factory=dict)
    mysql_create_database: bool = False
    mysql_ssl: bool = False
    mysql_ssl_ca: Path | None = None
    mysql_ssl_verify: bool = True
    master_key_file: Path | None = None
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.mysql_hosts and self.mysql_host:
            object.__setattr__(self, "mysql_hosts", ((self.mysql_host, self.mysql_port),))

    def database_hosts(self) -> tuple[tuple[str, int], ...]:
        """Every (host, port) to try, in order: ``mysql_prefer_host`` first, then the URL's."""
        hosts = self.mysql_hosts
        if self.mysql_prefer_host in hosts:
            hosts = (self.mysql_prefer_host, *(h for h in hosts if h != self.mysql_prefer_host))
        return hosts


def default_backend_config(data_dir: Path = DEFAULT_DATA_DIR) -> BackendConfig:
    """The store used when backend.conf is absent: SQLite in the data directory."""
    return BackendConfig(kind="sqlite", sqlite_path=Path(data_dir) / SQLITE_FILE_NAME)


def _json_refusal(rel: Relation, json_dir: Relation | None) -> ConfigError:
    """Kerby's JSON store: what to run to bring its principals, keys kept, into has-kdc."""
    where = f"{str(json_dir.value).strip()}/{_JSON_FILE}" if json_dir else f"DIR/{_JSON_FILE}"
    return ConfigError(
        f"kdc_identity_backend = {rel.value}: has-kdc does not serve Kerby's JSON file; "
        f"import it once, keys kept: 'hadmin-local CONF_DIR import {where}' (after "
        "setting kdc_identity_backend = sqlite or mysql here; see docs/migration.md); "
        f"supported backends: {SUPPORTED}",
        rel.source,
        rel.line,
    )


def _kind(rel: Relation | None, json_dir: Relation | None = None) -> str:
    if rel is None:
        return "sqlite"
    value = str(rel.value).strip()
    lowered = value.lower()
    if lowered in ("sqlite", "mysql"):
        return lowered
    if value in _MYSQL_CLASSES:
        return "mysql"
    if value == _JSON_CLASS or lowered == "json":
        raise _json_refusal(rel, json_dir)
    if value in _KERBY_BACKENDS:
        raise ConfigError(
            f"kdc_identity_backend = {value}: the Kerby {_KERBY_BACKENDS[value]} backend is not "
            f"supported by has-kdc; supported backends: {SUPPORTED}",
            rel.source,
            rel.line,
        )
    raise ConfigError(
        f"kdc_identity_backend = {value}: unknown backend; supported backends: {SUPPORTED}",
        rel.source,
        rel.line,
    )


def _path(rel: Relation, base: Path) -> Path:
    text = str(rel.value).strip()
    if not text:
        raise ConfigError(f"{rel.name}: expected a path, found nothing", rel.source, rel.line)
    path = Path(text)
    return path if path.is_absolute() else base / path


def _host_port(text: str, default_port: int = 3306) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; ValueError says what is wrong."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: no closing ']'")
        host, rest = text[1:end], text[end + 1 :]
        try:
            host = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ValueError(f"{text!r}: not an IPv6 address in brackets") from None
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: unexpected text after ']'")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = text.partition(":")
        if not host:
            raise ValueError("no host")
        if not _HOST_NAME.match(host):
            raise ValueError(f"{host!r} is not a host name or address")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port is not a number from 1 to 65535")
    return host, int(port_text)


def _parse_url(rel: Relation) -> dict[str, object]:
    url = str(rel.value).strip()
    expected = (
        "expected jdbc:mysql://HOST[:PORT]/DATABASE[?...] or mysql://HOST[:PORT]/DATABASE "
        "(several hosts: jdbc:mysql://HOST1:PORT,HOST2:PORT/DATABASE)"
    )
    match = _URL.match(url)
    if not match:
        raise ConfigError(f"mysql_url = {url}: {expected}", rel.source, rel.line)
    rest = url[match.end() :]
    authority, slash, tail = rest.partition("/")
    if "?" in authority:  # mysql://db?x=1 has no database either
        authority, _, query = authority.partition("?")
        path = ""
    else:
        path, _, query = tail.partition("?")
    userinfo, at, host_list = authority.rpartition("@")
    if not at:
        userinfo, host_list = "", authority
    if not host_list:
        raise ConfigError(f"mysql_url = {url}: no host; {expected}", rel.source, rel.line)
    hosts: list[tuple[str, int]] = []
    for part in host_list.split(","):
        try:
            hosts.append(_host_port(part))
        except ValueError as exc:
            raise ConfigError(
                f"mysql_url = {url}: {exc}; {expected}", rel.source, rel.line
            ) from None
    if len(set(hosts)) != len(hosts):
        raise ConfigError(
            f"mysql_url = {url}: a database host is listed twice", rel.source, rel.line
        )
    database = unquote(path) if slash else ""
    if not _DB_NAME.match(database):
        raise ConfigError(
            f"mysql_url = {url}: expected a database name (letters, digits, '_', '$') "
            "after the host",
            rel.source,
            rel.line,
        )
    params = dict(parse_qsl(query, keep_blank_values=True))
    lowered = {k.lower(): v for k, v in params.items()}
    ssl_mode = lowered.get("sslmode", "").upper()
    ssl = (
        lowered.get("usessl", "").lower() in _TRUE_PARAM
        or lowered.get("requiressl", "").lower() in _TRUE_PARAM
        or ssl_mode in ("REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
    )
    verify = True
    if ssl_mode == "REQUIRED" or lowered.get("verifyservercertificate", "").lower() == "false":
        verify = False
    create = any(
        lowered.get(k, "").lower() in _TRUE_PARAM for k in ("createdb", "createdatabaseifnotexist")
    )
    out: dict[str, object] = {
        "mysql_host": hosts[0][0],
        "mysql_port": hosts[0][1],
        "mysql_hosts": tuple(hosts),
        "mysql_database": database,
        "mysql_params": params,
        "mysql_create_database": create,
        "mysql_ssl": ssl,
        "mysql_ssl_verify": verify,
    }
    username, colon, secret = userinfo.partition(":")
    user = unquote(username) if username else params.get("user")
    password = unquote(secret) if colon else params.get("password")
    if user:
        out["mysql_user"] = user
    if password is not None:
        out["mysql_password"] = password
    return out


def _prefer_host(rel: Relation, hosts: tuple[tuple[str, int], ...]) -> tuple[str, int]:
    """``mysql_prefer_host``: one of mysql_url's hosts (the port may be left out)."""
    text = str(rel.value).strip()
    listed = ", ".join(f"{h}:{p}" for h, p in hosts)
    try:
        host, port = _host_port(text, default_port=0)
    except ValueError as exc:
        raise ConfigError(f"mysql_prefer_host = {text}: {exc}", rel.source, rel.line) from None
    found = [h for h in hosts if h[0] == host and port in (0, h[1])]
    if len(found) != 1:
        what = "is not one of" if not found else "matches several of"
        raise ConfigError(
            f"mysql_prefer_host = {text} {what} mysql_url's hosts ({listed}); "
            "name one of them (HOST or HOST:PORT)",
            rel.source,
            rel.line,
        )
    return found[0]


def _read_password_file(rel: Relation, base: Path) -> str:
    path = _path(rel, base)
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(
            f"mysql_password_file = {rel.value}: cannot read {path}: {exc.strerror}",
            rel.source,
            rel.line,
        ) from None
    if mode & stat.S_IROTH:
        log.warning("%s is readable by every user; it holds the MySQL password (chmod 600)", path)
    return text.rstrip("\r\n")


def _world_readable(source: str) -> bool:
    try:
        return bool(os.stat(source).st_mode & stat.S_IROTH)
    except OSError:
        return False


def backend_config_from_profile(
    profile: Profile,
    data_dir: Path = DEFAULT_DATA_DIR,
    environ: Mapping[str, str] | None = None,
) -> BackendConfig:
    """Build a ``BackendConfig`` from a parsed backend.conf (sectionless or ``[backend]``)."""
    env = os.environ if environ is None else environ
    source = profile.source
    base = Path(source).parent if source and not source.startswith("<") else Path.cwd()
    merged = Relations("", source, 0)
    for section in profile.sections.values():
        merged.relations.extend(section.relations)
    for setting in merged:
        if setting.name not in _KNOWN_KEYS:
            log.warning(
                "%s:%d: unknown setting %r is ignored", setting.source, setting.line, setting.name
            )

    kind = _kind(merged.find("kdc_identity_backend"), merged.find("backend.json.dir"))
    values: dict[str, object] = {"kind": kind}
    values["source"] = source
    if (rel := merged.find("master_key_file")) is not None:
        values["master_key_file"] = _path(rel, base)

    if values["kind"] == "sqlite":
        rel = merged.find("sqlite_path")
        values["sqlite_path"] = (
            _path(rel, base) if rel is not None else Path(data_dir) / SQLITE_FILE_NAME
        )
        return BackendConfig(**values)  # type: ignore[arg-type]

    url_rel = merged.find("mysql_url")
    if url_rel is None:
        raise ConfigError(
            "the mysql backend needs mysql_url (e.g. jdbc:mysql://127.0.0.1:3306/has)", source
        )
    values.update(_parse_url(url_rel))
    if (rel := merged.find("mysql_prefer_host")) is not None:
        values["mysql_prefer_host"] = _prefer_host(rel, values["mysql_hosts"])  # type: ignore[arg-type]
    if (rel := merged.find("mysql_user")) is not None:
        values["mysql_user"] = str(rel.value).strip()
    if not values.get("mysql_user"):
        raise ConfigError("the mysql backend needs mysql_user", source)

    if (rel := merged.find("mysql_password_file")) is not None:
        values["mysql_password"] = _read_password_file(rel, base)
    elif PASSWORD_ENV in env:
        values["mysql_password"] = env[PASSWORD_ENV]
    elif (rel := merged.find("mysql_password")) is not None:
        values["mysql_password"] = str(rel.value)
        if _world_readable(source):
            log.warning(
                "%s:%d: mysql_password sits in a file every user can read; use "
                "mysql_password_file (mode 0600) or %s instead",
                rel.source,
                rel.line,
                PASSWORD_ENV,
            )
    if values.get("mysql_password") is None:
        values["mysql_password"] = ""

    if (rel := merged.find("mysql_ssl_ca")) is not None:
        values["mysql_ssl_ca"] = _path(rel, base)
        values["mysql_ssl"] = True
    if (rel := merged.find("mysql_ssl_verify")) is not None:
        values["mysql_ssl_verify"] = parse_bool(rel)
    return BackendConfig(**values)  # type: ignore[arg-type]


def read_backend_conf(
    path: str | os.PathLike[str],
    data_dir: Path = DEFAULT_DATA_DIR,
    environ: Mapping[str, str] | None = None,
) -> BackendConfig:
    """Read backend.conf; ``data_dir`` (from kdc.conf) places the default SQLite file."""
    return backend_config_from_profile(
        read_profile(path, allow_sectionless=True), data_dir, environ
    )
