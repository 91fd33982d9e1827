"""HAS's Java key store (ssl-server.conf) as the HTTPS server's certificate and key.

HAS's deploy-https.md makes the server's key pair with ``keytool`` and names the store
in ssl-server.conf (``ssl.server.keystore.location``, ``.password``,
``.keypassword``). Such a node keeps its store: has-kdc reads it directly when
the node has no PEM pair (``ssl_cert_file``/``ssl_key_file``, or ``server.pem`` and
``server.key`` in the conf_dir, which take precedence).

- PKCS12 — what ``keytool`` writes by default since JDK 9, whatever the file is
  called (``keystore.jks`` too) — is read with ``cryptography``. The key is opened with
  ``keypassword`` or, as keytool sets them alike, ``password``.
- A real JKS or JCEKS store (the JDK 8 default; recognised by its first bytes, not by
  its name or ``ssl.server.keystore.type``) is refused with the ``keytool`` command
  that converts it to PKCS12 in place of a second parser of a proprietary format.

The key goes from memory to OpenSSL through an anonymous memory file (``memfd``), so
it is never written to a disk in clear; passwords and keys never reach a message.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from has_kdc.conf import ConfigError
from has_kdc.conf.ssl_conf import SslConf

__all__ = ["keystore_pem", "load_keystore_chain"]

_JKS_MAGIC = b"\xfe\xed\xfe\xed"
_JCEKS_MAGIC = b"\xce\xce\xce\xce"


def _convert_hint(path: Path, kind: str) -> str:
    target = path.with_suffix(".p12")
    return (
        f"{path} is a {kind} key store, which has-kdc does not read; convert it to PKCS12 "
        f"(keytool asks for both passwords): keytool -importkeystore -srckeystore {path} "
        f"-srcstoretype {kind} -destkeystore {target} -deststoretype PKCS12, then set "
        f"ssl.server.keystore.location = {target} in ssl-server.conf"
    )


def keystore_pem(conf: SslConf) -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) of the server key store ``conf`` names."""
    where = conf.source or "ssl-server.conf"
    path = conf.keystore_location
    if path is None:
        raise ConfigError("ssl.server.keystore.location is not set", where)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"ssl.server.keystore.location = {path}: cannot read it: {exc.strerror}", where
        ) from None
    if data[:4] == _JKS_MAGIC:
        raise ConfigError(_convert_hint(path, "JKS"), where)
    if data[:4] == _JCEKS_MAGIC:
        raise ConfigError(_convert_hint(path, "JCEKS"), where)
    loaded = None
    for password in dict.fromkeys((conf.keystore_keypassword, conf.keystore_password, None)):
        try:
            loaded = pkcs12.load_key_and_certificates(
                data, password.encode() if password is not None else None
            )
            break
        except ValueError:
            continue
    if loaded is None:
        raise ConfigError(
            f"ssl.server.keystore.location = {path}: not a PKCS12 key store, or "
            "ssl.server.keystore.password / keypassword do not open it",
            where,
        )
    key, cert, extra = loaded
    if key is None or cert is None:
        raise ConfigError(
            f"ssl.server.keystore.location = {path}: the store holds no private key with "
            "its certificate (keytool -genkeypair makes one)",
            where,
        )
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *extra))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return chain, key_pem


@contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A path to ``data`` that lives in memory only (Linux memfd); else a 0600 temp file
    in a private directory, removed on exit."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("has-kdc-tls", 0)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="has-kdc-tls-") as directory:
        path = Path(directory) / "chain.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield str(path)


def load_keystore_chain(ctx: ssl.SSLContext, conf: SslConf) -> None:
    """Load the key store's certificate chain and key into ``ctx``."""
    chain, key_pem = keystore_pem(conf)
    # Encrypted with a one-time password so that even the fallback file holds no key in clear.
    once = secrets.token_urlsafe(24)
    key = serialization.load_pem_private_key(key_pem, None)
    sealed = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(once.encode()),
    )
    with _memory_file(chain + sealed) as path:
        try:
            ctx.load_cert_chain(path, password=once)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"cannot use the key store {conf.keystore_location}: {exc.reason or exc}",
                conf.source,
            ) from None
