"""A small certificate authority for a HAS cluster: one CA, one TLS certificate per node.

HAS asks operators to build Java key stores by hand with ``keytool`` on every node
(deploy-https.md) and clients to trust a CA certificate at ``/etc/has/ca-root.pem``.
has-kdc makes the same material itself so ``kdcinit``, ``has-server`` and the Ansible
roles can set up HTTPS without an external PKI. A private key never leaves the host
that made it: the CA key stays where the CA was made, and each node makes its own key
and sends only a certificate signing request (CSR):

- ``create_ca(dir, name)``, on the CA node: ``ca-root.pem`` (0644, the client trust
  bundle, named as HAS's clients look for it) and ``ca-root.key`` (0600).
- ``certificate_problem(ca_cert, dir, names, ips)``, on a node: why its ``server.pem``
  must be replaced (none, CA, key, names, or the end within the renewal window), or
  None when it stays.
- ``request_certificate(dir, names, ips)``, on a node: a new key in ``server-next.key``
  (0600; the key being served stays in place) and a CSR for it, the only thing that
  goes to the CA node.
- ``sign_request(ca, csr, names, ips)``, on the CA node: a certificate for the CSR's
  public key with the names the caller expects (a CSR asking for others is refused),
  the serverAuth extended key usage, and a subjectAltName for every name.
- ``install_certificate(dir, cert, ca_cert, names, ips)``, back on the node: the pending
  key becomes ``server.key`` and the certificate ``server.pem``.
- ``issue_server_cert(ca, names, ips, dir)``: the three steps on one host, for a node
  that is its own CA (``kdcinit certs``, tests).

Keys are ECDSA on P-256: a 256-bit EC key is as strong as RSA 3072 at a tenth of the
size, handshakes are cheaper for the server, and every client HAS has to serve
supports it (OpenSSL, curl, Python, Java 7+ through SunEC). Every new certificate gets
a new key, so a renewal also retires the old key.

Everything is idempotent: material that is still valid for the same names is kept and
``changed`` is False, so re-running an installer rotates nothing until a certificate is
within ``renew_before`` of its end (``RENEW_BEFORE`` unless the caller says). An
existing CA is never replaced: a new CA would make every client's trust bundle wrong,
so that takes an operator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from has_kdc.fileio import PUBLIC_MODE, SECRET_MODE, write_atomic, write_if_changed

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CA_VALIDITY",
    "ISSUED_DIR",
    "NEXT_KEY_FILE",
    "RENEW_BEFORE",
    "SERVER_CERT_FILE",
    "SERVER_KEY_FILE",
    "SERVER_VALIDITY",
    "CertificateAuthority",
    "CertificateRequest",
    "PkiError",
    "ServerCertificate",
    "certificate_facts",
    "certificate_problem",
    "certificates_only",
    "create_ca",
    "discard_pending_key",
    "install_certificate",
    "issue_server_cert",
    "key_sha256",
    "load_ca",
    "load_certificate",
    "load_certificate_pem",
    "node_keys_on_ca",
    "request_certificate",
    "sign_request",
    "write_trust_bundle",
]

log = logging.getLogger("has_kdc.pki")

CA_CERT_FILE = "ca-root.pem"  # HasClient's CA_ROOT_DEFAULT is /etc/has/ca-root.pem
CA_KEY_FILE = "ca-root.key"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server.key"
# The key of a CSR waiting for its certificate; it becomes server.key when the certificate
# is installed, so the key being served stays in place until its successor is complete.
NEXT_KEY_FILE = "server-next.key"
# Where earlier versions of the role issued node keys on the CA node
# (ca_dir/issued/<node>/server.key) and copied them over; node_keys_on_ca() finds them.
ISSUED_DIR = "issued"
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
class CertificateRequest:
    """A CSR made on the node (public) and whether its key was made just now."""

    csr_pem: bytes
    key_path: Path
    key_sha256: str
    key_made: bool


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


def key_sha256(public_key: PublicKeyTypes) -> str:
    """SHA-256 (hex) of a SubjectPublicKeyInfo: names a key pair in output, reveals nothing."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _same_public_key(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cert: x509.Certificate
) -> bool:
    return key_sha256(key.public_key()) == key_sha256(cert.public_key())


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


def load_certificate(path: str | os.PathLike[str]) -> x509.Certificate:
    """A PEM certificate file; PkiError naming the file when it is not one."""
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a PEM certificate"
        raise PkiError(f"{path}: cannot load the certificate: {reason}") from None


def load_certificate_pem(pem: str, what: str) -> x509.Certificate:
    """A PEM certificate given as text (a module option); PkiError naming ``what``."""
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii", "replace"))
    except ValueError:
        raise PkiError(f"{what} is not a PEM certificate") from None


def certificate_facts(cert: x509.Certificate) -> dict[str, str]:
    """What a result or a diff may say of a certificate: its names, serial, end and the
    SHA-256 of its public key (never key material)."""
    return {
        "names": _names_text(*_sans_of(cert.extensions)),
        "serial": f"{cert.serial_number:x}",
        "not_valid_after": cert.not_valid_after_utc.isoformat(),
        "key_sha256": key_sha256(cert.public_key()),
    }


def certificates_only(pem: bytes) -> bytes | None:
    """The certificates of a PEM bundle, re-encoded, and nothing else (None if none).

    What a node hands to anyone who asks (``getcert``, also over plain HTTP) goes
    through this, so a bundle that also holds a private key, by a slip of the
    configuration, never gives the key away.
    """
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        return None
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs) or None


def load_ca(directory: str | os.PathLike[str]) -> CertificateAuthority:
    """Load ``ca-root.pem`` and ``ca-root.key`` from ``directory`` and check they belong."""
    base = Path(directory)
    cert_path, key_path = base / CA_CERT_FILE, base / CA_KEY_FILE
    cert, key = load_certificate(cert_path), _load_key(key_path)
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


def _sans_of(extensions: x509.Extensions) -> tuple[set[str], set[str]]:
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return dns, ips


def _names_text(dns: set[str] | Sequence[str], ips: set[str] | Sequence[str]) -> str:
    return ", ".join([*sorted(dns), *sorted(ips)]) or "no names"


def _issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def certificate_problem(
    ca_cert: x509.Certificate,
    cert_dir: str | os.PathLike[str],
    hostnames: Sequence[str],
    ips: Sequence[str],
    *,
    renew_before: dt.timedelta = RENEW_BEFORE,
    retired_keys: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> str | None:
    """Why the certificate in ``cert_dir`` must be replaced, or None when it can stay.

    It stays while it is from ``ca_cert``, its key is ``server.key``, it is valid for
    exactly these names, and its end is more than ``renew_before`` away (or as far as
    the CA's own end, which no renewal can pass). ``retired_keys`` are SHA-256s
    (``key_sha256``) of keys that must go although they still match, such as the node
    keys earlier versions made on the CA node.
    """
    dns, addrs = _san_names(hostnames, ips)
    base = Path(cert_dir)
    cert_path, key_path = base / SERVER_CERT_FILE, base / SERVER_KEY_FILE
    if not cert_path.exists():
        return f"there is no {cert_path} yet"
    if not key_path.exists():
        return f"{key_path} is missing"
    try:
        cert, key = load_certificate(cert_path), _load_key(key_path)
    except PkiError as exc:
        return str(exc)
    moment = _now(now)
    end = cert.not_valid_after_utc
    have = _sans_of(cert.extensions)
    if not _issued_by(cert, ca_cert):
        return "it was not issued by this CA"
    if not _same_public_key(key, cert):
        return f"{key_path} is not its key"
    if key_sha256(key.public_key()) in retired_keys:
        return (
            "its key was made on the CA node and copied here; a key made on this node replaces it"
        )
    if have != (set(dns), set(addrs)):
        return f"it is for {_names_text(*have)}, not {_names_text(dns, addrs)}"
    if cert.not_valid_before_utc > moment:
        return f"it is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    if end - moment < renew_before and end < ca_cert.not_valid_after_utc:
        days = renew_before.days
        return (
            f"it ends on {end:%Y-%m-%d %H:%M} UTC, within the renewal window "
            f"({days} day{'s' if days != 1 else ''} before the end)"
        )
    return None


def request_certificate(
    cert_dir: str | os.PathLike[str],
    hostnames: Sequence[str],
    ips: Sequence[str],
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> CertificateRequest:
    """A CSR for these names, for a key made here and kept in ``server-next.key``.

    A pending key left by an earlier request whose certificate never arrived is used
    again: it has never been served, and retrying a run then needs no second key.
    ``uid``/``gid`` own the key file from its first byte (the service reads it).
    """
    dns, addrs = _san_names(hostnames, ips)
    base = Path(cert_dir)
    base.mkdir(parents=True, exist_ok=True)
    key_path = base / NEXT_KEY_FILE
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
    if key_path.exists():
        try:
            key = _load_key(key_path)
        except PkiError as exc:
            log.info("making a new key: %s", exc)
    made = key is None
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        write_atomic(key_path, _key_pem(key), SECRET_MODE, uid=uid, gid=gid)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (*dns, *addrs)[0])]))
        .add_extension(_san_extension(dns, addrs), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateRequest(
        csr.public_bytes(serialization.Encoding.PEM), key_path, key_sha256(key.public_key()), made
    )


def discard_pending_key(cert_dir: str | os.PathLike[str]) -> bool:
    """Remove a ``server-next.key`` no certificate will come for; True if there was one."""
    try:
        (Path(cert_dir) / NEXT_KEY_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


def _san_extension(dns: Sequence[str], addrs: Sequence[str]) -> x509.SubjectAlternativeName:
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in addrs]
    return x509.SubjectAlternativeName(sans)


def _load_csr(csr_pem: bytes | str) -> x509.CertificateSigningRequest:
    data = csr_pem.encode("ascii", "replace") if isinstance(csr_pem, str) else csr_pem
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError:
        raise PkiError("the CSR is not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise PkiError("the CSR's signature does not verify: it was not made with its own key")
    key = csr.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < 256:
            raise PkiError(f"the CSR's key is on {key.curve.name}; P-256 or stronger is needed")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise PkiError(f"the CSR's key is RSA {key.key_size}; 2048 bits or more are needed")
    else:
        raise PkiError(f"the CSR's key is {type(key).__name__}; an EC or RSA key is needed")
    return csr


def sign_request(
    ca: CertificateAuthority,
    csr_pem: bytes | str,
    hostnames: Sequence[str],
    ips: Sequence[str],
    *,
    validity: dt.timedelta = SERVER_VALIDITY,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """The CA's certificate for the CSR's key, valid for exactly these names.

    The names come from the caller (the inventory), not from the CSR: a CSR that asks
    for other names is refused, so a node can only get what it is meant to be. Only the
    CSR's public key is taken; the extensions are the CA's own.
    """
    dns, addrs = _san_names(hostnames, ips)
    csr = _load_csr(csr_pem)
    asked = _sans_of(csr.extensions)
    if asked != (set(dns), set(addrs)):
        raise PkiError(
            f"the CSR asks for {_names_text(*asked)}; this node's certificate is for "
            f"{_names_text(dns, addrs)}"
        )
    moment = _now(now)
    if ca.certificate.not_valid_after_utc <= moment:
        raise PkiError(
            f"{ca.cert_path}: the CA expired on {ca.certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    start = moment - _BACKDATE
    end = min(start + validity, ca.certificate.not_valid_after_utc)
    public_key = csr.public_key()
    try:
        ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value)
    except x509.ExtensionNotFound:  # a CA made elsewhere without an SKI
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.certificate.public_key())  # type: ignore[arg-type]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (*dns, *addrs)[0])]))
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
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
        .add_extension(_san_extension(dns, addrs), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca.private_key, hashes.SHA256())
    )
    log.info(
        "signed a certificate for %s, serial %x, until %s",
        _names_text(dns, addrs),
        cert.serial_number,
        f"{end:%Y-%m-%d %H:%M}",
    )
    return cert


def install_certificate(
    cert_dir: str | os.PathLike[str],
    cert_pem: bytes | str,
    ca_cert: x509.Certificate,
    hostnames: Sequence[str],
    ips: Sequence[str],
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> bool:
    """Make the signed certificate and its pending key the node's; True if files changed.

    The certificate must come from ``ca_cert``, be for these names, and be for the key
    in ``server-next.key`` (or, when a run stopped between the two renames, for the
    ``server.key`` already in place). The key moves first: a crash in between leaves a
    pair that does not match, which the next run detects and replaces, never a
    certificate served with a stale key. ``uid`` owns the key, ``gid`` both files.
    """
    dns, addrs = _san_names(hostnames, ips)
    data = cert_pem.encode("ascii", "replace") if isinstance(cert_pem, str) else cert_pem
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise PkiError("the signed certificate is not a PEM certificate") from None
    if not _issued_by(cert, ca_cert):
        raise PkiError("the signed certificate was not issued by the cluster CA")
    if _sans_of(cert.extensions) != (set(dns), set(addrs)):
        raise PkiError(
            f"the signed certificate is for {_names_text(*_sans_of(cert.extensions))}, "
            f"not {_names_text(dns, addrs)}"
        )
    base = Path(cert_dir)
    cert_path, key_path, next_path = (
        base / SERVER_CERT_FILE,
        base / SERVER_KEY_FILE,
        base / NEXT_KEY_FILE,
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    moved = next_path.exists() and _same_public_key(_load_key(next_path), cert)
    if moved:
        if uid is not None or gid is not None:
            os.chown(next_path, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(next_path, SECRET_MODE)
        os.replace(next_path, key_path)
    elif not (key_path.exists() and _same_public_key(_load_key(key_path), cert)):
        raise PkiError(
            f"the signed certificate is not for the key made on this node ({next_path}); "
            "run again to make a new request"
        )
    changed = write_if_changed(cert_path, pem, PUBLIC_MODE, gid=gid) or moved
    if changed:
        log.info("installed %s for %s", cert_path, _names_text(dns, addrs))
    return changed


def write_trust_bundle(
    ca_cert: x509.Certificate, path: str | os.PathLike[str], *, gid: int | None = None
) -> bool:
    """Write the CA certificate clients trust (0644); True if the file changed."""
    return write_if_changed(
        path, ca_cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE, gid=gid
    )


def node_keys_on_ca(ca_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``key_sha256`` of every node key an earlier version left under ``ca_dir/issued``.

    Earlier versions of the role issued each node's key on the CA node and copied it; the
    copies are keys that left their node. The role retires them: a node whose
    ``server.key`` is one of them gets a key of its own, then the copy is removed.
    """
    found: dict[str, str] = {}
    issued = Path(ca_dir) / ISSUED_DIR
    if not issued.is_dir():
        return found
    for node_dir in sorted(p for p in issued.iterdir() if p.is_dir()):
        loaders: tuple[tuple[str, Callable[[Path], PublicKeyTypes]], ...] = (
            (SERVER_KEY_FILE, lambda p: _load_key(p).public_key()),
            (SERVER_CERT_FILE, lambda p: load_certificate(p).public_key()),
        )
        for name, load in loaders:
            try:
                found[node_dir.name] = key_sha256(load(node_dir / name))
                break
            except PkiError:
                continue
    return found


def issue_server_cert(
    ca: CertificateAuthority,
    hostnames: Sequence[str],
    ips: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    validity: dt.timedelta = SERVER_VALIDITY,
    renew_before: dt.timedelta = RENEW_BEFORE,
    now: dt.datetime | None = None,
) -> ServerCertificate:
    """A node's TLS certificate when the node is its own CA: check, request, sign, install.

    ``kdcinit certs`` on a single node uses this; a cluster runs the same steps across
    hosts (the Ansible role), so the key still never leaves the node that made it.
    """
    dns, addrs = _san_names(hostnames, ips)
    base = Path(out_dir)
    base.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = base / SERVER_CERT_FILE, base / SERVER_KEY_FILE
    bundle_path = base / CA_CERT_FILE
    problem = certificate_problem(
        ca.certificate, base, dns, addrs, renew_before=renew_before, now=now
    )
    changed = False
    if problem is not None:
        log.info("issuing %s: %s", cert_path, problem)
        request = request_certificate(base, dns, addrs)
        cert = sign_request(ca, request.csr_pem, dns, addrs, validity=validity, now=now)
        pem = cert.public_bytes(serialization.Encoding.PEM)
        install_certificate(base, pem, ca.certificate, dns, addrs)
        changed = True
    if bundle_path != ca.cert_path:
        changed = write_trust_bundle(ca.certificate, bundle_path) or changed
    end = load_certificate(cert_path).not_valid_after_utc
    return ServerCertificate(cert_path, key_path, bundle_path, dns, addrs, end, changed)
