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

The cache is bounded, in entries and in bytes (the client and server names are part
of each key, and a name may be up to 1 KB): when it is full, the entries that expire
soonest are dropped first (after the expired ones). Refusing new authenticators
instead would let anyone with a valid ticket lock everyone out; dropping the oldest
narrows the replay window only under a flood larger than ``max_entries`` (or
``max_bytes``) within one skew period.
"""

from __future__ import annotations

import hashlib
import heapq
import threading

#: Entries kept at most; an entry is ~400 bytes with short names.
DEFAULT_MAX_ENTRIES = 100_000
#: Bytes kept at most, counted as ``_cost`` counts them.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: What an entry holds besides its names: the key tuple, two ints, the 32-byte
#: digest, the expiry, the heap item and the dict slot.
ENTRY_OVERHEAD = 400

_Key = tuple[str, str, int, int, bytes]


class ReplayCache:
    """Remembers accepted authenticators until they are older than the clock skew."""

    def __init__(
        self,
        skew: int = 300,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_entries < 1 or max_bytes < ENTRY_OVERHEAD:
            raise ValueError("a replay cache needs room for at least one entry")
        self.skew = skew
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        #: What the entries hold, as ``max_bytes`` counts it.
        self.nbytes = 0
        self._expiry: dict[_Key, float] = {}
        self._heap: list[tuple[float, _Key]] = []
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
        cost = _cost(key)
        with self._lock:
            self._purge(now)
            if key in self._expiry:
                return False
            while self._expiry and (
                len(self._expiry) >= self.max_entries or self.nbytes + cost > self.max_bytes
            ):
                self._drop_soonest()
            expires = ctime + self.skew
            self._expiry[key] = expires
            self.nbytes += cost
            heapq.heappush(self._heap, (expires, key))
            return True

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < now:
            self._drop_soonest()

    def _drop_soonest(self) -> None:
        _, key = heapq.heappop(self._heap)
        if self._expiry.pop(key, None) is not None:
            self.nbytes -= _cost(key)


def _cost(key: _Key) -> int:
    """Bytes an entry is counted for: its names (4 per character when not ASCII) and
    ``ENTRY_OVERHEAD``."""
    client, server = key[0], key[1]
    names = len(client) + len(server)
    if not (client.isascii() and server.isascii()):
        names *= 4
    return names + ENTRY_OVERHEAD
