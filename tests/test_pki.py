"""The cluster CA and node certificates, checked by real TLS handshakes with the ssl module."""

import datetime as dt
import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from has_kdc.pki import (
    RENEW_BEFORE,
    SERVER_VALIDITY,
    PkiError,
    create_ca,
    issue_server_cert,
    load_ca,
)

NAMES = ["emr-header-1", "emr-header-1.hadoop.com"]
IPS = ["127.0.0.1", "::1"]


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def handshake(cert_dir: Path, trust: Path, server_hostname: str) -> None:
    """A TLS handshake over memory BIOs: our node cert served, ``trust`` as the client's CA."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    server_ctx.load_cert_chain(cert_dir / "server.pem", cert_dir / "server.key")
    client_ctx = ssl.create_default_context(cafile=str(trust))
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client), ("server", server)):
            if done[name]:
                continue
            try:
                end.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            assert client.getpeercert()["subject"] == ((("commonName", "emr-header-1"),),)
            return
    raise AssertionError("handshake did not finish")


@pytest.fixture
def ca(tmp_path):
    return create_ca(tmp_path / "ca", "HADOOP.COM cluster CA")


def test_create_ca_files_and_modes(ca, tmp_path):
    assert ca.changed is True
    assert ca.cert_path == tmp_path / "ca" / "ca-root.pem"
    assert mode(ca.key_path) == 0o600
    assert mode(ca.cert_path) == 0o644
    assert ca.name == "HADOOP.COM cluster CA"
    assert isinstance(ca.private_key, ec.EllipticCurvePrivateKey)
    assert ca.private_key.curve.name == "secp256r1"
    constraints = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert "private_key" not in repr(ca)


def test_create_ca_again_keeps_the_existing_ca(ca, tmp_path):
    again = create_ca(tmp_path / "ca", "another name")
    assert again.changed is False
    assert again.certificate == ca.certificate
    assert load_ca(tmp_path / "ca").certificate == ca.certificate


def test_create_ca_refuses_a_lone_key(tmp_path, ca):
    ca.cert_path.unlink()
    with pytest.raises(PkiError, match=r"ca-root.pem is missing while its pair exists"):
        create_ca(tmp_path / "ca", "x")


def test_load_ca_detects_a_key_of_another_ca(tmp_path, ca):
    other = create_ca(tmp_path / "other", "other")
    ca.key_path.write_bytes(other.key_path.read_bytes())
    with pytest.raises(PkiError, match=r"ca-root.key is not the key of .*ca-root.pem"):
        load_ca(tmp_path / "ca")


def test_create_ca_refuses_an_expired_ca(tmp_path, ca):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3651)
    with pytest.raises(PkiError, match="the CA expired on"):
        create_ca(tmp_path / "ca", "x", now=later)


def test_server_cert_verifies_for_every_name_and_ip(ca, tmp_path):
    out = tmp_path / "node"
    issued = issue_server_cert(ca, NAMES, IPS, out)
    assert issued.changed is True
    assert (issued.dns_names, issued.ip_addresses) == (tuple(NAMES), ("127.0.0.1", "::1"))
    assert mode(issued.key_path) == 0o600
    assert mode(issued.cert_path) == 0o644
    assert mode(issued.trust_bundle_path) == 0o644
    assert issued.trust_bundle_path.read_bytes() == ca.cert_path.read_bytes()
    for name in [*NAMES, *IPS]:
        handshake(out, issued.trust_bundle_path, name)


def test_server_cert_extensions_and_validity(ca, tmp_path):
    before = dt.datetime.now(dt.UTC)
    issued = issue_server_cert(ca, NAMES, IPS, tmp_path / "node")
    cert = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - before
    assert SERVER_VALIDITY - dt.timedelta(minutes=10) < lifetime <= SERVER_VALIDITY
    cert.verify_directly_issued_by(ca.certificate)


def test_wrong_name_fails_verification(ca, tmp_path):
    issue_server_cert(ca, NAMES, IPS, tmp_path / "node")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(tmp_path / "node", ca.cert_path, "emr-worker-1")
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        handshake(tmp_path / "node", ca.cert_path, "127.0.0.2")


def test_a_different_ca_fails_verification(ca, tmp_path):
    issue_server_cert(ca, NAMES, IPS, tmp_path / "node")
    stranger = create_ca(tmp_path / "stranger", "HADOOP.COM cluster CA")
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(tmp_path / "node", stranger.cert_path, "emr-header-1")


def test_issue_is_idempotent_for_the_same_names(ca, tmp_path):
    out = tmp_path / "node"
    first = issue_server_cert(ca, NAMES, IPS, out)
    files = {p: p.read_bytes() for p in (first.cert_path, first.key_path)}
    again = issue_server_cert(ca, list(reversed(NAMES)), ["::1", "127.0.0.1"], out)
    assert again.changed is False
    assert {p: p.read_bytes() for p in files} == files


def test_issue_again_when_names_change(ca, tmp_path):
    out = tmp_path / "node"
    first = issue_server_cert(ca, NAMES, IPS, out)
    old = first.cert_path.read_bytes()
    second = issue_server_cert(ca, [*NAMES, "has.hadoop.com"], IPS, out)
    assert second.changed is True
    assert second.cert_path.read_bytes() != old
    handshake(out, ca.cert_path, "has.hadoop.com")


def test_issue_again_when_from_another_ca_or_key_mismatch(ca, tmp_path):
    out = tmp_path / "node"
    stranger = create_ca(tmp_path / "stranger", "stranger")
    issue_server_cert(stranger, NAMES, IPS, out)
    moved = issue_server_cert(ca, NAMES, IPS, out)
    assert moved.changed is True
    handshake(out, ca.cert_path, "emr-header-1")
    (out / "server.key").write_bytes(stranger.key_path.read_bytes())
    assert issue_server_cert(ca, NAMES, IPS, out).changed is True
    handshake(out, ca.cert_path, "emr-header-1")


def test_issue_again_when_close_to_the_end(ca, tmp_path):
    out = tmp_path / "node"
    issue_server_cert(ca, NAMES, IPS, out)
    near_end = dt.datetime.now(dt.UTC) + SERVER_VALIDITY - RENEW_BEFORE + dt.timedelta(days=1)
    assert issue_server_cert(ca, NAMES, IPS, out, now=near_end).changed is True


def test_trust_bundle_is_restored_when_it_drifts(ca, tmp_path):
    out = tmp_path / "node"
    issued = issue_server_cert(ca, NAMES, IPS, out)
    issued.trust_bundle_path.write_text("stale\n")
    assert issue_server_cert(ca, NAMES, IPS, out).changed is True
    assert issued.trust_bundle_path.read_bytes() == ca.cert_path.read_bytes()


@pytest.mark.parametrize(
    ("names", "ips", "message"),
    [
        ([], [], "at least one host name or IP address"),
        (["emr header"], [], "is not a host name"),
        (["-bad"], [], "is not a host name"),
        ([], ["300.1.1.1"], "not an IP address"),
    ],
)
def test_bad_names_are_refused(ca, tmp_path, names, ips, message):
    with pytest.raises(ValueError, match=message):
        issue_server_cert(ca, names, ips, tmp_path / "node")
    assert not (tmp_path / "node" / "server.key").exists()
