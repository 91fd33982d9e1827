"""The shared identity store: one MySQL/MariaDB database behind every HAS node.

Redundant nodes hold no state of their own, so everything that makes a realm lives
here, and this package is where "two nodes, one realm" is made true. In layers:

* ``connection`` — one connection, to the first of the database's hosts that
  answers (failover, a Galera node refused unless Synced in a primary component),
  READ COMMITTED with bounded waits, the password scrubbed from every message;
  ``errors`` translates the server's error numbers (Galera's 1213 and 1317 into
  ``TransactionConflict``), ``galera`` reads a node's state.
* ``session`` — units of work on it: each call one short transaction, writes
  serialized on the change-counter row, repeated when that is safe (a lost
  connection before anything was done, a certification conflict, a lost COMMIT its
  write token shows was not applied).
* ``schema`` — versioned migrations, one node at a time under ``GET_LOCK``.
* the stores — the SQL both dialects share (``has_kdc.backend.sql``), and here only
  what MySQL does its own way: ``principals`` (a glob as a LIKE on the name index
  plus an exact regex, bulk inserts).
* ``backend`` — ``MysqlBackend``, all of them composed into one ``IdentityBackend``.

Names, hosts and config keys are ``VARBINARY``: compared byte for byte like SQLite's
BINARY collation (``utf8mb4_bin`` is a PAD SPACE collation in MariaDB, where ``'a@R'``
equals ``'a@R '``). Tables are InnoDB, utf8mb4. KDC worker processes each open their
own object; an object used after ``fork()`` drops the inherited connection (without
closing the parent's session) and opens a new one.
"""

from has_kdc.backend.mysql.backend import MysqlBackend
from has_kdc.backend.mysql.connection import MysqlConnection, ssl_context_for
from has_kdc.backend.mysql.galera import galera_status
from has_kdc.backend.mysql.globs import glob_to_like, glob_to_regex
from has_kdc.backend.mysql.schema import LATEST_VERSION, MIGRATIONS
from has_kdc.backend.mysql.session import MysqlSession

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "MysqlBackend",
    "MysqlConnection",
    "MysqlSession",
    "galera_status",
    "glob_to_like",
    "glob_to_regex",
    "ssl_context_for",
]
