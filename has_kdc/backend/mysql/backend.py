"""``MysqlBackend``: the MySQL stores composed into the one ``IdentityBackend``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from has_kdc.backend.composed import ComposedBackend
from has_kdc.backend.model import DatabaseHostState
from has_kdc.backend.mysql.connection import MysqlConnection, settings_from_config
from has_kdc.backend.mysql.principals import MysqlPrincipals
from has_kdc.backend.mysql.schema import MysqlSchema, read_schema_version
from has_kdc.backend.mysql.session import MysqlSession
from has_kdc.backend.sql import shared_stores
from has_kdc.conf.backend import BackendConfig

__all__ = ["MysqlBackend"]


class MysqlBackend(ComposedBackend):
    """``IdentityBackend`` over one MySQL or MariaDB database (PyMySQL), on one or more hosts.

    Takes ``MysqlConnection``'s arguments, and ``clock`` and ``session_type`` for the
    session. Nothing is opened until the first call, so an object can be made while
    the database is down; every call then says ``BackendUnavailable`` until it is back.
    """

    def __init__(
        self,
        *args: Any,
        clock: Callable[[], float] = time.time,
        session_type: type[MysqlSession] = MysqlSession,
        **kwargs: Any,
    ):
        self.link = MysqlConnection(*args, **kwargs)
        session = session_type(self.link, clock=clock)
        schema = MysqlSchema(session)
        super().__init__(
            session,
            principals=MysqlPrincipals(session, schema),
            schema=schema,
            **shared_stores(session),
        )
        self.db = session

    @classmethod
    def from_config(cls, config: BackendConfig, **options: Any) -> MysqlBackend:
        """The backend a ``backend.conf`` (``mysql_url``, user, password, TLS) describes;
        ``options`` override what it says (``settings_from_config``)."""
        return cls(**settings_from_config(config, **options))

    def __repr__(self) -> str:
        return self.link.label

    @property
    def current_host(self) -> str | None:
        """``host:port`` of the open connection, None when there is none."""
        return self.link.current_host

    def database_hosts(self) -> list[DatabaseHostState]:
        """Each host of the URL as it answers now, on a connection of its own (short
        timeouts): reachable or why not, its schema version, its Galera state."""
        return self.link.probe(read_schema_version)
