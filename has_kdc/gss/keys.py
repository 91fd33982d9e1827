"""Where the acceptor finds the service key: a callable, so the source can change.

``KeyLookup(principal, kvno, enctype) -> EncryptionKey | None``: ``principal`` is the
ticket's server name in MIT text form (``HTTP/host@REALM``), ``kvno`` the key version
the KDC stamped on the ticket (``None`` when it sent none: take the newest), and
``enctype`` the ticket's encryption type. Two sources are provided:

- ``KeytabKeys(path)``: a keytab file, read again whenever it changes on disk, so a
  key rotated with ``hadmin ktadd`` is picked up without a restart;
- ``BackendKeys(backend)``: the identity store itself, for a HAS node that holds the
  database credentials anyway.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from has_kdc.asn1 import EncryptionKey
from has_kdc.formats import Keytab, read_keytab

KeyLookup = Callable[[str, int | None, int], EncryptionKey | None]


class KeytabKeys:
    """Service keys from a keytab file, re-read when the file's identity or mtime changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._keytab = Keytab()
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> Keytab:
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._keytab = read_keytab(self.path)
                self._stamp = stamp
            return self._keytab

    def principals(self) -> list[str]:
        return [str(p) for p in self._load().principals()]

    def __call__(self, principal: str, kvno: int | None, enctype: int) -> EncryptionKey | None:
        try:
            keytab = self._load()
        except OSError:
            return None
        entry = keytab.key_for(principal, enctype, kvno)
        if entry is None and kvno is not None and kvno > 255:
            # An 8-bit kvno field in an old keytab: match on the low byte, as MIT does.
            entry = keytab.key_for(principal, enctype, kvno & 0xFF)
        return None if entry is None else EncryptionKey(entry.enctype, entry.key)

    def __repr__(self) -> str:
        return f"KeytabKeys({str(self.path)!r})"


class BackendKeys:
    """Service keys straight from the identity backend (``get_principal``)."""

    def __init__(self, backend: object) -> None:
        self._backend = backend

    def __call__(self, principal: str, kvno: int | None, enctype: int) -> EncryptionKey | None:
        found = self._backend.get_principal(principal)  # type: ignore[attr-defined]
        if found is None or found.disabled:
            return None
        keys = [k for k in found.keys if k.enctype == enctype]
        if kvno is not None:
            keys = [k for k in keys if k.kvno == kvno]
        if not keys:
            return None
        best = max(keys, key=lambda k: k.kvno)
        return EncryptionKey(best.enctype, best.key)
