"""Every playbook of the checkout passes ``ansible-playbook --syntax-check``.

site.yml, each playbook under playbooks/ and the molecule scenarios' own playbooks:
a playbook that only some command runs (stop.yml, export_client_conf.yml, a
scenario's side effect) is still parsed, with its roles, modules and imports
resolved, on every test run. The playbooks users run are checked against both
inventories (group and host patterns are resolved there); the scenarios' own against
inventory/local, which they use. Fast: nothing is executed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def _is_playbook(path: Path) -> bool:
    """A YAML file whose top level is a list of plays (hosts:) or playbook imports."""
    import yaml

    data = yaml.safe_load(path.read_text())
    return isinstance(data, list) and all(
        isinstance(item, dict) and ("hosts" in item or "ansible.builtin.import_playbook" in item)
        for item in data
    )


def _playbooks() -> list[str]:
    found = [REPO / "site.yml", *sorted((REPO / "playbooks").glob("*.yml"))]
    for scenario_file in sorted((REPO / "molecule").glob("*/*.yml")):
        if scenario_file.name != "molecule.yml" and _is_playbook(scenario_file):
            found.append(scenario_file)
    return [str(p.relative_to(REPO)) for p in found]


PLAYBOOKS = _playbooks()
CASES = [(p, "inventory/local") for p in PLAYBOOKS] + [
    (p, "inventory/emr") for p in PLAYBOOKS if not p.startswith("molecule/")
]


def test_every_kind_of_playbook_is_found() -> None:
    assert "site.yml" in PLAYBOOKS
    assert "playbooks/stop.yml" in PLAYBOOKS
    assert "playbooks/export_client_conf.yml" in PLAYBOOKS
    assert "molecule/shared/converge.yml" in PLAYBOOKS
    assert "molecule/default/side_effect.yml" in PLAYBOOKS
    assert "molecule/default/molecule.yml" not in PLAYBOOKS


@pytest.mark.parametrize(("playbook", "inventory"), CASES)
def test_syntax_check(playbook: str, inventory: str) -> None:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(PLAYBOOK), "--syntax-check", "-i", inventory, playbook],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{playbook} on {inventory}:\n{proc.stdout}\n{proc.stderr}"
    assert f"playbook: {playbook}" in proc.stdout
