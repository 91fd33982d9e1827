"""The acceptor's replay cache (RFC 4120 §3.2.3, RFC 4121 §4.1).

An authenticator is accepted once. The cache remembers each accepted one, keyed by
(client, server, ctime, cusec, hash of the encrypted authenticator), until it falls
outside the clock-skew window: from then on the skew check rejects it anyway, so
remembering it longer buys nothing. The hash tells two different authenticators
sent in the same microsecond apart (MIT keys its cache the same way).

The cache is per process and in memory. Behind a load balancer each has-server node
has its own, so an authenticator captured on its way to one node could in principle
be replayed once to another within the skew window. That is accepted here: the
Negotiate header only travels inside TLS, so capturing it already means breaking TLS,
and a replay would need a fresh TLS session to a different node, within minutes.

The cache is bounded: when it is full, the entries that expire soonest are dropped
first (after the expired ones). Refusing new authenticators instead would let anyone
with a valid ticket lock everyone out; dropping the oldest narrows the replay window
only under a flood larger than ``max_entries`` within one skew period.
"""

from __future__ import annotations

import hashlib
import heapq
import threading

#: Entries kept at most; an entry is ~200 bytes, so the default is ~20 MB at worst.
DEFAULT_MAX_ENTRIES = 100_000


class ReplayCache:
    """Remembers accepted authenticators until they are older than the clock skew."""

    def __init__(self, skew: int = 300, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("a replay cache needs room for at least one entry")
        self.skew = skew
        self.max_entries = max_entries
        self._expiry: dict[tuple[str, str, int, int, bytes], float] = {}
        self._heap: list[tuple[float, tuple[str, str, int, int, bytes]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    @staticmethod
    def digest(authenticator_cipher: bytes) -> bytes:
        return hashlib.sha256(authenticator_cipher).digest()

    def check_and_store(
        self,
        client: str,
        server: str,
        ctime: int,
        cusec: int,
        authenticator_cipher: bytes,
        now: float,
    ) -> bool:
        """Store the authenticator; False if it was already there (a replay)."""
        key = (client, server, ctime, cusec, self.digest(authenticator_cipher))
        with self._lock:
            self._purge(now)
            if key in self._expiry:
                return False
            while len(self._expiry) >= self.max_entries:
                _, oldest = heapq.heappop(self._heap)
                self._expiry.pop(oldest, None)
            expires = ctime + self.skew
            self._expiry[key] = expires
            heapq.heappush(self._heap, (expires, key))
            return True

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < now:
            _, key = heapq.heappop(heap)
            self._expiry.pop(key, None)
