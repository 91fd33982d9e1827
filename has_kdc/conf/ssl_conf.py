"""HAS's ssl-server.conf and ssl-client.conf: where the Java key and trust stores are.

HAS (deploy-https.md) keeps TLS material in Hadoop-style key stores named by bare
``key = value`` lines; the keys are Hadoop's ``ssl.{server,client}.*`` names
(``KeyStoresFactory`` in has-common)::

    ssl.server.keystore.location = /etc/has/keystore.jks
    ssl.server.keystore.password = ...
    ssl.server.keystore.keypassword = ...
    ssl.server.truststore.location = /etc/has/truststore.jks
    ssl.server.truststore.password = ...
    ssl.server.truststore.reload.interval = 1000

These files are read so that an existing HAS conf_dir loads and says clearly what it
holds; has-kdc's own TLS settings are PEM paths in has-server.conf (``ssl_cert_file``,
``ssl_key_file``, ``ssl_ca_file``). Passwords never reach a repr or a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.conf.errors import ConfigError
from has_kdc.conf.has_ini import HasIniValues, parse_path, read_has_ini

__all__ = ["STORE_TYPES", "SslConf", "read_ssl_conf"]

STORE_TYPES = ("jks", "jceks", "pkcs12", "pem")
_DEFAULT_STORE_TYPE = "jks"  # KeyStoresFactory.DEFAULT_KEYSTORE_TYPE


def _keys(mode: str) -> dict[str, str]:
    names = (
        "keystore.location",
        "keystore.password",
        "keystore.keypassword",
        "keystore.type",
        "truststore.location",
        "truststore.password",
        "truststore.type",
        "truststore.reload.interval",
    )
    return {f"ssl.{mode}.{name}": "" for name in names}


@dataclass(frozen=True)
class SslConf:
    """One ssl-server.conf or ssl-client.conf; ``mode`` is ``"server"`` or ``"client"``."""

    mode: str
    keystore_location: Path | None = None
    keystore_type: str = _DEFAULT_STORE_TYPE
    keystore_password: str | None = field(default=None, repr=False)
    keystore_keypassword: str | None = field(default=None, repr=False)
    truststore_location: Path | None = None
    truststore_type: str = _DEFAULT_STORE_TYPE
    truststore_password: str | None = field(default=None, repr=False)
    truststore_reload_interval_ms: int | None = None
    source: str | None = field(default=None, compare=False)


def _store_type(values: HasIniValues, key: str) -> str:
    rel = values.get(key)
    if rel is None:
        return _DEFAULT_STORE_TYPE
    text = str(rel.value).strip().lower()
    if text not in STORE_TYPES:
        raise ConfigError(
            f"{key} = {rel.value}: expected one of {', '.join(STORE_TYPES)}", rel.source, rel.line
        )
    return text


def read_ssl_conf(path: str | os.PathLike[str], mode: str) -> SslConf:
    """Read HAS's ssl-server.conf (``mode="server"``) or ssl-client.conf (``"client"``)."""
    if mode not in ("server", "client"):
        raise ValueError(f"mode must be 'server' or 'client', not {mode!r}")
    values = read_has_ini(path, _keys(mode))
    prefix = f"ssl.{mode}."
    out: dict[str, object] = {"mode": mode, "source": values.source}
    for store in ("keystore", "truststore"):
        if (rel := values.get(f"{prefix}{store}.location")) is not None:
            out[f"{store}_location"] = parse_path(rel, values.base)
        out[f"{store}_type"] = _store_type(values, f"{prefix}{store}.type")
    for secret in ("keystore.password", "keystore.keypassword", "truststore.password"):
        if (rel := values.get(prefix + secret)) is not None:
            out[secret.replace(".", "_")] = str(rel.value)
    if (rel := values.get(f"{prefix}truststore.reload.interval")) is not None:
        text = str(rel.value).strip()
        if not text.isdigit() or int(text) == 0:
            raise ConfigError(
                f"{rel.name} = {rel.value}: expected a reload interval in milliseconds "
                "(a whole number above 0)",
                rel.source,
                rel.line,
            )
        out["truststore_reload_interval_ms"] = int(text)
    return SslConf(**out)  # type: ignore[arg-type]
