"""A small certificate authority for a HAS cluster: one CA, one TLS certificate per node.

HAS asks operators to build Java key stores by hand with ``keytool`` on every node
(deploy-https.md) and clients to trust a CA certificate at ``/etc/has/ca-root.pem``.
has-kdc makes the same material itself so ``kdcinit``, ``has-server`` and the Ansible
roles can set up HTTPS without an external PKI:

- ``create_ca(dir, name)``: ``ca-root.pem`` (0644, the client trust bundle, named as
  HAS's clients look for it) and ``ca-root.key`` (0600).
- ``issue_server_cert(ca, hostnames, ips, out_dir)``: ``server.pem`` (0644),
  ``server.key`` (0600) and a copy of ``ca-root.pem``, with a subjectAltName for
  every host name and IP address and the serverAuth extended key usage.

Keys are ECDSA on P-256: a 256-bit EC key is as strong as RSA 3072 at a tenth of the
size, handshakes are cheaper for the server, and every client HAS has to serve
supports it (OpenSSL, curl, Python, Java 7+ through SunEC).

Both calls are idempotent: material that is still valid for the same names is kept
and ``changed`` is False, so re-running an installer rotates nothing. A server
certificate is re-issued when its names differ, it is not from this CA, its key does
not match, or it ends within ``RENEW_BEFORE``. An existing CA is never replaced: a
new CA would make every client's trust bundle wrong, so that takes an operator.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from has_kdc.fileio import PUBLIC_MODE, SECRET_MODE, write_atomic, write_if_changed

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CA_VALIDITY",
    "RENEW_BEFORE",
    "SERVER_CERT_FILE",
    "SERVER_KEY_FILE",
    "SERVER_VALIDITY",
    "CertificateAuthority",
    "PkiError",
    "ServerCertificate",
    "create_ca",
    "issue_server_cert",
    "load_ca",
    "write_trust_bundle",
]

log = logging.getLogger("has_kdc.pki")

CA_CERT_FILE = "ca-root.pem"  # HasClient's CA_ROOT_DEFAULT is /etc/has/ca-root.pem
CA_KEY_FILE = "ca-root.key"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server.key"
CA_VALIDITY = dt.timedelta(days=3650)
# 825 days: the longest TLS server certificate lifetime Apple platforms accept.
SERVER_VALIDITY = dt.timedelta(days=825)
RENEW_BEFORE = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(minutes=5)  # tolerate clients whose clocks run a little late
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class PkiError(Exception):
    """CA or certificate material that cannot be used as it is (what and where)."""


@dataclass(frozen=True)
class CertificateAuthority:
    """The cluster CA; ``changed`` says whether ``create_ca`` just made it."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = field(repr=False)
    cert_path: Path
    key_path: Path
    changed: bool = False

    @property
    def name(self) -> str:
        attrs = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else self.certificate.subject.rfc4514_string()

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class ServerCertificate:
    """A node's certificate files and the names it is valid for."""

    cert_path: Path
    key_path: Path
    trust_bundle_path: Path
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_valid_after: dt.datetime
    changed: bool


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _same_public_key(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cert: x509.Certificate
) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not an unencrypted PEM private key"
        raise PkiError(f"{path}: cannot load the private key: {reason}") from None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise PkiError(f"{path}: expected an EC or RSA private key, found {type(key).__name__}")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s holds a private key and is readable by others; chmod 600 it", path)
    return key


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a PEM certificate"
        raise PkiError(f"{path}: cannot load the certificate: {reason}") from None


def load_ca(directory: str | os.PathLike[str]) -> CertificateAuthority:
    """Load ``ca-root.pem`` and ``ca-root.key`` from ``directory`` and check they belong."""
    base = Path(directory)
    cert_path, key_path = base / CA_CERT_FILE, base / CA_KEY_FILE
    cert, key = _load_cert(cert_path), _load_key(key_path)
    if not _same_public_key(key, cert):
        raise PkiError(f"{key_path} is not the key of {cert_path}")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise PkiError(f"{cert_path} is not a CA certificate (basicConstraints CA:TRUE missing)")
    return CertificateAuthority(cert, key, cert_path, key_path)


def create_ca(
    directory: str | os.PathLike[str],
    name: str,
    *,
    validity: dt.timedelta = CA_VALIDITY,
    now: dt.datetime | None = None,
) -> CertificateAuthority:
    """The cluster CA in ``directory``: loaded if it is there, else made (``changed``)."""
    base = Path(directory)
    cert_path, key_path = base / CA_CERT_FILE, base / CA_KEY_FILE
    if cert_path.exists() or key_path.exists():
        if not (cert_path.exists() and key_path.exists()):
            missing = key_path if cert_path.exists() else cert_path
            raise PkiError(
                f"{missing} is missing while its pair exists; restore it, or remove both "
                "files to create a new CA (clients must then get the new ca-root.pem)"
            )
        ca = load_ca(base)
        if ca.certificate.not_valid_after_utc <= _now(now):
            raise PkiError(
                f"{cert_path}: the CA expired on {ca.certificate.not_valid_after_utc:%Y-%m-%d}; "
                "remove ca-root.pem and ca-root.key to create a new one"
            )
        return ca
    if not name.strip():
        raise ValueError("the CA needs a name")
    start = _now(now) - _BACKDATE
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    base.mkdir(parents=True, exist_ok=True)
    write_atomic(key_path, _key_pem(key), SECRET_MODE)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
    log.info("created the cluster CA %r in %s", name, base)
    return CertificateAuthority(cert, key, cert_path, key_path, changed=True)


def _dns_name(name: str) -> str:
    text = name.strip().rstrip(".").lower()
    if not text or len(text) > 253 or not all(_LABEL.match(p) for p in text.split(".")):
        raise ValueError(f"{name!r} is not a host name (letters, digits, '-' and dots)")
    return text


def _san_names(
    hostnames: Sequence[str], ips: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    dns = tuple(dict.fromkeys(_dns_name(h) for h in hostnames))
    try:
        addrs = tuple(dict.fromkeys(str(ipaddress.ip_address(i.strip("[] "))) for i in ips))
    except ValueError as exc:
        raise ValueError(f"not an IP address: {exc}") from None
    if not dns and not addrs:
        raise ValueError("a server certificate needs at least one host name or IP address")
    return dns, addrs


def _cert_sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return dns, ips


def _reusable(
    ca: CertificateAuthority,
    cert_path: Path,
    key_path: Path,
    dns: tuple[str, ...],
    ips: tuple[str, ...],
    now: dt.datetime,
) -> x509.Certificate | None:
    """The existing certificate if it can stay; None (with the reason logged) if not."""
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        cert, key = _load_cert(cert_path), _load_key(key_path)
    except PkiError as exc:
        log.info("re-issuing: %s", exc)
        return None
    reason = None
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        reason = "it was not issued by this CA"
    if reason is None and not _same_public_key(key, cert):
        reason = f"{key_path} is not its key"
    if reason is None and _cert_sans(cert) != (set(dns), set(ips)):
        reason = "its subjectAltNames differ from the names asked for"
    if reason is None and cert.not_valid_after_utc - now < RENEW_BEFORE:
        reason = f"it ends on {cert.not_valid_after_utc:%Y-%m-%d}"
    if reason is None and cert.not_valid_before_utc > now:
        reason = "it is not valid yet"
    if reason is not None:
        log.info("re-issuing %s: %s", cert_path, reason)
        return None
    return cert


def write_trust_bundle(ca: CertificateAuthority, path: str | os.PathLike[str]) -> bool:
    """Write the CA certificate clients trust (0644); True if the file changed."""
    return write_if_changed(path, ca.cert_pem(), PUBLIC_MODE)


def issue_server_cert(
    ca: CertificateAuthority,
    hostnames: Sequence[str],
    ips: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    validity: dt.timedelta = SERVER_VALIDITY,
    now: dt.datetime | None = None,
) -> ServerCertificate:
    """A node's TLS certificate for every name in ``hostnames`` and ``ips``, kept if valid."""
    dns, addrs = _san_names(hostnames, ips)
    base = Path(out_dir)
    base.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = base / SERVER_CERT_FILE, base / SERVER_KEY_FILE
    bundle_path = base / CA_CERT_FILE
    moment = _now(now)
    cert = _reusable(ca, cert_path, key_path, dns, addrs, moment)
    changed = False
    if cert is None:
        cert = _issue(ca, dns, addrs, cert_path, key_path, moment, validity)
        changed = True
    if bundle_path != ca.cert_path:
        changed = write_trust_bundle(ca, bundle_path) or changed
    return ServerCertificate(
        cert_path, key_path, bundle_path, dns, addrs, cert.not_valid_after_utc, changed
    )


def _issue(
    ca: CertificateAuthority,
    dns: tuple[str, ...],
    addrs: tuple[str, ...],
    cert_path: Path,
    key_path: Path,
    now: dt.datetime,
    validity: dt.timedelta,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    start = now - _BACKDATE
    end = min(start + validity, ca.certificate.not_valid_after_utc)
    common_name = dns[0] if dns else addrs[0]
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in addrs]
    try:
        ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value)
    except x509.ExtensionNotFound:  # a CA made elsewhere without an SKI
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.certificate.public_key())  # type: ignore[arg-type]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca.private_key, hashes.SHA256())
    )
    # The key first: a crash in between leaves a pair that does not match, which the
    # next run detects and re-issues, never a certificate served with a stale key.
    write_atomic(key_path, _key_pem(key), SECRET_MODE)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
    log.info("issued %s for %s", cert_path, ", ".join((*dns, *addrs)))
    return cert
