"""HAS's ssl-server.conf and Java key store, made by the JDK's ``keytool`` as
deploy-https.md makes them, serving has-server's HTTPS as they are."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from has_kdc.conf import ConfigError, read_has_server_conf
from has_kdc.conf.ssl_conf import read_ssl_conf
from has_kdc.pki import create_ca, issue_server_cert
from has_kdc.web.keystore import keystore_pem
from has_kdc.web.tls import node_ssl_context
from tests.hasnode import HasNode
from tests.mitkrb import free_port

pytestmark = pytest.mark.skipif(shutil.which("keytool") is None, reason="needs the JDK's keytool")

STOREPASS = "store-Secret-7"


def keytool(*args: str) -> None:
    subprocess.run(["keytool", *args], check=True, capture_output=True, text=True, timeout=120)


def make_store(directory: Path, store_type: str | None) -> tuple[Path, Path]:
    """keystore.jks (keytool's default type unless ``store_type``) and its certificate."""
    store = directory / "keystore.jks"
    typed = ["-storetype", store_type] if store_type else []
    keytool(
        "-genkeypair", "-alias", "has", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1", "-validity", "30",
        "-keystore", str(store), "-storepass", STOREPASS, "-keypass", STOREPASS, *typed,
    )  # fmt: skip
    cert = directory / "server-cert.pem"
    keytool(
        "-exportcert", "-rfc", "-alias", "has", "-keystore", str(store),
        "-storepass", STOREPASS, "-file", str(cert),
    )  # fmt: skip
    return store, cert


def ssl_server_conf(directory: Path, store: Path, password: str = STOREPASS) -> Path:
    path = directory / "ssl-server.conf"
    path.write_text(
        f"ssl.server.keystore.location = {store}\n"
        f"ssl.server.keystore.password = {password}\n"
        f"ssl.server.keystore.keypassword = {password}\n"
        "ssl.server.truststore.reload.interval = 1000\n"
    )
    return path


def has_node(tmp_path: Path) -> tuple[HasNode, int]:
    node = HasNode(tmp_path, "HADOOP.COM")
    port = free_port("127.0.0.1")
    (node.conf_dir / "has-server.conf").write_text(
        f"[HAS]\n  https_host = 127.0.0.1\n  https_port = {port}\n"
        "  filter_auth_type = kerberos\n  enable_conf = false\n[PLUGIN]\n  auth_type = RAM\n"
    )
    return node, port


def test_keytool_pkcs12_store_named_jks_serves_https(tmp_path):
    node, port = has_node(tmp_path)
    store, cert = make_store(node.conf_dir, None)  # JDK 17's keytool: PKCS12
    ssl_server_conf(node.conf_dir, store)
    server_conf = node.conf_dir / "has-server.conf"
    text = server_conf.read_text().replace("[PLUGIN]", f"  ssl_ca_file = {cert}\n[PLUGIN]")
    server_conf.write_text(text)
    assert not (node.conf_dir / "server.pem").exists()
    node.kdcinit("--local", "init", "-p", str(tmp_path))
    node.start()
    try:
        context = ssl.create_default_context(cafile=str(cert))
        url = f"https://127.0.0.1:{port}/has/v1/conf/getcert"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            served = answer.read()
        assert served.strip() == cert.read_bytes().replace(b"\r\n", b"\n").strip()
        assert STOREPASS not in node.log_text()
    finally:
        node.stop()


def test_a_real_jks_store_is_refused_with_the_keytool_command(tmp_path):
    node, _ = has_node(tmp_path)
    store, _ = make_store(node.conf_dir, "JKS")
    ssl_server_conf(node.conf_dir, store)
    node.kdcinit("--local", "init", "-p", str(tmp_path))
    proc = node.run("has-server", "--daemon", "--pidfile", str(node.pidfile), check=False)
    assert proc.returncode != 0
    assert f"{store} is a JKS key store" in proc.stderr
    assert (
        f"keytool -importkeystore -srckeystore {store} -srcstoretype JKS "
        f"-destkeystore {store.with_suffix('.p12')} -deststoretype PKCS12" in proc.stderr
    )
    assert STOREPASS not in proc.stderr


def test_wrong_store_password_is_named_not_shown(tmp_path):
    store, _ = make_store(tmp_path, None)
    conf = read_ssl_conf(ssl_server_conf(tmp_path, store, "wrong-Guess-1"), "server")
    with pytest.raises(ConfigError) as err:
        keystore_pem(conf)
    assert "ssl.server.keystore.password / keypassword do not open it" in str(err.value)
    assert "wrong-Guess-1" not in str(err.value)
    chain, key = keystore_pem(read_ssl_conf(ssl_server_conf(tmp_path, store), "server"))
    assert chain.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in key


def test_a_pem_pair_takes_precedence_over_the_key_store(tmp_path):
    """A node that also has kdcinit's server.pem/server.key keeps using them."""
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    store, _ = make_store(conf_dir, "JKS")  # would be refused if it were used
    ssl_server_conf(conf_dir, store)
    issue_server_cert(create_ca(tmp_path / "ca", "test CA"), [], ["127.0.0.1"], conf_dir)
    (conf_dir / "has-server.conf").write_text("[HAS]\n  https_port = 8092\n")
    conf = read_has_server_conf(conf_dir / "has-server.conf")
    assert conf.ssl_server is not None and conf.ssl_server.keystore_location == store
    assert isinstance(node_ssl_context(conf, conf_dir), ssl.SSLContext)
    (conf_dir / "server.pem").unlink()
    with pytest.raises(ConfigError, match="is a JKS key store"):
        node_ssl_context(conf, conf_dir)
