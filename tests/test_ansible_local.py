"""site.yml on inventory/local, for real: MariaDB, two HAS nodes, realm init, client files.

One converge per module (the ``deployment`` fixture) and what molecule's scenarios
do not say about it: a second run (``-vvv``) changes nothing and no output carries a
password or key, ``--check`` on a fresh system predicts the first install task by task,
``--check --diff`` predicts exactly the real changes on a drifted one, login-test and
the SPNEGO admin API by inventory name, the has_plugin_user module, admin.keytab and
its controller backup. Converge, idempotence, check mode on a converged system, MIT
kinit/kvno through each node and fail-over belong to molecule/ (one proof per
behaviour).

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
from tests.mitkrb import MitClient

pytestmark = [pytest.mark.ansible, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ANSIBLE = Path(sys.executable).parent / "ansible"
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

    def total(self, key: str) -> int:
        return sum(host[key] for host in self.recap.values())

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

    def module(self, host: str, name: str, args: dict[str, object], *extra: str) -> dict:
        """One module of library/ on ``host`` (ad hoc, with the node's venv); its result."""
        argv = [str(ANSIBLE), host, "-i", "inventory/local", "-e", f"@{self.vars_file}"]
        argv += ["-e", f"ansible_python_interpreter={self.node_dir(host)}/venv/bin/python"]
        argv += ["-m", name, "-a", json.dumps(args), *extra]
        env = ansible_env(self.base)
        proc = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        # minimal: "<host> | SUCCESS => {json}" (or CHANGED, FAILED!)
        _, sep, result = proc.stdout.partition(" => ")
        try:
            return json.loads(result) if sep else {}
        except ValueError:
            raise AssertionError(f"{argv}: {proc.stdout[-3000:]} {proc.stderr[-3000:]}") from None

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
        dep.converge = dep.playbook("site.yml")
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


def test_converge_from_nothing(converged: Deployment) -> None:
    run = converged.converge
    assert run is not None
    print(f"cold converge: {run.seconds:.1f} s, changed {run.recap}")
    for host in (*NODES, "has-db", "has-client"):
        assert run.recap[host]["changed"] > 0, f"{host} changed nothing on a new system"
    assert ("has_realm : Initialize the realm once, on the init node", "emr-header-1") in (
        run.changed
    )
    for node in NODES:
        etc = converged.node_dir(node) / "etc"
        for name in ("kdc.conf", "backend.conf", "has-server.conf", "admin.keytab"):
            assert (etc / name).is_file(), f"{etc / name} missing"
        assert "mysql_password_file" in (etc / "backend.conf").read_text()
        assert (etc / "mysql.password").stat().st_mode & 0o777 == 0o600
        assert (etc / "tls" / "server.key").stat().st_mode & 0o777 == 0o600
    for name in ("krb5.conf", "has-client.conf", "ca-root.pem", "core-site.xml"):
        assert (converged.client_dir / name).is_file()


def test_second_run_changes_nothing(converged: Deployment) -> None:
    run = converged.playbook("site.yml", "-vvv")
    run.assert_ok()
    print(f"re-run: {run.seconds:.1f} s, changed {run.total('changed')}")
    assert run.total("changed") == 0, f"a second run changed {sorted(run.changed)}"


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


def test_spnego_admin_api_by_inventory_name_on_each_node(
    converged: Deployment, tmp_path: Path
) -> None:
    """curl --negotiate to https://<inventory name>:8092 (what clients open), as kadmin.

    MIT's GSS library asks for HTTP/<the host in the URL>: the node must hold that
    principal (has-server.conf kerberos_principal) and its certificate that name.
    """
    etc = converged.node_dir("emr-header-1") / "etc"
    server_conf = (etc / "has-server.conf").read_text()
    assert f"kerberos_principal = HTTP/emr-header-1@{REALM},HTTP/{NODES['emr-header-1']}@" in (
        server_conf
    )
    client = MitClient(tmp_path, REALM, [f"{a}:88" for a in NODES.values()])
    client.kinit_keytab(f"kadmin/{REALM}@{REALM}", etc / "admin.keytab")
    for node, address in NODES.items():
        url = f"https://{node}:8092/has/v1/admin/getprincipals"
        curl = subprocess.run(
            [
                "curl",
                "--silent",
                "--show-error",
                "--negotiate",
                "-u",
                ":",
                "--cacert",
                str(converged.client_dir / "ca-root.pem"),
                "--resolve",
                f"{node}:8092:{address}",
                "--write-out",
                "\n%{http_code}",
                url,
            ],
            env=client.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        body, _, status = curl.stdout.rpartition("\n")
        assert curl.returncode == 0, f"curl {url}: {curl.stderr}"
        assert status == "200", f"{url} answered {status}: {body[:500]}"
        assert f"demo@{REALM}" in body
        tickets = client.klist().stdout
        assert f"HTTP/{node}@{REALM}" in tickets, f"no ticket for HTTP/{node}: {tickets}"
    unauthenticated = subprocess.run(
        [
            "curl",
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            "--cacert",
            str(converged.client_dir / "ca-root.pem"),
            "--resolve",
            f"emr-worker-1:8092:{NODES['emr-worker-1']}",
            "https://emr-worker-1:8092/has/v1/admin/getprincipals",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unauthenticated.stdout == "401"


def _login_test(
    dep: Deployment, tmp: Path, password: str, *, user: str = "hdfs"
) -> tuple[subprocess.CompletedProcess[str], MitClient]:
    """login-test tgt <client dir> MySQL as a plugin user (the demo's: hdfs), into a
    private ccache."""
    client = MitClient(tmp, REALM, [f"{a}:88" for a in NODES.values()])
    env = dict(client.env, HAS_USER=user, HAS_PASSWORD=password)
    proc = subprocess.run(
        [
            str(dep.node_dir("emr-header-1") / "venv" / "bin" / "login-test"),
            "tgt",
            str(dep.client_dir),
            "MySQL",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc, client


def test_login_test_gets_a_tgt_over_https(converged: Deployment, tmp_path: Path) -> None:
    """The plugin user the roles made logs in with login-test through the exported files."""
    has_client = (converged.client_dir / "has-client.conf").read_text()
    assert re.search(r"^\s*auth_type = MySQL$", has_client, re.M), has_client
    for node in NODES:
        server_conf = (converged.node_dir(node) / "etc" / "has-server.conf").read_text()
        assert re.search(r"\[PLUGIN\]\s+auth_type = MySQL", server_conf), server_conf
    proc, client = _login_test(converged, tmp_path / "right", converged.secret("plugin-password"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(
        f"Login successful for hdfs@{REALM} via https://{NODES['emr-header-1']}:8092"
    ), proc.stdout
    tickets = client.klist().stdout
    assert f"Default principal: hdfs@{REALM}" in tickets
    assert f"krbtgt/{REALM}@{REALM}" in tickets
    # the TGT is good at the KDC of either node
    for address in NODES.values():
        client.write_conf([f"{address}:88"])
        assert "kvno = 1" in client.kvno(f"HTTP/emr-worker-1@{REALM}").stdout
    wrong, _ = _login_test(converged, tmp_path / "wrong", converged.secret("plugin-password") + "x")
    assert wrong.returncode == 1
    assert "Login successful" not in wrong.stdout


def test_plugin_user_module_keeps_changes_and_passwords(
    converged: Deployment, tmp_path: Path
) -> None:
    """has_plugin_user: create, keep, re-password (check mode first), disable, delete."""
    conf_dir = str(converged.node_dir("emr-header-1") / "etc")
    user = {"conf_dir": conf_dir, "name": "ops"}

    def login(password: str, tag: str) -> subprocess.CompletedProcess[str]:
        return _login_test(converged, tmp_path / tag, password, user="ops")[0]

    first = converged.module("emr-header-1", "has_plugin_user", {**user, "password": "Pw-one-1"})
    assert first["changed"] and first["created"], first
    assert "Pw-one-1" not in json.dumps(first)
    again = converged.module("emr-header-1", "has_plugin_user", {**user, "password": "Pw-two-2"})
    assert not again["changed"], "on_create changed an existing user's password"
    always = {**user, "password": "Pw-two-2", "update_password": "always"}
    predicted = converged.module("emr-header-1", "has_plugin_user", always, "--check")
    assert predicted["changed"] and predicted["password_changed"], predicted
    assert login("Pw-one-1", "one").returncode == 0, "--check changed the password"
    assert converged.module("emr-header-1", "has_plugin_user", always)["changed"]
    assert not converged.module("emr-header-1", "has_plugin_user", always)["changed"]
    assert login("Pw-two-2", "two").returncode == 0
    assert login("Pw-one-1", "old").returncode == 1
    disabled = converged.module("emr-header-1", "has_plugin_user", {**always, "disabled": True})
    assert disabled["changed"] and disabled["disabled"]
    refused = login("Pw-two-2", "disabled")
    assert refused.returncode == 1 and "disabled" in refused.stderr, refused.stderr
    gone = {**user, "state": "absent"}
    assert converged.module("emr-header-1", "has_plugin_user", gone)["changed"]
    assert not converged.module("emr-header-1", "has_plugin_user", gone)["changed"]
    assert login("Pw-two-2", "gone").returncode == 1


def test_exported_client_files_list_both_nodes(converged: Deployment) -> None:
    krb5 = (converged.client_dir / "krb5.conf").read_text()
    assert all(f"kdc = {a}:88" in krb5 for a in NODES.values())
    has_client = (converged.client_dir / "has-client.conf").read_text()
    hosts = re.search(r"https_host = (.+)", has_client)
    assert hosts is not None
    assert sorted(hosts[1].split(",")) == sorted(NODES.values())
    core_site = (converged.client_dir / "core-site.xml").read_text()
    for address in NODES.values():
        assert f"https://{address}:8092/has/v1?auth_type=MySQL" in core_site


def test_admin_keytab_is_identical_and_private_on_both_nodes(converged: Deployment) -> None:
    from has_kdc.formats import read_keytab

    paths = [converged.node_dir(n) / "etc" / "admin.keytab" for n in NODES]
    contents = [p.read_bytes() for p in paths]
    assert contents[0] == contents[1]
    backup = converged.base / "backup" / "admin.keytab"  # has_admin_keytab_backup
    assert backup.read_bytes() == contents[0]
    assert backup.stat().st_mode & 0o777 == 0o600
    for path in paths:
        st = path.stat()
        assert st.st_mode & 0o777 == 0o600
        assert st.st_uid == _uid("has")
    keytab = read_keytab(paths[0])
    assert {"/".join(e.components) + "@" + e.realm for e in keytab.entries} == {
        f"kadmin/{REALM}@{REALM}"
    }


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


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


def test_outputs_hold_no_secrets(converged: Deployment) -> None:
    """Converge, the -vvv re-run and --check --diff: none prints a secret."""
    assert len(converged.outputs) >= 3, "run after the converge, -vvv and --check tests"
    assert any("ESTABLISH LOCAL CONNECTION" in out for out in converged.outputs), (
        "no -vvv output to scan"
    )
    secrets = _secrets(converged)
    for label, value in secrets.items():
        assert len(value) >= 12, label
        for i, out in enumerate(converged.outputs):
            assert value not in out, f"output {i} contains the {label}"


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


def test_export_client_conf_alone_rewrites_client_files(converged: Deployment) -> None:
    krb5 = converged.client_dir / "krb5.conf"
    has_client = converged.client_dir / "has-client.conf"
    wanted = {krb5: krb5.read_text(), has_client: has_client.read_text()}
    krb5.unlink()
    has_client.write_text("[HAS]\n  https_host = stale.example.com\n  https_port = 1\n")

    run = converged.playbook("playbooks/export_client_conf.yml")
    run.assert_ok()
    assert set(run.recap) == {"has-client"}
    assert {h for _, h in run.changed} == {"has-client"}
    for path, text in wanted.items():
        assert path.read_text() == text
