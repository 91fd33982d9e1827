"""HAS's own command names, aliases and optional arguments, as has-start.md and HAS's
tools (HasInitTool, HadminLocalTool, start-has.sh) take them."""

from __future__ import annotations

import io
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from has_kdc.cli import hadmin_local, kdcinit
from has_kdc.cli.deploy_keytabs import ssh_commands
from has_kdc.cli.has_dirs import server_dirs
from has_kdc.conf import ConfigError, read_has_server_conf
from has_kdc.formats import read_keytab
from tests.hasnode import HasNode, script

FORMATS = Path(__file__).parent / "data" / "formats"


def run(main, conf_dir, *argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        status = main([str(conf_dir), *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def node(tmp_path):
    return HasNode(tmp_path, "HADOOP.COM", port=8888)


def test_kdcinit_long_names_and_p_defaulting_to_the_conf_dir(node, tmp_path):
    conf = node.conf_dir
    status, out, err = run(kdcinit.main, conf, "--local", "init_kdc")
    assert (status, err) == (0, "")
    keytab = conf / "admin.keytab"
    assert stat.S_IMODE(keytab.stat().st_mode) == 0o600
    assert {e.principal.realm for e in read_keytab(keytab).entries} == {"HADOOP.COM"}
    assert run(kdcinit.main, conf, "--local", "get_krb5conf")[0] == 0
    assert "HADOOP.COM" in (conf / "krb5.conf").read_text()
    fresh = tmp_path / "etc" / "has"  # HAS creates a -p directory that is missing
    status, out, _ = run(kdcinit.main, conf, "--local", "get_hasConf", "-p", str(fresh))
    assert status == 0
    assert f"Created {fresh}" in out
    assert (fresh / "has-client.conf").is_file()
    status, out, _ = run(kdcinit.main, conf, "--local", "start_kdc")
    assert (status, "initialized" in out) == (0, True)


def test_kdcinit_config_aliases_edit_the_files(node):
    conf = node.conf_dir
    node.https_port = 8092
    node.write_server_conf()
    status, _, err = run(kdcinit.main, conf, "--local", "setplugin", "RAM")
    assert (status, err) == (0, "")
    assert read_has_server_conf(conf / "has-server.conf").auth_type == "RAM"
    status, _, err = run(
        kdcinit.main, conf, "--local", "confkdc", "127.0.0.1", "8889", "HADOOP.COM"
    )
    assert (status, err) == (0, "")
    assert "kdc_udp_port = 8889" in (conf / "kdc.conf").read_text()
    status, _, err = run(kdcinit.main, conf, "--local", "confbackend", "json")
    assert status == 1
    assert "hadmin-local CONF_DIR import DIR/json-backend.json" in err


@pytest.mark.parametrize("main", [kdcinit.main, hadmin_local.main])
def test_cmd_lists_the_commands_with_has_names(node, main):
    assert kdcinit.main([str(node.conf_dir), "--local", "init"]) == 0
    status, out, _ = run(main, node.conf_dir, "cmd")
    assert status == 0
    wanted = (
        ("get_krb5conf", "get_hasConf", "setplugin", "confbackend", "confkdc", "start_kdc")
        if main is kdcinit.main
        else ("enable_configure", "disable_configure", "deploy_keytabs", "depkeytabs", "keytab")
    )
    for name in wanted:
        assert name in out


def test_enable_and_disable_configure_edit_has_server_conf_and_are_audited(node):
    conf = node.conf_dir
    node.https_port = 8092
    node.write_server_conf({"enable_conf": "false"})
    assert kdcinit.main([str(conf), "--local", "init"]) == 0
    status, out, err = run(hadmin_local.main, conf, "enable")
    assert (status, err) == (0, "")
    assert read_has_server_conf(conf / "has-server.conf").enable_conf is True
    status, out, _ = run(hadmin_local.main, conf, "enable_configure")
    assert "already" in out
    assert run(hadmin_local.main, conf, "disable_configure")[0] == 0
    assert read_has_server_conf(conf / "has-server.conf").enable_conf is False
    status, out, _ = run(hadmin_local.main, conf, "audit", "-action", "setconf", "-json")
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["via"], r["detail"]["enable_conf"]) for r in records] == [
        ("hadmin-local", True),
        ("hadmin-local", False),
    ]  # the call that changed nothing leaves no change behind


def test_minus_c_takes_a_credential_cache_and_refuses_anything_else(node, tmp_path):
    assert kdcinit.main([str(node.conf_dir), "--local", "init"]) == 0
    ccache = FORMATS / "kinit.ccache"
    status, out, err = run(hadmin_local.main, node.conf_dir, "-c", str(ccache), "listprincs")
    assert (status, err) == (0, "")
    assert "krbtgt/HADOOP.COM@HADOOP.COM" in out
    status, _, err = run(hadmin_local.main, node.conf_dir, "-c", str(FORMATS / "ktutil.keytab"))
    assert status == 1
    assert "is not a credential cache" in err
    status, _, err = run(hadmin_local.main, node.conf_dir, "-c", str(tmp_path / "none"))
    assert (status, "cannot read credential cache" in err) == (1, True)


def test_ssh_commands_check_host_keys_and_never_carry_a_secret():
    files = [Path("/tmp/x/NAMENODE-h1.keytab")]
    mkdir, copy = ssh_commands("h1", files, "/etc/has/", "root", 2222, batch=True)
    assert mkdir[0] == "ssh" and mkdir[-1] == "mkdir -p -- /etc/has/"
    assert "StrictHostKeyChecking=accept-new" in mkdir and "BatchMode=yes" in mkdir
    assert mkdir[mkdir.index("-p") : mkdir.index("-p") + 2] == ("-p", "2222")
    assert copy[:2] == ("scp", "-p") and copy[-1] == "root@h1:/etc/has/"
    assert copy[copy.index("-P") : copy.index("-P") + 2] == ("-P", "2222")
    _, copy = ssh_commands("h1", files, "/etc/security/keytabs", None, 22, batch=False)
    assert "BatchMode=yes" not in copy
    assert copy[-1] == "h1:/etc/security/keytabs/"
    for bad in ("etc/has", "/a dir", "/x;rm -rf /", "/$(id)"):  # the remote shell reads it
        with pytest.raises(Exception, match="absolute and plain"):
            ssh_commands("h1", files, bad, None, 22, batch=True)
    with pytest.raises(Exception, match="not a host"):
        ssh_commands("-oProxyCommand=x", files, "/etc/has", None, 22, batch=True)


SHIM = r"""#!/bin/sh
# A stand-in for the OpenSSH client: the "remote host" is a directory on this machine.
# It records its argv and, with a password, what the askpass helper answers.
printf '%s\n' "$(basename "$0") $*" >> "$SHIM_LOG"
if [ -n "$SSH_ASKPASS" ]; then "$SSH_ASKPASS" > "$SHIM_LOG.password"; fi
if [ "$(basename "$0")" = ssh ]; then
    for last; do :; done
    set -- $last
    mkdir -p "$SHIM_ROOT$4"
else
    for last; do :; done
    dest="$SHIM_ROOT${last#*:}"
    while [ $# -gt 1 ]; do
        case "$1" in /*) cp -p "$1" "$dest" ;; esac
        shift
    done
fi
"""


def test_deploy_keytabs_creates_exports_and_copies_per_host(node, tmp_path):
    """The commands run through a local stand-in for ssh/scp (no sshd in the test
    environment): what reaches the 'hosts' is checked with MIT's klist."""
    conf = node.conf_dir
    assert kdcinit.main([str(conf), "--local", "init"]) == 0
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("ssh", "scp"):
        (bindir / name).write_text(SHIM)
        (bindir / name).chmod(0o755)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(
        '{"HOSTS": [{"name": "h1.example", "hostRoles": "HDFS,YARN"},'
        ' {"name": "h2.example", "hostRoles": "HDFS"}]}'
    )
    root, log = tmp_path / "remote", tmp_path / "shim.log"
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "SHIM_ROOT": str(root), "SHIM_LOG": str(log)}
    old = dict(os.environ)
    os.environ.update(env)
    try:
        status, out, err = run(
            hadmin_local.main, conf, "deploy_keytabs", str(hosts), "/etc/has/", "hdfs", "s3cret"
        )
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert status == 0, err
    assert "deployed to 2 host(s), 0 failed" in out
    assert "s3cret" not in out + err + log.read_text()  # never on a command line
    assert (tmp_path / "shim.log.password").read_text() == "s3cret\n"  # given to askpass
    deployed = sorted(p.name for p in (root / "etc" / "has").iterdir())
    assert deployed == [
        "HDFS-h1.example.keytab",
        "HDFS-h2.example.keytab",
        "YARN-h1.example.keytab",
    ]
    keytab = root / "etc" / "has" / "HDFS-h1.example.keytab"
    assert stat.S_IMODE(keytab.stat().st_mode) == 0o600
    listing = subprocess.run(
        ["klist", "-k", str(keytab)], capture_output=True, text=True, check=True
    )
    assert "hdfs/h1.example@HADOOP.COM" in listing.stdout
    commands = [shlex.split(line) for line in log.read_text().splitlines()]
    assert [c[0] for c in commands] == ["ssh", "scp", "ssh", "scp"]
    assert all("hdfs@h1.example" in " ".join(c) for c in commands[:2])
    # a second run creates nothing new and copies the same keys again
    os.environ.update(env)
    try:
        status, out, _ = run(
            hadmin_local.main, conf, "keytab", "deploy", str(hosts), "22", "/etc/has/", "hdfs"
        )
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert status == 0
    assert "principals:" not in out  # deploy alone does not create
    assert "BatchMode=yes" in log.read_text().splitlines()[-1]  # no password: keys only


def test_deploy_keytabs_reports_a_failing_host_and_goes_on(node, tmp_path):
    conf = node.conf_dir
    assert kdcinit.main([str(conf), "--local", "init"]) == 0
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ssh").write_text('#!/bin/sh\necho "ssh: connect to host: No route" >&2\nexit 255\n')
    (bindir / "ssh").chmod(0o755)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text('{"HOSTS": [{"name": "down.example", "hostRoles": "HDFS"}]}')
    old = dict(os.environ)
    os.environ["PATH"] = f"{bindir}:{old['PATH']}"
    try:
        status, out, err = run(hadmin_local.main, conf, "depkeytabs", str(hosts), "/etc/has")
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert status == 1
    assert "down.example: ssh exited 255: ssh: connect to host: No route" in err
    assert "deployed to 0 host(s), 1 failed" in out


def test_server_dirs_from_arguments_or_has_environment(tmp_path):
    conf, work = tmp_path / "conf", tmp_path / "work"
    conf.mkdir()
    work.mkdir()
    env = {"HAS_CONF_DIR": str(conf), "HAS_WORK_DIR": str(work)}
    assert server_dirs(None, None, env) == (conf, work)
    assert server_dirs(str(conf), None, {}) == (conf, None)
    other = tmp_path / "other"
    other.mkdir()
    assert server_dirs(str(other), str(other), env) == (other, other)  # arguments win
    with pytest.raises(ConfigError, match="HAS_CONF_DIR"):
        server_dirs(None, None, {})
    with pytest.raises(ConfigError, match="HAS_WORK_DIR: not a directory"):
        server_dirs(None, None, {**env, "HAS_WORK_DIR": str(tmp_path / "absent")})


def test_has_server_started_as_start_has_sh_starts_it(node, tmp_path):
    """``HAS_CONF_DIR``/``HAS_WORK_DIR`` and no argument: the KDC serves, the daemon's log
    is in the work_dir; ``has-server CONF_DIR WORK_DIR`` takes the same positions."""
    assert kdcinit.main([str(node.conf_dir), "--local", "init"]) == 0
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "HAS_CONF_DIR": str(node.conf_dir), "HAS_WORK_DIR": str(work)}
    started = subprocess.run(
        [script("has-server"), "--daemon", "--pidfile", str(node.pidfile)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        assert started.returncode == 0, started.stderr
        client = node.mit_client(tmp_path / "mit")
        client.kinit_keytab("kadmin/HADOOP.COM@HADOOP.COM", node.conf_dir / "admin.keytab")
        assert "listening" in (work / "has-server.log").read_text()
    finally:
        node.stop()
    bad = subprocess.run(
        [script("has-server"), str(node.conf_dir), str(tmp_path / "nowork")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "nowork: work_dir: not a directory" in bad.stderr


def test_deploy_https_is_refused_with_what_to_do_instead(node):
    assert kdcinit.main([str(node.conf_dir), "--local", "init"]) == 0
    status, _, err = run(
        hadmin_local.main, node.conf_dir, "dephttps", "hosts.txt", "/etc/has/t.jks"
    )
    assert status == 1
    assert "kdcinit CONF_DIR certs --ca-dir CA_DIR" in err
