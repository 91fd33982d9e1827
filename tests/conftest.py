"""Shared fixtures: a throwaway MIT realm for interop tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.mitkrb import MitRealm

if TYPE_CHECKING:  # imported where used: a run that needs no node or MariaDB loads neither
    from has_kdc.conf import BackendConfig
    from tests.hasnode import HasNode
    from tests.mariadb import MariaDb


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


@pytest.fixture
def has_node(tmp_path: Path) -> Iterator[HasNode]:
    """A started has-kdc node (tests.hasnode.HasNode) for HADOOP.COM on 127.0.0.1, initialized."""
    from tests.hasnode import HasNode

    node = HasNode(tmp_path / "has", "HADOOP.COM")
    node.init()
    node.start()
    try:
        yield node
    finally:
        node.stop()


# ---------------------------------------------------------------------- MariaDB

MYSQL_TEST_USER = "has"
MYSQL_TEST_PASSWORD = "has-db-Secret-42"


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDb]:
    """One MariaDB server for the whole session (tests.mariadb.MariaDb); starting takes seconds.

    Tests that stop or kill a server start their own MariaDb instead of this one.
    """
    from tests.mariadb import MariaDb

    server = MariaDb(tmp_path_factory.mktemp("mariadb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mysql_backend_config(
    mariadb: MariaDb, request: pytest.FixtureRequest
) -> Iterator[BackendConfig]:
    """A fresh, empty database on the session MariaDB and the BackendConfig to reach it."""
    import hashlib
    import os

    from has_kdc.conf import BackendConfig

    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    name = f"t_{os.getpid()}_{digest}"
    mariadb.drop_database(name)
    mariadb.create_database(name, MYSQL_TEST_USER, MYSQL_TEST_PASSWORD)
    yield BackendConfig(
        kind="mysql",
        mysql_host=mariadb.host,
        mysql_port=mariadb.port,
        mysql_database=name,
        mysql_user=MYSQL_TEST_USER,
        mysql_password=MYSQL_TEST_PASSWORD,
    )
    mariadb.drop_database(name)
