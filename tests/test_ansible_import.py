"""library/has_realm_import.py through Ansible itself, on an SQLite conf_dir of this machine.

Check mode is the dry run (changed predicted, nothing written), the real run imports,
the next run reports no change; the diff and the result carry names and reasons,
never a key or a password; a password inside the source URL is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from tests import kerby_data
from tests.ansible_env import ansible_env
from tests.hasnode import HasNode

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "importing"
ANSIBLE = Path(sys.executable).parent / "ansible"


def module(tmp: Path, args: dict[str, object], *extra: str) -> dict:
    """One run of has_realm_import on localhost (the venv's interpreter); its result."""
    if not ANSIBLE.exists():
        pytest.skip("ansible is not installed in this venv (pip install -e '.[test]')")
    argv = [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local"]
    argv += ["-e", f"ansible_python_interpreter={sys.executable}"]
    argv += ["-m", "has_realm_import", "-a", json.dumps(args), *extra]
    env = ansible_env(tmp)
    proc = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    _, sep, result = proc.stdout.partition(" => ")
    try:
        data = json.loads(result) if sep else {}
    except ValueError:
        raise AssertionError(f"{proc.stdout[-3000:]} {proc.stderr[-3000:]}") from None
    data["_output"] = proc.stdout + proc.stderr
    data["_failed"] = "| FAILED!" in proc.stdout.partition(" => ")[0]
    return data


@pytest.fixture
def node(tmp_path):
    return HasNode(tmp_path / "has", "HADOOP.COM", port=8888)


def test_check_mode_then_import_then_no_change(node, tmp_path):
    source = tmp_path / "json-backend.json"
    shutil.copyfile(DATA / "kerby-json-backend.json", source)
    args = {"conf_dir": str(node.conf_dir), "source": str(source)}

    predicted = module(tmp_path, args, "--check", "--diff")
    assert not predicted["_failed"]
    assert predicted["changed"] is True and predicted["initializes_realm"] is True
    assert len(predicted["added"]) == 10
    assert {r["name"] for r in predicted["refused"]} == {"weakonly@HADOOP.COM", "mallory@OTHER.COM"}
    assert "dry run, nothing written" in predicted["_output"]
    conf = load_conf_dir(node.conf_dir)
    with open_backend(conf.backend) as backend:
        assert backend.list_principals() == []

    done = module(tmp_path, args, "--diff")
    assert done["changed"] is True and done["not_written"] == []
    assert done["keys_carried"] == predicted["keys_carried"] == 19
    with open_backend(conf.backend) as backend:
        tgt = backend.get_principal("krbtgt/HADOOP.COM@HADOOP.COM")
        ident = kerby_data.identity(tgt.name)
        assert sorted((k.enctype, k.key) for k in tgt.keys) == sorted(ident.keys.items())

    again = module(tmp_path, args)
    assert again["changed"] is False and again["unchanged"] == 10 and again["added"] == []
    assert (again["keys_carried"], again["keys_written"]) == (19, 0)
    outputs = predicted["_output"] + done["_output"] + again["_output"]
    for ident in kerby_data.IDENTITIES:
        for key in ident.keys.values():
            assert key.hex() not in outputs.lower() and key.hex().upper() not in outputs


def test_password_in_source_url_is_refused_and_not_echoed(node, tmp_path):
    args = {"conf_dir": str(node.conf_dir), "source": "mysql://has:Sekret-99@127.0.0.1:1/has"}
    result = module(tmp_path, args)
    assert result["_failed"]
    assert "give it as source_password" in result["msg"]
    assert "Sekret-99" not in result["msg"]


def test_unreachable_source_fails_with_a_message_naming_it(node, tmp_path):
    args = {
        "conf_dir": str(node.conf_dir),
        "source": "jdbc:mysql://127.0.0.1:1/has?user=has",
        "source_password": "Sekret-98",
    }
    result = module(tmp_path, args)
    assert result["_failed"]
    assert "cannot read mysql://has@127.0.0.1:1/has" in result["msg"]
    assert "Sekret-98" not in result["_output"]
