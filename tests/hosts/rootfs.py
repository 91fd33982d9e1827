"""The Debian bookworm root filesystem every test host boots from, made once and cached.

``debootstrap`` from Debian's package registry takes minutes, so the tree is kept in
``$HAS_HOSTS_CACHE`` (default /var/cache/has-kdc-hosts, outside any checkout) under a
name derived from everything that shapes it: suite, mirror, package list and the
setup steps below. Change any of them and the next run builds a new tree and removes
the old ones. The build goes to a temporary directory renamed into place when
complete, under a lock, so a run that dies half-way or two runs at once never leave
a broken tree behind for the next run to boot.

Every Debian package the roles install (MariaDB, PyMySQL, python3-venv) and every
tool the checks run (MIT krb5 client tools, curl) is baked in: a converge then
installs nothing from the network, and ``apt`` only refreshes its lists through the
harness's proxy. The tree holds nothing per host: machine-id, SSH host keys,
hostname, /etc/hosts and resolv.conf are written into each host's overlay at boot.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["ADMIN_USER", "PACKAGES", "SUITE", "cache_dir", "ensure_rootfs", "rootfs_key"]

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
#: The non-root account Ansible logs in as; it becomes root through sudo.
ADMIN_USER = "has-admin"

PACKAGES = (
    # a booted host: systemd as PID 1, D-Bus for systemctl, sshd, sudo, ip
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "iproute2",
    "procps",
    "python3",
    # what the roles install (has_package, has_mariadb)
    "python3-venv",
    "python3-pymysql",
    "mariadb-server",
    # what the checks run on the hosts
    "krb5-user",
    "curl",
    "ca-certificates",
)

# Units that must not run in a test host: apt's timers would take the dpkg lock in the
# middle of a converge; MariaDB starts only where the role enables it; a getty has no
# console to serve.
_MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "console-getty.service",
    "getty@tty1.service",
    "systemd-udevd.service",
    "systemd-udev-trigger.service",
)
_DISABLED_UNITS = ("mariadb.service",)

_SETUP_STEPS = f"""
useradd --create-home --shell /bin/bash {ADMIN_USER}
sudoers: {ADMIN_USER} ALL=(ALL) NOPASSWD: ALL
mask: {" ".join(_MASKED_UNITS)}
disable: {" ".join(_DISABLED_UNITS)}
remove: ssh host keys, machine-id, apt caches
"""


def cache_dir() -> Path:
    return Path(os.environ.get("HAS_HOSTS_CACHE", "/var/cache/has-kdc-hosts"))


def rootfs_key() -> str:
    """What the cached tree is named after: a hash of everything that shapes it."""
    text = "\n".join([SUITE, MIRROR, *sorted(PACKAGES), _SETUP_STEPS])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run(argv: list[str], log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(
            f"{argv[0]} failed ({result.returncode}) building the test-host rootfs; "
            f"last lines of {log}:\n" + "\n".join(tail)
        )


def _setup(tree: Path, log: Path) -> None:
    """The steps of ``_SETUP_STEPS``, inside the new tree (offline, no /proc needed)."""
    _run(["chroot", str(tree), "useradd", "--create-home", "--shell", "/bin/bash", ADMIN_USER], log)
    sudoers = tree / "etc/sudoers.d" / ADMIN_USER
    sudoers.write_text(f"{ADMIN_USER} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    _run(["systemctl", f"--root={tree}", "mask", *_MASKED_UNITS], log)
    _run(["systemctl", f"--root={tree}", "disable", *_DISABLED_UNITS], log)
    for key in (tree / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (tree / "etc/machine-id").write_text("")
    dbus_id = tree / "var/lib/dbus/machine-id"
    if dbus_id.is_symlink() or dbus_id.exists():
        dbus_id.unlink()
    for deb in (tree / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def ensure_rootfs(log: Path | None = None) -> Path:
    """The cached tree for the current package list; built (minutes) when missing."""
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    key = rootfs_key()
    tree = base / f"rootfs-{key}"
    log = log or base / f"rootfs-{key}.log"
    with (base / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (tree / ".complete").is_file():
            return tree
        work = base / f"rootfs-{key}.building"
        shutil.rmtree(work, ignore_errors=True)
        log.write_text("")
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(work),
                MIRROR,
            ],
            log,
        )
        _setup(work, log)
        (work / ".complete").write_text(key + "\n")
        shutil.rmtree(tree, ignore_errors=True)
        work.rename(tree)
        for old in base.glob("rootfs-*"):
            if old.is_dir() and old.name != tree.name:
                shutil.rmtree(old, ignore_errors=True)
        return tree
