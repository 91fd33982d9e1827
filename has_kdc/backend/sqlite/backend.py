"""``SqliteBackend``: the SQLite stores composed into the one ``IdentityBackend``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from has_kdc.backend.composed import ComposedBackend
from has_kdc.backend.sql import shared_stores
from has_kdc.backend.sqlite.connection import SqliteConnection
from has_kdc.backend.sqlite.principals import SqlitePrincipals
from has_kdc.backend.sqlite.schema import SqliteSchema

__all__ = ["SqliteBackend"]


class SqliteBackend(ComposedBackend):
    """``IdentityBackend`` over one SQLite file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        session = SqliteConnection(path, busy_timeout=busy_timeout, clock=clock)
        schema = SqliteSchema(session)
        super().__init__(
            session,
            principals=SqlitePrincipals(session, schema),
            schema=schema,
            **shared_stores(session),
        )
        self.db = session
        self.path = session.path

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"
