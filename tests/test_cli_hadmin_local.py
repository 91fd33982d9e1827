"""hadmin-local: every command one-shot and at the prompt, in-process and as the console script."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys

import pytest

from has_kdc.backend import open_backend
from has_kdc.cli import hadmin_local, kdcinit
from has_kdc.conf import load_conf_dir
from has_kdc.crypto import enctype_by_id
from has_kdc.formats import read_keytab
from tests.hasnode import HasNode, script


@pytest.fixture
def conf_dir(tmp_path):
    node = HasNode(tmp_path, "HADOOP.COM", port=8888)
    assert kdcinit.main([str(node.conf_dir), "init", "-p", str(tmp_path)]) == 0
    return node.conf_dir


def run(conf_dir, *argv, stdin=""):
    """hadmin-local in this process; returns (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        status = hadmin_local.main([str(conf_dir), *argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def principal(conf_dir, name):
    conf = load_conf_dir(conf_dir)
    with open_backend(conf.backend) as backend:
        return backend.get_principal(name)


def key18(password: str, salt: bytes) -> bytes:
    et = enctype_by_id(18)
    return et.string_to_key(password.encode(), salt, et.default_params)


def test_addprinc_pw_and_getprinc(conf_dir):
    status, out, err = run(conf_dir, "addprinc", "-pw", "alice-pw", "alice")
    assert (status, err) == (0, "")
    assert out == 'Principal "alice@HADOOP.COM" created.\n'
    status, out, _ = run(conf_dir, "getprinc", "alice")
    assert status == 0
    assert "Principal: alice@HADOOP.COM" in out
    assert "Key: vno 1, aes256-cts-hmac-sha1-96" in out
    assert "alice-pw" not in out
    stored = principal(conf_dir, "alice@HADOOP.COM")
    key = next(k for k in stored.keys if k.enctype == 18)
    assert key.key == key18("alice-pw", b"HADOOP.COMalice")


def test_addprinc_options(conf_dir):
    status, _, err = run(
        conf_dir,
        "addprinc",
        "-randkey",
        "-requires_preauth",
        "-maxlife",
        "10h",
        "-maxrenewlife",
        "1d 2h",
        "-expire",
        "2027-01-01 UTC",
        "HTTP/web1.example.com@HADOOP.COM",
    )
    assert status == 0, err
    p = principal(conf_dir, "HTTP/web1.example.com@HADOOP.COM")
    assert (p.requires_preauth, p.max_life, p.max_renewable_life) == (False, 36000, 93600)
    assert p.expiration == 1798761600


def test_password_from_stdin_one_line_or_two_equal_lines(conf_dir):
    assert run(conf_dir, "addprinc", "bob", stdin="bob-pw\n")[0] == 0
    assert run(conf_dir, "addprinc", "carol", stdin="carol-pw\ncarol-pw\n")[0] == 0
    status, out, err = run(conf_dir, "addprinc", "dave", stdin="one\ntwo\n")
    assert status == 1
    assert "passwords for dave@HADOOP.COM do not match" in err
    assert "one" not in out + err.replace("do not match", "")
    assert principal(conf_dir, "dave@HADOOP.COM") is None
    status, _, err = run(conf_dir, "addprinc", "erin", stdin="")
    assert status == 1 and "no password for erin@HADOOP.COM" in err
    p = principal(conf_dir, "carol@HADOOP.COM")
    assert next(k for k in p.keys if k.enctype == 18).key == key18("carol-pw", b"HADOOP.COMcarol")


def test_errors_are_one_line_with_nonzero_status(conf_dir):
    run(conf_dir, "addprinc", "-pw", "x", "alice")
    status, out, err = run(conf_dir, "addprinc", "-pw", "x", "alice")
    assert (status, out) == (1, "")
    assert err == "addprinc: principal alice@HADOOP.COM already exists\n"
    status, _, err = run(conf_dir, "getprinc", "ghost")
    assert (status, err) == (1, "getprinc: principal ghost@HADOOP.COM does not exist\n")
    status, _, err = run(conf_dir, "addprinc", "-pw", "x", "-bogus", "zed")
    assert status == 2 and "unrecognized arguments: -bogus" in err
    status, _, err = run(conf_dir, "frobnicate")
    assert status == 2 and "unknown command 'frobnicate'" in err
    status, _, err = run(conf_dir, "modprinc", "-maxlife", "forever", "alice")
    assert status == 1 and "invalid duration 'forever'" in err


def test_delprinc_confirmation(conf_dir):
    run(conf_dir, "addprinc", "-randkey", "svc")
    status, out, _ = run(conf_dir, "delprinc", "svc", stdin="no\n")
    assert status == 1 and 'Principal "svc@HADOOP.COM" not deleted.' in out
    status, _, err = run(conf_dir, "delprinc", "svc", stdin="")
    assert status == 1 and "use -force" in err
    assert principal(conf_dir, "svc@HADOOP.COM") is not None
    status, out, _ = run(conf_dir, "delprinc", "svc", stdin="yes\n")
    assert status == 0 and 'Principal "svc@HADOOP.COM" deleted.' in out
    run(conf_dir, "addprinc", "-randkey", "svc2")
    assert run(conf_dir, "delprinc", "-force", "svc2")[0] == 0
    assert principal(conf_dir, "svc2@HADOOP.COM") is None


def test_renprinc_listprincs_cpw_modprinc(conf_dir):
    run(conf_dir, "addprinc", "-pw", "pw1", "alice")
    run(conf_dir, "addprinc", "-pw", "pw1", "alan")
    assert run(conf_dir, "renprinc", "alice", "alicia")[0] == 0
    status, out, _ = run(conf_dir, "listprincs", "al*")
    assert (status, out) == (0, "alan@HADOOP.COM\nalicia@HADOOP.COM\n")
    assert run(conf_dir, "cpw", "-pw", "pw2", "alan")[0] == 0
    p = principal(conf_dir, "alan@HADOOP.COM")
    assert p.kvno == 2
    assert next(k for k in p.keys if k.enctype == 18).key == key18("pw2", b"HADOOP.COMalan")
    status, out, _ = run(conf_dir, "cpw", "-randkey", "alan")
    assert status == 0 and principal(conf_dir, "alan@HADOOP.COM").kvno == 3
    status, out, _ = run(conf_dir, "cpw", "alan", stdin="pw4\npw4\n")
    assert status == 0 and 'Password for "alan@HADOOP.COM" changed.' in out
    status, _, err = run(
        conf_dir,
        "modprinc",
        "-allow_forwardable",
        "-allow_renewable",
        "+allow_proxiable",
        "-maxlife",
        "2h",
        "-pwexpire",
        "never",
        "-disable",
        "alan",
    )
    assert status == 0, err
    p = principal(conf_dir, "alan@HADOOP.COM")
    assert (p.allow_forwardable, p.allow_renewable, p.allow_proxiable) == (False, False, True)
    assert (p.max_life, p.pw_expiration, p.disabled) == (7200, None, True)
    assert run(conf_dir, "modprinc", "-kvno", "9", "alan")[0] == 0
    assert principal(conf_dir, "alan@HADOOP.COM").kvno == 9
    status, _, err = run(conf_dir, "modprinc", "alan")
    assert status == 1 and "nothing to change" in err


def test_ktadd_and_xst(conf_dir, tmp_path):
    run(conf_dir, "addprinc", "-randkey", "HTTP/a")
    run(conf_dir, "addprinc", "-randkey", "HTTP/b")
    kt = tmp_path / "out.keytab"
    status, out, _ = run(conf_dir, "ktadd", "-k", str(kt), "-norandkey", "HTTP/a")
    assert status == 0
    assert (
        "Entry for principal HTTP/a@HADOOP.COM with kvno 1, encryption type "
        f"aes256-cts-hmac-sha1-96 added to keytab WRFILE:{kt}." in out.splitlines()
    )
    assert stat.S_IMODE(os.stat(kt).st_mode) == 0o600
    status, out, _ = run(conf_dir, "xst", "-k", str(kt), "-q", "-glob", "HTTP/?")
    assert (status, out) == (0, "")
    keytab = read_keytab(kt)
    kvnos = sorted({(str(e.principal), e.kvno) for e in keytab.entries})
    assert kvnos == [("HTTP/a@HADOOP.COM", 1), ("HTTP/a@HADOOP.COM", 2), ("HTTP/b@HADOOP.COM", 2)]
    stored = principal(conf_dir, "HTTP/b@HADOOP.COM")
    assert {k.key for k in stored.keys} == {e.key for e in keytab.keys_for("HTTP/b@HADOOP.COM")}
    status, _, err = run(conf_dir, "ktadd", "HTTP/a")
    assert status == 2 and "-k" in err
    status, _, err = run(conf_dir, "ktadd", "-k", str(kt))
    assert status == 1 and "no principal given" in err


def test_interactive_prompt_through_stdin(conf_dir, tmp_path):
    kt = tmp_path / "i.keytab"
    script_text = "\n".join(
        [
            "addprinc -pw a1 alice",
            "addprinc bob",
            "bob-pw",
            "bob-pw",
            "help",
            "getprinc bob",
            "nosuchcommand",
            "listprincs",
            f"ktadd -k {kt} -norandkey alice",
            "delprinc bob",
            "yes",
            "quit",
            "addprinc -pw never never-added",
        ]
    )
    status, out, err = run(conf_dir, stdin=script_text + "\n")
    assert status == 0
    assert out.startswith("HadminLocalTool.local: ")
    assert 'Principal "alice@HADOOP.COM" created.' in out
    assert 'Principal "bob@HADOOP.COM" created.' in out
    assert "Principal: bob@HADOOP.COM" in out
    assert "Available commands:" in out and "addprinc" in out
    assert 'Principal "bob@HADOOP.COM" deleted.' in out
    assert "unknown command 'nosuchcommand'" in err
    assert "bob-pw" not in out + err
    assert read_keytab(kt).principals()[0].components == ("alice",)
    assert principal(conf_dir, "never-added@HADOOP.COM") is None  # after quit


def test_bad_conf_dir_says_where(tmp_path):
    status, _, err = run(tmp_path / "nowhere", "listprincs")
    assert status == 1 and "nowhere" in err and "conf_dir" in err
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "kdc.conf").write_text("[kdcdefaults]\n  kdc_realm = HADOOP.COM\n  max_life = soon\n")
    status, _, err = run(conf, "listprincs")
    assert status == 1 and f"{conf / 'kdc.conf'}:3:" in err


def test_console_script(conf_dir):
    proc = subprocess.run(
        [script("hadmin-local"), str(conf_dir), "addprinc", "frank"],
        input="frank-pw\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == 'Principal "frank@HADOOP.COM" created.\n'
    proc = subprocess.run(
        [script("hadmin-local"), str(conf_dir)],
        input="getprinc frank\nexit\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and "Principal: frank@HADOOP.COM" in proc.stdout
    proc = subprocess.run(
        [script("hadmin-local"), str(conf_dir), "getprinc", "ghost"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == "getprinc: principal ghost@HADOOP.COM does not exist\n"


def test_has_style_admin_keytab_option_before_the_command(conf_dir, tmp_path):
    admin_keytab = tmp_path / "admin.keytab"  # written by kdcinit in the fixture
    status, out, _ = run(conf_dir, "-k", str(admin_keytab), "listprincs", "kadmin/H*")
    assert (status, out) == (0, "kadmin/HADOOP.COM@HADOOP.COM\n")
    status, _, err = run(conf_dir, "-k", str(tmp_path / "absent.keytab"), "listprincs")
    assert status == 1 and "cannot read admin keytab" in err


def test_listnodes_and_delnode(conf_dir):
    conf = load_conf_dir(conf_dir)
    with open_backend(conf.backend) as backend:
        backend.register_node("emr-worker-2")
        backend.set_config("node/emr-worker-2", "kdc_port=88;https_port=8092")
        backend.set_config("principals/emr-worker-2", "HTTP/emr-worker-2@HADOOP.COM")
    status, out, _ = run(conf_dir, "listnodes")
    assert status == 0 and "emr-worker-2" in out.split()
    assert run(conf_dir, "delnode", "emr-worker-2")[:2] == (
        0,
        'Node "emr-worker-2" deregistered.\n',
    )
    with open_backend(conf.backend) as backend:
        assert "emr-worker-2" not in backend.list_nodes()
        config = backend.get_realm_config()
    assert "node/emr-worker-2" not in config and "principals/emr-worker-2" not in config
    status, _, err = run(conf_dir, "delnode", "emr-worker-2")
    assert status == 1 and "no HAS node emr-worker-2 is registered" in err
    # one audit record, for the run that changed something
    status, out, _ = run(conf_dir, "audit", "-action", "deregister_node", "-json")
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [(r["target"], r["via"]) for r in records] == [
        ("emr-worker-2", "hadmin-local")
    ]
