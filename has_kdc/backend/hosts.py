"""Which database host to try next: order, failures remembered, the preferred one won back.

A ``mysql_url`` may name several hosts (the nodes of a Galera cluster). A HAS node
keeps one connection, to the first host that answers; this module decides the order
in which hosts are tried, without doing any I/O itself, so the rules are plain:

* **Order.** The configured order (``mysql_prefer_host`` first, then the URL's).
* **A host that failed is skipped for a while**, so that one dead or hung host does
  not cost every call a connect timeout: ``reconnect_interval`` after its first
  failure, doubling with each further failure up to ``MAX_BACKOFF`` seconds.
* **When every host has failed**, none is skipped for longer than
  ``reconnect_interval``: the first one back is found within that time (a dead host
  refuses at once, so trying them all costs nothing). Within that window calls fail
  at once, with every host's last error.
* **Back to the preferred host.** A connection to a later host is kept only while an
  earlier one is down: every ``retry_preferred_after`` seconds (Connector/J's
  ``secondsBeforeRetryPrimaryHost``, 30 by default) the earlier hosts are tried again
  and, if one answers, the node moves back to it — so a node returns to its local
  database host by itself once that host is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["MAX_BACKOFF", "DatabaseHost", "HostList", "format_address"]

MAX_BACKOFF = 30.0


def format_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class DatabaseHost:
    """One host of the URL and what this process last saw of it."""

    host: str
    port: int
    failures: int = 0
    failed_at: float = 0.0
    reason: str | None = None

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)


class HostList:
    """The hosts of one backend, in the order they are tried; ``clock`` is monotonic."""

    def __init__(
        self,
        hosts: Sequence[tuple[str, int]],
        *,
        reconnect_interval: float = 0.5,
        retry_preferred_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not hosts:
            raise ValueError("at least one database host is needed")
        self.hosts = [DatabaseHost(host, int(port)) for host, port in hosts]
        self.reconnect_interval = reconnect_interval
        self.retry_preferred_after = retry_preferred_after
        self._clock = clock
        #: index of the host of the open connection, None when there is none
        self.current: int | None = None
        self._connected_at = 0.0

    def __len__(self) -> int:
        return len(self.hosts)

    def _backoff(self, host: DatabaseHost) -> float:
        return min(MAX_BACKOFF, self.reconnect_interval * 2 ** max(0, host.failures - 1))

    def candidates(self) -> list[int]:
        """Indexes of the hosts worth trying now, in order (empty: fail at once)."""
        now = self._clock()
        ready = [
            i
            for i, h in enumerate(self.hosts)
            if not h.failures or now - h.failed_at >= self._backoff(h)
        ]
        if ready:
            return ready
        return [
            i
            for i, h in enumerate(self.hosts)
            if now - h.failed_at >= min(self.reconnect_interval, self._backoff(h))
        ]

    def next_attempt_in(self) -> float:
        """Seconds until some host may be tried again (when ``candidates()`` is empty)."""
        now = self._clock()
        return max(
            0.0,
            min(
                h.failed_at + min(self.reconnect_interval, self._backoff(h)) - now
                for h in self.hosts
            ),
        )

    def failed(self, index: int, reason: str) -> None:
        host = self.hosts[index]
        host.failures += 1
        host.failed_at = self._clock()
        host.reason = reason
        if self.current == index:
            self.current = None

    def connected(self, index: int) -> bool:
        """Record a connection to ``index``; True when the host had been failing."""
        host = self.hosts[index]
        was_failing = host.failures > 0
        host.failures, host.reason = 0, None
        self.current = index
        self._connected_at = self._clock()
        return was_failing

    def disconnected(self) -> None:
        self.current = None

    def preferred_due(self) -> list[int]:
        """Earlier hosts to try now, while connected to a later one (see the module doc)."""
        if not self.current:
            return []
        now = self._clock()
        if now - self._connected_at < self.retry_preferred_after:
            return []
        self._connected_at = now  # one try per period, whatever comes of it
        return [
            i
            for i in range(self.current)
            if not self.hosts[i].failures
            or now - self.hosts[i].failed_at
            >= min(self._backoff(self.hosts[i]), self.retry_preferred_after)
        ]

    def summary(self) -> str:
        """Every host with its last error, for a message saying none could be used."""
        return "; ".join(f"{h.address}: {h.reason or 'not tried'}" for h in self.hosts)
