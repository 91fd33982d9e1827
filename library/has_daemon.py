#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a long-running program kept up by pidfile, where systemd does not run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_daemon
short_description: Start, stop or restart a daemon tracked by its pidfile (no systemd)
description:
  - The service manager of has-kdc's C(daemon) mode, for containers and machines
    without systemd; on systemd hosts the roles use C(ansible.builtin.systemd_service).
  - A daemon is running when I(pidfile) names a live process whose name is I(name).
    Only then is it left alone by C(state=started); a stale pidfile is ignored.
  - Starting runs I(command); with I(detaches=true) the program forks into the
    background itself and exits 0 once it is ready (C(has-server --daemon)); otherwise
    the module starts it in a new session with its output in I(output_file), and waits
    for the program to write I(pidfile) (C(mariadbd --pid-file)).
  - With I(user), the program runs as that user through C(setpriv), keeping only
    I(ambient_capabilities) (e.g. C(net_bind_service) for port 88) and with
    C(no_new_privs) set, the same confinement the systemd unit gives.
  - Stopping sends SIGTERM and waits I(stop_timeout) seconds, then SIGKILL.
  - Needs only the Python standard library.
version_added: "0.1.0"
author: has-kdc contributors
options:
  name:
    description: The process name (C(/proc/PID/comm)) that identifies the daemon.
    type: str
    required: true
  pidfile:
    description: The daemon's pidfile.
    type: path
    required: true
  command:
    description: The program and its arguments, for starting.
    type: list
    elements: str
  state:
    description: C(started), C(stopped) or C(restarted).
    type: str
    choices: [started, stopped, restarted]
    default: started
  detaches:
    description: Whether I(command) daemonizes itself and exits once ready.
    type: bool
    default: false
  user:
    description: Run as this user (through C(setpriv)); default the current user.
    type: str
  group:
    description: Primary group with I(user); default the user's group.
    type: str
  ambient_capabilities:
    description: Capabilities the program keeps as I(user), e.g. C(net_bind_service).
    type: list
    elements: str
    default: []
  output_file:
    description: Where a non-detaching program's standard output and error go.
    type: path
    default: /dev/null
  start_timeout:
    description: Seconds to wait for the program to be ready.
    type: int
    default: 60
  stop_timeout:
    description: Seconds to wait after SIGTERM before SIGKILL.
    type: int
    default: 30
notes:
  - Check mode reports whether the daemon would be started, stopped or restarted.
extends_documentation_fragment:
  - has_kdc
"""

EXAMPLES = r"""
- name: has-server as user has, allowed to bind port 88
  has_daemon:
    name: has-server
    pidfile: /run/has/has-server.pid
    command: [/opt/has/venv/bin/has-server, /etc/has, --daemon, --pidfile, /run/has/has-server.pid]
    detaches: true
    user: has
    ambient_capabilities: [net_bind_service]
"""

RETURN = r"""
pid:
  description: The daemon's process id after the run (null when stopped).
  returned: always
  type: int
was_running:
  description: Whether it ran before the run.
  returned: always
  type: bool
"""

import os
import signal
import subprocess
import time

from ansible.module_utils.has_kdc_module import HasKdcModule, summary_diff


def read_pid(pidfile):
    try:
        with open(pidfile) as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def alive_as(pid, name):
    """Whether ``pid`` is a live (not zombie) process called ``name``."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            stat = fh.read()
        with open("/proc/%d/comm" % pid) as fh:
            comm = fh.read().strip()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and comm == name[:15]


def running_pid(pidfile, name):
    pid = read_pid(pidfile)
    return pid if pid is not None and alive_as(pid, name) else None


def privilege_prefix(module, p):
    """``setpriv`` arguments that run the command as ``user`` with only the given caps."""
    if not p["user"]:
        return []
    caps = ",".join("+" + c.lower().removeprefix("cap_") for c in p["ambient_capabilities"])
    prefix = ["setpriv", "--reuid", p["user"], "--init-groups", "--no-new-privs"]
    prefix += ["--regid", p["group"] or p["user"]]
    if caps:
        prefix += ["--inh-caps", caps, "--ambient-caps", caps, "--bounding-set", "-all," + caps]
    else:
        prefix += ["--bounding-set", "-all"]
    path = module.get_bin_path("setpriv", required=True)
    return [path, *prefix[1:], "--"]


def stop(module, p, pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + p["stop_timeout"]
    while time.monotonic() < deadline:
        if not alive_as(pid, p["name"]):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while alive_as(pid, p["name"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive_as(pid, p["name"]):
        module.fail_json(msg="%s (pid %d) did not stop, even after SIGKILL" % (p["name"], pid))


def start(module, p):
    if not p["command"]:
        module.fail_json(msg="command is required to start %s" % p["name"])
    argv = privilege_prefix(module, p) + list(p["command"])
    if p["detaches"]:
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=p["start_timeout"],
                check=False,
            )
        except subprocess.TimeoutExpired:
            module.fail_json(
                msg="%s did not report ready within %ss" % (p["name"], p["start_timeout"])
            )
        if proc.returncode != 0:
            module.fail_json(
                msg="%s failed to start (exit %d): %s"
                % (p["name"], proc.returncode, (proc.stderr or proc.stdout).strip()[-2000:])
            )
    else:
        with open(p["output_file"], "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                close_fds=True,
            )
        deadline = time.monotonic() + p["start_timeout"]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                module.fail_json(
                    msg="%s exited with %s while starting; see %s"
                    % (p["name"], proc.returncode, p["output_file"])
                )
            if running_pid(p["pidfile"], p["name"]):
                break
            time.sleep(0.2)
    pid = running_pid(p["pidfile"], p["name"])
    if pid is None:
        module.fail_json(
            msg="%s started but %s names no live %s process within %ss"
            % (p["name"], p["pidfile"], p["name"], p["start_timeout"])
        )
    return pid


def main():
    module = HasKdcModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "pidfile": {"type": "path", "required": True},
            "command": {"type": "list", "elements": "str"},
            "state": {
                "type": "str",
                "choices": ["started", "stopped", "restarted"],
                "default": "started",
            },
            "detaches": {"type": "bool", "default": False},
            "user": {"type": "str"},
            "group": {"type": "str"},
            "ambient_capabilities": {"type": "list", "elements": "str", "default": []},
            "output_file": {"type": "path", "default": "/dev/null"},
            "start_timeout": {"type": "int", "default": 60},
            "stop_timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
        needs_has_kdc=False,
    )
    p = module.params
    pid = running_pid(p["pidfile"], p["name"])
    was_running = pid is not None
    before = "running (pid %d)" % pid if was_running else "stopped"
    state = p["state"]
    changed = (
        (state == "started" and not was_running)
        or (state == "stopped" and was_running)
        or state == "restarted"
    )
    if changed and not module.check_mode:
        if pid is not None:
            stop(module, p, pid)
            pid = None
        if state != "stopped":
            pid = start(module, p)
    after = {"started": "running", "restarted": "restarted", "stopped": "stopped"}[state]
    diff = summary_diff(p["name"], before, after) if changed else []
    module.exit_json(changed=changed, pid=pid, was_running=was_running, diff=diff)


if __name__ == "__main__":
    main()
