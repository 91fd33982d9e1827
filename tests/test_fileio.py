import os
import stat

import pytest

from has_kdc.fileio import PUBLIC_MODE, write_atomic


def test_secret_file_is_0600_and_replaces_old(tmp_path):
    target = tmp_path / "admin.keytab"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    write_atomic(target, b"new-bytes")
    assert target.read_bytes() == b"new-bytes"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["admin.keytab"]


def test_public_mode_and_text(tmp_path):
    target = tmp_path / "krb5.conf"
    write_atomic(target, "[libdefaults]\n", mode=PUBLIC_MODE)
    assert target.read_text() == "[libdefaults]\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_failed_write_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "x"
    target.write_bytes(b"keep")

    def boom(*_a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"lost")
    assert target.read_bytes() == b"keep"
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_write_if_changed_reports_only_real_changes(tmp_path):
    from has_kdc.fileio import write_if_changed

    target = tmp_path / "has-client.conf"
    assert write_if_changed(target, "a = 1\n", PUBLIC_MODE) is True
    assert write_if_changed(target, "a = 1\n", PUBLIC_MODE) is False
    os.chmod(target, 0o640)
    assert write_if_changed(target, "a = 1\n", PUBLIC_MODE) is True
    assert stat.S_IMODE(target.stat().st_mode) == PUBLIC_MODE
    assert write_if_changed(target, "a = 2\n", PUBLIC_MODE) is True
    assert target.read_text() == "a = 2\n"
