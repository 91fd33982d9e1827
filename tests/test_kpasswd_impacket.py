"""impacket's RFC 3244 client (``impacket.krb5.kpasswd``) against has-server's kpasswd.

impacket builds its requests itself and always uses the set-password form (version
0xff80, ChangePasswdData), with a target for set-password and without one for a
change of its own password: the form MIT's ``kpasswd`` never sends. It logs in on
port 88 only, so the node takes port 88 of a spare loopback address, as in
tests/test_interop_impacket.py (root in the test's network namespace).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from impacket.krb5.keytab import Keytab
from impacket.krb5.kpasswd import KPasswdError, changePassword, setPassword

from has_kdc.admin import Actor, PrincipalAdmin
from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.crypto import enctype_by_id
from tests.hasnode import HasNode
from tests.test_interop_impacket import loopback_with_port_88

REALM = "HADOOP.COM"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HasNode]:
    tmp = tmp_path_factory.mktemp("kpasswd-impacket")
    host = loopback_with_port_88(random.randrange(1, 255))
    server = HasNode(tmp / "has", REALM, host=host, port=88)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def password_is(node: HasNode, name: str, password: str) -> bool:
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        principal = PrincipalAdmin(backend, conf.kdc, Actor("test", "test")).get_principal(name)
    key = next(k for k in principal.keys if k.enctype == 18)
    return key.key == enctype_by_id(18).string_to_key(password.encode(), key.salt, key.s2kparams)


def test_change_own_password_with_the_set_password_form(node: HasNode) -> None:
    node.hadmin("addprinc", "-pw", "Imp-old-pw-1", "imp-alice")
    changePassword(
        "imp-alice",
        REALM,
        "Imp-new-pw-2",
        oldPasswd="Imp-old-pw-1",
        kdcHost=node.host,
        kpasswdHost=node.host,
    )
    assert password_is(node, "imp-alice", "Imp-new-pw-2")


def test_set_password_of_another_user_is_denied_to_a_user(node: HasNode) -> None:
    node.hadmin("addprinc", "-pw", "Imp-old-pw-1", "imp-bob")
    node.hadmin("addprinc", "-pw", "Imp-old-pw-1", "imp-carol")
    with pytest.raises(KPasswdError, match="Unauthorized request"):
        setPassword(
            "imp-bob",
            REALM,
            "imp-carol",
            REALM,
            "Imp-set-pw-3",
            oldPasswd="Imp-old-pw-1",
            kdcHost=node.host,
            kpasswdHost=node.host,
        )
    assert password_is(node, "imp-carol", "Imp-old-pw-1")


def test_administrator_sets_another_users_password(node: HasNode, tmp_path: Path) -> None:
    node.hadmin("addprinc", "-pw", "Imp-old-pw-1", "imp-dave")
    keytab = tmp_path / "admin.keytab"
    node.hadmin("ktadd", "-k", str(keytab), "-norandkey", f"kadmin/{REALM}")
    block = Keytab.loadFile(str(keytab)).getKey(f"kadmin/{REALM}@{REALM}", specificEncType=18)
    aes_key = bytes(block["keyvalue"]["data"]).hex()
    setPassword(
        f"kadmin/{REALM}",
        REALM,
        "imp-dave",
        REALM,
        "Imp-set-pw-4",
        aesKey=aes_key,
        kdcHost=node.host,
        kpasswdHost=node.host,
    )
    assert password_is(node, "imp-dave", "Imp-set-pw-4")


def test_policy_refusal_reaches_impacket(node: HasNode) -> None:
    node.hadmin("addpol", "-minlength", "16", "imp-long")
    node.hadmin("addprinc", "-pw", "Imp-old-password-1", "-policy", "imp-long", "imp-erin")
    with pytest.raises(KPasswdError, match="at least 16 characters"):
        changePassword(
            "imp-erin",
            REALM,
            "Short-pw-2",
            oldPasswd="Imp-old-password-1",
            kdcHost=node.host,
            kpasswdHost=node.host,
        )
    assert password_is(node, "imp-erin", "Imp-old-password-1")
