"""Which SPNEGO principals a node answers for, and that init and late nodes create them."""

from __future__ import annotations

import pytest

from has_kdc.admin import (
    Actor,
    AdminError,
    ensure_node_principals,
    init_realm,
    node_service_principals,
    register_node,
)
from has_kdc.backend import open_backend
from has_kdc.conf import ConfigError, load_conf_dir, parse_has_server_conf
from tests.test_admin_principals import write_conf_dir

REALM = "HADOOP.COM"
ACTOR = Actor("pytest", "test")


def server(text: str):
    return parse_has_server_conf("[HAS]\n" + text)


def test_names_from_https_host_kdc_host_and_kerberos_principal(tmp_path):
    kdc = load_conf_dir(write_conf_dir(tmp_path)).kdc  # kdc_host = 127.0.0.1
    assert node_service_principals(kdc, None) == [f"HTTP/127.0.0.1@{REALM}"]
    assert node_service_principals(kdc, server("https_host = 0.0.0.0\n")) == [
        f"HTTP/127.0.0.1@{REALM}"
    ]
    conf = server(
        "https_host = Emr-Header-1\n"
        "kerberos_principal = HTTP/_HOST@HADOOP.COM, HTTP/header.example.com, host/x@HADOOP.COM\n"
    )
    assert node_service_principals(kdc, conf) == [
        f"HTTP/emr-header-1@{REALM}",
        f"HTTP/127.0.0.1@{REALM}",
        f"HTTP/header.example.com@{REALM}",
        f"host/x@{REALM}",
    ]
    with pytest.raises(AdminError, match=r"not in realm HADOOP\.COM"):
        node_service_principals(kdc, server("kerberos_principal = HTTP/h@OTHER.COM\n"))


def test_admin_principals_and_kerberos_principal_lists_are_checked():
    conf = server("admin_principals = alice@HADOOP.COM , ops/admin@HADOOP.COM\n")
    assert conf.admin_principals == ("alice@HADOOP.COM", "ops/admin@HADOOP.COM")
    assert server("").admin_principals == () and server("").kerberos_principal == ()
    with pytest.raises(ConfigError, match=r"<string>:2: admin_principals = a@R,: expected"):
        server("admin_principals = a@R,\n")
    with pytest.raises(ConfigError, match="listed twice"):
        server("kerberos_principal = HTTP/a, HTTP/a\n")
    with pytest.raises(ConfigError, match="kerberos_principal"):
        server("kerberos_principal = HTTP/a b\n")


def test_init_creates_recorded_names_and_late_nodes_their_own(tmp_path):
    conf = load_conf_dir(write_conf_dir(tmp_path))
    with open_backend(conf.backend) as backend:
        # node 2 registered (servers first) with its extra name, then init runs on node 1
        backend.register_node("127.0.1.2")
        register_node(
            backend, conf.kdc, ACTOR, host="127.0.1.2", principals=[f"HTTP/emr-worker-1@{REALM}"]
        )
        result = init_realm(backend, conf.kdc, ACTOR)
        assert f"HTTP/emr-worker-1@{REALM}" in result.created_principals
        assert f"HTTP/127.0.1.2@{REALM}" in result.created_principals
        # a node joining later creates its principals itself, once
        extra = [f"HTTP/emr-worker-2@{REALM}"]
        assert ensure_node_principals(backend, conf.kdc, "127.0.1.3", extra, actor=ACTOR)
        assert not ensure_node_principals(backend, conf.kdc, "127.0.1.3", extra, actor=ACTOR)
        assert backend.get_principal(f"HTTP/emr-worker-2@{REALM}") is not None
        assert backend.get_principal(f"HTTP/127.0.1.3@{REALM}") is not None
