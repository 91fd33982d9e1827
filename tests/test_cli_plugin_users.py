"""hadmin-local's MySQL plugin user commands: add, reset, disable/enable, delete, list."""

from __future__ import annotations

import io
import sys

import pytest

from has_kdc.backend import open_backend
from has_kdc.cli import hadmin_local
from has_kdc.conf import load_conf_dir
from has_kdc.plugins.passwords import verify_password
from tests.hasnode import HasNode


@pytest.fixture
def conf_dir(tmp_path):
    return HasNode(tmp_path, "HADOOP.COM", port=8888).conf_dir


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


def stored(conf_dir, name):
    with open_backend(load_conf_dir(conf_dir).backend) as backend:
        return backend.get_plugin_user(name)


def test_add_reset_disable_delete(conf_dir):
    status, out, err = run(conf_dir, "addpluginuser", "-pw", "first-pw", "hdfs")
    assert (status, out.strip(), err) == (0, 'Plugin user "hdfs" created.', "")
    user = stored(conf_dir, "hdfs")
    assert user.password_hash.startswith("$scrypt$ln=15,r=8,p=1$")
    assert verify_password("first-pw", user.password_hash)
    assert "first-pw" not in out

    status, _out, err = run(conf_dir, "addpluginuser", "-pw", "x", "hdfs")
    assert status == 1 and "already exists" in err

    status, out, _err = run(conf_dir, "resetpluginuser", "hdfs", stdin="second-pw\nsecond-pw\n")
    assert (status, out.strip()) == (0, 'Password for plugin user "hdfs" changed.')
    assert verify_password("second-pw", stored(conf_dir, "hdfs").password_hash)

    assert run(conf_dir, "modpluginuser", "-disable", "hdfs")[1].strip().endswith("disabled.")
    assert stored(conf_dir, "hdfs").disabled is True
    status, out, _err = run(conf_dir, "list_plugin_users")
    assert status == 0 and out.startswith("hdfs\tdisabled\tcreated ")
    run(conf_dir, "modpluginuser", "-enable", "hdfs")
    assert stored(conf_dir, "hdfs").disabled is False

    status, out, _err = run(conf_dir, "delpluginuser", "hdfs", stdin="no\n")
    assert status == 1 and "not deleted" in out
    status, out, _err = run(conf_dir, "delpluginuser", "hdfs", stdin="yes\n")
    assert status == 0 and 'Plugin user "hdfs" deleted.' in out
    assert stored(conf_dir, "hdfs") is None
    status, _out, err = run(conf_dir, "delpluginuser", "-force", "hdfs")
    assert status == 1 and "does not exist" in err


def test_bad_input(conf_dir):
    status, _out, err = run(conf_dir, "addpluginuser", "-pw", "x", "hdfs/admin")
    assert status == 1 and "not a plugin user name" in err
    status, _out, err = run(conf_dir, "addpluginuser", "yarn", stdin="a\nb\n")
    assert status == 1 and "do not match" in err
    assert stored(conf_dir, "yarn") is None
    status, _out, err = run(conf_dir, "addpluginuser", "yarn", stdin="")
    assert status == 1 and "give -pw PASSWORD" in err
    status, _out, err = run(conf_dir, "modpluginuser", "yarn")
    assert status == 2 and "-link or -unlink" in err  # something to change is required
    status, _out, err = run(conf_dir, "resetpluginuser", "-pw", "x", "nobody")
    assert status == 1 and "does not exist" in err
    status, out, _err = run(conf_dir, "addpluginuser", "-disable", "-pw", "y", "yarn")
    assert "(disabled)" in out and stored(conf_dir, "yarn").disabled


def test_the_hash_cost_is_a_setting_with_a_floor(conf_dir):
    status, _out, err = run(conf_dir, "addpluginuser", "-scrypt_ln", "12", "-pw", "pw-1", "hive")
    assert (status, err) == (0, "")
    assert stored(conf_dir, "hive").password_hash.startswith("$scrypt$ln=12,r=8,p=1$")
    status, _out, err = run(conf_dir, "resetpluginuser", "-scrypt_ln", "16", "-pw", "pw-2", "hive")
    assert status == 0 and stored(conf_dir, "hive").password_hash.startswith("$scrypt$ln=16,")
    assert verify_password("pw-2", stored(conf_dir, "hive").password_hash)
    for cost in ("9", "21"):
        status, _out, err = run(conf_dir, "resetpluginuser", "-scrypt_ln", cost, "-pw", "x", "hive")
        assert status == 1 and "-scrypt_ln must be 10..20" in err
    assert stored(conf_dir, "hive").password_hash.startswith("$scrypt$ln=16,")
