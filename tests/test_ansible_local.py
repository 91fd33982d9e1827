"""site.yml on inventory/local, for real: what only the output of real runs can show.

Molecule owns converge, idempotence, check mode on a converged system, drift repair,
MIT kinit/kvno through each node, login-test, fail-over and re-export (molecule/README.md
says which scenario proves what); tests/test_ansible_modules.py owns each module's
logic. What is left here needs the runs' own output: the converge at ``-vvv`` and every
other run print no password or key; ``--check`` on a fresh system predicts the first
install task by task; ``--check --diff`` on a drifted system predicts exactly the tasks
the real run then changes; and the controller's admin.keytab backup, which no scenario
asks for.

The deployment is private: its own base directory under /var/tmp (the service user must
traverse it, so not pytest's 0700 tmp), loopback 127.0.2.1 and 127.0.2.2 (the demo uses
127.0.1.x), a free MariaDB port, and a snapshot of the package sources (so edits in the
checkout while the tests run do not count as changes). Everything it starts is stopped
by playbooks/stop.yml at the end.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ansible_env import ansible_env
from tests.mariadb import free_tcp_port

pytestmark = [pytest.mark.ansible, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
REALM = "HADOOP.COM"
LOOPBACK = "127.0.2"
NODES = {"emr-header-1": f"{LOOPBACK}.1", "emr-worker-1": f"{LOOPBACK}.2"}
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.M,
)
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.+?)\]", re.M)
CHANGED = re.compile(r"^changed: \[(?P<host>[^\]\s]+)(?: -> [^\]]+)?\]")


@dataclass
class Run:
    """One ansible-playbook run: its output, recap and the (task, host) pairs it changed."""

    args: list[str]
    output: str
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)
    changed: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for m in RECAP.finditer(self.output):
            self.recap[m["host"]] = {
                k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")
            }
        task = None
        for line in self.output.splitlines():
            if t := TASK.match(line):
                task = t["name"]
            elif (c := CHANGED.match(line)) and task is not None:
                self.changed.add((task, c["host"]))

    def assert_ok(self) -> None:
        assert self.recap, f"no PLAY RECAP in the output of {self.args}:\n{self.output[-4000:]}"
        bad = {h: r for h, r in self.recap.items() if r["failed"] or r["unreachable"]}
        assert not bad, f"{self.args} failed on {bad}:\n{self.output[-6000:]}"


@dataclass
class Deployment:
    base: Path
    vars_file: Path
    converge: Run | None = None
    outputs: list[str] = field(default_factory=list)

    def node_dir(self, node: str) -> Path:
        return self.base / node

    @property
    def client_dir(self) -> Path:
        return self.base / "client"

    def secret(self, name: str) -> str:
        return (self.base / "secrets" / name).read_text().strip()

    def playbook(self, playbook: str, *args: str, vars_file: Path | None = None) -> Run:
        """Run ``playbook`` on inventory/local with this deployment's variables (or
        ``vars_file``'s); Ansible's temporary files stay under this deployment's base."""
        extra = vars_file or self.vars_file
        argv = [str(PLAYBOOK), playbook, "-i", "inventory/local", "-e", f"@{extra}"]
        argv += list(args)
        env = ansible_env(self.base, json_results=False, ANSIBLE_FORCE_COLOR="0")
        started = time.monotonic()
        proc = subprocess.run(
            argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        run = Run(argv[1:], proc.stdout, time.monotonic() - started)
        self.outputs.append(proc.stdout)
        return run

    def server_pid(self, node: str) -> int:
        return int((self.node_dir(node) / "run" / "has-server.pid").read_text())


def _snapshot_sources(target: Path) -> Path:
    """The package sources as they are now: the wheel the roles build stays the same."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(
        REPO / "has_kdc",
        target / "has_kdc",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return target


def _kill_leftovers(base: Path) -> None:
    """Last resort after stop.yml: signal whatever pidfile under ``base`` still names."""
    for pidfile in list(base.glob("*/run/has-server.pid")) + list(base.glob("mariadb/*.pid")):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    if os.geteuid() != 0:
        pytest.skip("inventory/local installs packages, users and services: run as root")
    base = Path(tempfile.mkdtemp(prefix="has-ansible-", dir="/var/tmp"))
    base.chmod(0o755)
    source = _snapshot_sources(base / "src")
    (base / "backup").mkdir(mode=0o700)
    vars_file = base / "test-vars.json"
    vars_file.write_text(
        json.dumps(
            {
                "has_local_base": str(base),
                "has_local_loopback": LOOPBACK,
                "has_local_mysql_port": free_tcp_port(),
                "has_package_source_dir": str(source),
                "has_admin_keytab_backup": str(base / "backup" / "admin.keytab"),
            }
        )
    )
    dep = Deployment(base, vars_file)
    try:
        dep.converge = dep.playbook("site.yml", "-vvv")
        yield dep
    finally:
        dep.playbook("playbooks/stop.yml")
        _kill_leftovers(base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def converged(deployment: Deployment) -> Deployment:
    assert deployment.converge is not None
    deployment.converge.assert_ok()
    return deployment


def _tree(root: Path) -> list[str]:
    """Every path under ``root`` with its type and mode: what a run may not change."""
    found = []
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        found.append(f"{path.relative_to(root)} {oct(st.st_mode)} {st.st_size}")
    return found


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain ``text`` (e.g. a base directory)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if text in argv:
                found.append(argv)
    return found


def test_check_on_a_fresh_system_fails_nothing_and_changes_nothing(
    converged: Deployment,
) -> None:
    """--check before anything exists: no venv, no database, no realm, no secrets yet.

    The modules that import has_kdc then run with the host's Python and predict; the
    run succeeds, predicts the first install, and leaves no file and no process behind.
    """
    fresh = converged.base / "fresh"
    fresh.mkdir(mode=0o755)
    settings = json.loads(converged.vars_file.read_text())
    settings.update(
        has_local_base=str(fresh),
        has_local_mysql_port=free_tcp_port(),
        has_admin_keytab_backup=str(converged.base / "backup" / "fresh-admin.keytab"),
    )
    vars_file = converged.base / "fresh-vars.json"
    vars_file.write_text(json.dumps(settings))
    backups = sorted((converged.base / "backup").iterdir())

    run = converged.playbook("site.yml", "--check", "--diff", vars_file=vars_file)
    print(f"--check on a fresh system: {run.seconds:.1f} s, predicted {run.recap}")
    run.assert_ok()
    assert _tree(fresh) == [], f"--check created {_tree(fresh)}"
    assert sorted((converged.base / "backup").iterdir()) == backups
    assert _processes_mentioning(str(fresh)) == [], "--check started a process"
    # honest predictions: the first install, under the names the real run uses
    for task, host in [
        ("has_package : Install the wheel and its dependencies into the venv", "emr-worker-1"),
        ("has_server : Keep the cluster CA", "emr-header-1"),
        ("has_server : Sign the nodes' CSRs on the CA node", "emr-header-1"),
        (
            "has_server : Install the certificate the CA node signed, with the key made here",
            "emr-worker-1",
        ),
        ("has_server : Start has-server", "emr-header-1"),
        ("has_realm : Initialize the realm once, on the init node", "emr-header-1"),
        (
            "has_realm : Export this node's SPNEGO keys (kept while they match the database)",
            "emr-worker-1",
        ),
        ("has_realm : Keep the listed principals", "emr-header-1"),
        ("has_realm : Keep the MySQL plugin users", "emr-header-1"),
        (
            "has_client : Write krb5.conf, has-client.conf and the core-site.xml properties",
            "has-client",
        ),
        ("has_mariadb : Start mariadbd", "has-db"),
    ]:
        assert (task, host) in run.changed, f"--check did not predict {task} on {host}"
    # --diff says why a has_kdc module only predicts
    assert "has_realm_init (check mode, before the first install)" in run.output


def _secrets(dep: Deployment) -> dict[str, str]:
    """Every secret of the deployment, in each form an output could carry it."""
    from has_kdc.formats import read_keytab

    found = {
        "database password": dep.secret("mysql-password"),
        "demo password": dep.secret("demo-password"),
        "plugin user password": dep.secret("plugin-password"),
    }
    for node in NODES:
        etc = dep.node_dir(node) / "etc"
        for name in ("admin.keytab", "http.keytab"):
            data = (etc / name).read_bytes()
            found[f"{node} {name} (base64)"] = base64.b64encode(data).decode()[:40]
            for i, entry in enumerate(read_keytab(etc / name).entries):
                found[f"{node} {name} key {i} (hex)"] = entry.key.hex()
                found[f"{node} {name} key {i} (HEX)"] = entry.key.hex().upper()
                found[f"{node} {name} key {i} (base64)"] = base64.b64encode(entry.key).decode()
        key_pem = (etc / "tls" / "server.key").read_text().splitlines()
        found[f"{node} TLS key"] = next(line for line in key_pem if not line.startswith("-"))
    ca_key = (dep.node_dir("emr-header-1") / "etc" / "ca" / "ca-root.key").read_text()
    found["CA key"] = next(line for line in ca_key.splitlines() if not line.startswith("-"))
    return found


def test_drift_check_predicts_exactly_what_the_run_changes(converged: Deployment) -> None:
    krb5 = converged.client_dir / "krb5.conf"
    krb5.unlink()
    server_conf = converged.node_dir("emr-worker-1") / "etc" / "has-server.conf"
    original = server_conf.read_text()
    server_conf.write_text(original.replace("https_port = 8092", "https_port = 9999"))
    pids = {n: converged.server_pid(n) for n in NODES}

    check = converged.playbook("site.yml", "--check", "--diff")
    check.assert_ok()
    assert not krb5.exists(), "--check wrote krb5.conf"
    assert "https_port = 9999" in server_conf.read_text(), "--check rewrote has-server.conf"
    assert "-  https_port = 9999" in check.output and "+  https_port = 8092" in check.output

    real = converged.playbook("site.yml")
    real.assert_ok()
    assert check.changed == real.changed, (
        f"--check predicted {sorted(check.changed - real.changed)} that did not happen and "
        f"missed {sorted(real.changed - check.changed)}"
    )
    assert ("has_server : Write has-server.conf", "emr-worker-1") in real.changed
    assert any(t.startswith("has_client : Write krb5.conf") for t, _ in real.changed)
    assert {h for _, h in real.changed} == {"emr-worker-1", "has-client"}
    assert server_conf.read_text() == original
    assert krb5.is_file()
    assert converged.server_pid("emr-worker-1") != pids["emr-worker-1"], "not restarted"
    assert converged.server_pid("emr-header-1") == pids["emr-header-1"]


def test_admin_keytab_backup_on_the_controller(converged: Deployment) -> None:
    """has_admin_keytab_backup: the same bytes as the nodes' admin.keytab, 0600."""
    backup = converged.base / "backup" / "admin.keytab"
    node_keytab = converged.node_dir("emr-header-1") / "etc" / "admin.keytab"
    assert backup.read_bytes() == node_keytab.read_bytes()
    assert backup.stat().st_mode & 0o777 == 0o600


def test_outputs_hold_no_secrets(converged: Deployment) -> None:
    """The converge at -vvv, --check --diff (fresh and drifted), the repair: no secret."""
    assert len(converged.outputs) >= 4, "run after the --check and drift tests"
    assert any("ESTABLISH LOCAL CONNECTION" in out for out in converged.outputs), (
        "no -vvv output to scan"
    )
    secrets = _secrets(converged)
    for label, value in secrets.items():
        assert len(value) >= 12, label
        for i, out in enumerate(converged.outputs):
            assert value not in out, f"output {i} contains the {label}"
