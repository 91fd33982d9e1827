"""The has_trust module: trust principals keyed as MIT kadmin keys them, idempotent,
check mode and diff without the shared password (docs/cross-realm.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.formats import read_keytab
from tests.hasnode import HasNode
from tests.mitkrb import MitRealm
from tests.test_audit import run_module

pytestmark = pytest.mark.ansible

REALM = "HADOOP.COM"
OTHER = "CORP.EXAMPLE"
SHARED = "Shared-trust-Pw-9"


def current_keys(node: HasNode, name: str) -> set[tuple[int, int, bytes]] | None:
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        principal = backend.get_principal(name)
    if principal is None:
        return None
    return {(k.kvno, k.enctype, k.key) for k in principal.keys}


def test_has_trust_keys_both_principals_as_mit_kadmin_and_is_idempotent(tmp_path: Path) -> None:
    node = HasNode(tmp_path / "node", REALM)
    node.init()
    args = {"conf_dir": str(node.conf_dir), "realm": OTHER, "password": SHARED}
    incoming, outgoing = f"krbtgt/{REALM}@{OTHER}", f"krbtgt/{OTHER}@{REALM}"

    first = run_module("has_trust", args)
    assert first["changed"] is True
    assert first["changed_principals"] == [incoming, outgoing]
    assert SHARED not in json.dumps(first)

    # the same keys MIT's kadmin derives from the same password and enctypes
    mit = MitRealm(tmp_path / "mit", OTHER)
    mit.create()
    for name in (incoming, outgoing):
        mit.kadmin(
            "addprinc -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal "
            f"-pw {SHARED} {name}"
        )
        mit.ktadd(tmp_path / "mit.kt", name)
        theirs = {
            (e.kvno, e.enctype, e.key)
            for e in read_keytab(tmp_path / "mit.kt").entries
            if "/".join(e.principal.components) + "@" + e.principal.realm == name
        }
        assert current_keys(node, name) == theirs

    again = run_module("has_trust", args)
    assert again["changed"] is False and again["changed_principals"] == []

    # a new shared password: check mode predicts the re-key and changes nothing
    before = current_keys(node, incoming)
    new = dict(args, password="Rotated-trust-Pw-10", direction="incoming")
    predicted = run_module("has_trust", new, None, "--check", "--diff")
    assert predicted["changed"] is True and predicted["changed_principals"] == [incoming]
    assert "Rotated-trust-Pw-10" not in json.dumps(predicted)
    assert current_keys(node, incoming) == before
    rotated = run_module("has_trust", new)
    assert rotated["changed"] is True
    assert {kvno for kvno, _, _ in current_keys(node, incoming)} == {2}
    assert run_module("has_trust", new)["changed"] is False

    gone = run_module("has_trust", dict(args, state="absent", direction="outgoing"))
    assert gone["changed_principals"] == [outgoing]
    assert current_keys(node, outgoing) is None and current_keys(node, incoming) is not None


def test_has_trust_refuses_bad_input_naming_the_field(tmp_path: Path) -> None:
    node = HasNode(tmp_path / "node", REALM)
    node.init()
    args = {"conf_dir": str(node.conf_dir), "realm": OTHER, "password": SHARED}
    own = run_module("has_trust", dict(args, realm=REALM))
    assert own["msg"] == "realm: 'HADOOP.COM' is not another realm's name"
    bad = run_module("has_trust", dict(args, enctypes=["des-cbc-crc"]))
    assert bad["msg"].startswith("enctypes:")
    missing = run_module("has_trust", {"conf_dir": str(node.conf_dir), "realm": OTHER})
    assert "password" in missing["msg"]
