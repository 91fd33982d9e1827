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

Bounded: at most ``max_entries`` tickets, all forgotten at once when full (a burst of
new TGTs costs one decryption each again, never memory). The decrypted parts hold
session keys, so they stay in this process's memory and never reach a log or a repr
(``EncryptionKey`` hides its key value).
"""

from __future__ import annotations

from has_kdc.asn1.messages import EncTicketPart

__all__ = ["DEFAULT_MAX_TICKETS", "TicketCache"]

DEFAULT_MAX_TICKETS = 4096


class TicketCache:
    """EncTicketParts by (enctype, key, ciphertext) of the ticket they came from."""

    __slots__ = ("_entries", "_max_entries", "hits", "misses")

    def __init__(self, max_entries: int = DEFAULT_MAX_TICKETS) -> None:
        if max_entries < 1:
            raise ValueError(f"ticket cache max_entries must be at least 1, got {max_entries}")
        self._entries: dict[tuple[int, bytes, bytes], EncTicketPart] = {}
        self._max_entries = max_entries
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
        entries = self._entries
        if len(entries) >= self._max_entries:
            entries.clear()  # one atomic step: safe with the web server's threads
        entries[(etype, key, cipher)] = part
