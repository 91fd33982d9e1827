"""has-server.conf as HAS writes it, HAS's ssl-*.conf, and the enable_conf switch."""

import logging
import os
from pathlib import Path

import pytest

from has_kdc.conf import ConfigError
from has_kdc.conf.has_server import (
    DEFAULT_HTTP_PORT,
    HasServerConfig,
    parse_has_server_conf,
    read_has_server_conf,
    set_enable_conf,
)
from has_kdc.conf.ssl_conf import read_ssl_conf

DOCS = Path(__file__).parent / "data" / "conf" / "has-docs"
HAS_TEST = Path(__file__).parent / "data" / "conf" / "has-server-test" / "has-server.conf"


def write(tmp_path: Path, text: str, name: str = "has-server.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("host", ["emr-header-1", "emr-worker-1"])
def test_has_ha_doc_examples_load_as_written(host, caplog):
    conf = read_has_server_conf(DOCS / f"has-ha-{host}.has-server.conf")
    assert conf == HasServerConfig(
        https_host=host,
        https_port=8092,
        filter_auth_type="kerberos",
        enable_conf=True,
        auth_type="RAM",
    )
    assert not conf.http_enabled
    assert warnings_of(caplog) == []


def test_sectionless_example_is_the_same_config(caplog):
    with_headers = read_has_server_conf(DOCS / "has-ha-emr-header-1.has-server.conf")
    without = read_has_server_conf(DOCS / "has-ha-sectionless.has-server.conf")
    assert without == with_headers
    assert warnings_of(caplog) == []


def test_sectionless_text_from_a_string():
    conf = parse_has_server_conf("https_host = emr-header-1\nhttps_port = 8092\n")
    assert (conf.https_host, conf.https_port, conf.auth_type) == ("emr-header-1", 8092, "RAM")


@pytest.mark.parametrize(
    ("path", "host", "auth_type", "enable_conf"),
    [
        (DOCS / "has-start.has-server.conf", "localhost", "MySQL", False),
        (DOCS / "has-dist.has-server.conf", "plusplus-desktop", "MySQL", True),
        (HAS_TEST, "localhost", "MySQL", True),
    ],
)
def test_other_has_samples_load(path, host, auth_type, enable_conf, caplog):
    conf = read_has_server_conf(path)
    assert (conf.https_host, conf.https_port) == (host, 8092)
    assert (conf.auth_type, conf.enable_conf) == (auth_type, enable_conf)
    assert conf.source == str(path)
    assert warnings_of(caplog) == []


def test_defaults_are_has_defaults_and_http_is_off():
    conf = parse_has_server_conf("")
    assert (conf.https_host, conf.https_port) == ("0.0.0.0", 9871)
    assert (conf.filter_auth_type, conf.auth_type, conf.enable_conf) == ("kerberos", "RAM", False)
    assert not conf.http_enabled


def test_http_only_when_configured_with_has_default_for_the_missing_half():
    conf = parse_has_server_conf("[HAS]\n  http_port = 8091\n")
    assert conf.http_enabled
    assert (conf.http_host, conf.http_port) == ("0.0.0.0", 8091)
    conf = parse_has_server_conf("[HAS]\n  http_host = 127.0.0.2\n")
    assert (conf.http_host, conf.http_port) == ("127.0.0.2", DEFAULT_HTTP_PORT)


def test_unknown_key_and_section_are_warned_with_file_and_line(tmp_path, caplog):
    path = write(
        tmp_path,
        "[HAS]\n  https_host = a\n  htps_port = 8092\n[PLUGINS]\n  auth_type = RAM\n",
    )
    conf = read_has_server_conf(path)
    assert conf.https_port == 9871  # the misspelt key did not count
    assert conf.auth_type == "RAM"  # nor did the misspelt section: HAS's default
    assert warnings_of(caplog) == [
        f"{path}:3: unknown setting 'htps_port' in [HAS] is ignored",
        f"{path}:4: section [PLUGINS] is not used by has-kdc and is ignored "
        "(expected [HAS], [PLUGIN])",
    ]


def test_key_in_the_other_section_is_read_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, "[HAS]\n  auth_type = RAM\n")
    assert read_has_server_conf(path).auth_type == "RAM"
    assert warnings_of(caplog) == [
        f"{path}:2: auth_type belongs under [PLUGIN], found in [HAS]; it is read anyway"
    ]


def test_repeated_key_warns_and_the_last_wins_as_in_has(tmp_path, caplog):
    path = write(tmp_path, "[HAS]\n  https_port = 8092\n  https_port = 8093\n")
    assert read_has_server_conf(path).https_port == 8093
    assert warnings_of(caplog) == [
        f"{path}:3: https_port is given again (first at line 2); the value given last is used"
    ]


def test_value_before_any_section_wins_as_in_has(tmp_path, caplog):
    path = write(tmp_path, "https_port = 8092\n[HAS]\n  https_port = 9000\n")
    assert read_has_server_conf(path).https_port == 8092
    assert warnings_of(caplog) == [
        f"{path}:3: https_port is also set at line 1 before any section header; that value wins"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("https_port = 70000", "https_port = 70000: expected a port number from 1 to 65535"),
        ("https_port = 0", "https_port = 0: expected a port number from 1 to 65535"),
        ("http_port = web", "http_port = web: expected a port number from 1 to 65535"),
        ("enable_conf = maybe", "enable_conf = maybe: expected true or false"),
        ("filter_auth_type = ldap", "filter_auth_type = ldap: expected kerberos or simple"),
        (
            "https_host = emr header",
            "https_host = emr header: 'emr header' is not a host name or IP address",
        ),
        ("realm = HADOOP COM", "realm = HADOOP COM: expected a realm name such as HADOOP.COM"),
        (
            "ssl_cert_file = server.pem",
            "ssl_cert_file is set but ssl_key_file is not; give the "
            "certificate and its key together (PEM files)",
        ),
        ("https_port = {", "https_port: expected one value, found a '{ }' block"),
        ("https_max_connections = 0", "https_max_connections = 0: expected 1 to 100000"),
        (
            "https_max_connections_per_client = many",
            "https_max_connections_per_client = many: expected 1 to 100000",
        ),
        ("https_header_timeout = 2h", "https_header_timeout = 2h: expected 1 to 3600 seconds"),
        ("https_body_timeout = 0", "https_body_timeout = 0: expected 1 to 3600 seconds"),
    ],
)
def test_wrong_values_name_file_line_and_what_is_expected(tmp_path, line, message):
    text = f"[HAS]\n  https_host = emr-header-1\n  {line}\n"
    if line.endswith("{"):
        text += "  }\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        read_has_server_conf(path)
    assert str(err.value) == f"{path}:3: {message}"


def test_https_limits_have_defaults_and_take_durations(tmp_path):
    defaults = read_has_server_conf(write(tmp_path, "[HAS]\n  https_port = 8092\n"))
    assert (
        defaults.https_max_connections,
        defaults.https_max_connections_per_client,
        defaults.https_handshake_timeout,
        defaults.https_header_timeout,
        defaults.https_body_timeout,
    ) == (256, 32, 10, 15, 15)
    text = (
        "[HAS]\n  https_max_connections = 1000\n  https_max_connections_per_client = 4\n"
        "  https_handshake_timeout = 5\n  https_header_timeout = 1m\n  https_body_timeout = 30\n"
    )
    conf = read_has_server_conf(write(tmp_path, text))
    assert (conf.https_max_connections, conf.https_max_connections_per_client) == (1000, 4)
    assert (conf.https_handshake_timeout, conf.https_header_timeout) == (5, 60)
    assert conf.https_body_timeout == 30


def test_plugin_name_with_space_rejected(tmp_path):
    path = write(tmp_path, "[PLUGIN]\n  auth_type = My SQL\n")
    with pytest.raises(ConfigError, match=r":2: auth_type = My SQL: expected a plugin name"):
        read_has_server_conf(path)


def test_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "[HAS]\n  https_host emr-header-1\n")
    with pytest.raises(ConfigError) as err:
        read_has_server_conf(path)
    assert str(err.value).startswith(f"{path}:2: expected 'name = value'")


def test_pem_paths_resolve_against_the_conf_dir(tmp_path):
    path = write(
        tmp_path,
        "[HAS]\n  ssl_cert_file = tls/server.pem\n  ssl_key_file = /etc/has/server.key\n"
        "  ssl_ca_file = tls/ca-root.pem\n  admin_keytab = admin.keytab\n",
    )
    conf = read_has_server_conf(path)
    assert conf.ssl_cert_file == tmp_path / "tls" / "server.pem"
    assert conf.ssl_key_file == Path("/etc/has/server.key")
    assert conf.ssl_ca_file == tmp_path / "tls" / "ca-root.pem"
    assert conf.admin_keytab == tmp_path / "admin.keytab"


def test_ssl_server_conf_next_to_has_server_conf_is_read(tmp_path):
    (tmp_path / "ssl-server.conf").write_text((DOCS / "deploy-https.ssl-server.conf").read_text())
    conf = read_has_server_conf(write(tmp_path, "[HAS]\n  https_port = 8092\n"))
    assert conf.ssl_server_conf == tmp_path / "ssl-server.conf"
    assert conf.ssl_server is not None
    assert conf.ssl_server.keystore_location == tmp_path / "{path to keystore}"
    assert conf.ssl_server.keystore_password == "{keystore password set in step 1}"
    assert conf.ssl_server.truststore_reload_interval_ms == 1000
    assert "keystore password" not in repr(conf)


def test_named_ssl_server_conf_must_exist(tmp_path):
    path = write(tmp_path, "[HAS]\n  ssl_server_conf = /nonexistent/ssl-server.conf\n")
    with pytest.raises(ConfigError) as err:
        read_has_server_conf(path)
    assert str(err.value).startswith(
        f"{path}:2: ssl_server_conf = /nonexistent/ssl-server.conf: /nonexistent/ssl-server.conf "
        "does not exist"
    )


def test_deploy_https_ssl_conf_examples_load():
    server = read_ssl_conf(DOCS / "deploy-https.ssl-server.conf", "server")
    assert (server.keystore_type, server.truststore_type) == ("jks", "jks")
    assert server.truststore_location == DOCS / "{path to trustAll}"
    client = read_ssl_conf(DOCS / "deploy-https.ssl-client.conf", "client")
    assert client.truststore_password == "{trustAll password}"
    assert client.keystore_location is None
    template = read_ssl_conf(DOCS / "ssl-client.conf.template", "client")
    assert template.truststore_location == DOCS / "_location_"


def test_ssl_conf_bad_values(tmp_path):
    path = write(tmp_path, "ssl.server.keystore.type = p12\n", "ssl-server.conf")
    with pytest.raises(ConfigError) as err:
        read_ssl_conf(path, "server")
    assert str(err.value) == (
        f"{path}:1: ssl.server.keystore.type = p12: expected one of jks, jceks, pkcs12, pem"
    )
    path.write_text("ssl.server.truststore.reload.interval = soon\n")
    with pytest.raises(ConfigError, match=r":1: .*expected a reload interval in milliseconds"):
        read_ssl_conf(path, "server")


def test_ssl_client_keys_in_a_server_file_are_warned(tmp_path, caplog):
    path = write(tmp_path, "ssl.client.truststore.location = /t.jks\n", "ssl-server.conf")
    assert read_ssl_conf(path, "server").truststore_location is None
    assert warnings_of(caplog) == [
        f"{path}:1: unknown setting 'ssl.client.truststore.location' in the lines before any "
        "section is ignored"
    ]


# ------------------------------------------------------------------ enable_conf


def test_set_enable_conf_flips_only_that_value_and_keeps_the_mode(tmp_path):
    original = (DOCS / "has-ha-emr-header-1.has-server.conf").read_text()
    path = write(tmp_path, original)
    os.chmod(path, 0o640)
    assert set_enable_conf(path, False) is True
    assert path.read_text() == original.replace("enable_conf = true", "enable_conf = false")
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert read_has_server_conf(path).enable_conf is False
    assert set_enable_conf(path, False) is False
    assert set_enable_conf(path, True) is True
    assert path.read_text() == original


def test_set_enable_conf_adds_the_key_to_has_section(tmp_path):
    path = write(tmp_path, (DOCS / "has-start.has-server.conf").read_text())
    assert set_enable_conf(path, True) is True
    text = path.read_text()
    assert "  filter_auth_type = kerberos\n  enable_conf = true\n" in text
    assert read_has_server_conf(path).enable_conf is True


def test_set_enable_conf_in_a_sectionless_file(tmp_path):
    path = write(tmp_path, "https_host = a\nhttps_port = 8092")
    assert set_enable_conf(path, True) is True
    assert path.read_text() == "https_host = a\nhttps_port = 8092\nenable_conf = true\n"


def test_set_enable_conf_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        set_enable_conf(tmp_path / "nope.conf", True)
