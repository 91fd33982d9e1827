"""playbooks/rotate_keys.yml (has_keytab's rotate and purge) on a running has-server.

The flow of docs/key-rotation.md, step by step, with MIT's tools between the steps:
export (kvno 1), rotate (kvno 2 issued, kvno 1 kept, both in the keytab), purge (kvno 1
gone from the realm and the keytab). No ``kinit -k`` and no ``kvno -k`` fails at any
step; each step's check mode predicts the change and changes nothing; a second run of
each step changes nothing; every change is in the audit trail; no key reaches the output.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from has_kdc.formats import read_keytab
from tests.ansible_env import ansible_env
from tests.hasnode import HasNode
from tests.test_key_rotation import (
    SERVICE,
    fresh_ticket_kvno,
    keytab_kvnos,
    stored_kvnos,
    ticket_kvno,
)

pytestmark = [pytest.mark.mit, pytest.mark.ansible]

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(r"^kdc\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", re.M)
COPIED = re.compile(r"^changed: \[kdc -> app-host\]", re.M)


@pytest.fixture
def node(has_node: HasNode) -> HasNode:
    """conftest's initialized, started node of HADOOP.COM."""
    return has_node


def playbook(tmp: Path, node: HasNode, keytab: Path, step: str, *extra: str) -> tuple[int, str]:
    """rotate_keys.yml on this machine as the one HAS node ``kdc``: (changed, output)."""
    inventory = tmp / "inventory.yml"
    venv = Path(sys.executable).parent.parent
    hosts = {
        "kdc": {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "has_conf_dir": str(node.conf_dir),
            "has_venv": str(venv),
        }
    }
    service_host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {"app-host": service_host},
                    "children": {"has_servers": {"hosts": hosts}},
                }
            }
        )
    )
    copy = {"host": "app-host", "path": str(keytab.with_suffix(".copy"))}
    keytabs = [{"path": str(keytab), "principals": [SERVICE], "copy_to": [copy]}]
    env = ansible_env(tmp, json_results=False)
    proc = subprocess.run(
        [
            str(PLAYBOOK),
            "playbooks/rotate_keys.yml",
            "-i",
            str(inventory),
            "-e",
            json.dumps({"has_rotate_step": step, "has_rotate_keytabs": keytabs}),
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    recap = RECAP.search(proc.stdout)
    assert proc.returncode == 0 and recap and recap[2] == "0", output
    return int(recap[1]), output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rotate_then_purge_with_no_failed_kinit_or_kvno(node: HasNode, tmp_path: Path) -> None:
    node.hadmin("addprinc", "-pw", "alice-pw", "alice")
    node.hadmin("addprinc", "-randkey", SERVICE)
    keytab = tmp_path / "svc.keytab"  # on the HAS node
    copy = keytab.with_suffix(".copy")  # on the service host, copied by the playbook
    svc = node.mit_client(tmp_path / "svc")
    clients = iter(range(100))

    def every_check_passes() -> None:
        """With either keytab: the service's kinit -k, a kvno-1 ticket held from the
        start (until the purge step, which comes after such tickets expired) and a
        ticket asked for now."""
        current, kept = stored_kvnos(node, SERVICE)
        assert (
            keytab_kvnos(svc, copy)
            == keytab_kvnos(svc, keytab)
            == {(kvno, SERVICE) for kvno in kept}
        )
        now = node.mit_client(tmp_path / f"client-{next(clients)}")
        now.kinit("alice", "alice-pw")
        for held in (keytab, copy):
            svc.kinit_keytab(SERVICE, held)
            if kept != {2}:
                assert ticket_kvno(before, "-k", str(held), SERVICE) == 1
            fresh_ticket_kvno(now, current, "-k", str(held), SERVICE)

    changed, out = playbook(tmp_path, node, keytab, "export")
    assert changed == 2 and COPIED.search(out)
    before = node.mit_client(tmp_path / "before")
    before.kinit("alice", "alice-pw")
    every_check_passes()

    # rotate: check mode predicts kvno 2 and changes nothing
    exported = digest(keytab)
    changed, out = playbook(tmp_path, node, keytab, "rotate", "--check", "--diff")
    assert changed == 1 and f"+{SERVICE} kvno 2 aes256-cts-hmac-sha1-96" in out
    assert stored_kvnos(node, SERVICE) == (1, {1}) and digest(keytab) == exported
    changed, out = playbook(tmp_path, node, keytab, "rotate", "--diff")
    assert changed == 2 and f"+{SERVICE} kvno 2 aes256-cts-hmac-sha1-96" in out
    assert stored_kvnos(node, SERVICE) == (2, {1, 2})
    every_check_passes()
    rotated = digest(keytab)
    assert playbook(tmp_path, node, keytab, "rotate")[0] == 0  # kvno 1 still kept: no new kvno
    assert stored_kvnos(node, SERVICE) == (2, {1, 2}) and digest(keytab) == rotated

    # purge: check mode predicts, the run drops kvno 1 from the realm and the keytabs
    changed, out = playbook(tmp_path, node, keytab, "purge", "--check", "--diff")
    assert changed == 1 and f"-{SERVICE} kvno 1 aes256-cts-hmac-sha1-96" in out
    assert stored_kvnos(node, SERVICE) == (2, {1, 2}) and digest(keytab) == rotated
    changed, _ = playbook(tmp_path, node, keytab, "purge")
    assert changed == 2 and stored_kvnos(node, SERVICE) == (2, {2})
    every_check_passes()
    for held in (keytab, copy):
        assert oct(held.stat().st_mode & 0o777) == "0o600"
    assert playbook(tmp_path, node, keytab, "purge")[0] == 0
    assert playbook(tmp_path, node, keytab, "export")[0] == 0

    # the audit trail: who rotated, purged and exported, via the module
    lines = node.hadmin("audit", "-target", f"{SERVICE}*", "-json").stdout.splitlines()
    trail = [(r["action"], r["via"], r["detail"]) for r in map(json.loads, lines)]
    assert [a for a, via, _ in trail if via == "ansible:has_keytab"] == [
        "ktadd",
        "cpw",
        "ktadd",
        "purgekeys",
    ]
    rotation = {"keepold": True, "keys": "random", "kept_kvnos": [1], "kvno": 2}
    assert ("cpw", "ansible:has_keytab", rotation) in trail


def test_no_key_reaches_the_output(node: HasNode, tmp_path: Path) -> None:
    node.hadmin("addprinc", "-randkey", SERVICE)
    keytab = tmp_path / "svc.keytab"
    outputs = [playbook(tmp_path, node, keytab, "rotate", "--diff", "-vvv")[1]]
    outputs.append(playbook(tmp_path, node, keytab, "purge", "--diff", "-vvv")[1])
    keys = [e.key for e in read_keytab(keytab).entries]
    assert keys
    for out in outputs:
        for key in keys:
            assert key.hex() not in out.lower()
