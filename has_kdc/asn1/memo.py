"""Remembered results keyed by what a client sent, bounded in bytes as well as in entries.

The codec and the KDC remember what they computed from bytes that arrive again and
again (the user's name, krbtgt/REALM, the TGT a daemon presents all day). Those keys
come from the network, so a client choosing them must not be able to choose how much
memory they take: a count of entries alone is no bound when one entry can be a
60 KB name. A ``Memo`` is a dict that is emptied, in one step, when it would hold more
than ``max_entries`` items or more than ``max_bytes`` by the sizes its callers declare,
and that declines items over ``max_item_bytes`` outright: a value that large is not
the common case the memo is there for, and one such item must not flush the rest.

Declared sizes are the caller's estimate of what key and value hold (their bytes plus
per-object overhead, see ``ENTRY_OVERHEAD``), erring high. Emptying rather than
evicting keeps the hit path a plain ``dict.get`` and the bookkeeping two additions;
a hostile stream of new keys costs recomputation, never memory. Threads (the HTTPS
server's workers also encode and decode) may race on the byte count; a lost update
only makes the next emptying come early or late by one item, and the entry count
still holds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ENTRY_OVERHEAD", "Memo"]

#: Bytes one remembered item costs besides its payload: the dict slot, the key and
#: value object headers, a small tuple or dataclass around them. Callers add it once
#: per item (more for values made of many objects).
ENTRY_OVERHEAD = 256


class Memo(dict[Any, Any]):
    """A dict for remembered results with a byte budget; read it with ``get``."""

    __slots__ = ("max_bytes", "max_entries", "max_item_bytes", "nbytes")

    def __init__(self, max_entries: int, max_bytes: int, max_item_bytes: int) -> None:
        super().__init__()
        if max_entries < 1 or max_bytes < 1 or not 0 < max_item_bytes <= max_bytes:
            raise ValueError(
                f"a memo needs max_entries >= 1 and 0 < max_item_bytes <= max_bytes, got "
                f"{max_entries}, {max_item_bytes}, {max_bytes}"
            )
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes
        self.nbytes = 0

    def __repr__(self) -> str:
        return f"<Memo {len(self)}/{self.max_entries} items, {self.nbytes}/{self.max_bytes} bytes>"

    def remember(self, key: Any, value: Any, size: int) -> None:
        """Keep ``value`` under ``key``; ``size`` is what the pair holds, in bytes."""
        if size > self.max_item_bytes:
            return
        if len(self) >= self.max_entries or self.nbytes + size > self.max_bytes:
            self.clear()
        self[key] = value
        self.nbytes += size

    def clear(self) -> None:
        super().clear()
        self.nbytes = 0
