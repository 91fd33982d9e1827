"""One test host: its overlay, its per-host files, systemd as PID 1, and its end.

Booting writes what makes the host itself into the overlay's upper directory before
it is mounted (hostname, /etc/hosts with every test host, a resolv.conf that answers
at once, its own machine-id and SSH host key, the controller's key for the admin user,
apt's proxy), puts a new process into cgroups of its own, and runs ``boot.sh`` inside
the host's network namespace under ``unshare --kill-child``: when that process dies,
the kernel kills the host's PID 1 and with it every process of the host. So stopping
a host is one SIGKILL, and nothing of it outlives the harness.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.hosts.network import HostLink
from tests.hosts.rootfs import ADMIN_USER

__all__ = ["CGROUP_ROOTS", "Machine"]

BOOT_SCRIPT = Path(__file__).with_name("boot.sh")
#: Where the hosts' cgroups go, in each hierarchy systemd uses.
CGROUP_ROOTS = tuple(
    Path(p) / "has-kdc-hosts"
    for p in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
    if Path(p).is_dir()
) or (Path("/sys/fs/cgroup/has-kdc-hosts"),)


def _write(path: Path, text: str, mode: int = 0o644, owner: tuple[int, int] = (0, 0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chown(path, *owner)
    path.chmod(mode)


def _admin_ids(rootfs: Path) -> tuple[int, int]:
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == ADMIN_USER:
            return int(fields[2]), int(fields[3])
    raise RuntimeError(f"{rootfs} has no user {ADMIN_USER}: remove it to have it rebuilt")


@dataclass
class Machine:
    """Host ``link.host`` with its files under ``directory``."""

    link: HostLink
    directory: Path

    @property
    def name(self) -> str:
        return self.link.host

    @property
    def pidfile(self) -> Path:
        return self.directory / "unshare.pid"

    # -- before boot ----------------------------------------------------------------------

    def prepare(self, rootfs: Path, hosts_file: str, admin_key: str, apt_proxy: str) -> str:
        """Write the per-host files into a fresh upper directory; returns the host key line."""
        upper = self.directory / "upper"
        for sub in ("upper", "work", "root"):
            shutil.rmtree(self.directory / sub, ignore_errors=True)
            (self.directory / sub).mkdir(parents=True)
        etc = upper / "etc"
        _write(etc / "hostname", self.name + "\n")
        _write(etc / "hosts", hosts_file)
        # nothing listens on 127.0.0.1:53: a lookup outside /etc/hosts fails at once
        # instead of waiting for a resolver the host cannot reach
        _write(etc / "resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        _write(etc / "machine-id", uuid.uuid4().hex + "\n", 0o444)
        proxy = f'Acquire::http::Proxy "{apt_proxy}";\n'
        _write(etc / "apt/apt.conf.d/01has-kdc-hosts-proxy", proxy)
        key = etc / "ssh/ssh_host_ed25519_key"
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name, "-f", str(key)],
            check=True,
        )
        ids = _admin_ids(rootfs)
        home = upper / "home" / ADMIN_USER
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(parents=True)
        for path in (home, ssh_dir):
            os.chown(path, *ids)
        home.chmod(0o755)
        ssh_dir.chmod(0o700)
        _write(ssh_dir / "authorized_keys", admin_key, 0o600, ids)
        return " ".join(key.with_suffix(".pub").read_text().split(" ", 2)[:2])

    # -- running --------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The unshare process holding the host up, if it is alive."""
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"unshare" in cmdline and str(self.directory).encode() in cmdline else None

    def init_pid(self) -> int | None:
        """PID (on the controller) of the host's systemd."""
        pid = self.pid()
        if pid is None:
            return None
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def boot(self, rootfs: Path) -> None:
        cgroups = []
        for root in CGROUP_ROOTS:
            group = root / self.name
            group.mkdir(parents=True, exist_ok=True)
            cgroups.append(group / "cgroup.procs")
        argv = [
            "ip", "netns", "exec", self.link.netns,
            "unshare", "--kill-child", "--pid", "--mount", "--uts", "--ipc", "--cgroup",
            str(BOOT_SCRIPT), str(rootfs), str(self.directory / "upper"),
            str(self.directory / "work"), str(self.directory / "root"), self.name,
        ]  # fmt: skip

        def enter_cgroups() -> None:  # in the child, before exec
            for procs in cgroups:
                procs.write_text(str(os.getpid()))

        log = (self.directory / "boot.log").open("w")
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=enter_cgroups,
        )
        log.close()
        self.pidfile.write_text(str(process.pid))

    def wait_ssh(self, timeout: float) -> float:
        """Seconds until sshd answers with its banner; raises after ``timeout``."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise RuntimeError(
                    f"host {self.name} died while booting: {self.directory / 'boot.log'}"
                )
            try:
                with socket.create_connection((self.link.address, 22), timeout=1) as sock:
                    sock.settimeout(2)
                    if sock.recv(64).startswith(b"SSH-"):
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"host {self.name}: no SSH on {self.link.address} in {timeout:.0f} s")

    def run(self, argv: list[str], input_text: str | None = None) -> subprocess.CompletedProcess:
        """Run ``argv`` as root inside the host (all its namespaces), not through SSH."""
        init = self.init_pid()
        if init is None:
            raise RuntimeError(f"host {self.name} is not running")
        return subprocess.run(
            ["nsenter", "-t", str(init), "-a", *argv],
            input=input_text,
            capture_output=True,
            text=True,
            check=False,
        )

    def stop(self) -> None:
        """Kill the host (all its processes) and remove its cgroups."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)
        for root in CGROUP_ROOTS:
            remove_cgroup(root / self.name)


def remove_cgroup(group: Path) -> None:
    """rmdir a cgroup and its children, deepest first, once their processes are gone."""
    if not group.is_dir():
        return
    deadline = time.monotonic() + 30
    while True:
        try:
            for path in sorted(group.rglob("*"), key=lambda p: -len(p.parts)):
                if path.is_dir():
                    path.rmdir()
            group.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
