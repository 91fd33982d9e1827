"""Plugin users a node has read, kept to serve logins through a database outage.

The KDC serves principals it has seen from memory for ``kdc_stale_ok`` when no database
host answers (`has_kdc.kdc.principal_cache`); a TGT-over-HTTPS login with the MySQL
plugin needs the user's password hash as well, so without this memo every plugin login
of an outage would fail although the KDC could issue the ticket. The bound is the same:
a user is served from memory for at most ``stale_ok`` seconds after the store last
answered for it, and only while the store is unavailable — any answer of the store
(a changed hash, a disabled user, a deleted one) replaces what is kept at once.

Only users the store has returned are kept, so a client cannot grow the memo with
names of its own; ``max_entries`` bounds it anyway (least recently used go first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from has_kdc.backend import BackendUnavailable
from has_kdc.backend.model import PluginUser

__all__ = ["DEFAULT_MAX_ENTRIES", "PluginUserMemo"]

DEFAULT_MAX_ENTRIES = 10_000


class PluginUserMemo:
    """The plugin users read lately, each with when the store last answered for it."""

    def __init__(
        self,
        stale_ok: float,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stale_ok < 0:
            raise ValueError(f"stale_ok must not be negative, got {stale_ok}")
        self.stale_ok = stale_ok
        self.max_entries = max_entries
        self._clock = clock
        self._users: OrderedDict[str, tuple[PluginUser, float]] = OrderedDict()
        self._lock = threading.Lock()
        #: logins answered from memory (for logs and tests)
        self.served_from_memory = 0

    def lookup(self, name: str, read: Callable[[], PluginUser | None]) -> PluginUser | None:
        """``read()``'s answer, remembered; when the store is unavailable, the user as
        last read if that was at most ``stale_ok`` ago, else the store's error."""
        try:
            user = read()
        except BackendUnavailable:
            now = self._clock()
            with self._lock:
                kept = self._users.get(name)
                if kept is None or now - kept[1] > self.stale_ok:
                    raise
                self.served_from_memory += 1
                return kept[0]
        now = self._clock()
        with self._lock:
            if user is None:
                self._users.pop(name, None)
            else:
                self._users[name] = (user, now)
                self._users.move_to_end(name)
                while len(self._users) > self.max_entries:
                    self._users.popitem(last=False)
        return user

    def __len__(self) -> int:
        return len(self._users)
