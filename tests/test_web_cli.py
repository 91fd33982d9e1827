"""has-server with HTTPS and kdcinit as operators run them: HAS's example files, workers, certs."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from has_kdc.client.has_client import HasHttpsClient, client_ssl_context
from has_kdc.conf import read_has_client_conf, read_has_server_conf
from has_kdc.conf.edit import set_relations
from tests.hasnode import HasNode
from tests.mitkrb import free_port

DATA = Path(__file__).parent / "data" / "conf"
EXAMPLES = sorted(
    [
        *(DATA / "has-docs").glob("*.has-server.conf"),
        DATA / "has-server-test" / "has-server.conf",
    ]
)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_has_server_starts_from_the_has_examples(example: Path, tmp_path):
    """The example as written, with only the address moved to this machine's loopback."""
    node = HasNode(tmp_path, "HADOOP.COM")
    text = example.read_text()
    port = free_port()
    section = "HAS" if "[HAS]" in text else ""
    text = set_relations(text, section, {"https_host": "127.0.0.1", "https_port": str(port)})
    server_conf = node.conf_dir / "has-server.conf"
    server_conf.write_text(text)
    wanted = read_has_server_conf(server_conf)
    node.https_port = port
    node.kdcinit("certs")
    node.start()
    try:
        init = node.kdcinit("init", "-p", str(tmp_path), check=False)
        if wanted.enable_conf:
            assert init.returncode == 0, init.stderr
            assert (tmp_path / "admin.keytab").exists()
        else:  # e.g. HAS's has-start example: no enable_conf, so configuration is closed
            assert init.returncode == 1
            assert "403" in init.stderr and "enable_conf" in init.stderr
            node.kdcinit("--local", "init", "-p", str(tmp_path))
        node.kdcinit("gethas", "-p", str(tmp_path))
        has = read_has_client_conf(tmp_path / "has-client.conf")
        assert has.https_hosts == ("127.0.0.1",) and has.https_port == port
        assert has.auth_type == wanted.auth_type
        assert has.filter_auth_type == wanted.filter_auth_type
        # the CA comes along, and a client of the exported file trusts the node with it
        assert has.trust_anchor({}) == tmp_path / "ca-root.pem"
        client = HasHttpsClient(has.base_urls(), client_ssl_context(has.trust_anchor({})))
        assert "https_host" in client.get("gethasconf").text()
    finally:
        node.stop()


def test_certs_are_made_once_with_private_keys_0600(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", "127.0.0.1", https_port=free_port())
    for key in (node.conf_dir / "server.key", node.ca_dir / "ca-root.key"):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(node.conf_dir / "server.pem").st_mode) == 0o644
    before = (node.conf_dir / "server.pem").read_bytes()
    out = node.kdcinit("certs", "--ca-dir", str(node.ca_dir)).stdout
    assert "Using the CA" in out and "Kept" in out
    assert (node.conf_dir / "server.pem").read_bytes() == before
    out = node.kdcinit("certs", "--ca-dir", str(node.ca_dir), "--host", "emr-header-1").stdout
    assert "Issued" in out and "emr-header-1" in out


def test_kdcinit_without_a_running_server_says_so(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", "127.0.0.1", https_port=free_port())
    result = node.kdcinit("getkrb5", "-p", str(tmp_path), check=False)
    assert result.returncode == 1
    assert "no HAS server could be reached" in result.stderr
    assert node.base_url.rsplit("/", 2)[0] in result.stderr
    # --local works on the database itself
    node.kdcinit("--local", "init", "-p", str(tmp_path))
    node.kdcinit("--local", "getkrb5", "-p", str(tmp_path))
    assert f"kdc = 127.0.0.1:{node.port}" in (tmp_path / "krb5.conf").read_text()


def test_kdcinit_prompt_runs_commands_over_https(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", "127.0.0.1", https_port=free_port())
    node.start()
    try:
        script = f"start\ninit -p {tmp_path}\ngetkrb5 -p {tmp_path}\nbogus\nexit\n"
        result = node.kdcinit(input=script)
        assert result.stdout.count("KdcInitTool:") >= 4
        assert "Realm HADOOP.COM initialized" in result.stdout
        assert "unknown command 'bogus'" in result.stderr
        assert (tmp_path / "krb5.conf").exists()
    finally:
        node.stop()


@pytest.mark.mit
def test_workers_share_kdc_metrics_with_the_https_process(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", "127.0.0.1", https_port=free_port())
    node.start("--workers", "2")
    try:
        node.kdcinit("init", "-p", str(tmp_path))
        node.hadmin("addprinc", "-pw", "alice-pw", "alice")
        client = node.mit_client(tmp_path / "mit")
        for _ in range(4):
            client.kinit("alice", "alice-pw")
        assert client.kinit("alice", "wrong", check=False).returncode != 0
        text = node.https_client().get("/metrics").text()
        ok = re.search(r'has_kdc_requests_total\{kind="AS",result="ok"\} (\d+)', text)
        assert ok is not None and int(ok.group(1)) >= 4
        assert 'result="KDC_ERR_PREAUTH_FAILED"' in text
        assert "has_kdc_listening 1" in text
        assert node.https_client().get("health").json()["status"] == "ok"
    finally:
        node.stop()


def test_has_server_warns_about_enable_conf_and_says_when_the_window_closes(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", "127.0.0.1", https_port=free_port())
    node.start()
    try:
        token_file = node.conf_dir / "setup-token"
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        token = token_file.read_text().strip()
        log = node.log_text()
        assert "WARNING" in log and "enable_conf = true" in log
        assert str(token_file) in log
        # kdcinit on the node uses the token: config first, then init
        node.kdcinit("set_plugin", "RAM")
        assert token_file.read_text().strip() != token  # spent and replaced
        node.kdcinit("init", "-p", str(tmp_path))
        assert not token_file.exists()
        log = node.log_text()
        assert "setup window closed" in log
        assert token not in log
        # no token any more, and kdcinit says what to do instead
        (tmp_path / "other").mkdir()
        refused = node.kdcinit("init", "-p", str(tmp_path / "other"), check=False)
        assert refused.returncode == 1 and "--local init" in refused.stderr
        assert not (tmp_path / "other" / "admin.keytab").exists()
        # with the admin keys, kdcinit authenticates (SPNEGO) and changes nothing
        again = node.kdcinit("init", "-p", str(tmp_path)).stdout
        assert "already initialized" in again and "Unchanged" in again
    finally:
        node.stop()
