"""The hosts' network: one bridge on the controller, one namespace and veth pair per host.

The bridge carries the subnet's first address (the controller, and the apt proxy);
host N gets ``.N+10``. Nothing routes beyond the subnet: the hosts reach each other
and the controller, nothing else. Only links and namespaces the harness names are
touched (bridge ``hasbr0``, veths ``hasv<N>``, namespaces ``hashost-<name>``); no
sysctl, firewall or route of the machine changes.

A host that goes away and comes back with the same address is unreachable for tens
of seconds while the bridge's neighbour entry for that address is stale, so every
link change flushes it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

__all__ = ["Bridge", "HostLink"]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def link_exists(name: str) -> bool:
    return ip("link", "show", "dev", name, check=False).returncode == 0


@dataclass(frozen=True)
class Bridge:
    """``name`` with ``prefix.1/24`` (prefix: the subnet's first three octets)."""

    name: str
    prefix: str

    @property
    def address(self) -> str:
        return f"{self.prefix}.1"

    def create(self) -> None:
        if not link_exists(self.name):
            ip("link", "add", self.name, "type", "bridge")
        addresses = ip("-o", "-4", "addr", "show", "dev", self.name).stdout
        if f" {self.address}/24 " not in addresses:
            ip("addr", "add", f"{self.address}/24", "dev", self.name)
        ip("link", "set", self.name, "up")

    def remove(self) -> None:
        if link_exists(self.name):
            ip("link", "del", self.name)

    def flush_neighbour(self, address: str) -> None:
        if link_exists(self.name):
            ip("neigh", "flush", "to", address, "dev", self.name, check=False)


@dataclass(frozen=True)
class HostLink:
    """Host number ``index`` on ``bridge``: namespace, veth pair, address, default route."""

    bridge: Bridge
    host: str
    index: int

    @property
    def netns(self) -> str:
        return f"hashost-{self.host}"

    @property
    def veth(self) -> str:
        return f"hasv{self.index}"

    @property
    def address(self) -> str:
        return f"{self.bridge.prefix}.{self.index + 10}"

    def create(self) -> None:
        self.remove()
        ip("netns", "add", self.netns)
        ip("link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        ip("link", "set", self.veth, "master", self.bridge.name, "up")
        ip("-n", self.netns, "link", "set", "lo", "up")
        ip("-n", self.netns, "addr", "add", f"{self.address}/24", "dev", "eth0")
        ip("-n", self.netns, "link", "set", "eth0", "up")
        ip("-n", self.netns, "route", "add", "default", "via", self.bridge.address)
        self.bridge.flush_neighbour(self.address)

    def set_up(self, up: bool) -> None:
        """Plug or unplug the host's cable (the bridge side of its veth)."""
        ip("link", "set", self.veth, "up" if up else "down")
        self.bridge.flush_neighbour(self.address)

    def remove(self) -> None:
        if link_exists(self.veth):
            ip("link", "del", self.veth)
        if self.netns in ip("netns", "list").stdout.split():
            ip("netns", "del", self.netns)
        self.bridge.flush_neighbour(self.address)
