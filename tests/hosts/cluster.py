"""A set of test hosts and the state directory that remembers them.

``STATE/state.json`` lists what runs (bridge, subnet, each host's number, the apt
proxy's pid); ``STATE/id_ed25519`` is the controller's key, ``STATE/known_hosts`` the
hosts' keys, ``STATE/connection.yml`` an inventory of the connection facts only
(address, user, key, known_hosts) to lay over an inventory such as inventory/emr;
``STATE/<host>/`` holds each host's overlay.

``up`` adds hosts to what runs (the rootfs is built first if the cache has none);
``down`` stops some or all. A run that died leaves its namespaces, bridge and cgroups
behind; the next ``up`` or ``down`` removes them, once no test host of any run is alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.hosts.machine import CGROUP_ROOTS, Machine, remove_cgroup
from tests.hosts.network import Bridge, HostLink, ip
from tests.hosts.rootfs import ADMIN_USER, ensure_rootfs

__all__ = ["DEFAULT_BRIDGE", "DEFAULT_PREFIX", "Cluster", "remove_leftovers"]

DEFAULT_BRIDGE = "hasbr0"
DEFAULT_PREFIX = "10.213.0"
APT_PROXY_PORT = 3142
_REPO = Path(__file__).resolve().parents[2]
_BOOT_MARK = b"/tests/hosts/boot.sh"


def _live_host_processes() -> list[int]:
    """unshare processes of any harness run (any checkout) that are still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"unshare\0") and _BOOT_MARK in cmdline:
                found.append(int(entry.name))
    return found


def remove_leftovers(bridge: str = DEFAULT_BRIDGE, *, kill_own: bool = False) -> list[str]:
    """Namespaces, veths, bridge and cgroups a dead run left; nothing while a host lives.

    ``kill_own``: first kill the hosts this checkout booted and a run left running
    (hosts of other checkouts are left alone, and then so is everything else).
    """
    removed = []
    if kill_own:
        own = str(Path(__file__).with_name("boot.sh")).encode()
        for pid in _live_host_processes():
            with contextlib.suppress(OSError):
                if own in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
                    removed.append(f"host process {pid}")
        deadline = time.monotonic() + 30
        while _live_host_processes() and time.monotonic() < deadline:
            time.sleep(0.1)
    if _live_host_processes():
        return removed
    for line in ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith("hashost-"):
            ip("netns", "del", name, check=False)
            removed.append(f"netns {name}")
    for line in ip("-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith("hasv") or name == bridge:
            ip("link", "del", name, check=False)
            removed.append(f"link {name}")
    for root in CGROUP_ROOTS:
        if root.is_dir():
            for group in root.iterdir():
                if group.is_dir():
                    remove_cgroup(group)
            root.rmdir()
            removed.append(f"cgroup {root}")
    return removed


class Cluster:
    def __init__(
        self, state_dir: Path, bridge: str = DEFAULT_BRIDGE, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.state_file = self.state_dir / "state.json"
        state = self._load()
        self.bridge = Bridge(state.get("bridge", bridge), state.get("prefix", prefix))
        self.hosts: dict[str, int] = state.get("hosts", {})
        self.proxy_pid: int | None = state.get("proxy_pid")

    # -- state ------------------------------------------------------------------------

    def _load(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "bridge": self.bridge.name,
            "prefix": self.bridge.prefix,
            "hosts": self.hosts,
            "proxy_pid": self.proxy_pid,
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def machine(self, name: str) -> Machine:
        if name not in self.hosts:
            raise KeyError(f"no test host {name} in {self.state_dir}")
        return Machine(HostLink(self.bridge, name, self.hosts[name]), self.state_dir / name)

    @property
    def key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def apt_proxy(self) -> str:
        return f"http://{self.bridge.address}:{APT_PROXY_PORT}"

    # -- up ---------------------------------------------------------------------------

    def _hosts_file(self) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{self.machine(n).link.address}\t{n}" for n in sorted(self.hosts)]
        return "\n".join(lines) + "\n"

    def _owns(self, pid: int) -> bool:
        try:
            return str(self.state_dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True  # gone meanwhile

    def _proxy_alive(self) -> bool:
        if self.proxy_pid is None:
            return False
        try:
            cmdline = Path(f"/proc/{self.proxy_pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"tests.hosts.aptproxy" in cmdline

    def _start_proxy(self) -> None:
        if self._proxy_alive():
            return
        log = (self.state_dir / "aptproxy.log").open("a")
        port = str(APT_PROXY_PORT)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.hosts.aptproxy", self.bridge.address, port],
            cwd=_REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.proxy_pid = process.pid

    def up(self, names: list[str], timeout: float = 120) -> dict[str, float]:
        """Boot the hosts of ``names`` not running yet; seconds each took until SSH."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.hosts and not self._proxy_alive():
            remove_leftovers(self.bridge.name)
        others = [pid for pid in _live_host_processes() if not self._owns(pid)]
        if others:
            raise RuntimeError(
                f"test hosts of another run are up (unshare pids {others}) on bridge "
                f"{self.bridge.name}: stop that run first (python -m tests.hosts down STATE)"
            )
        rootfs = ensure_rootfs()
        if not self.key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "has-kdc-hosts",
                 "-f", str(self.key)],
                check=True,
            )  # fmt: skip
        self.bridge.create()
        self._start_proxy()
        new = [n for n in names if n not in self.hosts or self.machine(n).pid() is None]
        used = set(self.hosts.values())
        for name in new:
            if name not in self.hosts:
                self.hosts[name] = next(i for i in range(1, 200) if i not in used)
                used.add(self.hosts[name])
        self._save()
        hosts_file = self._hosts_file()
        admin_key = self.key.with_suffix(".pub").read_text()
        host_keys = self._read_known_hosts()
        started = {}
        for name in new:
            machine = self.machine(name)
            machine.link.create()
            host_keys[name] = machine.prepare(rootfs, hosts_file, admin_key, self.apt_proxy)
            started[name] = time.monotonic()
            machine.boot(rootfs)
        seconds = {}
        for name in new:
            self.machine(name).wait_ssh(timeout)
            seconds[name] = round(time.monotonic() - started[name], 2)
        for name in self.hosts:  # the older hosts learn the new names
            if name not in new:
                self.machine(name).run(["sh", "-c", "cat > /etc/hosts"], hosts_file)
        self._write_known_hosts(host_keys)
        self._write_inventory()
        return seconds

    def _read_known_hosts(self) -> dict[str, str]:
        keys = {}
        path = self.state_dir / "known_hosts"
        if path.exists():
            for line in path.read_text().splitlines():
                names, key = line.split(" ", 1)
                keys[names.split(",")[0]] = key
        return keys

    def _write_known_hosts(self, keys: dict[str, str]) -> None:
        lines = [
            f"{name},{self.machine(name).link.address} {key}"
            for name, key in sorted(keys.items())
            if name in self.hosts
        ]
        (self.state_dir / "known_hosts").write_text("\n".join(lines) + "\n")

    def connection_facts(self, name: str) -> dict[str, str]:
        known_hosts = self.state_dir / "known_hosts"
        return {
            "ansible_host": self.machine(name).link.address,
            "ansible_user": ADMIN_USER,
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes"
            ),
        }

    def _write_inventory(self) -> None:
        inventory = {"all": {"hosts": {n: self.connection_facts(n) for n in sorted(self.hosts)}}}
        text = "# Written by tests/hosts: how the controller reaches each test host.\n"
        text += yaml.safe_dump(inventory, default_flow_style=False, sort_keys=True)
        (self.state_dir / "connection.yml").write_text(text)

    # -- changes while running ---------------------------------------------------------

    def set_link(self, name: str, up: bool) -> None:
        self.machine(name).link.set_up(up)

    def power_off(self, name: str) -> None:
        """Pull the plug: every process of the host dies at once; its disk (overlay) stays."""
        self.machine(name).stop()

    def power_on(self, name: str, timeout: float = 120) -> float:
        """Boot a powered-off host from its own disk again; seconds until SSH answers."""
        machine = self.machine(name)
        if machine.pid() is not None:
            raise RuntimeError(f"host {name} is running")
        machine.link.create()
        started = time.monotonic()
        machine.boot(ensure_rootfs())
        machine.wait_ssh(timeout)
        return round(time.monotonic() - started, 2)

    # -- down -------------------------------------------------------------------------

    def down(self, names: list[str] | None = None) -> None:
        """Stop ``names`` (default: every host, then the proxy and the bridge)."""
        everything = names is None
        for name in list(self.hosts) if everything else names:
            if name not in self.hosts:
                continue
            machine = self.machine(name)
            machine.stop()
            machine.link.remove()
            shutil.rmtree(machine.directory, ignore_errors=True)
            del self.hosts[name]
        if everything:
            if self._proxy_alive():
                os.kill(self.proxy_pid, signal.SIGTERM)
            self.proxy_pid = None
            self.bridge.remove()
            remove_leftovers(self.bridge.name)
        if self.state_dir.is_dir():
            self._save()
            self._write_inventory()
            keys = self._read_known_hosts()
            self._write_known_hosts(keys)
