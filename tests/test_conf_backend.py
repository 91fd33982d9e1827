import logging
import shutil
from pathlib import Path

import pytest

from has_kdc.conf import (
    PASSWORD_ENV,
    BackendConfig,
    ConfigError,
    load_conf_dir,
    parse_profile,
    read_backend_conf,
)
from has_kdc.conf.backend import backend_config_from_profile

DATA = Path(__file__).parent / "data" / "conf"
JAVA = "org.apache.kerby.kerberos.kdc.identitybackend."


def backend(text: str, env=None, source="/etc/has/backend.conf", data_dir=Path("/d")):
    profile = parse_profile(text, source, allow_sectionless=True)
    return backend_config_from_profile(profile, data_dir, env or {})


def test_absent_key_means_sqlite_under_data_dir():
    conf = backend("# nothing here\n")
    assert conf.kind == "sqlite"
    assert conf.sqlite_path == Path("/d/has.sqlite")


def test_sqlite_path_relative_to_conf_dir(tmp_path):
    path = tmp_path / "backend.conf"
    path.write_text("kdc_identity_backend = sqlite\nsqlite_path = db/has.db\n")
    assert read_backend_conf(path, Path("/d"), {}).sqlite_path == tmp_path / "db" / "has.db"


def test_has_mysql_backend_conf_as_has_writes_it():
    conf = read_backend_conf(DATA / "has-mysql" / "backend.conf", environ={})
    assert conf.kind == "mysql"
    assert (conf.mysql_host, conf.mysql_port, conf.mysql_database) == (
        "127.0.0.1",
        3306,
        "mysqlbackend",
    )
    assert (conf.mysql_user, conf.mysql_password) == ("root", "passwd")
    assert conf.mysql_create_database is True
    assert conf.mysql_ssl is False
    assert "passwd" not in repr(conf)


@pytest.mark.parametrize("sample", ["has-server-test", "kerby-kdc-dist"])
def test_kerby_json_backend_rejected_with_supported_list(sample):
    path = DATA / sample / "backend.conf"
    with pytest.raises(ConfigError) as err:
        read_backend_conf(path, environ={})
    json_dir = {"has-server-test": "/tmp/test/has/jsonbackend", "kerby-kdc-dist": None}[sample]
    json_dir = json_dir or next(
        line.split("=", 1)[1].strip()
        for line in path.read_text().splitlines()
        if line.startswith("backend.json.dir")
    )
    assert str(err.value) == (
        f"{path}:19: kdc_identity_backend = {JAVA}JsonIdentityBackend: has-kdc does not serve "
        "Kerby's JSON file; import it once, keys kept: 'hadmin-local CONF_DIR import "
        f"{json_dir}/json-backend.json' (after setting kdc_identity_backend = sqlite or mysql "
        "here; see docs/migration.md); supported backends: sqlite (embedded, the default) and "
        f"mysql (also written as {JAVA}MySQLIdentityBackend)"
    )


@pytest.mark.parametrize(
    "name",
    [
        "org.apache.kerby.has.server.kdc.MySQLIdentityBackend",
        "org.apache.hadoop.has.server.kdc.MySQLIdentityBackend",
        f"{JAVA}MySQLIdentityBackend",
    ],
)
def test_every_has_generation_of_the_mysql_class(name):
    """What HAS's ConfigApi wrote before Kerby moved the class (commit 5ca40b24), and
    what the first HAS release (org.apache.hadoop.has) wrote, load as they are."""
    conf = backend(
        f"kdc_identity_backend = {name}\nmysql_driver = org.drizzle.jdbc.DrizzleDriver\n"
        "mysql_url = jdbc:mysql:thin://127.0.0.1:3306/mysqlbackend?createDB=true\n"
        "mysql_user = root\nmysql_password = passwd\n"
    )
    assert (conf.kind, conf.mysql_database, conf.mysql_create_database) == (
        "mysql",
        "mysqlbackend",
        True,
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (f"{JAVA}LdapIdentityBackend", "the Kerby LDAP backend is not supported"),
        (f"{JAVA}ZookeeperIdentityBackend", "the Kerby Zookeeper backend is not supported"),
        (
            "org.apache.kerby.kerberos.kerb.identity.backend.MemoryIdentityBackend",
            "the Kerby Memory backend is not supported",
        ),
        ("oracle", "oracle: unknown backend; supported backends: sqlite"),
    ],
)
def test_other_backends_rejected(value, fragment):
    with pytest.raises(ConfigError) as err:
        backend(f"# c\nkdc_identity_backend = {value}\n")
    assert str(err.value).startswith("/etc/has/backend.conf:2: kdc_identity_backend = ")
    assert fragment in str(err.value)


def test_ldap_sample_file():
    with pytest.raises(ConfigError, match=r"backend-ldap\.conf:1: .*LDAP backend is not supported"):
        read_backend_conf(DATA / "bad" / "backend-ldap.conf", environ={})


@pytest.mark.parametrize(
    ("url", "host", "port", "db", "ssl", "verify"),
    [
        (
            "jdbc:mysql://db1:3307/has?useSSL=false&serverTimezone=UTC",
            "db1",
            3307,
            "has",
            False,
            True,
        ),
        (
            "jdbc:mysql:thin://127.0.0.1:3306/mysqlbackend?createDB=true",
            "127.0.0.1",
            3306,
            "mysqlbackend",
            False,
            True,
        ),
        ("mysql://db.example.com/has", "db.example.com", 3306, "has", False, True),
        ("jdbc:mariadb://[::1]:3306/has", "::1", 3306, "has", False, True),
        ("jdbc:mysql://db/has?useSSL=true", "db", 3306, "has", True, True),
        ("jdbc:mysql://db/has?sslMode=REQUIRED", "db", 3306, "has", True, False),
        ("jdbc:mysql://db/has?sslMode=VERIFY_IDENTITY", "db", 3306, "has", True, True),
    ],
)
def test_mysql_url_forms(url, host, port, db, ssl, verify):
    conf = backend(f"kdc_identity_backend = mysql\nmysql_url = {url}\nmysql_user = has\n")
    assert (conf.mysql_host, conf.mysql_port, conf.mysql_database) == (host, port, db)
    assert (conf.mysql_ssl, conf.mysql_ssl_verify) == (ssl, verify)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://db:5432/has", "expected jdbc:mysql://HOST[:PORT]/DATABASE"),
        ("mysql://db:99999/has", "the port is not a number from 1 to 65535"),
        ("mysql://db/", "expected a database name"),
        ("mysql://db/has;drop", "expected a database name"),
        ("mysql:///has", "no host"),
    ],
)
def test_bad_mysql_urls(url, fragment):
    with pytest.raises(ConfigError) as err:
        backend(f"kdc_identity_backend = mysql\nmysql_user = has\nmysql_url = {url}\n")
    assert str(err.value).startswith(f"/etc/has/backend.conf:3: mysql_url = {url}: ")
    assert fragment in str(err.value)


def test_bad_url_sample_file():
    path = DATA / "bad" / "backend-bad-url.conf"
    with pytest.raises(ConfigError) as err:
        read_backend_conf(path, environ={})
    assert str(err.value).startswith(f"{path}:3: mysql_url = postgresql://db:5432/has: expected")


def test_mysql_required_keys():
    with pytest.raises(ConfigError, match="needs mysql_url"):
        backend("kdc_identity_backend = mysql\nmysql_user = u\n")
    with pytest.raises(ConfigError, match="needs mysql_user"):
        backend("kdc_identity_backend = mysql\nmysql_url = mysql://h/db\n")


def test_password_sources_in_order(tmp_path):
    secret = tmp_path / "mysql.password"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    base = "kdc_identity_backend = mysql\nmysql_url = mysql://h/db\nmysql_user = u\n"
    literal = base + "mysql_password = from-conf\n"
    assert backend(literal).mysql_password == "from-conf"
    assert backend(literal, {PASSWORD_ENV: "from-env"}).mysql_password == "from-env"
    with_file = literal + f"mysql_password_file = {secret}\n"
    assert backend(with_file, {PASSWORD_ENV: "from-env"}).mysql_password == "from-file"
    assert backend(base).mysql_password == ""
    with pytest.raises(ConfigError) as err:
        backend(base + f"mysql_password_file = {tmp_path / 'missing'}\n")
    assert str(err.value).startswith("/etc/has/backend.conf:4: mysql_password_file = ")
    assert "No such file or directory" in str(err.value)


def test_password_never_in_repr_or_errors(tmp_path):
    conf = backend(
        "kdc_identity_backend = mysql\nmysql_url = mysql://h/db\nmysql_user = u\n"
        "mysql_password = s3cr3t-Pw\n"
    )
    assert "s3cr3t-Pw" not in repr(conf)
    assert "s3cr3t-Pw" not in str(conf)
    with pytest.raises(ConfigError) as err:
        backend("kdc_identity_backend = mysql\nmysql_password = s3cr3t-Pw\nmysql_user = u\n")
    assert "s3cr3t-Pw" not in str(err.value)


def test_world_readable_password_warns(tmp_path, caplog):
    path = tmp_path / "backend.conf"
    path.write_text(
        "kdc_identity_backend = mysql\nmysql_url = mysql://h/db\nmysql_user = u\n"
        "mysql_password = s3cr3t-Pw\n"
    )
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="has_kdc.conf"):
        read_backend_conf(path, environ={})
    assert f"{path}:4: mysql_password sits in a file every user can read" in caplog.text
    assert "s3cr3t-Pw" not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="has_kdc.conf"):
        read_backend_conf(path, environ={})
    assert caplog.text == ""


def test_production_backend_with_tls_and_env_password():
    conf = read_backend_conf(DATA / "production" / "backend.conf", environ={PASSWORD_ENV: "pw"})
    assert conf == BackendConfig(
        kind="mysql",
        mysql_host="db.example.com",
        mysql_port=3307,
        mysql_database="has",
        mysql_user="has",
        mysql_password="pw",
        mysql_params={},
        mysql_ssl=True,
        mysql_ssl_ca=Path("/etc/has/mysql-ca.pem"),
        mysql_ssl_verify=True,
    )
    with pytest.raises(ConfigError, match=r"backend\.conf:4: mysql_ssl_verify = maybe: expected"):
        backend(
            "kdc_identity_backend = mysql\nmysql_url = mysql://h/db\nmysql_user = u\n"
            "mysql_ssl_verify = maybe\n"
        )


def test_unknown_key_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="has_kdc.conf"):
        backend("kdc_identity_backend = sqlite\nbackend.json.dir = /tmp/x\nmysql_usr = x\n")
    assert "/etc/has/backend.conf:3: unknown setting 'mysql_usr' is ignored" in caplog.text
    assert "backend.json.dir" not in caplog.text  # HAS's own key, left from a JSON store


def test_load_conf_dir_has_mysql():
    loaded = load_conf_dir(DATA / "has-mysql", environ={})
    assert loaded.kdc.kdc_realm == "HADOOP.COM"
    assert (loaded.kdc.kdc_udp_port, loaded.kdc.kdc_tcp_port) == (88, 88)
    assert loaded.backend.kind == "mysql"


def test_load_conf_dir_without_backend_conf(tmp_path):
    (tmp_path / "kdc.conf").write_text(
        "[kdcdefaults]\n kdc_realm = HADOOP.COM\n data_dir = /srv/has\n"
    )
    loaded = load_conf_dir(tmp_path)
    assert loaded.backend == BackendConfig(kind="sqlite", sqlite_path=Path("/srv/has/has.sqlite"))


def test_load_conf_dir_errors(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_conf_dir(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'kdc.conf'}: not found; it must exist and set kdc_realm under [kdcdefaults]"
    )
    with pytest.raises(ConfigError, match="not a directory"):
        load_conf_dir(tmp_path / "nope")
    # the HAS test conf_dir names the Json backend: the error points at backend.conf
    shutil.copytree(DATA / "has-server-test", tmp_path / "has")
    with pytest.raises(ConfigError) as err:
        load_conf_dir(tmp_path / "has")
    assert str(err.value).startswith(f"{tmp_path / 'has' / 'backend.conf'}:19: ")
