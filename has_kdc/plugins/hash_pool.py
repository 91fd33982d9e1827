"""Password checks and reply-key derivations on every core, with a bounded queue.

A plugin login costs one scrypt (`passwords.verify_password`: deliberately slow, the
cost in the stored hash) and one string-to-key of the passphrase (PBKDF2, 4,096
rounds for AES). Done on the web server's threads they compete with each other and
with the event loop for one interpreter; here they run in worker processes, one per
core by default, so a node's logins per second grow with its cores at a given cost.

The queue is bounded: at most ``workers + queue`` logins hold a `HashPool.slot`
(running or waiting); one more is refused at once with `HashPoolBusy` (HTTP 503
with ``Retry-After``) rather than waiting behind a burst it cannot help, so a login
storm costs the clients a retry, not the node its memory or its other routes' latency. Worker
processes start with ``spawn``: never a fork of a threaded server.

Secrets cross to the workers only through the pool's pipe, and never come back in
an exception: `verify_password`'s errors do not repeat the hash or the password.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from has_kdc.crypto import enctype_by_id
from has_kdc.plugins import PluginError
from has_kdc.plugins.passwords import verify_password

__all__ = ["HashPool", "HashPoolBusy", "derive_key"]

T = TypeVar("T")

#: waiting checks allowed per worker, beyond the ones running
QUEUE_PER_WORKER = 4


class HashPoolBusy(PluginError):
    """Every worker is busy and the queue is full: try again after ``retry_after`` s."""

    status = 503
    error = "busy"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def derive_key(etype: int, passphrase: bytes, salt: bytes) -> bytes:
    """string-to-key with the enctype's default parameters (a worker's job)."""
    return enctype_by_id(etype).string_to_key(passphrase, salt, None)


def _ready() -> int:
    return os.getpid()


class HashPool:
    """Worker processes for password hashing; see the module docstring.

    ``workers`` defaults to the cores this process may run on; ``queue`` to
    `QUEUE_PER_WORKER` per worker. ``seconds_per_job`` is the estimate behind
    ``Retry-After`` (how long the queue takes to drain, at least one second).
    """

    def __init__(
        self,
        workers: int | None = None,
        queue: int | None = None,
        *,
        seconds_per_job: float = 0.2,
    ) -> None:
        self.workers = workers or len(os.sched_getaffinity(0)) or 1
        self.queue = QUEUE_PER_WORKER * self.workers if queue is None else queue
        self.capacity = self.workers + self.queue
        self.seconds_per_job = seconds_per_job
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._executor = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def start(self) -> None:
        """Start every worker now (else the first logins pay for their start-up)."""
        for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
            future.result()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One of the ``workers + queue`` places, for a login's checks; `HashPoolBusy`
        at once when none is free. Taken where the request arrives (the event loop),
        so a refused login costs no thread."""
        if not self._slots.acquire(blocking=False):
            wait = max(1, round(self.capacity * self.seconds_per_job / self.workers))
            raise HashPoolBusy(
                f"every password check of this node is taken ({self.workers} running, "
                f"{self.queue} waiting); try again in {wait} s",
                wait,
            )
        try:
            yield
        finally:
            self._slots.release()

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in a worker (``fn`` a module-level function); blocks the calling
        thread, never the event loop. The caller holds a `slot`."""
        return self._executor.submit(fn, *args).result()

    def verify_password(self, password: str, encoded: str) -> bool:
        return self.run(verify_password, password, encoded)

    def derive_key(self, etype: int, passphrase: bytes, salt: bytes) -> bytes:
        return self.run(derive_key, etype, passphrase, salt)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
