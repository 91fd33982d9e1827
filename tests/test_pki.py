"""The cluster CA and node certificates, checked by real TLS handshakes with the ssl module.

The node-side steps (request, install) and the CA-side step (sign) run here on separate
directories, as the role runs them on separate hosts.
"""

import datetime as dt
import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from has_kdc.pki import (
    ISSUED_DIR,
    NEXT_KEY_FILE,
    RENEW_BEFORE,
    SERVER_VALIDITY,
    PkiError,
    certificate_problem,
    create_ca,
    discard_pending_key,
    install_certificate,
    issue_server_cert,
    key_sha256,
    load_ca,
    load_certificate,
    node_keys_on_ca,
    request_certificate,
    sign_request,
    write_trust_bundle,
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


# --- the node makes its key, the CA node signs its CSR -------------------------------


def node_flow(ca, node: Path, names=NAMES, ips=IPS, **sign):
    """What the role does across hosts: request on the node, sign on the CA, install."""
    request = request_certificate(node, names, ips)
    cert = sign_request(ca, request.csr_pem, names, ips, **sign)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return request, cert, install_certificate(node, pem, ca.certificate, names, ips)


def test_the_key_is_made_on_the_node_and_only_the_csr_goes_to_the_ca(ca, tmp_path):
    node = tmp_path / "node"
    request = request_certificate(node, NAMES, IPS)
    assert request.key_made and mode(request.key_path) == 0o600
    assert request.key_path == node / NEXT_KEY_FILE
    assert b"PRIVATE KEY" not in request.csr_pem
    csr = x509.load_pem_x509_csr(request.csr_pem)
    assert csr.is_signature_valid
    assert key_sha256(csr.public_key()) == request.key_sha256
    cert = sign_request(ca, request.csr_pem, NAMES, IPS)
    assert install_certificate(
        node, cert.public_bytes(serialization.Encoding.PEM), ca.certificate, NAMES, IPS
    )
    assert not (node / NEXT_KEY_FILE).exists()
    assert key_sha256(cert.public_key()) == request.key_sha256
    assert mode(node / "server.key") == 0o600 and mode(node / "server.pem") == 0o644
    # the CA directory holds the CA's pair and nothing of the node's
    assert sorted(p.name for p in (tmp_path / "ca").iterdir()) == ["ca-root.key", "ca-root.pem"]
    write_trust_bundle(ca.certificate, node / "ca-root.pem")
    for name in [*NAMES, *IPS]:
        handshake(node, node / "ca-root.pem", name)
    assert certificate_problem(ca.certificate, node, NAMES, IPS) is None


def test_installing_the_same_certificate_again_changes_nothing(ca, tmp_path):
    node = tmp_path / "node"
    _, cert, changed = node_flow(ca, node)
    assert changed
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert install_certificate(node, pem, ca.certificate, NAMES, IPS) is False


def test_a_request_left_without_its_certificate_keeps_its_key_for_the_retry(ca, tmp_path):
    node = tmp_path / "node"
    first = request_certificate(node, NAMES, IPS)
    again = request_certificate(node, NAMES, IPS)
    assert (again.key_made, again.key_sha256) == (False, first.key_sha256)
    assert discard_pending_key(node) is True
    assert discard_pending_key(node) is False


def test_the_served_pair_stays_until_its_successor_is_complete(ca, tmp_path):
    node = tmp_path / "node"
    node_flow(ca, node)
    served = {p: (node / p).read_bytes() for p in ("server.pem", "server.key")}
    request_certificate(node, NAMES, IPS)
    assert {p: (node / p).read_bytes() for p in served} == served
    handshake(node, ca.cert_path, "emr-header-1")


@pytest.mark.parametrize(
    ("names", "ips", "message"),
    [
        ([*NAMES, "evil.example"], IPS, r"the CSR asks for .*; this node's certificate is for"),
        (NAMES, ["127.0.0.1"], "the CSR asks for"),
    ],
)
def test_the_ca_signs_only_the_names_it_expects(ca, tmp_path, names, ips, message):
    request = request_certificate(tmp_path / "node", names, ips)
    with pytest.raises(PkiError, match=message):
        sign_request(ca, request.csr_pem, NAMES, IPS)


def test_the_ca_refuses_a_csr_not_signed_by_its_own_key(ca, tmp_path):
    other = ec.generate_private_key(ec.SECP256R1())
    mine = request_certificate(tmp_path / "node", NAMES, IPS)
    csr = x509.load_pem_x509_csr(mine.csr_pem)
    # the same request body signed by another key: its signature cannot verify
    forged = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(csr.subject)
        .add_extension(
            csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value,
            critical=False,
        )
        .sign(other, hashes.SHA256())
    )
    der = bytearray(forged.public_bytes(serialization.Encoding.DER))
    spki_other = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    spki_mine = csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    at = bytes(der).index(spki_other)
    der[at : at + len(spki_other)] = spki_mine
    pem = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(PkiError, match="signature does not verify"):
        sign_request(ca, pem, NAMES, IPS)


def test_the_ca_refuses_weak_keys_and_garbage(ca, tmp_path):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAMES[0])]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in NAMES]), critical=False
        )
        .sign(weak, hashes.SHA256())
    )
    with pytest.raises(PkiError, match="RSA 1024; 2048 bits or more"):
        sign_request(ca, csr.public_bytes(serialization.Encoding.PEM), NAMES, [])
    with pytest.raises(PkiError, match="not a PEM certificate signing request"):
        sign_request(ca, "-----BEGIN CERTIFICATE REQUEST-----\nxx\n", NAMES, IPS)


def test_install_refuses_a_certificate_for_another_key_or_ca(ca, tmp_path):
    node = tmp_path / "node"
    elsewhere = request_certificate(tmp_path / "elsewhere", NAMES, IPS)
    request_certificate(node, NAMES, IPS)
    cert = sign_request(ca, elsewhere.csr_pem, NAMES, IPS)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(PkiError, match="not for the key made on this node"):
        install_certificate(node, pem, ca.certificate, NAMES, IPS)
    stranger = create_ca(tmp_path / "stranger", "stranger")
    with pytest.raises(PkiError, match="not issued by the cluster CA"):
        install_certificate(node, pem, stranger.certificate, NAMES, IPS)
    assert not (node / "server.pem").exists() and not (node / "server.key").exists()


def test_install_finishes_after_a_stop_between_the_two_renames(ca, tmp_path):
    node = tmp_path / "node"
    request = request_certificate(node, NAMES, IPS)
    cert = sign_request(ca, request.csr_pem, NAMES, IPS)
    os.replace(node / NEXT_KEY_FILE, node / "server.key")  # the key moved, then a crash
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert install_certificate(node, pem, ca.certificate, NAMES, IPS) is True
    handshake(node, ca.cert_path, "emr-header-1")


def test_problems_name_what_is_wrong(ca, tmp_path):
    node = tmp_path / "node"
    assert "there is no" in certificate_problem(ca.certificate, node, NAMES, IPS)
    node_flow(ca, node)
    assert certificate_problem(ca.certificate, node, NAMES, IPS) is None
    assert certificate_problem(ca.certificate, node, list(reversed(NAMES)), IPS[::-1]) is None
    problem = certificate_problem(ca.certificate, node, [*NAMES, "has.hadoop.com"], IPS)
    assert problem.startswith("it is for emr-header-1, emr-header-1.hadoop.com, 127.0.0.1")
    stranger = create_ca(tmp_path / "stranger", "stranger")
    assert certificate_problem(stranger.certificate, node, NAMES, IPS) == (
        "it was not issued by this CA"
    )
    retired = key_sha256(load_certificate(node / "server.pem").public_key())
    assert "made on the CA node" in certificate_problem(
        ca.certificate, node, NAMES, IPS, retired_keys=[retired]
    )
    (node / "server.key").write_bytes(stranger.key_path.read_bytes())
    assert certificate_problem(ca.certificate, node, NAMES, IPS).endswith("is not its key")


def test_a_short_lived_certificate_is_renewed_within_the_window(ca, tmp_path):
    """A one-day certificate: kept with no renewal window, renewed with a 30-day one."""
    node = tmp_path / "node"
    _, short, _ = node_flow(ca, node, validity=dt.timedelta(days=1))
    assert short.not_valid_after_utc - dt.datetime.now(dt.UTC) < dt.timedelta(days=1)
    assert (
        certificate_problem(ca.certificate, node, NAMES, IPS, renew_before=dt.timedelta(0)) is None
    )
    problem = certificate_problem(ca.certificate, node, NAMES, IPS)
    assert problem is not None and "within the renewal window (30 days before the end)" in problem
    old_key = key_sha256(short.public_key())
    _, renewed, changed = node_flow(ca, node)
    assert changed and renewed.serial_number != short.serial_number
    assert key_sha256(renewed.public_key()) != old_key, "a renewal makes a new key"
    assert renewed.not_valid_after_utc - short.not_valid_after_utc > dt.timedelta(days=800)
    assert certificate_problem(ca.certificate, node, NAMES, IPS) is None
    # and an expired one is renewed too
    later = dt.datetime.now(dt.UTC) + SERVER_VALIDITY + dt.timedelta(days=1)
    assert "within the renewal window" in certificate_problem(
        ca.certificate, node, NAMES, IPS, now=later
    )


def test_a_certificate_as_long_as_its_ca_is_not_renewed_every_run(tmp_path):
    """No renewal can outlast the CA: a certificate ending with it is kept, not churned."""
    start = dt.datetime.now(dt.UTC)
    short_ca = create_ca(tmp_path / "ca", "short", validity=dt.timedelta(days=10), now=start)
    node = tmp_path / "node"
    _, cert, _ = node_flow(short_ca, node)
    assert cert.not_valid_after_utc == short_ca.certificate.not_valid_after_utc
    assert certificate_problem(short_ca.certificate, node, NAMES, IPS) is None


def test_node_keys_left_on_the_ca_node_by_earlier_versions_are_found(ca, tmp_path):
    """Earlier versions issued keys into ca_dir/issued/<node>; they are found by public key."""
    assert node_keys_on_ca(tmp_path / "ca") == {}
    legacy = tmp_path / "ca" / ISSUED_DIR
    for node in ("emr-header-1", "emr-worker-1"):
        node_flow(ca, legacy / node)
    (legacy / "emr-worker-1" / "server.key").unlink()  # only its certificate is left
    found = node_keys_on_ca(tmp_path / "ca")
    assert sorted(found) == ["emr-header-1", "emr-worker-1"]
    for node, digest in found.items():
        cert = load_certificate(legacy / node / "server.pem")
        assert digest == key_sha256(cert.public_key())
