"""kdcinit: init once, admin.keytab 0600 with the same keys every time, the prompt."""

from __future__ import annotations

import io
import os
import stat
import sys

from has_kdc.cli import kdcinit
from has_kdc.formats import read_keytab
from tests.hasnode import HasNode


def run(conf_dir, *argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        status = kdcinit.main([str(conf_dir), *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def keys(path):
    return sorted((e.enctype, e.kvno, e.key) for e in read_keytab(path).entries)


def test_init_then_again_through_the_console_script(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM")
    first = node.init()
    assert "Realm HADOOP.COM initialized; created:" in first.stdout
    assert "krbtgt/HADOOP.COM@HADOOP.COM" in first.stdout
    assert stat.S_IMODE(os.stat(node.admin_keytab).st_mode) == 0o600
    kt1 = keys(node.admin_keytab)
    assert {str(p) for p in read_keytab(node.admin_keytab).principals()} == {
        "kadmin/HADOOP.COM@HADOOP.COM"
    }
    assert len(kt1) == 4
    node.admin_keytab.unlink()
    second = node.init()
    assert "Realm HADOOP.COM is already initialized" in second.stdout
    assert "nothing changed" in second.stdout
    assert keys(node.admin_keytab) == kt1
    listing = node.hadmin("listprincs").stdout.split()
    assert listing == [
        "HTTP/127.0.0.1@HADOOP.COM",
        "kadmin/HADOOP.COM@HADOOP.COM",
        "kadmin/changepw@HADOOP.COM",
        "krbtgt/HADOOP.COM@HADOOP.COM",
    ]


def test_interactive_prompt(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM")
    out_dir = tmp_path / "keys"
    out_dir.mkdir()
    status, out, err = run(
        node.conf_dir, stdin=f"help\ninit -p {out_dir}\ninit -p {out_dir}\nbogus\nexit\n"
    )
    assert status == 0
    assert out.startswith("KdcInitTool: ")
    assert "init" in out and "exit, quit" in out
    assert out.count("initialized; created") == 1
    assert out.count("already initialized") == 1
    assert "unknown command 'bogus'" in err
    assert (out_dir / "admin.keytab").exists()


def test_init_errors(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM")
    afile = tmp_path / "afile"
    afile.write_text("")
    status, _, err = run(node.conf_dir, "init", "-p", str(afile))
    assert status == 1 and "afile is not a directory" in err
    status, _, err = run(node.conf_dir, "init", "-p")
    assert status == 2 and "-p" in err
    status, _, err = run(tmp_path / "missing", "init", "-p", str(tmp_path))
    assert status == 1 and "missing" in err


def test_help_after_the_conf_dir(tmp_path, capsys):
    """kdcinit CONF --help: the usage and every command, not "unknown command"."""
    assert kdcinit.main([str(tmp_path), "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kdcinit")
    assert "gethas" in out and "init" in out and "unknown" not in out


def test_local_refusals_are_one_line_and_exit_1(tmp_path):
    """The node's refusals (node.errors) end a --local command like any user error."""
    node = HasNode(tmp_path, "HADOOP.COM")
    status, _, err = run(node.conf_dir, "--local", "set_plugin", "no way")
    assert status == 1
    assert err == "kdcinit: plugin 'no way' is not a plugin name (a word such as MySQL or RAM)\n"
    status, _, err = run(node.conf_dir, "--local", "config_kdc", "emr header", "88", "HADOOP.COM")
    assert status == 1 and "'emr header' is not a host name" in err and "Traceback" not in err
    node.init()
    status, _, err = run(node.conf_dir, "--local", "config_kdc", "h", "88", "OTHER.COM")
    assert status == 1 and "already belongs to realm HADOOP.COM" in err
