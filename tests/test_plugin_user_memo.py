"""PluginUserMemo: what a node keeps of plugin users to serve logins through an outage."""

from __future__ import annotations

import pytest

from has_kdc.backend import BackendError, BackendUnavailable
from has_kdc.backend.model import PluginUser
from has_kdc.plugins.user_memo import PluginUserMemo


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _down() -> PluginUser | None:
    raise BackendUnavailable("database down")


def test_served_from_memory_within_the_bound_only():
    clock = Clock()
    memo = PluginUserMemo(60, clock=clock)
    alice = PluginUser("alice", "hash-1")
    assert memo.lookup("alice", lambda: alice) is alice
    clock.now += 60
    assert memo.lookup("alice", _down) is alice
    assert memo.served_from_memory == 1
    clock.now += 1
    with pytest.raises(BackendUnavailable):
        memo.lookup("alice", _down)
    with pytest.raises(BackendUnavailable):
        memo.lookup("bob", _down)  # never read: nothing to serve


def test_the_store_answer_always_wins():
    memo = PluginUserMemo(3600, clock=Clock())
    memo.lookup("alice", lambda: PluginUser("alice", "hash-1"))
    changed = PluginUser("alice", "hash-2", disabled=True)
    assert memo.lookup("alice", lambda: changed) is changed
    assert memo.lookup("alice", _down) is changed
    assert memo.lookup("alice", lambda: None) is None  # deleted: forgotten at once
    with pytest.raises(BackendUnavailable):
        memo.lookup("alice", _down)


def test_other_store_errors_are_never_covered():
    memo = PluginUserMemo(3600, clock=Clock())
    memo.lookup("alice", lambda: PluginUser("alice", "hash-1"))

    def broken() -> PluginUser | None:
        raise BackendError("schema newer than this has-kdc")

    with pytest.raises(BackendError, match="schema"):
        memo.lookup("alice", broken)


def test_bounded_in_entries_least_recent_first():
    memo = PluginUserMemo(3600, max_entries=3, clock=Clock())
    for name in ("a", "b", "c"):
        memo.lookup(name, lambda n=name: PluginUser(n, "h"))
    memo.lookup("a", lambda: PluginUser("a", "h"))  # a is the most recent now
    memo.lookup("d", lambda: PluginUser("d", "h"))
    assert len(memo) == 3
    with pytest.raises(BackendUnavailable):
        memo.lookup("b", _down)
    assert memo.lookup("a", _down).name == "a"
