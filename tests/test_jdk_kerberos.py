"""The JDK's own Kerberos against has-kdc, for every AES enctype.

Hadoop (UserGroupInformation) logs in through JAAS's ``Krb5LoginModule`` and talks
to services through JGSS. ``tests/data/jdk/JgssCheck.java``, compiled with the JDK's
``javac``, does the same against a running ``has-server``: a user logs in with a
password and with a keytab, a service logs in from its keytab exported by
``hadmin-local ktadd``, and the two establish a mutually authenticated GSS context and
exchange wrapped messages. Each enctype is forced in the JDK's krb5.conf
(``default_tkt_enctypes``, ``default_tgs_enctypes``, ``permitted_enctypes``), so the
AS and TGS exchanges, the ticket and the session keys all use it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from has_kdc.formats import read_keytab
from tests.hasnode import HasNode

JAVA_SOURCE = Path(__file__).parent / "data" / "jdk" / "JgssCheck.java"
REALM = "HADOOP.COM"
SERVICE = f"host/svc.example@{REALM}"
ENCTYPES = {
    17: "aes128-cts-hmac-sha1-96",
    18: "aes256-cts-hmac-sha1-96",
    19: "aes128-cts-hmac-sha256-128",
    20: "aes256-cts-hmac-sha384-192",
}

# javac and java come from Debian's openjdk-17-jdk-headless, which scripts/bootstrap.sh
# installs: a machine without them fails here rather than skipping the JDK's proof.


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("jdk-classes")
    subprocess.run(
        ["javac", "-d", str(out), str(JAVA_SOURCE)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="module")
def realm(tmp_path_factory):
    """A has-server (KDC) whose principals hold keys of all four AES enctypes."""
    tmp = tmp_path_factory.mktemp("jdk-realm")
    node = HasNode(
        tmp,
        REALM,
        kdc_extra={"supported_enctypes": " ".join(f"{n}:normal" for n in ENCTYPES.values())},
    )
    node.init()
    node.hadmin("addprinc", "-pw", "alice-Secret-1", "alice")
    node.hadmin("addprinc", "-randkey", "bob")
    node.hadmin("addprinc", "-randkey", SERVICE)
    node.hadmin("ktadd", "-k", str(tmp / "bob.keytab"), "bob")
    node.hadmin("ktadd", "-k", str(tmp / "service.keytab"), SERVICE)
    node.start()
    try:
        yield node, tmp
    finally:
        node.stop()


def krb5_conf(path: Path, node: HasNode, enctype: str) -> Path:
    path.write_text(
        "[libdefaults]\n"
        f"  default_realm = {REALM}\n"
        f"  default_tkt_enctypes = {enctype}\n"
        f"  default_tgs_enctypes = {enctype}\n"
        f"  permitted_enctypes = {enctype}\n"
        "  dns_lookup_kdc = false\n"
        "  dns_lookup_realm = false\n"
        "[realms]\n"
        f"  {REALM} = {{\n    kdc = {node.kdc_address()}\n  }}\n"
    )
    return path


@pytest.mark.parametrize("login", ["password", "keytab"])
@pytest.mark.parametrize("etype", sorted(ENCTYPES))
def test_jaas_login_and_jgss_context(compiled, realm, etype, login, tmp_path):
    node, tmp = realm
    conf = krb5_conf(tmp_path / "krb5.conf", node, ENCTYPES[etype])
    if login == "password":
        client, how, stdin = f"alice@{REALM}", ["-password"], "alice-Secret-1\n"
    else:
        client, how, stdin = f"bob@{REALM}", ["-keytab", str(tmp / "bob.keytab")], ""
    proc = subprocess.run(
        [
            "java",
            f"-Djava.security.krb5.conf={conf}",
            "-Dsun.security.krb5.disableReferrals=true",
            "-cp",
            str(compiled),
            "JgssCheck",
            client,
            *how,
            SERVICE,
            str(tmp / "service.keytab"),
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"login {client} tgt krbtgt/{REALM}@{REALM} etype {etype}"
    assert lines[2] == f"context {client} -> {SERVICE}"
    assert lines[-1] == f"OK {etype}"
    assert "alice-Secret-1" not in node.log_text()


def test_a_wrong_password_is_refused_to_the_jdk(compiled, realm, tmp_path):
    node, tmp = realm
    conf = krb5_conf(tmp_path / "krb5.conf", node, ENCTYPES[18])
    proc = subprocess.run(
        [
            "java",
            f"-Djava.security.krb5.conf={conf}",
            "-cp",
            str(compiled),
            "JgssCheck",
            f"alice@{REALM}",
            "-password",
            SERVICE,
            str(tmp / "service.keytab"),
        ],
        input="not-her-password\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "LoginException" in proc.stderr
    assert "Pre-authentication information was invalid (24)" in proc.stderr


def test_jdk_acceptor_with_a_keytab_of_two_kvnos_after_keepold(compiled, realm, tmp_path):
    """After ``cpw -randkey -keepold`` the service's ``ktadd -norandkey`` keytab holds
    kvno 1 and 2 of each enctype; the JDK acceptor, logged in from it, opens the
    kvno-2 ticket the JDK client gets (the kvno-1 key would not decrypt it)."""
    node, _ = realm
    service = f"host/rotated.example@{REALM}"
    keytab = tmp_path / "rotated.keytab"
    node.hadmin("addprinc", "-randkey", service)
    node.hadmin("cpw", "-randkey", "-keepold", service)
    node.hadmin("ktadd", "-k", str(keytab), "-norandkey", service)
    assert {e.kvno for e in read_keytab(keytab).entries} == {1, 2}
    mit = node.mit_client(tmp_path / "mit")  # what the KDC now issues: kvno 2
    mit.kinit("alice", "alice-Secret-1")
    assert f"{service}: kvno = 2" in mit.kvno(service).stdout
    conf = krb5_conf(tmp_path / "krb5.conf", node, ENCTYPES[18])
    proc = subprocess.run(
        [
            "java",
            f"-Djava.security.krb5.conf={conf}",
            "-Dsun.security.krb5.disableReferrals=true",
            "-cp",
            str(compiled),
            "JgssCheck",
            f"alice@{REALM}",
            "-password",
            service,
            str(keytab),
        ],
        input="alice-Secret-1\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[2] == f"context alice@{REALM} -> {service}"
    assert lines[-1] == "OK 18"
