"""Tickets the KDC decrypted lately, so a TGT presented again is not decrypted again.

A client gets one TGT and then presents it in every TGS-REQ for as long as it lives:
a Hadoop daemon asks for service tickets all day with the same TGT bytes. Decrypting
it (AES-CTS, HMAC) and decoding its EncTicketPart is about a fifth of a TGS exchange.
The same ciphertext under the same key always decrypts to the same EncTicketPart, so
the result is kept, keyed by exactly those: (enctype, key bytes, ciphertext bytes).

Nothing else changes: the key is still looked up by kvno first (a ticket under a
key the principal no longer has is refused before the cache is asked), only tickets
that decrypted and decoded are kept, and every check on the ticket's content (times,
flags, addresses) runs on every request, cached or not.

Bounded: at most ``max_entries`` tickets and ``max_bytes`` of them (a ticket's size is
the client's to choose: an AS-REQ may ask for hundreds of addresses, and the TGT
carries them), all forgotten at once when full (a burst of new TGTs costs one
decryption each again, never memory). The decrypted parts hold
session keys, so they stay in this process's memory and never reach a log or a repr
(``EncryptionKey`` hides its key value).
"""

from __future__ import annotations

from has_kdc.asn1.messages import EncTicketPart

__all__ = ["DEFAULT_MAX_TICKETS", "DEFAULT_MAX_TICKET_BYTES", "TicketCache"]

DEFAULT_MAX_TICKETS = 4096
#: Bytes of tickets kept, counted as ``_cost`` counts them: 4096 TGTs of 1.5 KB fit.
DEFAULT_MAX_TICKET_BYTES = 16 * 1024 * 1024
#: What one kept ticket holds besides its bytes: the key tuple, the EncTicketPart and
#: the objects inside it (names, times, the session key).
_ENTRY_OVERHEAD = 1024


class TicketCache:
    """EncTicketParts by (enctype, key, ciphertext) of the ticket they came from."""

    __slots__ = ("_entries", "_max_bytes", "_max_entries", "hits", "misses", "nbytes")

    def __init__(
        self, max_entries: int = DEFAULT_MAX_TICKETS, max_bytes: int = DEFAULT_MAX_TICKET_BYTES
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"ticket cache max_entries must be at least 1, got {max_entries}")
        if max_bytes < 1:
            raise ValueError(f"ticket cache max_bytes must be at least 1, got {max_bytes}")
        self._entries: dict[tuple[int, bytes, bytes], EncTicketPart] = {}
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        #: What the kept tickets hold, as ``max_bytes`` counts it.
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<TicketCache {len(self._entries)}/{self._max_entries} tickets>"

    def get(self, etype: int, key: bytes, cipher: bytes) -> EncTicketPart | None:
        """The EncTicketPart that ``cipher`` decrypted to under ``key``, if kept."""
        part = self._entries.get((etype, key, cipher))
        if part is None:
            self.misses += 1
        else:
            self.hits += 1
        return part

    def put(self, etype: int, key: bytes, cipher: bytes, part: EncTicketPart) -> None:
        """Keep ``part``, which ``cipher`` decrypted and decoded to under ``key``."""
        cost = _cost(key, cipher)
        if cost > self._max_bytes:
            return
        entries = self._entries
        if len(entries) >= self._max_entries or self.nbytes + cost > self._max_bytes:
            entries.clear()  # one atomic step: safe with the web server's threads
            self.nbytes = 0
        entries[(etype, key, cipher)] = part
        self.nbytes += cost


def _cost(key: bytes, cipher: bytes) -> int:
    """Bytes a kept ticket holds: the key and ciphertext, and a decrypted part about as
    large as the ciphertext."""
    return len(key) + 2 * len(cipher) + _ENTRY_OVERHEAD
