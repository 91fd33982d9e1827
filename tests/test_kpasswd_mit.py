"""MIT ``kpasswd`` against a real has-server on port 464, with password policies.

Everything runs as an operator and a user would: ``kdcinit init``, ``hadmin-local
addpol/modprinc -policy``, ``has-server --daemon`` (which serves kpasswd on UDP and
TCP 464 beside the KDC), and MIT krb5 1.20's ``kpasswd`` with a krb5.conf naming
``kpasswd_server`` (MIT 1.20 sends over TCP first and falls back to UDP only when
TCP is unreachable; tests/test_kpasswd_wire.py drives UDP). What kpasswd prints is
asserted exactly: a refused change shows the policy's words as MIT's kadmind sends
them (chpass_util_strings.et).

One node serves the module; each test makes its own principals. The tests run as
root in a private network namespace (port 464 needs it).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hasnode import HasNode
from tests.mitkrb import MitClient, find_tool

REALM = "KPASSWD.TEST"
HOST = "127.0.0.1"

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/kpasswd").exists(), reason="MIT kpasswd (krb5-user) is not installed"
)

TOO_SHORT = (
    "Password change rejected: New password is too short.\n"
    "Please choose a password which is at least 12 characters long."
)
TOO_FEW_CLASSES = (
    "Password change rejected: New password does not have enough character classes.\n"
    "The character classes are:\n"
    "\t- lower-case letters,\n"
    "\t- upper-case letters,\n"
    "\t- digits,\n"
    "\t- punctuation, and\n"
    "\t- all other characters (e.g., control characters).\n"
    "Please choose a password with at least 3 character classes."
)
REUSED = (
    "Password change rejected: "
    "New password was used previously. Please choose a different password."
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HasNode]:
    tmp = tmp_path_factory.mktemp("kpasswd")
    server = HasNode(tmp, REALM, HOST)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(node: HasNode, tmp: Path) -> MitClient:
    mit = node.mit_client(tmp)
    text = mit.krb5_conf.read_text()
    line = f"        kdc = {node.kdc_address()}\n"
    mit.krb5_conf.write_text(text.replace(line, line + f"        kpasswd_server = {HOST}:464\n"))
    return mit


def kpasswd(mit: MitClient, name: str, old: str, new: str, *, again: str | None = None):
    """MIT kpasswd, the three passwords on standard input as a user types them."""
    answers = f"{old}\n{new}\n{again if again is not None else new}\n"
    return mit.run("kpasswd", f"{name}@{REALM}", input=answers, check=False)


def kinit_new(mit: MitClient, name: str, password: str) -> None:
    """kinit with a password just set: the KDC's principal cache takes up to a change
    poll (about a second) to see it, so a refusal is tried again for a few seconds."""
    deadline = time.monotonic() + 10
    while True:
        done = mit.kinit(f"{name}@{REALM}", password, check=False)
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert done.returncode == 0, done.stderr


def user(node: HasNode, prefix: str, password: str, *options: str) -> str:
    name = f"{prefix}{secrets.token_hex(3)}"
    node.hadmin("addprinc", "-pw", password, *options, name)
    return name


def audit(node: HasNode, name: str) -> list[dict[str, object]]:
    out = node.hadmin("audit", "-target", f"{name}@{REALM}", "-json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_kpasswd_changes_the_password(node: HasNode, tmp_path: Path) -> None:
    mit = client(node, tmp_path)
    name = user(node, "alice", "Old-secret-1")
    done = kpasswd(mit, name, "Old-secret-1", "New-secret-2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "Password changed."
    kinit_new(mit, name, "New-secret-2")
    refused = mit.kinit(f"{name}@{REALM}", "Old-secret-1", check=False)
    assert refused.returncode != 0
    records = [r for r in audit(node, name) if r["action"] == "kpasswd"]
    assert len(records) == 1
    record = records[0]
    assert record["via"] == "kpasswd" and record["actor"] == f"{name}@{REALM}"
    assert record["result"] == "success"
    assert "New-secret-2" not in json.dumps(record) and "Old-secret-1" not in json.dumps(record)


def test_wrong_old_password_is_refused_by_the_kdc(node: HasNode, tmp_path: Path) -> None:
    mit = client(node, tmp_path)
    name = user(node, "wrong", "Old-secret-1")
    refused = kpasswd(mit, name, "not-it", "New-secret-2")
    assert refused.returncode != 0
    assert refused.stderr.endswith("Preauthentication failed getting initial ticket\n")
    mit.kinit(f"{name}@{REALM}", "Old-secret-1")


def test_policy_length_and_classes_shown_to_the_user(node: HasNode, tmp_path: Path) -> None:
    mit = client(node, tmp_path)
    node.hadmin("addpol", "-minlength", "12", "-minclasses", "3", "strict")
    name = user(node, "bob", "Old-secret-1", "-policy", "strict")
    assert "Policy: strict" in node.hadmin("getprinc", name).stdout

    short = kpasswd(mit, name, "Old-secret-1", "Sh0rt-pw")
    assert short.returncode != 0
    assert TOO_SHORT in short.stdout, short.stdout

    simple = kpasswd(mit, name, "Old-secret-1", "alllowercaseletters")
    assert simple.returncode != 0
    assert TOO_FEW_CLASSES in simple.stdout, simple.stdout

    good = kpasswd(mit, name, "Old-secret-1", "Long-enough-pw-1")
    assert good.returncode == 0, good.stdout + good.stderr
    kinit_new(mit, name, "Long-enough-pw-1")

    failures = [r for r in audit(node, name) if r["result"] == "failure"]
    assert [r["action"] for r in failures] == ["kpasswd", "kpasswd"]
    assert all("Sh0rt-pw" not in json.dumps(r) for r in failures)


def test_history_refuses_an_earlier_password(node: HasNode, tmp_path: Path) -> None:
    mit = client(node, tmp_path)
    node.hadmin("addpol", "-history", "3", "remember3")
    name = user(node, "carol", "First-secret-1", "-policy", "remember3")
    assert kpasswd(mit, name, "First-secret-1", "Second-secret-2").returncode == 0
    kinit_new(mit, name, "Second-secret-2")
    again = kpasswd(mit, name, "Second-secret-2", "First-secret-1")
    assert again.returncode != 0
    assert REUSED in again.stdout, again.stdout
    same = kpasswd(mit, name, "Second-secret-2", "Second-secret-2")
    assert REUSED in same.stdout, same.stdout
    assert kpasswd(mit, name, "Second-secret-2", "Third-secret-3").returncode == 0


def test_minimum_life_binds_the_user_not_the_admin(node: HasNode, tmp_path: Path) -> None:
    mit = client(node, tmp_path)
    node.hadmin("addpol", "-minlife", "1h", "slow")
    name = user(node, "dave", "First-secret-1", "-policy", "slow")
    soon = kpasswd(mit, name, "First-secret-1", "Second-secret-2")
    assert soon.returncode != 0
    assert (
        "Password change rejected: Password cannot be changed because it was changed too "
        "recently.\nPlease wait until " in soon.stdout
    ), soon.stdout
    node.hadmin("cpw", "-pw", "Admin-set-pw-3", name)
    kinit_new(mit, name, "Admin-set-pw-3")


def test_admin_paths_enforce_the_same_policy(node: HasNode) -> None:
    node.hadmin("addpol", "-minlength", "10", "admins")
    refused = node.hadmin("addprinc", "-pw", "short", "-policy", "admins", "erin", check=False)
    assert refused.returncode != 0
    assert "New password is too short." in refused.stderr
    assert "erin@" not in node.hadmin("listprincs").stdout
    name = user(node, "erin", "Long-enough-1", "-policy", "admins")
    refused = node.hadmin("cpw", "-pw", "short", name, check=False)
    assert refused.returncode != 0 and "at least 10 characters" in refused.stderr


def test_policies_listed_shown_changed_deleted(node: HasNode) -> None:
    node.hadmin("addpol", "-maxlife", "90d", "-minlength", "8", "-minclasses", "2", "listed")
    assert "listed" in node.hadmin("listpols").stdout.split()
    shown = node.hadmin("getpol", "listed").stdout
    assert "Policy: listed\nMaximum password life: 90 days 00:00:00\n" in shown
    assert "Minimum password length: 8\nMinimum number of password character classes: 2\n" in shown
    node.hadmin("modpol", "-minlength", "9", "listed")
    assert "Minimum password length: 9" in node.hadmin("getpol", "listed").stdout
    bad = node.hadmin("modpol", "-minclasses", "6", "listed", check=False)
    assert bad.returncode != 0 and "character classes" in bad.stderr
    node.hadmin("delpol", "-force", "listed")
    assert "listed" not in node.hadmin("listpols").stdout.split()


def test_max_life_sets_the_password_expiry(node: HasNode, tmp_path: Path) -> None:
    mit = client(node, tmp_path)
    node.hadmin("addpol", "-maxlife", "30d", "expiring")
    name = user(node, "frank", "First-secret-1", "-policy", "expiring")
    assert "Password expiration date: [never]" not in node.hadmin("getprinc", name).stdout
    assert kpasswd(mit, name, "First-secret-1", "Second-secret-2").returncode == 0
    assert "Password expiration date: [never]" not in node.hadmin("getprinc", name).stdout


def test_kpasswd_tool_is_mit(tmp_path: Path) -> None:
    assert find_tool("kpasswd") == "/usr/bin/kpasswd"
