"""KdcTransport against a real has-server: failover past a dead KDC, TCP on error 52."""

import socket

import pytest

from has_kdc.client.kdc_client import KdcClient
from has_kdc.client.transport import KdcAddress, KdcTransport, KdcUnreachable, kdcs_from_krb5_conf
from tests.mitkrb import free_port


def test_parse_kdc_lines():
    assert KdcAddress.parse("emr-header-1") == KdcAddress("emr-header-1", 88)
    assert KdcAddress.parse("127.0.1.1:8888") == KdcAddress("127.0.1.1", 8888)
    assert KdcAddress.parse("[::1]:750") == KdcAddress("::1", 750)


def test_kdc_lines_from_krb5_conf(tmp_path):
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        "[libdefaults]\n default_realm = HADOOP.COM\n"
        "[realms]\n HADOOP.COM = {\n  kdc = emr-header-1:88\n  kdc = emr-worker-1:88\n }\n"
    )
    assert kdcs_from_krb5_conf(conf) == ["emr-header-1:88", "emr-worker-1:88"]


def test_failover_past_a_dead_kdc_then_tgt(has_node):
    dead = f"127.0.0.1:{free_port()}"
    transport = KdcTransport([dead, has_node.kdc_address()], timeout=0.5)
    has_node.hadmin("addprinc", "-pw", "t-pw", "transport-user")
    creds = KdcClient(transport, "HADOOP.COM").get_tgt("transport-user", "t-pw")
    assert creds.client == "transport-user@HADOOP.COM"
    assert transport.last_kdc == KdcAddress.parse(has_node.kdc_address())


def test_tcp_only_when_udp_limit_is_one(has_node):
    transport = KdcTransport([has_node.kdc_address()], udp_preference_limit=1)
    has_node.hadmin("addprinc", "-pw", "t-pw", "tcp-user")
    assert KdcClient(transport, "HADOOP.COM").get_tgt("tcp-user", "t-pw").client.startswith("tcp")


def test_nothing_answers():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))  # receives but never answers
        port = quiet.getsockname()[1]
        with pytest.raises(KdcUnreachable, match="no KDC answered"):
            KdcTransport([f"127.0.0.1:{port}"], timeout=0.2)(b"\x6a\x00")
