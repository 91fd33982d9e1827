"""backend.conf: which identity store the KDC uses and how to reach it.

HAS (Kerby) writes this file as bare ``key = value`` lines and names the store by a
Java class::

    kdc_identity_backend = org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend
    mysql_driver = org.drizzle.jdbc.DrizzleDriver
    mysql_url = jdbc:mysql:thin://127.0.0.1:3306/mysqlbackend?createDB=true
    mysql_user = root
    mysql_password = passwd

Such a file is read as written: the MySQL class name means ``mysql`` and the JDBC
URL forms (``jdbc:mysql://``, ``jdbc:mysql:thin://``, ``jdbc:mariadb://``) and plain
``mysql://`` are all taken. Kerby's other stores (Json, Zookeeper, LDAP, Mavibot,
Memory) are named in a clear error; ``sqlite``, the embedded default, is used when
the key is absent.

The MySQL password need not sit in this file: ``mysql_password_file`` (first
choice), then the environment variable ``HAS_MYSQL_PASSWORD``, then
``mysql_password``. It never appears in a repr, a log line or an error.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

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
_KERBY_BACKENDS = {
    "org.apache.kerby.kerberos.kdc.identitybackend.JsonIdentityBackend": "Json",
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
        "mysql_driver",  # HAS names the JDBC driver class; nothing to do with it here
        "master_key_file",
    }
)
_URL = re.compile(r"^(?:jdbc:)?(?:mysql(?::thin)?|mariadb)://", re.IGNORECASE)
_DB_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_TRUE_PARAM = ("true", "1", "yes")


@dataclass(frozen=True)
class BackendConfig:
    """Where principals live. ``kind`` is ``"sqlite"`` or ``"mysql"``."""

    kind: str = "sqlite"
    sqlite_path: Path | None = None
    mysql_host: str | None = None
    mysql_port: int = 3306
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


def default_backend_config(data_dir: Path = DEFAULT_DATA_DIR) -> BackendConfig:
    """The store used when backend.conf is absent: SQLite in the data directory."""
    return BackendConfig(kind="sqlite", sqlite_path=Path(data_dir) / SQLITE_FILE_NAME)


def _kind(rel: Relation | None) -> str:
    if rel is None:
        return "sqlite"
    value = str(rel.value).strip()
    lowered = value.lower()
    if lowered in ("sqlite", "mysql"):
        return lowered
    if value == _MYSQL_CLASS:
        return "mysql"
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


def _parse_url(rel: Relation) -> dict[str, object]:
    url = str(rel.value).strip()
    expected = "expected jdbc:mysql://HOST[:PORT]/DATABASE[?...] or mysql://HOST[:PORT]/DATABASE"
    match = _URL.match(url)
    if not match:
        raise ConfigError(f"mysql_url = {url}: {expected}", rel.source, rel.line)
    parts = urlsplit("mysql://" + url[match.end() :])
    try:
        port = parts.port or 3306
    except ValueError:
        raise ConfigError(
            f"mysql_url = {url}: the port is not a number from 1 to 65535; {expected}",
            rel.source,
            rel.line,
        ) from None
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname:
        raise ConfigError(f"mysql_url = {url}: no host; {expected}", rel.source, rel.line)
    if not _DB_NAME.match(database):
        raise ConfigError(
            f"mysql_url = {url}: expected a database name (letters, digits, '_', '$') "
            "after the host",
            rel.source,
            rel.line,
        )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
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
        "mysql_host": parts.hostname,
        "mysql_port": port,
        "mysql_database": database,
        "mysql_params": params,
        "mysql_create_database": create,
        "mysql_ssl": ssl,
        "mysql_ssl_verify": verify,
    }
    user = unquote(parts.username) if parts.username else params.get("user")
    password = unquote(parts.password) if parts.password is not None else params.get("password")
    if user:
        out["mysql_user"] = user
    if password is not None:
        out["mysql_password"] = password
    return out


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
    for rel in merged:
        if rel.name not in _KNOWN_KEYS:
            log.warning("%s:%d: unknown setting %r is ignored", rel.source, rel.line, rel.name)

    values: dict[str, object] = {"kind": _kind(merged.find("kdc_identity_backend"))}
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
