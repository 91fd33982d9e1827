"""Principals in memory, kept fresh by the store's change counter: no query per request.

A KDC answers the same few principals (krbtgt, the services, the users logging in)
thousands of times a second, and the database changes a few times a day. So the KDC
reads each principal once and then asks the store, at most every ``refresh_interval``
seconds, one cheap question: "has anything changed since counter N?"
(``change_counter()``). Only when it has does it ask which names changed
(``changes_since(N)``) and forget those. A request between two polls costs no query at
all, and a change made on any node is seen within ``refresh_interval`` (default 1 s).

Unknown names are cached too (negative entries), with the same invalidation: a
client hammering a misspelled principal costs no query either, and the principal
answers as soon as it is created. Those names are whatever clients send, so they are
kept apart and bounded in bytes (``max_negative_bytes``, least recently used first
out): a flood of new unknown names costs queries, never memory, and never pushes a
known principal out.

The entry keeps, next to the ``Principal``, its keys indexed by (kvno, enctype) and
its current keys by enctype, so the hot path never scans key lists.

Bounded: at most ``max_entries`` known principals, least recently used first out,
and unknown names up to ``max_negative_bytes`` (names are at most
``has_kdc.principal.MAX_PRINCIPAL_BYTES`` long, and the KDC never asks for a longer one).

The staleness bound, for several nodes over one database: a change committed through
any node is honoured by this cache within ``refresh_interval`` plus the time of one
``change_counter()`` query (about 1 s by default) — as long as the store answers.

When it does not (``BackendUnavailable``: every database host down, or none in a
Galera primary component), the cache serves what it holds, for a bounded time:

* names it holds (known principals, and names it knows do not exist) are answered
  from memory, as the store stood at the last successful poll, for at most
  ``stale_ok`` seconds after that poll (kdc.conf ``kdc_stale_ok``, default 1 h);
  past that, every lookup raises ``BackendUnavailable`` (the KDC answers
  KDC_ERR_SVC_UNAVAILABLE) until the store is back;
* names it does not hold need the store, so their lookups fail (error 29);
* a failed poll is retried after ``refresh_interval``, or after four times as long
  as the failed poll took when that is longer, so a database that does not even
  refuse (a dropped network) costs the KDC at most a fifth of its time;
* the first poll that succeeds catches up on everything changed meanwhile (or
  flushes, if the change log no longer reaches back), and logs how long it was.

So what is served during an outage is exactly the store's state at the last
successful poll: every change committed more than ``refresh_interval`` plus one
query before the outage began is honoured, and nothing older than ``stale_ok``
(plus that) is ever served. See docs/ha.md.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from has_kdc.backend.errors import BackendUnavailable
from has_kdc.backend.model import KeyData, Principal
from has_kdc.backend.stores import PrincipalStore
from has_kdc.principal import default_salt, parse_principal

__all__ = ["CachedPrincipal", "PrincipalCache", "PrincipalStore"]

log = logging.getLogger(__name__)

DEFAULT_REFRESH_INTERVAL = 1.0
DEFAULT_MAX_ENTRIES = 200_000
#: Unknown names remembered, in bytes of name plus ``NEGATIVE_ENTRY_OVERHEAD`` each:
#: about 30,000 misspelled names of 20 characters, or 6,500 of the longest allowed.
DEFAULT_MAX_NEGATIVE_BYTES = 8 * 1024 * 1024
#: What one unknown name costs besides its characters: the str header and the slot
#: and links of the ordered dict holding it.
NEGATIVE_ENTRY_OVERHEAD = 250
DEFAULT_STALE_OK = 3600.0
#: After a failed poll, the next waits this many times as long as the failure took.
_STALL_FACTOR = 4.0
#: Changed names read again by one poll (the rest are only forgotten).
_RELOAD_MAX = 64


@dataclass(frozen=True, slots=True)
class CachedPrincipal:
    """A principal with its keys indexed for the KDC.

    ``current_keys``: enctype → key of the current kvno (the first stored one when a
    kvno holds two keys of one enctype). ``keys_by_kvno``: (kvno, enctype) → key, to
    decrypt tickets issued under an older kvno.
    """

    principal: Principal
    components: tuple[str, ...]
    realm: str
    current_keys: dict[int, KeyData] = field(repr=False)
    keys_by_kvno: dict[tuple[int, int], KeyData] = field(repr=False)
    #: Per-principal results that only change with the principal (the encoded
    #: pre-authentication hints of each key), filled by the KDC on first use.
    memo: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, principal: Principal) -> CachedPrincipal:
        components, realm = parse_principal(principal.name)
        current: dict[int, KeyData] = {}
        by_kvno: dict[tuple[int, int], KeyData] = {}
        for key in principal.keys:
            by_kvno.setdefault((key.kvno, key.enctype), key)
            if key.kvno == principal.kvno:
                current.setdefault(key.enctype, key)
        if not current and principal.keys:
            # No key at the recorded kvno: fall back to the highest kvno present.
            top = max(k.kvno for k in principal.keys)
            for key in principal.keys:
                if key.kvno == top:
                    current.setdefault(key.enctype, key)
        return cls(principal, components, realm, current, by_kvno)

    def salt(self, key: KeyData) -> bytes:
        """The string-to-key salt of ``key``: its own, or the default of this name."""
        return key.salt if key.salt is not None else default_salt(self.components, self.realm)

    @property
    def name(self) -> str:
        return self.principal.name


class PrincipalCache:
    """Principal lookups for the KDC, served from memory between change polls.

    ``clock`` is a monotonic seconds clock (tests pass a fake one). The store's
    ``changes_since`` may return None to mean "cannot tell which": everything cached
    is then dropped. ``stale_ok``: how long after its last successful poll the cache
    keeps answering from memory while the store is unreachable (0: not at all).

    ``synced_at`` (clock time of the last successful poll), ``down_since`` (of the
    first failed poll of an outage, None while the store answers) and ``store_error``
    say where the cache stands, for health checks and metrics.
    """

    def __init__(
        self,
        store: PrincipalStore,
        *,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_negative_bytes: int = DEFAULT_MAX_NEGATIVE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        stale_ok: float = DEFAULT_STALE_OK,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"principal cache max_entries must be at least 1, got {max_entries}")
        if max_negative_bytes < 0:
            raise ValueError(
                f"principal cache max_negative_bytes must not be negative, got {max_negative_bytes}"
            )
        if stale_ok < 0:
            raise ValueError(f"principal cache stale_ok must not be negative, got {stale_ok}")
        self._store = store
        self._refresh_interval = refresh_interval
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, CachedPrincipal] = OrderedDict()
        #: Unknown names, least recently asked first, and what they hold in bytes.
        self._missing: OrderedDict[str, None] = OrderedDict()
        self._missing_bytes = 0
        self._max_negative_bytes = max_negative_bytes
        self._counter: int | None = None
        self._last_poll = float("-inf")
        self._poll_wait = refresh_interval
        self.stale_ok = stale_ok
        self.synced_at: float | None = None
        self.down_since: float | None = None
        self.store_error: str | None = None
        self._beyond_bound_logged = False
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries) + len(self._missing)

    @property
    def negative_bytes(self) -> int:
        """What the unknown names remembered hold, by the count ``max_negative_bytes`` bounds."""
        return self._missing_bytes

    def get(self, name: str) -> CachedPrincipal | None:
        """The principal called ``name`` (MIT text form with realm), or None if unknown.

        Backend errors (``BackendUnavailable``) propagate: the caller answers
        SVC_UNAVAILABLE rather than pretending the principal does not exist.
        """
        self._maybe_poll()
        entries = self._entries
        # ``get``, not ``[]`` and KeyError: an unknown name (a scanner, a typo) is a
        # common request, and raising costs more than the rest of the lookup
        entry = entries.get(name)
        if entry is not None:
            self.hits += 1
            entries.move_to_end(name)
            return entry
        if name in self._missing:
            self.hits += 1
            self._missing.move_to_end(name)
            return None
        self.misses += 1
        principal = self._store.get_principal(name)
        if principal is None:
            self._remember_missing(name)
            return None
        entry = CachedPrincipal.of(principal)
        entries[name] = entry
        if len(entries) > self._max_entries:
            entries.popitem(last=False)
        return entry

    def invalidate(self, names: Iterable[str] | None = None) -> None:
        """Forget ``names``, or everything when None."""
        if names is None:
            self._entries.clear()
            self._missing.clear()
            self._missing_bytes = 0
            return
        missing = self._missing
        for name in names:
            self._entries.pop(name, None)
            if name in missing:
                del missing[name]
                self._missing_bytes -= _negative_cost(name)

    def _remember_missing(self, name: str) -> None:
        cost = _negative_cost(name)
        if cost > self._max_negative_bytes:
            return
        missing = self._missing
        while missing and self._missing_bytes + cost > self._max_negative_bytes:
            oldest, _ = missing.popitem(last=False)
            self._missing_bytes -= _negative_cost(oldest)
        missing[name] = None
        self._missing_bytes += cost

    def _maybe_poll(self) -> None:
        now = self._clock()
        if 0 <= now - self._last_poll < self._poll_wait:
            if self.down_since is not None:
                self._check_bound(now)
            return
        self._last_poll = now
        try:
            counter = self._store.change_counter()
            changed: Iterable[str] | None = ()
            if self._counter is not None and counter != self._counter:
                changed = self._store.changes_since(self._counter)
        except BackendUnavailable as exc:
            self._store_lost(now, exc)
            return
        held: list[str] = []
        if self._counter is None:
            # First poll: nothing cached can predate it except what get() loaded
            # before, which we cannot date; start clean.
            self.invalidate()
        elif changed is None:
            log.debug("principal cache: change log does not reach %d, flushing", self._counter)
            self.invalidate()
        else:
            changed = list(changed)
            held = [name for name in changed if name in self._entries or name in self._missing]
            self.invalidate(changed)
        self._counter = counter
        self.synced_at = now
        self._reload(held)
        if self.down_since is not None:
            log.warning(
                "database reachable again after %.1f s: principal data in step again",
                now - self.down_since,
            )
            self.down_since = None
            self.store_error = None
            self._beyond_bound_logged = False
            self._poll_wait = self._refresh_interval

    def _reload(self, names: list[str]) -> None:
        """Read again the changed names that were held, so that what a node serves during a
        later outage is their new state rather than nothing (a few per poll at most)."""
        for name in names[:_RELOAD_MAX]:
            try:
                self.get(name)
            except BackendUnavailable:
                return  # left out: looked up again when next asked

    def _store_lost(self, started: float, exc: BackendUnavailable) -> None:
        """A failed poll: serve from memory within the bound, or re-raise ``exc``."""
        took = max(0.0, self._clock() - started)
        self._poll_wait = max(self._refresh_interval, _STALL_FACTOR * took)
        self.store_error = str(exc)
        if self.synced_at is None:
            raise exc  # never in step with the store: nothing to serve
        if self.down_since is None:
            self.down_since = started
            if self.stale_ok > 0:
                log.warning(
                    "database unreachable (%s): serving the %d names in memory, as they were "
                    "%.0f s ago, for at most %.0f s more (kdc_stale_ok); no change is seen "
                    "meanwhile",
                    exc,
                    len(self),
                    started - self.synced_at,
                    max(0.0, self.synced_at + self.stale_ok - started),
                )
        self._check_bound(started)

    def _check_bound(self, now: float) -> None:
        assert self.synced_at is not None
        age = now - self.synced_at
        if age <= self.stale_ok:
            return
        if not self._beyond_bound_logged:
            self._beyond_bound_logged = True
            log.error(
                "database unreachable and principal data %.0f s old, beyond kdc_stale_ok "
                "(%.0f s): answering KDC_ERR_SVC_UNAVAILABLE until the database is back (%s)",
                age,
                self.stale_ok,
                self.store_error,
            )
        raise BackendUnavailable(
            f"the database has not answered for {age:.0f} s, longer than kdc_stale_ok "
            f"({self.stale_ok:.0f} s): {self.store_error}"
        )


def _negative_cost(name: str) -> int:
    """Bytes one unknown name is counted for (its characters; a non-ASCII character
    takes 2 or 4 bytes in memory, so count those at 4)."""
    return (len(name) if name.isascii() else 4 * len(name)) + NEGATIVE_ENTRY_OVERHEAD
