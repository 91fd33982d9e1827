"""HAS's ``deploy_keytabs`` / ``keytab deploy``: per-host keytabs copied to the hosts over SSH.

HAS's has-start.md: create the Hadoop service principals of a hostroles file, export
one keytab per host and role (``<ROLE>-<host>.keytab``) and copy each host's files to
the same directory on that host. HAS did this with an embedded SSH library and no
host key checking; here the system's OpenSSH client does it, with its own
configuration (``~/.ssh/config``, agent, known_hosts):

- for each host ``ssh -p PORT USER@HOST mkdir -p -- DIR`` then
  ``scp -p -P PORT FILES USER@HOST:DIR/`` (``-p`` keeps the files' mode 0600);
- a host seen for the first time is trusted and remembered, a host whose key changed
  is refused (``StrictHostKeyChecking=accept-new``), never HAS's "no";
- without a password, key-based login only (``BatchMode=yes``); with one (HAS's last
  argument), OpenSSH asks a helper that reads it from this process's environment
  (``SSH_ASKPASS``), so it is never on a command line, in a file or in the output.

The keytabs are written to a private temporary directory (0700) on this machine and
deleted once copied, whether the copy worked or not. Hosts are handled in the file's
order; a host that fails is reported and the others are still done.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.admin import (
    AdminError,
    HostRoles,
    PrincipalAdmin,
    create_principals,
    export_host_keytabs,
    host_role_principals,
)

__all__ = ["PASSWORD_ENV", "DeployResult", "deploy_keytabs", "ssh_commands"]

#: the environment variable the askpass helper reads the SSH password from
PASSWORD_ENV = "HAS_DEPLOY_SSH_PASSWORD"  # noqa: S105 (a variable name)
_ASKPASS = "#!/bin/sh\nprintf '%s\\n' \"$" + PASSWORD_ENV + '"\n'
_TIMEOUT = 120
_REMOTE_DIR = re.compile(r"^/[A-Za-z0-9._/-]*$")

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass
class DeployResult:
    created: int = 0
    deployed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _ssh_options(port: int, batch: bool) -> list[str]:
    options = ["-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=15"]
    if batch:
        options += ["-o", "BatchMode=yes"]
    else:  # a password: only ask for it, through the askpass helper
        options += ["-o", "PreferredAuthentications=keyboard-interactive,password"]
        options += ["-o", "NumberOfPasswordPrompts=1"]
    return options


def ssh_commands(
    host: str, files: Sequence[Path], remote_dir: str, user: str | None, port: int, batch: bool
) -> tuple[tuple[str, ...], ...]:
    """The two commands that put ``files`` into ``remote_dir`` on ``host``."""
    if not _REMOTE_DIR.match(remote_dir):
        raise AdminError(
            f"the directory to deploy to must be absolute and plain (letters, digits, "
            f"'.', '_', '-', '/'), not {remote_dir!r}: the remote shell reads it"
        )
    if host.startswith("-") or (user or "").startswith("-") or "@" in (user or ""):
        raise AdminError(f"refusing host {host!r} / user {user!r}: not a host or user name")
    target = f"{user}@{host}" if user else host
    options = _ssh_options(port, batch)
    mkdir = ("ssh", *options, "-p", str(port), target, "mkdir -p -- " + shlex.quote(remote_dir))
    directory = remote_dir.rstrip("/") + "/"
    copy = ("scp", "-p", *options, "-P", str(port), *map(str, files), f"{target}:{directory}")
    return (mkdir, copy)


def _environment(password: str | None, helper: Path | None) -> dict[str, str] | None:
    if password is None or helper is None:
        return None
    env = dict(os.environ)
    env.update({PASSWORD_ENV: password, "SSH_ASKPASS": str(helper), "SSH_ASKPASS_REQUIRE": "force"})
    env.setdefault("DISPLAY", ":0")  # older OpenSSH asks the helper only with a DISPLAY
    return env


def deploy_keytabs(
    admin: PrincipalAdmin,
    hosts: Sequence[HostRoles],
    remote_dir: str,
    *,
    user: str | None = None,
    port: int = 22,
    password: str | None = None,
    create: bool = True,
    run: Runner = subprocess.run,
    report: Callable[[str], None] = lambda _line: None,
) -> DeployResult:
    """Create (with ``create``), export and copy the keytabs of every host of ``hosts``."""
    if not 1 <= port <= 65535:
        raise AdminError(f"SSH port {port} is not a port from 1 to 65535")
    result = DeployResult()
    if create:
        created = create_principals(admin, host_role_principals(hosts, admin.realm))
        result.created = created.created
        report(f"principals: {created.summary()}")
        for name, reason in created.failed:
            result.failed.append((name, reason))
    with tempfile.TemporaryDirectory(prefix="has-deploy-") as staging:
        os.chmod(staging, 0o700)
        helper = None
        if password is not None:
            helper = Path(staging) / "askpass"
            fd = os.open(helper, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
            with os.fdopen(fd, "w") as fh:
                fh.write(_ASKPASS)
        env = _environment(password, helper)
        for entry in hosts:
            host_dir = Path(staging) / entry.host
            host_dir.mkdir(mode=0o700)
            try:
                files: list[Path] = []
                for role in entry.roles:
                    files += [
                        e.path for e in export_host_keytabs(admin, entry.host, host_dir, role)
                    ]
                for command in ssh_commands(
                    entry.host, files, remote_dir, user, port, batch=password is None
                ):
                    done = run(
                        list(command),
                        env=env,
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        text=True,
                        timeout=_TIMEOUT,
                        check=False,
                    )
                    if done.returncode != 0:
                        why = (done.stderr or "").strip().splitlines()
                        raise AdminError(
                            f"{command[0]} exited {done.returncode}: "
                            f"{why[-1] if why else 'no message'}"
                        )
            except (AdminError, OSError, subprocess.TimeoutExpired) as exc:
                result.failed.append((entry.host, str(exc)))
                report(f"{entry.host}: not deployed: {exc}")
                continue
            names = tuple(f.name for f in files)
            result.deployed.append((entry.host, names))
            report(f"{entry.host}: deployed {', '.join(names)} to {remote_dir}")
    return result
