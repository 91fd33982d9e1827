"""One password policy, every way in: the Ansible module and the REST API refuse what
hadmin-local and kpasswd refuse (tests/test_kpasswd_mit.py), in the same words, and
record the refusal once in the audit trail without the password.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from has_kdc.admin import Actor, AdminError, PrincipalAdmin
from has_kdc.admin.policy import PasswordRejected, character_classes, check_new_password
from has_kdc.backend import PasswordPolicy, Principal, open_backend
from has_kdc.backend.model import AuditQuery
from has_kdc.conf import load_conf_dir
from tests.hasnode import HasNode
from tests.test_audit import ADMIN, ADMIN_JSON, last_id, make_node, new_records, run_module

REALM = "HADOOP.COM"


@pytest.mark.parametrize(
    ("password", "classes"),
    [("abc", 1), ("abcD", 2), ("ab1D", 3), ("ab1D!", 4), ("ab1D!é", 5), ("a b", 2), ("\t1", 2)],
)
def test_character_classes_as_mit_counts_them(password: str, classes: int) -> None:
    assert character_classes(password) == classes


def test_check_order_and_bounds() -> None:
    policy = PasswordPolicy("p", min_length=8, min_classes=3, min_life=3600)
    principal = Principal(f"a@{REALM}", last_pwd_change=1_000_000)
    with pytest.raises(PasswordRejected) as early:
        check_new_password(policy, principal, "x", own_change=True, now=1_000_010)
    assert early.value.reason == "TOOSOON"
    check_new_password(policy, principal, "Long-enough-1", own_change=False, now=1_000_010)
    with pytest.raises(PasswordRejected, match="at least 8 characters"):
        check_new_password(policy, None, "Sh0rt!")
    with pytest.raises(AdminError, match="empty"):
        check_new_password(None, None, "")
    with pytest.raises(AdminError, match="longer than 1024 bytes"):
        check_new_password(None, None, "x" * 1025)


@pytest.mark.ansible
def test_ansible_module_is_refused_by_the_policy(tmp_path: Path) -> None:
    node = HasNode(tmp_path / "node", REALM)
    node.init()
    node.hadmin("addpol", "-minlength", "14", "ansible-users")
    conf = str(node.conf_dir)
    refused = run_module(
        "has_principal",
        {
            "conf_dir": conf,
            "name": "ann",
            "password": "Short-pw-1",
            "attributes": {"policy": "ansible-users"},
        },
    )
    assert refused["changed"] is False
    assert "New password is too short." in refused["msg"]
    assert "at least 14 characters" in refused["msg"]
    assert "Short-pw-1" not in json.dumps(refused)
    node.hadmin("addprinc", "-pw", "Long-enough-pw-1", "-policy", "ansible-users", "ann")
    refused = run_module(
        "has_principal",
        {"conf_dir": conf, "name": "ann", "password": "Short-pw-2", "update_password": "always"},
    )
    assert refused["changed"] is False and "at least 14 characters" in refused["msg"]
    assert "Short-pw-2" not in json.dumps(refused)
    conf_dir = load_conf_dir(node.conf_dir)
    with open_backend(conf_dir.backend) as backend:
        admin = PrincipalAdmin(backend, conf_dir.kdc, Actor("test", "test"))
        records = admin.audit.records(AuditQuery(target=f"ann@{REALM}", result="failure"))
        assert [r.via for r in records] == ["ansible:has_principal"] * 2
        assert not any("Short-pw" in r.detail for r in records)


def test_rest_api_is_refused_by_the_policy(tmp_path: Path) -> None:
    web = make_node(tmp_path)
    try:
        status, _h, _body = web.raw("PUT", "/has/v1/kdcinit", None, {"X-Test-Principal": ADMIN})
        assert status == 200
        conf_dir = load_conf_dir(web.conf_dir)
        with open_backend(conf_dir.backend) as backend:
            PrincipalAdmin(backend, conf_dir.kdc, Actor("test", "test")).policies.add(
                "rest-users", min_length=12, min_classes=2
            )

        def call(path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
            data = json.dumps(body).encode()
            status, _h, answer = web.raw("POST", f"/has/v1/admin/{path}", data, ADMIN_JSON)
            return status, json.loads(answer)

        before = last_id(web.conf_dir)
        status, answer = call(
            "addprincipal", {"principal": "rita", "password": "tiny-Q9", "policy": "rest-users"}
        )
        assert status == 400 and "at least 12 characters" in answer["detail"]
        status, _answer = call(
            "addprincipal",
            {"principal": "rita", "password": "Long-enough-pw", "policy": "rest-users"},
        )
        assert status == 200
        status, answer = call("changepassword", {"principal": "rita", "password": "alllowercase1"})
        assert status == 200  # two classes: lower case and digits
        status, answer = call(
            "changepassword", {"principal": "rita", "password": "zzzqqqlowercase"}
        )
        assert status == 400 and "at least 2 character classes" in answer["detail"]
        status, _answer = call("modifyprincipal", {"principal": "rita", "clearpolicy": True})
        assert status == 200
        status, _answer = call("changepassword", {"principal": "rita", "password": "x"})
        assert status == 200
        records = new_records(web.conf_dir, before)
        assert [(r.action, r.result) for r in records] == [
            ("addprinc", "failure"),
            ("addprinc", "success"),
            ("cpw", "success"),
            ("cpw", "failure"),
            ("modprinc", "success"),
            ("cpw", "success"),
        ]
        leaks = [
            r.detail for r in records if "tiny-Q9" in r.detail or "zzzqqqlowercase" in r.detail
        ]
        assert not leaks, leaks
    finally:
        web.thread.stop()
