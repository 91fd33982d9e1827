"""The modules of library/ as code: each run in this process with its arguments as a
dict, against an SQLite conf_dir under tmp_path — no playbook, no host, no ansible
command. What a module decides (created, kept, re-keyed, predicted in check mode, shown
in the diff) is proved here in milliseconds; molecule proves the roles converge with
them, and tests/test_ansible_local.py what only a real run's output can show.

Every module's documentation is read as ``ansible-doc -M library`` reads it (the doc
fragments of doc_fragments/ merged in) and must name exactly the options the module
takes.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn
from unittest import mock

import ansible.module_utils
import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from has_kdc.admin import is_initialized
from has_kdc.backend import IdentityBackend, open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.formats import read_keytab
from has_kdc.plugins.passwords import verify_password
from tests.ansible_env import ansible_env
from tests.hasnode import HasNode

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "library"
MODULES = sorted(p.stem for p in LIBRARY.glob("has_*.py"))
REALM = "HADOOP.COM"

# ``from ansible.module_utils.has_kdc_module import ...`` in this process, as AnsiballZ
# makes it work on a target.
if str(REPO / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(REPO / "module_utils"))


class ModuleExit(Exception):
    """exit_json or fail_json: the result the module would print."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result.get("msg", ""))
        self.result = result


def _exit_json(_module: AnsibleModule, **result: Any) -> NoReturn:
    raise ModuleExit({"failed": False, **result})


def _fail_json(_module: AnsibleModule, msg: str, **result: Any) -> NoReturn:
    raise ModuleExit({**result, "failed": True, "msg": msg})


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"library_{name}", LIBRARY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, args: dict[str, Any], *, check: bool = False, ok: bool = True) -> dict:
    """One run of library/<name>.py with ``args`` (``--diff`` on); its result."""
    params = {
        **args,
        "_ansible_check_mode": check,
        "_ansible_diff": True,
        "_ansible_module_name": name,
    }
    with (
        patch_module_args(params),
        mock.patch.object(AnsibleModule, "exit_json", _exit_json),
        mock.patch.object(AnsibleModule, "fail_json", _fail_json),
        pytest.raises(ModuleExit) as exited,
    ):
        load(name).main()
    result = exited.value.result
    if ok:
        assert not result["failed"], f"{name} failed: {result['msg']}"
    return result


def tree(root: Path) -> list[str]:
    """Every file under ``root`` with its mode and mtime: what check mode may not change."""
    return [
        f"{p.relative_to(root)} {oct(p.stat().st_mode)} {p.stat().st_mtime_ns}"
        for p in sorted(root.rglob("*"))
    ]


@pytest.fixture
def node(tmp_path: Path) -> HasNode:
    """A HAS node's conf_dir (kdc.conf, backend.conf on SQLite), realm not initialized."""
    return HasNode(tmp_path / "has", REALM)


@pytest.fixture
def conf_dir(node: HasNode) -> Path:
    return Path(node.conf_dir)


@pytest.fixture
def realm(conf_dir: Path, tmp_path: Path) -> Path:
    """``conf_dir`` after has_realm_init: the realm initialized, admin.keytab written."""
    run("has_realm_init", {"conf_dir": str(conf_dir), "admin_keytab": str(tmp_path / "a.kt")})
    return conf_dir


@pytest.fixture
def store(realm: Path) -> Iterator[IdentityBackend]:
    backend = open_backend(load_conf_dir(realm).backend)
    try:
        yield backend
    finally:
        backend.close()


# ---------------------------------------------------------------------- documentation


def argument_spec(name: str) -> dict[str, Any]:
    """The options ``name`` declares, caught as it constructs its AnsibleModule."""

    def capture(_self: AnsibleModule, argument_spec: dict[str, Any], **_kw: Any) -> NoReturn:
        raise ModuleExit({"argument_spec": argument_spec})

    with (
        patch_module_args({}),
        mock.patch.object(AnsibleModule, "__init__", capture),
        pytest.raises(ModuleExit) as caught,
    ):
        load(name).main()
    return caught.value.result["argument_spec"]


def test_every_module_documents_exactly_its_options_with_the_shared_fragments() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-M", "library", "--json", *MODULES],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == MODULES, proc.stderr
    for name, entry in docs.items():
        doc = entry["doc"]
        assert entry["examples"] and entry["return"], f"{name}: EXAMPLES or RETURN missing"
        assert set(doc["options"]) == set(argument_spec(name)), name
        assert {"check_mode", "diff_mode"} <= set(doc["attributes"]), name
        assert doc["attributes"]["check_mode"]["support"] == "full", name
    # the fragments are what carries the shared text
    assert "has_kdc_missing=true" in " ".join(docs["has_principal"]["doc"]["notes"])
    assert docs["has_keytab_file"]["doc"]["options"]["owner"]["description"]
    assert docs["has_client_config"]["doc"]["options"]["conf_dir"]["required"] is False
    assert docs["has_galera_node"]["doc"]["attributes"]["diff_mode"]["support"] == "none"
    assert "changed=false" in " ".join(docs["has_galera_plan"]["doc"]["notes"])


# ---------------------------------------------------------------------- has_realm_init


def test_realm_init_predicts_then_initializes_once_and_keeps_the_keytab(
    conf_dir: Path, tmp_path: Path
) -> None:
    keytab = tmp_path / "admin.keytab"
    args = {"conf_dir": str(conf_dir), "admin_keytab": str(keytab)}
    store_file = load_conf_dir(conf_dir).backend.sqlite_path
    assert store_file is not None and not store_file.exists()
    before = tree(conf_dir)
    predicted = run("has_realm_init", args, check=True)
    assert predicted["changed"] and predicted["created"]
    assert tree(conf_dir) == before and not keytab.exists(), "check mode wrote a file"
    assert not store_file.exists(), "check mode created the store"
    backend = open_backend(load_conf_dir(conf_dir).backend)
    try:
        assert not is_initialized(backend), "check mode initialized the realm"
    finally:
        backend.close()

    first = run("has_realm_init", args)
    assert first["changed"] and first["created"]
    assert keytab.stat().st_mode & 0o777 == 0o600
    entries = read_keytab(keytab).entries
    assert {"/".join(e.components) for e in entries} == {f"kadmin/{REALM}"}
    again = run("has_realm_init", args)
    assert not again["changed"] and not again["created"]
    assert again["admin_keytab_sha256"] == first["admin_keytab_sha256"]

    keytab.unlink()  # a lost keytab comes back with the same keys, not new ones
    restored = run("has_realm_init", args)
    assert restored["changed"] and not restored["created"]
    assert restored["admin_keytab_sha256"] == first["admin_keytab_sha256"]
    shown = json.dumps([predicted, first, restored])
    for entry in entries:
        assert entry.key.hex() not in shown
        assert base64.b64encode(entry.key).decode() not in shown


# ---------------------------------------------------------------------- has_principal


def test_principal_created_kept_and_rekeyed_only_for_a_new_password(
    realm: Path, store: IdentityBackend
) -> None:
    name = f"alice@{REALM}"
    args = {"conf_dir": str(realm), "name": "alice", "password": "Alice-pw-1"}
    assert run("has_principal", args, check=True)["changed"]
    assert store.get_principal(name) is None, "check mode created the principal"
    created = run("has_principal", args)
    assert created["created"] and created["kvno"] == 1 and created["password_changed"]
    assert not run("has_principal", args)["changed"]

    always = {**args, "update_password": "always"}
    assert not run("has_principal", always)["changed"], "re-keyed for the same password"
    new = {**always, "password": "Alice-pw-2"}
    predicted = run("has_principal", new, check=True)
    assert predicted["password_changed"] and predicted["kvno"] == 2
    current = store.get_principal(name)
    assert current is not None and current.kvno == 1, "check mode re-keyed"
    rekeyed = run("has_principal", new)
    assert rekeyed["changed"] and rekeyed["kvno"] == 2
    assert not run("has_principal", new)["changed"]
    assert "Alice-pw" not in json.dumps([created, predicted, rekeyed])


def test_principal_attributes_and_absence(realm: Path, store: IdentityBackend) -> None:
    args = {"conf_dir": str(realm), "name": "svc/app.example.com"}
    run("has_principal", args)
    locked = {**args, "attributes": {"disabled": True, "max_life": "10h"}}
    changed = run("has_principal", locked)
    assert changed["changed_attributes"] == ["disabled", "max_life"]
    assert "disabled: True" in changed["diff"]["after"]
    assert not run("has_principal", locked)["changed"]
    bad = run("has_principal", {**args, "attributes": {"colour": "blue"}}, ok=False)
    assert bad["failed"] and "colour" in bad["msg"]

    gone = {**args, "state": "absent"}
    assert run("has_principal", gone, check=True)["changed"]
    assert store.get_principal(f"svc/app.example.com@{REALM}") is not None
    assert run("has_principal", gone)["changed"]
    assert not run("has_principal", gone)["changed"]
    assert store.get_principal(f"svc/app.example.com@{REALM}") is None


# ---------------------------------------------------------------------- has_plugin_user


def test_plugin_user_keeps_changes_and_passwords(realm: Path, store: IdentityBackend) -> None:
    """Create, keep (on_create), re-password (check mode first), disable, delete."""
    user = {"conf_dir": str(realm), "name": "ops"}

    def stored_hash() -> str:
        found = store.get_plugin_user("ops")
        assert found is not None
        return found.password_hash

    first = run("has_plugin_user", {**user, "password": "Pw-one-1"})
    assert first["changed"] and first["created"]
    assert "Pw-one-1" not in json.dumps(first)
    assert not run("has_plugin_user", {**user, "password": "Pw-two-2"})["changed"]
    assert verify_password("Pw-one-1", stored_hash()), "on_create changed the password"

    always = {**user, "password": "Pw-two-2", "update_password": "always"}
    predicted = run("has_plugin_user", always, check=True)
    assert predicted["changed"] and predicted["password_changed"]
    assert verify_password("Pw-one-1", stored_hash()), "--check changed the password"
    assert run("has_plugin_user", always)["changed"]
    assert not run("has_plugin_user", always)["changed"]
    assert verify_password("Pw-two-2", stored_hash())
    assert not verify_password("Pw-one-1", stored_hash())

    disabled = run("has_plugin_user", {**always, "disabled": True})
    assert disabled["changed"] and disabled["disabled"]
    found = store.get_plugin_user("ops")
    assert found is not None and found.disabled
    gone = {**user, "state": "absent"}
    assert run("has_plugin_user", gone)["changed"]
    assert not run("has_plugin_user", gone)["changed"]
    assert store.get_plugin_user("ops") is None


# ---------------------------------------------------------------------- keytabs


def test_keytab_export_rotate_purge(realm: Path, tmp_path: Path) -> None:
    run("has_principal", {"conf_dir": str(realm), "name": "HTTP/app.example.com"})
    keytab = tmp_path / "http.keytab"
    args = {"conf_dir": str(realm), "path": str(keytab), "principals": ["HTTP/app.example.com"]}

    assert run("has_keytab", args, check=True)["changed"] and not keytab.exists()
    first = run("has_keytab", args)
    assert first["changed"] and keytab.stat().st_mode & 0o777 == 0o600
    assert not run("has_keytab", args)["changed"]

    rotated = run("has_keytab", {**args, "rotate": True})
    assert rotated["rotated"] == [f"HTTP/app.example.com@{REALM} kvno 2"]
    assert {e.kvno for e in read_keytab(keytab).entries} == {1, 2}
    assert not run("has_keytab", {**args, "rotate": True})["changed"], "rotated twice"
    purged = run("has_keytab", {**args, "purge": True})
    assert purged["purged"] == [f"HTTP/app.example.com@{REALM} kvno 1"]
    assert {e.kvno for e in read_keytab(keytab).entries} == {2}
    both = run("has_keytab", {**args, "rotate": True, "purge": True}, ok=False)
    assert both["failed"] and "rotate and purge" in both["msg"]
    shown = json.dumps([first, rotated, purged])
    assert all(e.key.hex() not in shown for e in read_keytab(keytab).entries)


def test_keytab_file_installs_bytes_once_and_refuses_what_is_no_keytab(tmp_path: Path) -> None:
    source = tmp_path / "admin.keytab"
    node = HasNode(tmp_path / "has", REALM)
    run("has_realm_init", {"conf_dir": str(node.conf_dir), "admin_keytab": str(source)})
    data = source.read_bytes()
    target = tmp_path / "copy" / "admin.keytab"
    target.parent.mkdir()
    args = {"path": str(target), "content": base64.b64encode(data).decode()}

    assert run("has_keytab_file", args, check=True)["changed"] and not target.exists()
    first = run("has_keytab_file", args)
    assert first["changed"] and target.read_bytes() == data
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["admin.keytab"], "temp file left"
    assert not run("has_keytab_file", args)["changed"]
    os.chmod(target, 0o644)
    assert run("has_keytab_file", args)["changed"], "a keytab readable by others was kept"
    assert target.stat().st_mode & 0o777 == 0o600

    wrong = run("has_keytab_file", {**args, "sha256": "00" * 32}, ok=False)
    assert wrong["failed"] and "sha256" in wrong["msg"]
    text = {"path": str(target), "content": base64.b64encode(b"not a keytab").decode()}
    refused = run("has_keytab_file", text, ok=False)
    assert refused["failed"] and "not a keytab" in refused["msg"]
    assert target.read_bytes() == data
    assert args["content"] not in json.dumps([first, wrong, refused])


# ---------------------------------------------------------------------- nodes, client files


def test_client_config_writes_the_files_once_and_check_mode_only_predicts(
    tmp_path: Path,
) -> None:
    out = tmp_path / "client"
    nodes = [{"host": "127.0.2.1"}, {"host": "127.0.2.2"}]
    args = {
        "realm": REALM,
        "nodes": nodes,
        "krb5_conf": str(out / "krb5.conf"),
        "has_client_conf": str(out / "has-client.conf"),
        "core_site": str(out / "core-site.xml"),
        "auth_type": "MySQL",
    }
    predicted = run("has_client_config", args, check=True)
    assert predicted["changed"] and not out.exists()
    paths = {str(args[k]) for k in ("krb5_conf", "has_client_conf", "core_site")}
    assert {d["after_header"] for d in predicted["diff"]} == paths
    first = run("has_client_config", args)
    assert first["changed"]
    krb5 = (out / "krb5.conf").read_text()
    assert "kdc = 127.0.2.1:88" in krb5 and "kdc = 127.0.2.2:88" in krb5
    assert "https_host = 127.0.2.1,127.0.2.2" in (out / "has-client.conf").read_text()
    core_site = (out / "core-site.xml").read_text()
    assert "https://127.0.2.2:8092/has/v1?auth_type=MySQL" in core_site
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in out.iterdir())
    assert not run("has_client_config", args)["changed"]

    (out / "has-client.conf").write_text("[HAS]\n  https_host = stale.example.com\n")
    repaired = run("has_client_config", args)
    assert [f["path"] for f in repaired["files"] if f["changed"]] == [args["has_client_conf"]]
    assert [d["before"] for d in repaired["diff"]] == ["[HAS]\n  https_host = stale.example.com\n"]


def test_node_registered_then_deregistered(realm: Path, store: IdentityBackend) -> None:
    args = {"conf_dir": str(realm), "host": "emr-worker-9"}
    assert run("has_node", {**args, "state": "present"}, check=True)["changed"]
    assert "emr-worker-9" not in store.list_nodes(), "check mode registered the node"
    assert run("has_node", {**args, "state": "present"})["changed"]
    assert "emr-worker-9" in store.list_nodes()
    assert not run("has_node", {**args, "state": "present"})["changed"]
    assert run("has_node", args, check=True)["changed"]
    assert "emr-worker-9" in store.list_nodes(), "check mode deregistered the node"
    assert run("has_node", args)["changed"]
    assert not run("has_node", args)["changed"]
    assert "emr-worker-9" not in store.list_nodes()


def test_every_module_writes_files_through_the_one_atomic_writer() -> None:
    """module_utils/has_fileio.py is has_kdc/fileio.py itself, and no module or module
    util writes a file another way (a temp file and a rename of its own, open for write)."""
    assert (REPO / "module_utils" / "has_fileio.py").resolve() == REPO / "has_kdc" / "fileio.py"
    ways = ("os.replace(", "os.rename(", "mkstemp(", 'open(path, "w', "write_bytes(")
    for path in sorted([*LIBRARY.glob("*.py"), *(REPO / "module_utils").glob("has_*.py")]):
        if path.name == "has_fileio.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not [w for w in ways if w in text], f"{path.name} writes a file its own way"


# ---------------------------------------------------------------------- has_wheel_install


def test_wheel_install_predicts_checks_the_digest_and_keeps_an_installed_build(
    tmp_path: Path,
) -> None:
    """What the module decides without running pip: the prediction, the refusals, and
    "already installed" read from the marker, not from the version."""
    wheel = tmp_path / "has_kdc-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"a build")
    digest = hashlib.sha256(b"a build").hexdigest()
    venv = tmp_path / "venv"
    args = {"venv": str(venv), "wheel": str(wheel)}

    predicted = run("has_wheel_install", {**args, "sha256": digest.upper()}, check=True)
    assert predicted["changed"] and predicted["venv_created"] and predicted["installed"]
    assert predicted["sha256"] == digest
    assert "(none)" in predicted["diff"]["before"]
    assert not venv.exists(), "check mode made the venv"

    wrong = run("has_wheel_install", {**args, "sha256": "00" * 32}, ok=False)
    assert wrong["failed"] and "does not have the sha256" in wrong["msg"]
    gone = run("has_wheel_install", {**args, "wheel": str(tmp_path / "none.whl")}, ok=False)
    assert gone["failed"] and "does not exist on this host" in gone["msg"]

    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / "has-kdc-wheel.sha256").write_text(digest + "\n")
    kept = run("has_wheel_install", args)
    assert not kept["changed"] and not kept["installed"] and kept["diff"] == []
    wheel.write_bytes(b"a new build of the same version")
    rebuilt = run("has_wheel_install", args, check=True)
    assert rebuilt["changed"] and rebuilt["installed"] and not rebuilt["venv_created"]
    assert rebuilt["diff"]["before"].strip() == digest


# ---------------------------------------------------------------------- has_mysql_bootstrap


def test_mysql_bootstrap_refuses_bad_input_before_connecting(tmp_path: Path) -> None:
    args = {
        "login_unix_socket": str(tmp_path / "no.sock"),
        "database": "has",
        "user": "has",
        "password": "secret-pw",
    }
    bad_name = run("has_mysql_bootstrap", {**args, "database": "has; DROP"}, ok=False)
    assert "use letters, digits" in bad_name["msg"]
    empty = run("has_mysql_bootstrap", {**args, "password": ""}, ok=False)
    assert "password is empty" in empty["msg"]
    unreachable = run("has_mysql_bootstrap", args, check=True, ok=False)
    assert "cannot connect to MariaDB as root over" in unreachable["msg"]
    assert "secret-pw" not in json.dumps(unreachable)
