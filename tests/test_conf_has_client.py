"""has-client.conf and hadmin.conf: HAS's samples load, ours read back unchanged."""

import logging
import os
import shutil
from pathlib import Path

import pytest

from has_kdc.conf import ConfigError
from has_kdc.conf.has_client import (
    CA_ROOT_DEFAULT,
    HadminConfig,
    HasClientConfig,
    client_config_of_dir,
    find_admin_conf,
    format_hadmin_conf,
    format_has_client_conf,
    parse_has_client_conf,
    read_hadmin_conf,
    read_has_client_conf,
    write_hadmin_conf,
    write_has_client_conf,
)

DOCS = Path(__file__).parent / "data" / "conf" / "has-docs"


def test_has_ha_doc_client_conf_lists_both_nodes(caplog):
    conf = read_has_client_conf(DOCS / "has-ha.has-client.conf")
    assert conf == HasClientConfig(
        https_hosts=("emr-header-1", "emr-worker-1"),
        https_port=8092,
        filter_auth_type="kerberos",
        enable_conf=True,
        auth_type="RAM",
    )
    assert conf.base_urls() == [
        "https://emr-header-1:8092/has/v1",
        "https://emr-worker-1:8092/has/v1",
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_has_server_conf_copy_reads_as_client_conf(caplog):
    # HAS's gethas copies has-server.conf and swaps https_host, so such a file is normal.
    conf = read_has_client_conf(DOCS / "has-dist.has-server.conf")
    assert conf.https_hosts == ("plusplus-desktop",)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_format_reads_back_equal_and_write_is_0644_and_idempotent(tmp_path):
    conf = HasClientConfig(
        https_hosts=("emr-header-1", "emr-worker-1", "::1"),
        https_port=8092,
        enable_conf=False,
        auth_type="MySQL",
        realm="HADOOP.COM",
        ssl_ca_file=Path("/etc/has/ca-root.pem"),
    )
    text = format_has_client_conf(conf)
    assert "  https_host = emr-header-1,emr-worker-1,::1\n" in text
    assert parse_has_client_conf(text) == conf
    assert conf.base_urls()[2] == "https://[::1]:8092/has/v1"
    path = tmp_path / "has-client.conf"
    assert write_has_client_conf(path, conf) is True
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert read_has_client_conf(path) == conf
    assert write_has_client_conf(path, conf) is False
    assert write_has_client_conf(path, HasClientConfig(("a",), 8092)) is True


def test_trust_anchor_order_ssl_ca_file_then_ca_root_then_has_default():
    conf = HasClientConfig(("a",), 8092)
    assert conf.trust_anchor({}) == CA_ROOT_DEFAULT == Path("/etc/has/ca-root.pem")
    assert conf.trust_anchor({"CA_ROOT": "/opt/ca.pem"}) == Path("/opt/ca.pem")
    pinned = HasClientConfig(("a",), 8092, ssl_ca_file=Path("/x/ca.pem"))
    assert pinned.trust_anchor({"CA_ROOT": "/opt/ca.pem"}) == Path("/x/ca.pem")


def test_trust_anchor_beside_the_file_comes_after_ca_root(tmp_path):
    """Where kdcinit gethas -p DIR puts the CA: DIR/ca-root.pem, next to has-client.conf."""
    path = tmp_path / "has-client.conf"
    write_has_client_conf(path, HasClientConfig(("a",), 8092))
    assert read_has_client_conf(path).trust_anchor({}) == CA_ROOT_DEFAULT  # none there yet
    (tmp_path / "ca-root.pem").write_text("pem")
    conf = read_has_client_conf(path)
    assert conf.trust_anchor({}) == tmp_path / "ca-root.pem"
    assert conf.trust_anchor({"CA_ROOT": "/opt/ca.pem"}) == Path("/opt/ca.pem")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[HAS]\n  https_host = a\n",
            "<string>: https_port is required: add 'https_port = 8092' under [HAS]",
        ),
        (
            "[HAS]\n  https_port = 8092\n",
            "<string>: https_host is required: add "
            "'https_host = emr-header-1,emr-worker-1' under [HAS]",
        ),
        (
            "[HAS]\n  https_host = a,,b\n  https_port = 1\n",
            "<string>:2: https_host = a,,b: expected "
            "host names separated by commas (e.g. emr-header-1,emr-worker-1)",
        ),
        (
            "[HAS]\n  https_host = a,a\n  https_port = 1\n",
            "<string>:2: https_host = a,a: a host is listed twice",
        ),
        (
            "[HAS]\n  https_host = a\n  https_port = 99999\n",
            "<string>:3: https_port = 99999: expected a port number from 1 to 65535",
        ),
    ],
)
def test_client_conf_errors(text, message):
    with pytest.raises(ConfigError) as err:
        parse_has_client_conf(text)
    assert str(err.value) == message


def test_hadmin_conf_sample_loads():
    conf = read_hadmin_conf(DOCS / "has-dist.hadmin.conf")
    assert conf == HadminConfig(
        https_hosts=("plusplus-desktop",),
        https_port=8092,
        admin_keytab=Path("/etc/has/admin.keytab"),
        admin_keytab_principal="kadmin/HADOOP.COM@HADOOP.COM",
    )
    assert conf.principal() == "kadmin/HADOOP.COM@HADOOP.COM"


def test_older_admin_conf_takes_the_principal_from_the_realm():
    conf = read_hadmin_conf(DOCS / "has-dist.admin.conf")
    assert conf.realm == "HADOOP.COM"
    assert conf.principal() == "kadmin/HADOOP.COM@HADOOP.COM"


def test_hadmin_needs_admin_keytab(tmp_path):
    path = tmp_path / "hadmin.conf"
    path.write_text("[HAS]\n  https_host = a\n  https_port = 8092\n")
    with pytest.raises(ConfigError) as err:
        read_hadmin_conf(path)
    assert str(err.value) == (
        f"{path}: admin_keytab is required: add 'admin_keytab = /etc/has/admin.keytab' under [HAS]"
    )


def test_hadmin_without_principal_or_realm_says_what_to_set():
    conf = HadminConfig(("a",), 8092, Path("/k"), source="/etc/has/hadmin.conf")
    with pytest.raises(ConfigError, match=r"^/etc/has/hadmin.conf: set admin_keytab_principal"):
        conf.principal()


def test_hadmin_round_trip(tmp_path):
    conf = HadminConfig(
        https_hosts=("emr-header-1", "emr-worker-1"),
        https_port=8092,
        admin_keytab=Path("/etc/has/admin.keytab"),
        admin_keytab_principal="kadmin/HADOOP.COM@HADOOP.COM",
        realm="HADOOP.COM",
        ssl_ca_file=Path("/etc/has/ca-root.pem"),
    )
    path = tmp_path / "hadmin.conf"
    assert write_hadmin_conf(path, conf) is True
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert read_hadmin_conf(path) == conf
    assert path.read_text() == format_hadmin_conf(conf)
    assert write_hadmin_conf(path, conf) is False


def test_a_conf_dir_with_only_hadmin_or_admin_conf_gives_the_client_its_nodes(tmp_path):
    """An admin host set up as has-start.md does has hadmin.conf (Kerby's has-project
    tools: admin.conf) and no has-client.conf; login-test and kdcinit use its nodes."""
    assert client_config_of_dir(tmp_path) is None
    shutil.copy(DOCS / "has-dist.admin.conf", tmp_path / "admin.conf")
    conf = client_config_of_dir(tmp_path)
    assert (conf.https_hosts, conf.https_port, conf.realm) == (
        ("plusplus-desktop",),
        8092,
        "HADOOP.COM",
    )
    shutil.copy(DOCS / "has-dist.hadmin.conf", tmp_path / "hadmin.conf")
    assert find_admin_conf(tmp_path) == tmp_path / "hadmin.conf"  # HAS's own name first
    (tmp_path / "has-client.conf").write_text("[HAS]\n  https_host = a,b\n  https_port = 9\n")
    assert client_config_of_dir(tmp_path).https_hosts == ("a", "b")  # has-client.conf wins
