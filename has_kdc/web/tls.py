"""TLS for the HAS HTTPS service and its clients: TLS 1.2 or newer, modern ciphers only.

The server context takes the node's PEM certificate and key (``ssl_cert_file`` and
``ssl_key_file`` in has-server.conf; by default ``server.pem`` and ``server.key`` in
the conf_dir, where ``kdcinit <conf_dir> certs`` writes them). HAS's Java key stores
(``ssl_server_conf``, HAS's ssl-server.conf) are used when the node has no PEM pair:
a PKCS12 store is read as it is, a JKS store is refused with the ``keytool`` command
that converts it (`has_kdc.web.keystore`). ``node_ssl_context`` makes that choice:
``ssl_cert_file``/``ssl_key_file``, else ``server.pem``/``server.key`` in the
conf_dir, else the key store of ssl-server.conf.

Ciphers for TLS 1.2 are ECDHE with AES-GCM or ChaCha20-Poly1305 (forward secrecy,
AEAD), as Mozilla's "intermediate" profile; TLS 1.3 suites are OpenSSL's defaults,
all of them AEAD. Compression and renegotiation stay off (OpenSSL 3's defaults).
Clients use the same rules (has_kdc.client.has_client.client_ssl_context).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from has_kdc.conf import ConfigError, HasServerConfig
from has_kdc.pki import CA_CERT_FILE
from has_kdc.web.keystore import load_keystore_chain

__all__ = [
    "DEFAULT_CERT_FILE",
    "DEFAULT_KEY_FILE",
    "TLS12_CIPHERS",
    "node_ssl_context",
    "server_ssl_context",
    "server_tls_files",
]

DEFAULT_CERT_FILE = "server.pem"
DEFAULT_KEY_FILE = "server.key"

TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


def server_tls_files(
    conf: HasServerConfig, conf_dir: str | os.PathLike[str]
) -> tuple[Path, Path, Path | None]:
    """(certificate, key, CA bundle or None) of this node, configured or the defaults."""
    base = Path(conf_dir)
    cert = conf.ssl_cert_file or base / DEFAULT_CERT_FILE
    key = conf.ssl_key_file or base / DEFAULT_KEY_FILE
    ca = conf.ssl_ca_file or base / CA_CERT_FILE
    where = conf.source or str(base / "has-server.conf")
    if not cert.is_file() or not key.is_file():
        missing = cert if not cert.is_file() else key
        raise ConfigError(
            f"HTTPS needs a PEM certificate and key, and {missing} does not exist: set "
            "ssl_cert_file and ssl_key_file under [HAS], or run "
            f"'kdcinit {base} certs' to create them",
            where,
        )
    return cert, key, (ca if ca.is_file() else None)


def _base_context(purpose: ssl.Purpose) -> ssl.SSLContext:
    ctx = ssl.create_default_context(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION
    return ctx


def server_ssl_context(
    cert_file: str | os.PathLike[str], key_file: str | os.PathLike[str]
) -> ssl.SSLContext:
    """The HTTPS server's context: TLS >= 1.2, the node's certificate, no client certs."""
    ctx = _base_context(ssl.Purpose.CLIENT_AUTH)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        ctx.load_cert_chain(os.fspath(cert_file), os.fspath(key_file))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot load the TLS certificate {cert_file} with key {key_file}: {reason}"
        ) from None
    return ctx


def node_ssl_context(conf: HasServerConfig, conf_dir: str | os.PathLike[str]) -> ssl.SSLContext:
    """This node's HTTPS context from has-server.conf: a PEM pair it names or the
    conf_dir's default pair, else — when there is no PEM pair — the Java key store of
    its ssl-server.conf (a HAS node as HAS set it up)."""
    base = Path(conf_dir)
    pem = conf.ssl_cert_file is not None or (
        (base / DEFAULT_CERT_FILE).is_file() and (base / DEFAULT_KEY_FILE).is_file()
    )
    keystore = conf.ssl_server.keystore_location if conf.ssl_server is not None else None
    if not pem and keystore is not None and conf.ssl_server is not None:
        ctx = _base_context(ssl.Purpose.CLIENT_AUTH)
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        load_keystore_chain(ctx, conf.ssl_server)
        return ctx
    cert, key, _ca = server_tls_files(conf, conf_dir)
    return server_ssl_context(cert, key)
