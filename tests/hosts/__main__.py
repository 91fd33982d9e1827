"""``python -m tests.hosts COMMAND``, as root, from the checkout's root.

up STATE HOST...        boot the hosts not running yet; prints seconds to SSH per host
down STATE [HOST...]    stop those hosts (none named: all, the proxy and the bridge)
link STATE HOST up|down plug or unplug a host's network cable
poweroff STATE HOST     kill every process of a host at once (its disk stays)
poweron STATE HOST      boot a powered-off host from its disk; prints seconds to SSH
run STATE HOST CMD...   run a command as root inside a host (not through SSH)
rootfs                  build the cached rootfs if needed; prints its path
wheelhouse              build the cached wheelhouse of has_kdc's dependencies; prints its path
leftovers [--kill]      remove what a dead run left (namespaces, bridge, cgroups);
                        --kill first kills the hosts of this checkout still running
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.hosts.cluster import Cluster, remove_leftovers
from tests.hosts.rootfs import ensure_rootfs
from tests.hosts.wheelhouse import build_wheelhouse


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, args = argv[0], argv[1:]
    if command == "up" and len(args) >= 2:
        seconds = Cluster(Path(args[0])).up(args[1:])
        print(json.dumps({"boot_seconds": seconds}))
        return 0
    if command == "down" and args:
        Cluster(Path(args[0])).down(args[1:] or None)
        return 0
    if command == "link" and len(args) == 3 and args[2] in ("up", "down"):
        Cluster(Path(args[0])).set_link(args[1], args[2] == "up")
        return 0
    if command == "poweroff" and len(args) == 2:
        Cluster(Path(args[0])).power_off(args[1])
        return 0
    if command == "poweron" and len(args) == 2:
        print(json.dumps({"boot_seconds": Cluster(Path(args[0])).power_on(args[1])}))
        return 0
    if command == "run" and len(args) >= 3:
        result = Cluster(Path(args[0])).machine(args[1]).run(args[2:])
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.returncode
    if command == "rootfs" and not args:
        print(ensure_rootfs())
        return 0
    if command == "wheelhouse" and not args:
        print(build_wheelhouse())
        return 0
    if command == "leftovers" and args in ([], ["--kill"]):
        for what in remove_leftovers(kill_own=bool(args)):
            print(f"removed {what}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
