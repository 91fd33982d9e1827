import logging
from pathlib import Path

import pytest

from has_kdc.conf import ConfigError, KdcConfig, parse_profile, read_kdc_conf
from has_kdc.conf.kdc import kdc_config_from_profile

DATA = Path(__file__).parent / "data" / "conf"


def kdc(text: str, source: str = "/etc/has/kdc.conf") -> KdcConfig:
    return kdc_config_from_profile(parse_profile(text, source))


def test_has_test_kdc_conf():
    conf = read_kdc_conf(DATA / "has-server-test" / "kdc.conf")
    assert (conf.kdc_realm, conf.kdc_host) == ("HADOOP.COM", "localhost")
    assert (conf.kdc_udp_port, conf.kdc_tcp_port) == (8866, 8866)
    assert (conf.max_life, conf.max_renewable_life, conf.clock_skew) == (86400, 604800, 300)
    assert conf.supported_enctypes == (18, 17, 20, 19)
    assert conf.source == str(DATA / "has-server-test" / "kdc.conf")


def test_kerby_dist_kdc_conf_warns_about_unknown_key(caplog):
    path = DATA / "kerby-kdc-dist" / "kdc.conf"
    with caplog.at_level(logging.WARNING, logger="has_kdc.conf"):
        conf = read_kdc_conf(path)
    assert conf.kdc_realm == "EXAMPLE.COM"
    assert f"{path}:24: unknown setting 'pkinit_identity' in [kdcdefaults] is ignored" in (
        caplog.text
    )


def test_production_kdc_conf_with_mit_realm_block():
    conf = read_kdc_conf(DATA / "production" / "kdc.conf")
    assert conf.kdc_host == "127.0.1.1"
    assert conf.clock_skew == 300  # "clockskew = 5m", MIT's krb5.conf spelling
    assert conf.max_life == 36000  # "10h 0m 0s"
    assert conf.max_renewable_life == 7 * 86400
    assert conf.supported_enctypes == (18, 17, 20)
    assert conf.master_key_type == 18
    assert conf.data_dir == Path("/var/lib/has")
    assert conf.log_file == Path("/var/log/has/kdc.log")


def test_tcp_only_as_in_has_docs():
    conf = kdc(
        "[kdcdefaults]\n kdc_host = localhost\n kdc_tcp_port = 8015\n kdc_realm = TEST.COM\n"
    )
    assert (conf.kdc_udp_port, conf.kdc_tcp_port) == (None, 8015)


def test_port_rules():
    assert kdc("[kdcdefaults]\n kdc_realm = R\n").kdc_udp_port == 88
    both = kdc("[kdcdefaults]\n kdc_realm = R\n kdc_port = 1088\n")
    assert (both.kdc_udp_port, both.kdc_tcp_port) == (1088, 1088)
    no_udp = kdc("[kdcdefaults]\n kdc_realm = R\n kdc_allow_udp = false\n")
    assert (no_udp.kdc_udp_port, no_udp.kdc_tcp_port) == (None, 88)
    with pytest.raises(ConfigError, match="no KDC listener left"):
        kdc("[kdcdefaults]\n kdc_realm = R\n kdc_allow_udp = no\n kdc_allow_tcp = off\n")


def test_ip_host_accepted():
    assert kdc("[kdcdefaults]\n kdc_realm = R\n kdc_host = 127.0.1.2\n").kdc_host == "127.0.1.2"
    assert kdc("[kdcdefaults]\n kdc_realm = R\n kdc_host = ::1\n").kdc_host == "::1"
    with pytest.raises(ConfigError, match="expected one host name or IP address"):
        kdc("[kdcdefaults]\n kdc_realm = R\n kdc_host = a, b\n")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10h", 36000),
        ("7d", 604800),
        ("1d 2h", 93600),
        ("1d2h30m", 95400),
        ("36000", 36000),
        ("10:00:00", 36000),
        ("10:30", 37800),
        ("1d 10:00:00", 122400),
        ("90m", 5400),
        ("45s", 45),
        ("10h 0m 0s", 36000),
        ("0", 0),
    ],
)
def test_duration_forms(text, seconds):
    assert kdc(f"[kdcdefaults]\n kdc_realm = R\n max_life = {text}\n").max_life == seconds


@pytest.mark.parametrize("text", ["ten hours", "10:75", "-5", "10x", "h", "1.5h", "2h 1d"])
def test_bad_durations(text):
    with pytest.raises(ConfigError) as err:
        kdc(f"[kdcdefaults]\n kdc_realm = R\n\n max_renewable_life = {text}\n")
    assert str(err.value).startswith("/etc/has/kdc.conf:4: max_renewable_life = ")
    assert "expected a duration" in str(err.value) or "below 60" in str(err.value)


def test_clock_skew_both_names():
    assert kdc("[kdcdefaults]\n kdc_realm = R\n clock_skew = 120\n").clock_skew == 120
    assert kdc("[kdcdefaults]\n kdc_realm = R\n clockskew = 2m\n").clock_skew == 120


def test_realm_block_wins_over_kdcdefaults():
    conf = kdc(
        "[kdcdefaults]\n kdc_realm = R\n max_life = 1h\n max_life = 2h\n clockskew = 60\n"
        "[realms]\n R = {\n  max_life = 3h\n }\n OTHER = {\n  max_life = 9h\n }\n"
    )
    assert conf.max_life == 3 * 3600
    assert conf.clock_skew == 60
    first_wins = kdc("[kdcdefaults]\n kdc_realm = R\n max_life = 1h\n max_life = 2h\n")
    assert first_wins.max_life == 3600


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("aes256-cts:normal aes128-cts:normal", (18, 17)),
        ("aes256-cts-hmac-sha384-192,aes128-cts-hmac-sha256-128", (20, 19)),
        ("aes", (18, 17, 20, 19)),
        ("aes-sha2 aes-sha1", (20, 19, 18, 17)),
        ("DEFAULT -aes128-cts-hmac-sha1-96", (18, 20, 19)),
        ("AES256-CTS-HMAC-SHA1-96", (18,)),
    ],
)
def test_enctype_lists(value, expected):
    conf = kdc(f"[kdcdefaults]\n kdc_realm = R\n supported_enctypes = {value}\n")
    assert conf.supported_enctypes == expected


def test_weak_enctypes_dropped_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="has_kdc.conf"):
        conf = kdc(
            "[kdcdefaults]\n kdc_realm = R\n supported_enctypes = des3-cbc-sha1 aes256-cts\n"
        )
    assert conf.supported_enctypes == (18,)
    assert "/etc/has/kdc.conf:3: supported_enctypes: enctype 'des3-cbc-sha1' is not supported" in (
        caplog.text
    )
    with pytest.raises(ConfigError, match="no supported enctype left"):
        kdc("[kdcdefaults]\n kdc_realm = R\n supported_enctypes = rc4-hmac:normal\n")


def test_non_normal_salt_rejected():
    with pytest.raises(ConfigError, match="salt type 'v4'; only 'normal'"):
        kdc("[kdcdefaults]\n kdc_realm = R\n supported_enctypes = aes256-cts:v4\n")


def test_master_key_type():
    assert (
        kdc("[kdcdefaults]\n kdc_realm = R\n master_key_type = aes128-cts\n").master_key_type == 17
    )
    with pytest.raises(ConfigError, match="master_key_type = des3-cbc-sha1: expected one of"):
        kdc("[kdcdefaults]\n kdc_realm = R\n master_key_type = des3-cbc-sha1\n")


def test_relative_paths_resolve_against_conf_dir(tmp_path):
    path = tmp_path / "kdc.conf"
    path.write_text("[kdcdefaults]\n kdc_realm = R\n data_dir = data\n log_file = /var/log/k.log\n")
    conf = read_kdc_conf(path)
    assert conf.data_dir == tmp_path / "data"
    assert conf.log_file == Path("/var/log/k.log")


@pytest.mark.parametrize(
    ("name", "line", "fragment"),
    [
        ("kdc-bad-duration.conf", 4, "max_life = ten hours: expected a duration"),
        ("kdc-bad-port.conf", 4, "kdc_tcp_port = 88000: expected a port number from 1 to 65535"),
        ("kdc-bad-enctype.conf", 3, "supported_enctypes: unknown enctype 'rot13-hmac'"),
    ],
)
def test_bad_files_name_file_and_line(name, line, fragment):
    path = DATA / "bad" / name
    with pytest.raises(ConfigError) as err:
        read_kdc_conf(path)
    assert str(err.value).startswith(f"{path}:{line}: {fragment}")


def test_realm_required():
    path = DATA / "bad" / "kdc-no-realm.conf"
    with pytest.raises(ConfigError) as err:
        read_kdc_conf(path)
    assert str(err.value) == (
        f"{path}: kdc_realm is required: add 'kdc_realm = YOUR.REALM' under [kdcdefaults]"
    )
    with pytest.raises(ConfigError, match="expected a realm name"):
        kdc("[kdcdefaults]\n kdc_realm = HADOOP COM\n")


def test_unknown_section_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="has_kdc.conf"):
        kdc("[kdcdefaults]\n kdc_realm = R\n[logging]\n kdc = FILE:/x\n")
    assert "section [logging] is not used by has-kdc" in caplog.text


def test_kdc_stale_ok_is_a_duration_with_a_default_of_one_hour():
    assert kdc("[kdcdefaults]\n kdc_realm = R\n").stale_ok == 3600
    assert kdc("[kdcdefaults]\n kdc_realm = R\n kdc_stale_ok = 15m\n").stale_ok == 900
    assert kdc("[kdcdefaults]\n kdc_realm = R\n kdc_stale_ok = 0\n").stale_ok == 0
    with pytest.raises(ConfigError, match="kdc_stale_ok = soon"):
        kdc("[kdcdefaults]\n kdc_realm = R\n kdc_stale_ok = soon\n")
