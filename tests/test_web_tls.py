"""TLS of the HAS HTTPS service: the cluster CA is required, TLS 1.2 is the floor."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.client.has_client import HasClientError, HasHttpsClient, client_ssl_context
from has_kdc.pki import create_ca
from tests.webnode import Node, make_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    n = make_node(tmp_path_factory.mktemp("tls"))
    try:
        yield n
    finally:
        n.thread.stop()


def _handshake(node: Node, ctx: ssl.SSLContext) -> tuple[str, str]:
    raw = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    with raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        cipher = tls.cipher()
        assert cipher is not None
        return str(tls.version()), cipher[0]


def test_cluster_ca_is_trusted(node):
    assert node.client.get("hostroles").status == 200
    version, _ = _handshake(node, client_ssl_context(node.ca_file))
    assert version == "TLSv1.3"


def test_wrong_ca_fails_on_every_node(node, tmp_path: Path):
    other = create_ca(tmp_path / "other-ca", "some other CA")
    client = HasHttpsClient(
        [f"https://127.0.0.1:{node.port}/has/v1"], client_ssl_context(other.cert_path)
    )
    with pytest.raises(HasClientError) as info:
        client.get("getkrb5conf")
    assert "certificate not trusted" in str(info.value)
    assert info.value.status is None  # refused before any HTTP exchange
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(node, client_ssl_context(other.cert_path))


def test_a_name_missing_from_the_certificate_fails(node):
    ctx = client_ssl_context(node.ca_file)
    raw = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    with raw, pytest.raises(ssl.SSLCertVerificationError, match="match"):
        ctx.wrap_socket(raw, server_hostname="not-this-node.example")


def _tls11_client(ca_file: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca_file)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 offers TLS 1.1 only at level 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


def _lenient_server(node: Node) -> tuple[socket.socket, threading.Thread]:
    """A bare TLS server with the node's certificate that still accepts TLS 1.1."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.load_cert_chain(node.conf_dir / "server.pem", node.conf_dir / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_tls_1_1_is_refused(node):
    ctx = _tls11_client(node.ca_file)
    # The same client gets TLS 1.1 from a server that allows it: the refusal below is ours.
    listener, thread = _lenient_server(node)
    with listener:
        port = listener.getsockname()[1]
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.1"
        thread.join(10)
    with pytest.raises(ssl.SSLError):
        _handshake(node, ctx)


def test_tls_1_2_gets_an_aead_forward_secret_cipher(node):
    ctx = client_ssl_context(node.ca_file)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    version, cipher = _handshake(node, ctx)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher)


def test_tls_1_2_without_forward_secrecy_is_refused(node):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(node.ca_file)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-SHA:AES256-SHA:AES128-GCM-SHA256")  # static RSA key exchange
    with pytest.raises(ssl.SSLError):
        _handshake(node, ctx)
