"""Slowing password guessing at the TGT-over-HTTPS endpoint, without handing anyone a
way to lock a user out.

A lockout keyed by the user alone lets anyone keep any user out: fail five times
with their name, again every half minute. So the failures that slow a user are the
failures *from one client address*; a wider ceiling per user only bounds guessing
spread over many addresses, and even then spares the addresses the user logs in from.
The limits, with the numbers of `DEFAULT_LIMITS`:

- a user from one client address (`FailureBackoff`, ``pair``): 5 failed logins free,
  then each further try waits 1 s, 2 s, 4 s ... doubling up to 5 minutes after the
  latest failure. A correct login clears it; an hour without a failure forgets it.
  The wait falls on that (user, address) pair only: the same user logging in from
  another address is not slowed at all.
- a user from every address (a token bucket of 100 failures, refilled at 100 an hour,
  ``user_failures``): the ceiling on guessing one user's password from many addresses.
  While it is spent, the user's logins are refused (429) from addresses that have not
  logged in successfully as that user in the last 30 days (``known_good_for``); from
  those they go on. One address alone cannot spend it: the backoff lets it fail about
  24 times in its first hour and 12 an hour after.
- one client address across users (20 failures, one more every 5 s,
  ``address_failures``): guessing many user names from one place;
- one client address, every login (200 at once, 100 a second, ``address_requests``):
  a ceiling on the password hashing one address can make the node do.

Only failures are counted by the failure limits: a user who logs in correctly again
and again is never slowed by them.

Memory is bounded in bytes whatever clients send. The user name and address of a key
are client-controlled text of any length, so a key is kept only as a 16-byte keyed
BLAKE2b digest (key random per process: keys cannot be aimed at one another) and each
entry costs the same: at most ``ENTRY_BYTES``. Each table holds at most
``table_bytes // ENTRY_BYTES`` entries (8 MiB: 26,214 entries, 5 tables: 40 MiB at
most), dropping the least recently used first. The state is per node and per
process, in memory; with N nodes a guesser gets at most N times the per-node rates.
Nothing persists across restarts.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_LIMITS",
    "ENTRY_BYTES",
    "Backoff",
    "FailureBackoff",
    "Limit",
    "RecentSuccesses",
    "TgtLimits",
    "TokenBuckets",
    "retry_after_header",
]

#: Bytes one table entry may take (digest key, two floats, the ordered dict's share);
#: tests measure the real figure against it.
ENTRY_BYTES = 320
DEFAULT_TABLE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Limit:
    """``capacity`` events at once, then ``per_second`` events a second."""

    capacity: float
    per_second: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.per_second <= 0:
            raise ValueError("a rate limit needs capacity >= 1 and a positive refill rate")


@dataclass(frozen=True)
class Backoff:
    """``free`` failures, then a wait of ``base`` seconds doubling per failure up to
    ``cap``; forgotten ``forget_after`` seconds after the latest failure."""

    free: int = 5
    base: float = 1.0
    cap: float = 300.0
    forget_after: float = 3600.0

    def __post_init__(self) -> None:
        if self.free < 1 or self.base <= 0 or self.cap < self.base or self.forget_after < self.cap:
            raise ValueError(
                "a backoff needs free >= 1, base > 0, cap >= base and forget_after >= cap"
            )

    def wait(self, failures: int) -> float:
        """The wait after the latest of ``failures`` failures before the next try."""
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 64))


@dataclass(frozen=True)
class TgtLimits:
    """The endpoint's limits (see the module docstring)."""

    pair: Backoff = Backoff()
    user_failures: Limit = Limit(100, 100 / 3600)
    address_failures: Limit = Limit(20, 1 / 5)
    address_requests: Limit = Limit(200, 100)
    known_good_for: float = 30 * 24 * 3600
    table_bytes: int = DEFAULT_TABLE_BYTES


DEFAULT_LIMITS = TgtLimits()


class _Table:
    """Two floats per key, keys kept as keyed digests; least recently used dropped
    first beyond ``max_bytes // ENTRY_BYTES`` entries. Thread-safe."""

    def __init__(self, max_bytes: int, clock: Callable[[], float]) -> None:
        if max_bytes < ENTRY_BYTES:
            raise ValueError(f"a table needs at least {ENTRY_BYTES} bytes")
        self.max_entries = max_bytes // ENTRY_BYTES
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        self._secret = secrets.token_bytes(16)

    def digest(self, key: str) -> bytes:
        data = key.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, digest_size=16, key=self._secret).digest()

    def _put(self, digest: bytes, value: tuple[float, float]) -> None:
        self._entries[digest] = value
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class TokenBuckets(_Table):
    """One bucket per key: ``limit.capacity`` tokens refilled at ``limit.per_second``;
    an event takes one; a key whose bucket holds less than one token waits."""

    def __init__(
        self,
        limit: Limit,
        *,
        max_bytes: int = DEFAULT_TABLE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_bytes, clock)
        self.limit = limit

    def _level(self, digest: bytes, now: float) -> float:
        state = self._entries.get(digest)
        if state is None:
            return self.limit.capacity
        tokens, stamp = state
        return min(self.limit.capacity, tokens + (now - stamp) * self.limit.per_second)

    def _wait(self, level: float) -> float:
        return 0.0 if level >= 1 else (1 - level) / self.limit.per_second

    def retry_after(self, key: str) -> float:
        """0 when ``key`` may go ahead, else the seconds until its next token."""
        digest = self.digest(key)
        with self._lock:
            return self._wait(self._level(digest, self._clock()))

    def take(self, key: str) -> None:
        """Use one token of ``key`` (an empty bucket stays empty)."""
        digest = self.digest(key)
        with self._lock:
            now = self._clock()
            self._put(digest, (max(0.0, self._level(digest, now) - 1), now))

    def allow(self, key: str) -> float:
        """Take a token if there is one: 0 when allowed, else the seconds to wait."""
        digest = self.digest(key)
        with self._lock:
            now = self._clock()
            level = self._level(digest, now)
            if level < 1:
                return self._wait(level)
            self._put(digest, (level - 1, now))
            return 0.0


class FailureBackoff(_Table):
    """Failures per key, each key waiting as `Backoff` says after its latest failure."""

    def __init__(
        self,
        policy: Backoff,
        *,
        max_bytes: int = DEFAULT_TABLE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_bytes, clock)
        self.policy = policy

    def _state(self, digest: bytes, now: float) -> tuple[float, float] | None:
        state = self._entries.get(digest)
        if state is not None and now - state[1] >= self.policy.forget_after:
            del self._entries[digest]
            return None
        return state

    def retry_after(self, key: str) -> float:
        """0 when ``key`` may try now, else the seconds left of its wait."""
        digest = self.digest(key)
        with self._lock:
            now = self._clock()
            state = self._state(digest, now)
            if state is None:
                return 0.0
            failures, last = state
            return max(0.0, last + self.policy.wait(int(failures)) - now)

    def failure(self, key: str) -> None:
        digest = self.digest(key)
        with self._lock:
            now = self._clock()
            state = self._state(digest, now)
            self._put(digest, ((state[0] if state else 0) + 1, now))

    def success(self, key: str) -> None:
        """A correct login: the key starts afresh."""
        digest = self.digest(key)
        with self._lock:
            self._entries.pop(digest, None)


class RecentSuccesses(_Table):
    """Keys that succeeded within the last ``keep_for`` seconds."""

    def __init__(
        self,
        keep_for: float,
        *,
        max_bytes: int = DEFAULT_TABLE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_bytes, clock)
        self.keep_for = keep_for

    def add(self, key: str) -> None:
        digest = self.digest(key)
        with self._lock:
            self._put(digest, (self._clock(), 0.0))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        digest = self.digest(key)
        with self._lock:
            state = self._entries.get(digest)
            return state is not None and self._clock() - state[0] < self.keep_for


def retry_after_header(seconds: float) -> str:
    """The Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
