"""No privilege through the plugins: which principal a MySQL or RAM login gets a TGT for.

Each case logs in with the right credentials through `TgtService.login` (plugin,
mapping rule and KDC, over a real SQLite store of an initialized realm) and checks
the ticket or the refusal: administrators (named in has-server.conf, whatever the link
says), the realm's own service names (kadmin, krbtgt), service principals (HTTP/host),
a user principal with keys (unlinked: refused; linked: its TGT), a principal without
keys, and no principal at all. The 403 as an HTTP answer is in tests/test_tgt_https.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from has_kdc.admin import Actor, AdminError, PrincipalAdmin
from has_kdc.backend import PluginUser, Principal
from has_kdc.client.tgt_client import decode_tgt_reply
from has_kdc.conf import load_conf_dir
from has_kdc.plugins import AuthenticatedUser, BadToken
from has_kdc.plugins.mapping import PrincipalNotAllowed, check_principal_mapping
from has_kdc.plugins.mysql import MySqlClientPlugin, MySqlServerPlugin
from has_kdc.plugins.passwords import ScryptParams, hash_password
from has_kdc.plugins.ram import (
    CREDENTIALS_FILE,
    RamClientPlugin,
    RamServerPlugin,
    add_ram_credential,
)
from has_kdc.web import HasService, WebContext
from has_kdc.web.tgt_api import TgtService

REALM = "HADOOP.COM"
FAST = ScryptParams(ln=4, r=8, p=1)
ACTOR = Actor("pytest", "test")
PASSWORD = "Plugin-pw-1"


@dataclass
class Realm:
    conf_dir: Path
    admin: PrincipalAdmin
    tgt: TgtService

    def add_user(self, name: str, *, linked: bool = False) -> None:
        self.admin.backend.put_plugin_user(
            PluginUser(name, hash_password(PASSWORD, params=FAST), linked=linked)
        )

    def add_ram(self, key_id: str, user: str, *, linked: bool = False) -> None:
        add_ram_credential(
            self.conf_dir / CREDENTIALS_FILE, key_id, PASSWORD, user, linked=linked, params=FAST
        )

    def mysql_login(self, user: str) -> str:
        claims = MySqlClientPlugin().make_token(None, {"userName": user, "password": PASSWORD})
        return self._login(MySqlServerPlugin(), claims, (user + PASSWORD).encode())

    def ram_login(self, key_id: str) -> str:
        claims = RamClientPlugin().make_token(
            None, {"AccessKeyId": key_id, "AccessKeySecret": PASSWORD}
        )
        return self._login(RamServerPlugin(), claims, (key_id + PASSWORD).encode())

    def _login(self, plugin: object, claims: dict, passphrase: bytes) -> str:
        issued = self.tgt.login(plugin, claims, 7)  # type: ignore[arg-type]
        creds = decode_tgt_reply({"krbMessage": _b64(issued.as_rep)}, passphrase, nonce=7)
        assert creds.client == issued.principal
        return creds.client


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def realm(tmp_path: Path) -> Iterator[Realm]:
    conf_dir = tmp_path / "conf"
    data_dir = tmp_path / "data"
    conf_dir.mkdir()
    data_dir.mkdir()
    (conf_dir / "kdc.conf").write_text(
        f"[kdcdefaults]\n  kdc_host = 127.0.0.1\n  kdc_realm = {REALM}\n  data_dir = {data_dir}\n"
    )
    (conf_dir / "has-server.conf").write_text(
        "[HAS]\n  https_host = 127.0.0.1\n  https_port = 8092\n"
        f"  admin_keytab_principal = root@{REALM}\n"
        f"  admin_principals = ops@{REALM}, hadmin/admin@{REALM}\n"
        "[PLUGIN]\n  auth_type = MySQL\n"
    )
    service = HasService(conf_dir, load_conf_dir(conf_dir), migrate=True)
    service.init_realm(ACTOR)
    context = WebContext(service)
    admin = PrincipalAdmin(service.backend(), service.conf.kdc, ACTOR)
    try:
        yield Realm(conf_dir, admin, TgtService.for_context(context))
    finally:
        context.close()


# ---------------------------------------------------------------------- allowed


@pytest.mark.parametrize("login", ["mysql", "ram"])
def test_a_user_without_a_principal_gets_its_own_tgt(realm, login):
    if login == "mysql":
        realm.add_user("alice")
        assert realm.mysql_login("alice") == f"alice@{REALM}"
    else:
        realm.add_ram("LTAIalice", "alice")
        assert realm.ram_login("LTAIalice") == f"alice@{REALM}"


@pytest.mark.parametrize("login", ["mysql", "ram"])
def test_a_principal_without_keys_needs_no_link(realm, login):
    realm.admin.backend.add_principal(Principal(f"bob@{REALM}"))  # account state only
    if login == "mysql":
        realm.add_user("bob")
        assert realm.mysql_login("bob") == f"bob@{REALM}"
    else:
        realm.add_ram("LTAIbob", "bob")
        assert realm.ram_login("LTAIbob") == f"bob@{REALM}"


# ---------------------------------------------------------------------- a principal with keys


@pytest.mark.parametrize("login", ["mysql", "ram"])
def test_a_principal_with_keys_only_for_a_linked_user(realm, login):
    realm.admin.add_principal("carol", password="carols-own-password")
    if login == "mysql":
        realm.add_user("carol")
        with pytest.raises(PrincipalNotAllowed, match="has keys of its own"):
            realm.mysql_login("carol")
        realm.admin.plugin_users.modify("carol", linked=True)
        assert realm.mysql_login("carol") == f"carol@{REALM}"
    else:
        realm.add_ram("LTAIcarol", "carol")
        with pytest.raises(PrincipalNotAllowed, match="has keys of its own"):
            realm.ram_login("LTAIcarol")
        realm.add_ram("LTAIcarol", "carol", linked=True)
        assert realm.ram_login("LTAIcarol") == f"carol@{REALM}"


# ---------------------------------------------------------------------- never


@pytest.mark.parametrize("name", ["root", "ops"])
@pytest.mark.parametrize("linked", [False, True])
def test_an_administrator_never_even_linked(realm, name, linked):
    realm.admin.add_principal(name, randkey=True)
    realm.add_user(name, linked=linked)
    with pytest.raises(PrincipalNotAllowed, match="is an administrator"):
        realm.mysql_login(name)
    realm.add_ram(f"LTAI{name}", name, linked=linked)
    with pytest.raises(PrincipalNotAllowed, match="is an administrator"):
        realm.ram_login(f"LTAI{name}")


def test_an_administrator_without_a_principal_yet(realm):
    """ops@REALM is listed as an admin before anyone created it: still refused."""
    realm.add_user("ops")
    with pytest.raises(PrincipalNotAllowed, match="is an administrator"):
        realm.mysql_login("ops")


@pytest.mark.parametrize("name", ["kadmin", "krbtgt"])
def test_the_realms_own_service_names(realm, name):
    realm.add_user(name, linked=True)
    with pytest.raises(PrincipalNotAllowed, match="realm's own services"):
        realm.mysql_login(name)
    realm.add_ram(f"LTAI{name}", name, linked=True)
    with pytest.raises(PrincipalNotAllowed, match="realm's own services"):
        realm.ram_login(f"LTAI{name}")


@pytest.mark.parametrize(
    "name", ["HTTP/127.0.0.1", f"kadmin/{REALM}", f"krbtgt/{REALM}", "hadmin/admin"]
)
def test_service_principals_never(realm, name):
    # A row put in the table by SQL (HAS's way), bypassing hadmin-local's name check:
    realm.add_user(name, linked=True)
    with pytest.raises(BadToken, match="not a plugin user name"):
        realm.mysql_login(name)
    # A RAM pair whose owner is a service: refused once the pair is proven.
    realm.add_ram("LTAIsvc", "placeholder")
    store = realm.conf_dir / CREDENTIALS_FILE
    data = json.loads(store.read_text())
    data["LTAIsvc"]["user"] = name
    data["LTAIsvc"]["linked"] = True
    store.write_text(json.dumps(data))
    with pytest.raises(PrincipalNotAllowed, match="cannot log in"):
        realm.ram_login("LTAIsvc")


def test_the_admin_layer_refuses_service_names_for_plugin_users(realm):
    with pytest.raises(AdminError, match="cannot be a plugin user"):
        realm.admin.plugin_users.add("HTTP/host", hash_password(PASSWORD, params=FAST))


def test_the_rule_for_any_plugin(realm):
    """A third-party plugin's AuthenticatedUser goes through the same rule."""

    def check(principal: str, linked: bool = False) -> None:
        user = AuthenticatedUser(principal, "someone", b"x", linked=linked)
        check_principal_mapping(
            user, realm=REALM, admins=realm.tgt._admins(), lookup=realm.admin.backend.get_principal
        )

    check(f"dave@{REALM}")
    for refused in (
        f"HTTP/host@{REALM}",
        "dave@OTHER.REALM",
        f"kadmin/{REALM}@{REALM}",
        f"root@{REALM}",
        f"hadmin/admin@{REALM}",
    ):
        with pytest.raises(PrincipalNotAllowed):
            check(refused, linked=True)
    realm.admin.add_principal("erin", randkey=True)
    with pytest.raises(PrincipalNotAllowed):
        check(f"erin@{REALM}")
    check(f"erin@{REALM}", linked=True)
