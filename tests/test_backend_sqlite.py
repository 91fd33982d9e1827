"""What only the embedded SQLite store does: its files, their modes, WAL.

Every behaviour SQLite shares with MySQL (principals, change tracking,
transactions, realm state, many processes, schema migration) is tested against
both stores in tests/test_backend_contract.py.
"""

import logging
import sqlite3
import stat

import pytest

from has_kdc.backend import BackendError, KeyData, Principal
from has_kdc.backend.sqlite import SqliteBackend

REALM = "HADOOP.COM"
AES256_KEY = bytes(range(32))


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "has.sqlite"


@pytest.fixture
def store(db_path):
    backend = SqliteBackend(db_path)
    backend.migrate()
    yield backend
    backend.close()


def test_missing_directory_is_clear(tmp_path):
    with pytest.raises(BackendError) as err:
        SqliteBackend(tmp_path / "absent" / "has.sqlite")
    assert str(err.value) == (
        f"cannot create {tmp_path / 'absent' / 'has.sqlite'}: "
        f"directory {tmp_path / 'absent'} does not exist"
    )


def test_files_are_private(tmp_path, store, db_path):
    store.add_principal(Principal(f"alice@{REALM}", keys=[KeyData(18, 1, AES256_KEY)]))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["has.sqlite", "has.sqlite-shm", "has.sqlite-wal"]
    for name in files:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_wide_existing_file_warns(tmp_path, caplog):
    path = tmp_path / "old.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="has_kdc.backend"):
        SqliteBackend(path).close()
    assert f"{path} has mode 0644; it holds the realm's keys and should be 0600" in caplog.text
