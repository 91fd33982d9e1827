"""has-server: daemon start and pidfile, MIT kinit against it, realm init while running, stop."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time

import pytest

from has_kdc.admin import Actor, init_realm
from has_kdc.asn1.constants import KDC_ERR_SVC_UNAVAILABLE
from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.kdc.handler import Kdc
from has_kdc.node.realm_gate import RealmGate
from tests.hasnode import HasNode, script
from tests.mitkrb import free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.mit
def test_daemon_answers_kinit_and_stops_on_sigterm(has_node, tmp_path):
    pid = has_node.pid
    assert pid is not None and _alive(pid)
    assert stat.S_IMODE(os.stat(has_node.pidfile).st_mode) == 0o644
    has_node.hadmin("addprinc", "-pw", "alice-pw", "alice")
    client = has_node.mit_client(tmp_path / "client")
    client.kinit("alice", "alice-pw")
    assert "Default principal: alice@HADOOP.COM" in client.klist().stdout
    wrong = client.kinit("alice", "nope", check=False)
    assert wrong.returncode != 0 and "Password incorrect" in wrong.stderr
    has_node.stop()
    assert not _alive(pid)
    assert not has_node.pidfile.exists()


@pytest.mark.mit
def test_keytab_from_ktadd_works_with_kinit_and_kvno(has_node, tmp_path):
    kt = tmp_path / "svc.keytab"
    has_node.hadmin("addprinc", "-randkey", "HTTP/web1.example.com")
    has_node.hadmin("ktadd", "-k", str(kt), "HTTP/web1.example.com")
    client = has_node.mit_client(tmp_path / "client")
    client.kinit_keytab("HTTP/web1.example.com", kt)
    out = client.kvno("HTTP/web1.example.com").stdout
    assert "HTTP/web1.example.com@HADOOP.COM: kvno = 2" in out
    admin = tmp_path / "admin-client"
    has_node.mit_client(admin).kinit_keytab("kadmin/HADOOP.COM", has_node.admin_keytab)


@pytest.mark.mit
def test_server_before_init_refuses_then_answers_after_init(tmp_path):
    """Started before init (HAS order): KDC_ERR_SVC_UNAVAILABLE, then kinit works after init.

    The refusal is checked with one datagram: MIT kinit treats error 29 as "try the
    next KDC" and, with only one, keeps retrying for about 27 s before giving up.
    """
    node = HasNode(tmp_path / "node", "HADOOP.COM")
    node.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(5)
            udp.sendto(b"\x6a\x03\x02\x01\x05", (node.host, node.port))
            reply, _ = udp.recvfrom(65536)
        assert reply[0] == 0x7E and bytes([0x02, 0x01, KDC_ERR_SVC_UNAVAILABLE]) in reply
        node.init()
        node.hadmin("addprinc", "-pw", "pw", "alice")
        client = node.mit_client(tmp_path / "client")
        deadline = time.monotonic() + 5
        while True:
            proc = client.kinit("alice", "pw", check=False)
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert proc.returncode == 0, proc.stderr
        assert time.monotonic() < deadline
    finally:
        node.stop()


def test_realm_gate_answers_29_until_initialized(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", port=8888)
    conf = load_conf_dir(node.conf_dir)
    now = [0.0]
    with open_backend(conf.backend) as backend:
        gate = RealmGate(Kdc(conf.kdc, backend), backend, clock=lambda: now[0])
        as_req_like = b"\x6a\x03\x02\x01\x05"
        reply = gate.handle(as_req_like, "udp")
        assert reply is not None and reply[0] == 0x7E  # KRB-ERROR [APPLICATION 30]
        assert bytes([0x02, 0x01, KDC_ERR_SVC_UNAVAILABLE]) in reply  # error-code INTEGER 29
        assert gate.handle(b"garbage", "udp") is None
        init_realm(backend, conf.kdc, Actor("pytest", "test"))
        assert not gate.is_open()  # polled at most once per interval
        now[0] += 1.0
        assert gate.is_open()


def test_bad_config_is_reported_with_file_and_line(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", kdc_extra={"kdc_tcp_port": "99999"})
    proc = subprocess.run(
        [script("has-server"), str(node.conf_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{node.conf_dir / 'kdc.conf'}:" in proc.stderr
    assert "expected a port number" in proc.stderr


def test_daemon_reports_a_port_in_use(tmp_path):
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", port))
        node = HasNode(tmp_path, "HADOOP.COM", port=port)
        started = time.monotonic()
        proc = subprocess.run(
            [script("has-server"), str(node.conf_dir), "--daemon", "--pidfile", str(node.pidfile)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert proc.returncode == 1
    assert str(port) in proc.stderr
    assert time.monotonic() - started < 20
    assert not node.pidfile.exists()


def test_foreground_stops_cleanly_on_sigterm(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM")
    proc = subprocess.Popen(
        [script("has-server"), str(node.conf_dir), "--pidfile", str(node.pidfile)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not node.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert node.pid == proc.pid
        with socket.create_connection(("127.0.0.1", node.port), timeout=2):
            pass
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "has-server stopped" in err
    assert not node.pidfile.exists()


@pytest.mark.mit
def test_daemon_with_workers_reports_ready_and_serves(tmp_path):
    """Forked workers inherit the readiness pipe; the launcher must still return at once."""
    node = HasNode(tmp_path / "has", "HADOOP.COM")
    node.init()
    started = time.monotonic()
    node.start("--workers", "2")
    try:
        assert time.monotonic() - started < 20
        node.hadmin("addprinc", "-pw", "w-pw", "worker-user")
        client = node.mit_client(tmp_path / "client")
        client.kinit("worker-user", "w-pw")
        assert "Default principal: worker-user@HADOOP.COM" in client.klist().stdout
    finally:
        node.stop()
