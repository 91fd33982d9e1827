"""Transactions that nest: the outermost one is real, the ones inside it join it.

A store method opens a transaction of its own, and a caller may already hold one
(an import adding thousands of principals, ``kdcinit`` writing the realm and its
first principals together). The inner ``transaction()`` then neither begins nor
commits: its work is part of the outer one, and an error in it propagates to the
outer block, which rolls everything back. Only the outermost level differs per
dialect (MySQL checks a lost COMMIT, SQLite takes its write lock with BEGIN
IMMEDIATE), so the sessions write that level and share the nesting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class NestedTransactions:
    """``transaction()`` and ``in_transaction`` for a session that writes the
    outermost level as ``_outermost()``; both run under the session's ``lock``."""

    lock: threading.RLock
    _depth: int = 0

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self._outermost():
                yield

    def _outermost(self) -> contextlib.AbstractContextManager[None]:
        """Begin, hold ``_depth`` at 1 while the caller's block runs, then commit (or
        roll back on an exception, and re-raise it)."""
        raise NotImplementedError
