"""The principal cache: no store query per request while nothing changes, changes seen
within the poll interval, unknown names cached too, bounded size."""

from __future__ import annotations

import contextlib

import pytest

from has_kdc.backend.errors import BackendUnavailable
from has_kdc.client.kdc_client import KdcClient, KdcReplyError
from has_kdc.kdc.principal_cache import PrincipalCache
from tests.kdc_fakes import REALM, FakeClock, MemoryBackend, make_kdc, standard_realm

ALICE = f"alice@{REALM}"


def cache_over(backend: MemoryBackend, **kwargs) -> tuple[PrincipalCache, FakeClock]:
    clock = FakeClock()
    return PrincipalCache(backend, clock=clock, **kwargs), clock


def test_repeated_lookups_do_not_query_the_store() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend)
    first = cache.get(ALICE)
    assert first is not None and first.name == ALICE
    backend.reset_calls()
    for _ in range(100):
        assert cache.get(ALICE) is first
        clock.advance(0.001)
    assert backend.calls == {"get_principal": 0, "change_counter": 0, "changes_since": 0}


def test_change_counter_is_polled_at_most_once_per_interval() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend, refresh_interval=1.0)
    cache.get(ALICE)
    backend.reset_calls()
    for _ in range(40):
        clock.advance(0.125)  # 5 s in all
        cache.get(ALICE)
    assert backend.calls["change_counter"] == 5
    assert backend.calls["get_principal"] == 0
    assert backend.calls["changes_since"] == 0  # nothing changed


def test_a_change_is_seen_after_the_next_poll_and_only_that_name_is_reloaded() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend)
    bob = cache.get(f"bob@{REALM}")
    assert cache.get(ALICE).principal.disabled is False
    backend.modify(ALICE, disabled=True)
    assert cache.get(ALICE).principal.disabled is False  # not yet polled: bounded staleness
    clock.advance(1.0)
    backend.reset_calls()
    assert cache.get(ALICE).principal.disabled is True
    assert cache.get(f"bob@{REALM}") is bob
    assert backend.calls == {"get_principal": 1, "change_counter": 1, "changes_since": 1}


def test_unknown_names_are_cached_until_they_are_created() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend)
    name = f"newcomer@{REALM}"
    assert cache.get(name) is None
    backend.reset_calls()
    for _ in range(10):
        assert cache.get(name) is None
    assert backend.calls["get_principal"] == 0
    backend.add(name, "pw")
    clock.advance(1.0)
    entry = cache.get(name)
    assert entry is not None and entry.current_keys.keys() == {18, 17, 20, 19}


def test_deleted_principal_disappears() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend)
    assert cache.get(ALICE) is not None
    backend.delete(ALICE)
    clock.advance(1.0)
    assert cache.get(ALICE) is None


def test_a_change_log_that_does_not_reach_back_flushes_everything() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend)
    cache.get(ALICE)
    cache.get(f"bob@{REALM}")
    backend.add(f"other@{REALM}", "pw")
    backend.log_floor = 10_000  # changes_since answers None
    clock.advance(1.0)
    backend.reset_calls()
    cache.get(ALICE)
    cache.get(f"bob@{REALM}")
    assert backend.calls["get_principal"] == 2


def test_cache_is_bounded_least_recently_used_first_out() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, _ = cache_over(backend, max_entries=2)
    cache.get(ALICE)
    cache.get(f"bob@{REALM}")
    cache.get(ALICE)  # alice is now the most recent
    cache.get(f"host/server.example.com@{REALM}")
    assert len(cache) == 2
    backend.reset_calls()
    cache.get(ALICE)
    assert backend.calls["get_principal"] == 0
    cache.get(f"bob@{REALM}")
    assert backend.calls["get_principal"] == 1


def test_a_clock_that_goes_back_still_polls() -> None:
    backend = MemoryBackend()
    standard_realm(backend)
    cache, clock = cache_over(backend)
    cache.get(ALICE)
    backend.modify(ALICE, disabled=True)
    clock.advance(-3600)
    assert cache.get(ALICE).principal.disabled is True


def test_keys_are_indexed_by_kvno_and_enctype() -> None:
    backend = MemoryBackend()
    principal = backend.add(ALICE, "pw", etypes=(18, 17), kvno=3)
    old = backend.add(ALICE, "old-pw", etypes=(18,), kvno=2)
    principal.keys += old.keys
    backend.put(principal)
    cache, _ = cache_over(backend)
    entry = cache.get(ALICE)
    assert set(entry.current_keys) == {18, 17}
    assert all(k.kvno == 3 for k in entry.current_keys.values())
    assert set(entry.keys_by_kvno) == {(3, 18), (3, 17), (2, 18)}
    assert entry.salt(entry.current_keys[18]) == f"{REALM}alice".encode()


def test_a_store_that_is_down_propagates_and_the_kdc_answers_svc_unavailable() -> None:
    class Down(MemoryBackend):
        def get_principal(self, name: str):
            raise BackendUnavailable("database is locked")

    backend = Down()
    kdc, _, clock = make_kdc(backend)
    client = KdcClient(lambda b: kdc.handle(b, "udp"), REALM, clock=clock)
    with pytest.raises(KdcReplyError) as info:
        client.get_tgt("alice", "alice-pw")
    assert info.value.code == 29  # KDC_ERR_SVC_UNAVAILABLE


def test_the_kdc_hot_path_makes_no_store_call_when_nothing_changed() -> None:
    kdc, backend, clock = make_kdc()
    client = KdcClient(lambda b: kdc.handle(b, "udp"), REALM, clock=clock)
    tgt = client.get_tgt("alice", "alice-pw")
    client.get_service_ticket(tgt, "host/server.example.com")
    with contextlib.suppress(KdcReplyError):
        client.get_tgt("nobody", "x")
    backend.reset_calls()
    for _ in range(20):
        tgt = client.get_tgt("alice", "alice-pw")
        client.get_service_ticket(tgt, "host/server.example.com")
        with pytest.raises(KdcReplyError):
            client.get_tgt("nobody", "x")
        clock.advance(0.01)
    assert backend.calls == {"get_principal": 0, "change_counter": 0, "changes_since": 0}
    # and a password change is honoured within the poll interval
    backend.add(ALICE, "new-pw")
    clock.advance(1.0)
    client.get_tgt("alice", "new-pw")
    with pytest.raises(KdcReplyError) as info:
        client.get_tgt("alice", "alice-pw")
    assert info.value.code == 24


# ---------------------------------------------------------------------- store outages


class Outage(MemoryBackend):
    """A MemoryBackend whose database can be switched off (every call then raises)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.failed = 0

    def _check(self) -> None:
        if self.down:
            self.failed += 1
            raise BackendUnavailable("no database host reachable")

    def get_principal(self, name: str):
        self._check()
        return super().get_principal(name)

    def change_counter(self) -> int:
        self._check()
        return super().change_counter()

    def changes_since(self, counter: int):
        self._check()
        return super().changes_since(counter)


def test_known_names_are_served_from_memory_for_stale_ok_then_refused(caplog) -> None:
    backend = Outage()
    standard_realm(backend)
    cache, clock = cache_over(backend, stale_ok=600)
    nobody = f"nobody@{REALM}"
    assert cache.get(ALICE) is not None and cache.get(nobody) is None
    synced = cache.synced_at
    backend.down = True
    clock.advance(1.0)  # the next lookup polls, and the poll fails
    with caplog.at_level("WARNING", logger="has_kdc.kdc.principal_cache"):
        assert cache.get(ALICE).name == ALICE
    assert "serving the 2 names in memory" in caplog.text and "kdc_stale_ok" in caplog.text
    assert cache.down_since == synced + 1.0 and "no database host reachable" in cache.store_error
    assert cache.get(nobody) is None  # a name known not to exist stays unknown
    with pytest.raises(BackendUnavailable):
        cache.get(f"bob@{REALM}")  # never looked up: needs the store
    clock.advance(598.0)  # 599 s after the last successful poll
    assert cache.get(ALICE).name == ALICE
    clock.advance(1.5)  # 600.5 s: beyond the bound
    with pytest.raises(BackendUnavailable, match="longer than kdc_stale_ok"):
        cache.get(ALICE)
    with pytest.raises(BackendUnavailable):
        cache.get(nobody)


def test_changes_made_before_the_outage_are_honoured_and_later_ones_caught_up() -> None:
    backend = Outage()
    standard_realm(backend)
    cache, clock = cache_over(backend, stale_ok=3600)
    newcomer = f"newcomer@{REALM}"
    cache.get(ALICE)
    cache.get(f"bob@{REALM}")
    assert cache.get(newcomer) is None
    backend.add(ALICE, "changed-pw", kvno=2)  # committed before the outage:
    backend.modify(f"bob@{REALM}", disabled=True)  # a password change, a disabled
    backend.add(newcomer, "pw")  # principal and a new one
    clock.advance(1.0)
    cache.get(f"host/server.example.com@{REALM}")  # any request runs the poll
    backend.down = True
    clock.advance(1.0)
    assert cache.get(ALICE).principal.kvno == 2  # the new keys, from memory
    assert cache.get(f"bob@{REALM}").principal.disabled is True
    assert cache.get(newcomer) is not None
    backend.down = False
    backend.modify(ALICE, disabled=True)  # made while this node was cut off
    backend.down = True
    clock.advance(5.0)
    assert cache.get(ALICE).principal.disabled is False  # not seen: stale
    backend.down = False
    clock.advance(5.0)
    assert cache.get(ALICE).principal.disabled is True  # caught up at once
    assert cache.down_since is None and cache.store_error is None


def test_stale_ok_zero_refuses_at_the_first_failed_poll() -> None:
    backend = Outage()
    standard_realm(backend)
    cache, clock = cache_over(backend, stale_ok=0)
    cache.get(ALICE)
    backend.down = True
    clock.advance(1.0)
    with pytest.raises(BackendUnavailable):
        cache.get(ALICE)


def test_a_store_down_from_the_start_serves_nothing() -> None:
    backend = Outage()
    standard_realm(backend)
    backend.down = True
    cache, _ = cache_over(backend)
    with pytest.raises(BackendUnavailable):
        cache.get(ALICE)


def test_a_slow_failing_poll_spaces_the_next_ones_out() -> None:
    class Slow(Outage):
        def __init__(self, clock: FakeClock) -> None:
            super().__init__()
            self.clock = clock

        def _check(self) -> None:
            if self.down:
                self.clock.advance(2.0)  # a connect timeout
            super()._check()

    clock = FakeClock()
    backend = Slow(clock)
    standard_realm(backend)
    cache = PrincipalCache(backend, clock=clock)
    cache.get(ALICE)
    backend.down = True
    clock.advance(1.0)
    cache.get(ALICE)  # the poll took 2 s and failed
    assert backend.failed == 1
    for _ in range(55):
        clock.advance(0.1)
        cache.get(ALICE)
    assert backend.failed == 1  # 7.5 s after the failed poll began: not again yet
    clock.advance(0.6)
    cache.get(ALICE)
    assert backend.failed == 2


def test_the_kdc_answers_known_principals_while_the_store_is_down() -> None:
    backend = Outage()
    standard_realm(backend)
    kdc, _, clock = make_kdc(backend)
    client = KdcClient(lambda b: kdc.handle(b, "udp"), REALM, clock=clock)
    tgt = client.get_tgt("alice", "alice-pw")
    client.get_service_ticket(tgt, "host/server.example.com")
    backend.down = True
    clock.advance(30.0)
    tgt = client.get_tgt("alice", "alice-pw")
    client.get_service_ticket(tgt, "host/server.example.com")
    with pytest.raises(KdcReplyError) as info:
        client.get_tgt("bob", "bob-pw")  # never seen by this KDC
    assert info.value.code == 29
