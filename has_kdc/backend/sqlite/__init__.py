"""The embedded identity store: one SQLite file, shared by every process of one node.

In the same layers as ``has_kdc.backend.mysql``: ``connection`` (the file, WAL,
``BEGIN IMMEDIATE`` for writes, error translation), ``schema`` (migrations),
``principals``, and the stores both dialects share (``has_kdc.backend.sql``), composed
by ``backend`` into one ``IdentityBackend``.
"""

from has_kdc.backend.sqlite.backend import SqliteBackend
from has_kdc.backend.sqlite.connection import SqliteConnection
from has_kdc.backend.sqlite.schema import LATEST_VERSION, MIGRATIONS

__all__ = ["LATEST_VERSION", "MIGRATIONS", "SqliteBackend", "SqliteConnection"]
