"""Token buckets in memory: slowing password guessing at the TGT-over-HTTPS endpoint.

Each key (a user, a client address) has a bucket of ``capacity`` tokens that refills
at ``per_second``; an event takes one token, and while a bucket holds less than one
token the key is refused with the time until the next token (HTTP 429 with
``Retry-After``). The endpoint uses three sets of buckets (`TgtLimits`):

- failed logins per user: a few wrong passwords, then one try per half minute,
  whoever the guesser is and wherever they come from;
- failed logins per client address: guessing across many user names from one place;
- all logins per client address: a ceiling on the password hashing one address can
  make the node do.

Failures are counted, not attempts: a user who logs in correctly again and again
is never slowed by the failure buckets. The state is per node and per process, in
memory, bounded to ``max_keys`` keys (least recently used dropped first); with N
nodes a guesser gets at most N times the per-node rate, which is why the per-user
budget is small. Nothing persists across restarts.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limit", "TgtLimits", "TokenBuckets"]


@dataclass(frozen=True)
class Limit:
    """``capacity`` events at once, then ``per_second`` events a second."""

    capacity: float
    per_second: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.per_second <= 0:
            raise ValueError("a rate limit needs capacity >= 1 and a positive refill rate")


@dataclass(frozen=True)
class TgtLimits:
    """The endpoint's three limits (see the module docstring)."""

    user_failures: Limit = Limit(5, 1 / 30)
    address_failures: Limit = Limit(20, 1 / 5)
    address_requests: Limit = Limit(200, 100)


DEFAULT_LIMITS = TgtLimits()


class TokenBuckets:
    """One bucket per key; thread-safe; at most ``max_keys`` buckets kept."""

    def __init__(
        self,
        limit: Limit,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now: float) -> float:
        state = self._buckets.get(key)
        if state is None:
            return self.limit.capacity
        tokens, stamp = state
        return min(self.limit.capacity, tokens + (now - stamp) * self.limit.per_second)

    def retry_after(self, key: str) -> float:
        """0 when ``key`` may go ahead, else the seconds until its next token."""
        with self._lock:
            level = self._level(key, self._clock())
        if level >= 1:
            return 0.0
        return (1 - level) / self.limit.per_second

    def take(self, key: str) -> None:
        """Use one token of ``key`` (an empty bucket stays empty)."""
        with self._lock:
            now = self._clock()
            level = max(0.0, self._level(key, now) - 1)
            self._buckets[key] = (level, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)

    def allow(self, key: str) -> float:
        """Take a token if there is one: 0 when allowed, else the seconds to wait."""
        with self._lock:
            now = self._clock()
            level = self._level(key, now)
            if level < 1:
                return (1 - level) / self.limit.per_second
            self._buckets[key] = (level - 1, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return 0.0

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(seconds: float) -> str:
    """The Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
