"""A HAS/Kerby MySQL database, read as Kerby's ``MySQLIdentityBackend`` left it.

The tables, as Kerby creates them (has-project ``has-server/.../kdc/MySQLIdentityBackend``
and trunk ``kerby-backend/mysql-backend``):

- ``kdc_config`` (HAS's ``HasServer.createKdcTable``): ``port, servers, initialized,
  realm, id = 1``. Its ``realm`` names the identity tables; without that table
  (plain Kerby, no HAS) they are ``kerby_identity`` and ``kerby_key``.
- ``<realm in lower case>_identity``: ``principal`` (name with realm),
  ``key_version``, ``kdc_flags``, ``disabled``, ``locked``, ``expire_time``,
  ``created_time``. The has-project generation stores the two times as
  ``VARCHAR(255)`` GeneralizedTime text (``20180115082536.807Z``); trunk's (since
  DIRKRB-686) as ``BIGINT`` milliseconds. Both are read, by the value's type.
- ``<realm>_key``: ``key_id, key_type`` (``EncryptionType.getName()``), ``kvno``,
  ``key_value`` (the raw key, a ``BLOB``), ``principal``.
- ``has_user`` (the MySQL plugin, has-project docs/mysql-plugin.md):
  ``user_name, pass_word`` — the password in plain text. Read when present; a
  database holding only that table gives plugin users and no principals.

The source is given as a URL (``mysql://``, ``jdbc:mysql://``, ``jdbc:mysql:thin://``,
``jdbc:mariadb://``), parsed by `has_kdc.conf` exactly as backend.conf's
``mysql_url``. The password comes from the URL or the ``password`` argument; it is
never part of `SourceRealm.location` or of an error message.
"""

from __future__ import annotations

import re
from typing import Any

import pymysql

from has_kdc.admin.errors import AdminError
from has_kdc.admin.importing.kerby import kerby_principal, millis_from_generalized_time
from has_kdc.admin.importing.records import SourceRealm, SourceUser
from has_kdc.conf import BackendConfig, ConfigError, Profile, Relation, Relations
from has_kdc.conf.backend import backend_config_from_profile

__all__ = [
    "KIND",
    "URL_PATTERN",
    "looks_like_mysql_url",
    "read_kerby_mysql",
    "source_config",
    "url_password",
]

KIND = "kerby-mysql"
URL_PATTERN = re.compile(r"^(?:jdbc:)?(?:mysql(?::thin)?|mariadb)://", re.IGNORECASE)
_SOURCE = "<import source>"
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.$-]{1,64}$")
_TIMEOUT = 30


def looks_like_mysql_url(text: str) -> bool:
    return bool(URL_PATTERN.match(text.strip()))


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "********") if secret else text


def source_config(
    url: str, *, user: str | None = None, password: str | None = None
) -> BackendConfig:
    """Host, port, database, user, password and TLS settings of a source URL."""
    secret = url_password(url)
    profile = Profile(_SOURCE)
    relations = Relations("", _SOURCE, 0)
    settings = [("kdc_identity_backend", "mysql"), ("mysql_url", url.strip())]
    if user is not None:
        settings.append(("mysql_user", user))
    if password is not None:
        settings.append(("mysql_password", password))
    relations.relations.extend(Relation(k, v, 0, _SOURCE) for k, v in settings)
    profile.sections[""] = relations
    try:
        return backend_config_from_profile(profile, environ={})
    except ConfigError as exc:
        message = _scrub(_scrub(str(exc), secret), password)
        raise AdminError(f"import source: {message}") from None


def url_password(url: str) -> str | None:
    """The password a source URL carries (``user:password@`` or ``?password=``), if any."""
    match = re.match(r"^[^/]*//[^/@]*?:([^/@]*)@", url)
    found = match.group(1) if match else None
    query = re.search(r"[?&]password=([^&]*)", url)
    return found or (query.group(1) if query else None)


def location_of(config: BackendConfig) -> str:
    """The source as it may be shown: no password, ever."""
    user = f"{config.mysql_user}@" if config.mysql_user else ""
    return f"mysql://{user}{config.mysql_host}:{config.mysql_port}/{config.mysql_database}"


def _connect(config: BackendConfig) -> Any:
    kwargs: dict[str, Any] = {
        "host": config.mysql_host,
        "port": config.mysql_port,
        "user": config.mysql_user,
        "password": config.mysql_password or "",
        "database": config.mysql_database,
        "charset": "utf8mb4",
        "connect_timeout": _TIMEOUT,
        "read_timeout": _TIMEOUT * 10,
    }
    if config.mysql_ssl:
        from has_kdc.backend.mysql import ssl_context_for

        ca = str(config.mysql_ssl_ca) if config.mysql_ssl_ca else None
        kwargs["ssl"] = ssl_context_for(ca, verify=config.mysql_ssl_verify)
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.MySQLError as exc:
        detail = _scrub(str(exc.args[-1] if exc.args else exc), config.mysql_password)
        raise AdminError(f"cannot read {location_of(config)}: {detail}") from None


def _tables(cur: Any) -> set[str]:
    cur.execute("SHOW TABLES")
    return {row[0] for row in cur.fetchall()}


def _identity_tables(cur: Any, tables: set[str]) -> tuple[str | None, str | None, str | None]:
    """(realm from kdc_config, identity table, key table); tables None when absent."""
    realm = None
    prefix = "kerby"
    if "kdc_config" in tables:
        cur.execute("SELECT realm FROM `kdc_config` WHERE id = 1")
        row = cur.fetchone()
        if row and row[0]:
            realm = str(row[0])
            prefix = realm.lower()
    identity, key = f"{prefix}_identity", f"{prefix}_key"
    if identity not in tables:
        return realm, None, None
    for name in (identity, key):
        if not _TABLE_NAME.match(name):
            raise AdminError(f"table {name!r} is not a name this import reads")
    return realm, identity, key if key in tables else None


def _time(value: object) -> tuple[int | None, str | None]:
    """(milliseconds, the text when it could not be read) of a time column."""
    if value is None:
        return None, None
    if isinstance(value, int):
        return value, None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    millis = millis_from_generalized_time(text)
    return millis, None if millis is not None else text


def read_kerby_mysql(
    url: str, *, user: str | None = None, password: str | None = None
) -> SourceRealm:
    """Every identity, key and plugin user of a Kerby/HAS MySQL database."""
    config = source_config(url, user=user, password=password)
    conn = _connect(config)
    try:
        with conn.cursor() as cur:
            tables = _tables(cur)
            realm, identity_table, key_table = _identity_tables(cur, tables)
            if identity_table is None and "has_user" not in tables:
                raise AdminError(
                    f"{location_of(config)} holds no Kerby identity tables "
                    f"({(realm or 'kerby').lower()}_identity) and no has_user table"
                )
            source = SourceRealm(KIND, location_of(config), realm)
            if identity_table is not None:
                _read_identities(cur, source, realm, identity_table, key_table)
            if "has_user" in tables:
                cur.execute("SELECT user_name, pass_word FROM `has_user` ORDER BY user_name")
                for name, secret in cur.fetchall():
                    if name is None or secret is None:
                        continue
                    source.plugin_users.append(SourceUser(_text(name), _text(secret)))
    except AdminError:
        raise
    except (pymysql.err.MySQLError, ValueError, TypeError) as exc:
        detail = _scrub(f"{type(exc).__name__}: {exc}", config.mysql_password)
        raise AdminError(f"cannot read {location_of(config)}: {detail}") from None
    finally:
        conn.close()
    if source.realm is None:
        source.realm = source.guess_realm()
    return source


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _read_identities(
    cur: Any, source: SourceRealm, realm: str | None, identity_table: str, key_table: str | None
) -> None:
    keys: dict[str, list[tuple[int | str, int, bytes]]] = {}
    if key_table is not None:
        cur.execute(
            f"SELECT principal, key_type, kvno, key_value FROM `{key_table}` "  # noqa: S608
            "ORDER BY principal, key_id"
        )
        for principal, key_type, kvno, value in cur.fetchall():
            if value is None or key_type is None:
                continue
            keys.setdefault(_text(principal), []).append(
                (_text(key_type), int(kvno if kvno is not None else -1), bytes(value))
            )
    cur.execute(
        "SELECT principal, key_version, kdc_flags, disabled, locked, expire_time, "  # noqa: S608
        f"created_time FROM `{identity_table}` ORDER BY principal"
    )
    for name, version, flags, disabled, locked, expire, created in cur.fetchall():
        expire_millis, expire_text = _time(expire)
        created_millis, _ = _time(created)
        source.principals.append(
            kerby_principal(
                _text(name),
                realm,
                key_version=int(version or 1),
                kdc_flags=int(flags or 0),
                disabled=bool(disabled),
                locked=bool(locked),
                expire_millis=expire_millis,
                created_millis=created_millis,
                keys=keys.pop(_text(name), []),
                expire_text=expire_text,
            )
        )
