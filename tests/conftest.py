"""Shared fixtures: a throwaway MIT realm for interop tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mitkrb import MitRealm


@pytest.fixture
def mit_realm(tmp_path: Path) -> Iterator[MitRealm]:
    """An MIT krb5kdc for realm MIT.TEST with user@MIT.TEST (password 'user-pw')."""
    realm = MitRealm(tmp_path / "mit")
    realm.create()
    realm.addprinc("user", "user-pw")
    realm.addprinc("host/service.mit.test")
    realm.start()
    try:
        yield realm
    finally:
        realm.stop()
