"""The TGT-over-HTTPS login limits: nobody can hold a user locked out, guessing stays
slow, and memory stays bounded in bytes whatever names clients send.

Run on `TgtService`'s limit checks with a fake clock (the HTTPS round trip is
tests/test_tgt_https.py): an attacker failing from one address, many addresses
guessing one user, the user's own addresses, and a day of the attacker retrying the
moment it may.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from has_kdc.web.errors import ApiError
from has_kdc.web.ratelimit import (
    DEFAULT_LIMITS,
    ENTRY_BYTES,
    Backoff,
    FailureBackoff,
    Limit,
    RecentSuccesses,
    TgtLimits,
    TokenBuckets,
)
from has_kdc.web.tgt_api import TgtService
from tests.kdc_fakes import FakeClock

MYSQL = "MySQL"


def service(clock: FakeClock, limits: TgtLimits = DEFAULT_LIMITS) -> TgtService:
    """A TGT service whose limits are all that is used here (no plugin, no store)."""
    return TgtService(
        None,  # type: ignore[arg-type]
        lambda: None,  # type: ignore[arg-type, return-value]
        enabled_types=lambda: MYSQL,
        limits=limits,
        monotonic=clock,
    )


def allowed(tgt: TgtService, user: str, address: str) -> bool:
    try:
        tgt.check_limits(MYSQL, user, address)
    except ApiError as exc:
        assert exc.status == 429 and int(exc.headers["Retry-After"]) >= 1
        return False
    return True


# ---------------------------------------------------------------------- the backoff


def test_backoff_numbers():
    policy = Backoff()
    assert (policy.free, policy.base, policy.cap, policy.forget_after) == (5, 1.0, 300.0, 3600.0)
    assert [policy.wait(n) for n in range(4, 16)] == [
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
    ]
    assert policy.wait(10**6) == 300  # no overflow
    with pytest.raises(ValueError):
        Backoff(free=0)
    with pytest.raises(ValueError):
        Backoff(cap=10, forget_after=5)


def test_failure_backoff_waits_clears_and_forgets():
    clock = FakeClock(0)
    table = FailureBackoff(Backoff(free=2, base=1, cap=8, forget_after=60), clock=clock)
    table.failure("k")
    table.failure("k")
    assert table.retry_after("k") == pytest.approx(1)
    clock.advance(1)
    assert table.retry_after("k") == 0
    table.failure("k")
    assert table.retry_after("k") == pytest.approx(2)
    table.success("k")
    assert table.retry_after("k") == 0  # a correct login starts afresh
    for _ in range(10):
        table.failure("k")
    assert table.retry_after("k") == pytest.approx(8)  # capped
    clock.advance(60)
    assert table.retry_after("k") == 0 and len(table) == 0  # forgotten after an hour


def test_token_bucket_engages_and_recovers():
    clock = FakeClock(0)
    buckets = TokenBuckets(Limit(3, 0.5), clock=clock)
    for _ in range(3):
        buckets.take("alice")
    assert buckets.retry_after("alice") == pytest.approx(2.0)
    assert buckets.retry_after("bob") == 0
    clock.advance(2.0)
    assert buckets.allow("alice") == 0
    assert buckets.allow("alice") > 0


def test_recent_successes_expire():
    clock = FakeClock(0)
    seen = RecentSuccesses(100, clock=clock)
    seen.add("alice host")
    assert "alice host" in seen and "alice other" not in seen
    clock.advance(100)
    assert "alice host" not in seen


# ---------------------------------------------------------------------- who can lock whom out


def test_failures_from_one_address_never_slow_the_user_elsewhere():
    clock = FakeClock(1000)
    tgt = service(clock)
    for _ in range(5):
        assert allowed(tgt, "alice", "10.0.0.66")
        tgt.record_failure(MYSQL, "alice", "10.0.0.66")
    assert not allowed(tgt, "alice", "10.0.0.66")  # the guesser waits ...
    assert allowed(tgt, "alice", "10.0.0.7")  # ... alice, elsewhere, does not
    tgt.record_success(MYSQL, "alice", "10.0.0.7")
    # the right password from the guesser's address, after its wait, clears it
    clock.advance(1)
    assert allowed(tgt, "alice", "10.0.0.66")
    tgt.record_success(MYSQL, "alice", "10.0.0.66")
    assert allowed(tgt, "alice", "10.0.0.66")


def test_waits_double_per_failure_up_to_five_minutes():
    clock = FakeClock(1000)
    tgt = service(clock)
    _user, pair = TgtService._keys(MYSQL, "bob", "192.0.2.1")
    waits = []
    for _ in range(16):
        while not allowed(tgt, "bob", "192.0.2.1"):
            waits.append(tgt.pair_failures.retry_after(pair))
            assert waits[-1] > 0
            clock.advance(waits[-1])
        tgt.record_failure(MYSQL, "bob", "192.0.2.1")
    assert [round(w) for w in waits] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_one_address_retrying_all_day_cannot_spend_the_users_ceiling():
    """The attacker of the issue: one address failing for a user as often as allowed."""
    clock = FakeClock(1000)
    tgt = service(clock)
    failures = 0
    end = clock() + 24 * 3600
    while clock() < end:
        if allowed(tgt, "carol", "198.51.100.9"):
            tgt.record_failure(MYSQL, "carol", "198.51.100.9")
            failures += 1
            # carol, from an address that never failed, gets in at any moment
            assert allowed(tgt, "carol", "203.0.113.5"), failures
        clock.advance(1)
    assert 280 < failures < 320  # 5 free, then doubling waits to 300 s: ~12 an hour
    assert tgt.user_failures.retry_after(TgtService._keys(MYSQL, "carol", "")[0]) == 0


def test_distributed_guessing_hits_the_ceiling_but_not_the_users_own_addresses():
    clock = FakeClock(1000)
    tgt = service(clock)
    assert allowed(tgt, "dave", "10.1.1.1")
    tgt.record_success(MYSQL, "dave", "10.1.1.1")  # dave's usual address
    for i in range(100):  # 100 guessing addresses, one failure each
        address = f"172.16.{i // 250}.{i % 250}"
        assert allowed(tgt, "dave", address)
        tgt.record_failure(MYSQL, "dave", address)
    assert not allowed(tgt, "dave", "172.16.9.9")  # a new address: the ceiling holds
    assert allowed(tgt, "dave", "10.1.1.1")  # dave's own address: still in
    assert allowed(tgt, "erin", "172.16.9.9")  # other users are not concerned
    clock.advance(36)  # the ceiling refills at 100 an hour
    assert allowed(tgt, "dave", "172.16.9.9")


def test_one_address_guessing_many_users_is_stopped_there():
    clock = FakeClock(1000)
    tgt = service(clock)
    for i in range(20):
        assert allowed(tgt, f"user{i}", "192.0.2.99")
        tgt.record_failure(MYSQL, f"user{i}", "192.0.2.99")
    assert not allowed(tgt, "user99", "192.0.2.99")
    assert allowed(tgt, "user99", "192.0.2.100")


# ---------------------------------------------------------------------- bounded memory


def test_tables_are_bounded_in_entries_for_any_key_length():
    clock = FakeClock(0)
    for table in (
        TokenBuckets(Limit(1, 1), max_bytes=100 * ENTRY_BYTES, clock=clock),
        FailureBackoff(Backoff(), max_bytes=100 * ENTRY_BYTES, clock=clock),
        RecentSuccesses(60, max_bytes=100 * ENTRY_BYTES, clock=clock),
    ):
        add = getattr(table, "take", None) or getattr(table, "failure", None) or table.add
        for i in range(1000):
            add(f"{i}" + "x" * 60_000)  # 60 KB names, as the flood sent
        assert table.max_entries == 100 and len(table) == 100
    with pytest.raises(ValueError):
        TokenBuckets(Limit(1, 1), max_bytes=ENTRY_BYTES - 1)


def test_an_entry_costs_at_most_entry_bytes():
    """Measured: 20,000 distinct 4 KB user names from 20,000 addresses, every table full
    of them, cost at most ENTRY_BYTES an entry; the names themselves are not kept."""
    clock = FakeClock(0)
    count = 20_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tgt = service(clock)
        for i in range(count):
            name = f"{i:06d}" + "n" * 4096
            address = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
            tgt.record_failure(MYSQL, name, address)
            tgt.record_success(MYSQL, name, address)
            tgt.address_requests.allow(address)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    entries = sum(
        len(t)
        for t in (
            tgt.pair_failures,
            tgt.user_failures,
            tgt.known_good,
            tgt.address_failures,
            tgt.address_requests,
        )
    )
    assert entries == 4 * count  # success cleared the pair backoff entries
    assert used / entries <= ENTRY_BYTES, used / entries


def test_default_memory_bound():
    limits = TgtLimits()
    assert limits.table_bytes == 8 * 1024 * 1024
    assert TokenBuckets(Limit(1, 1)).max_entries == 8 * 1024 * 1024 // ENTRY_BYTES


def test_keys_are_not_kept_as_text(tmp_path: Path):
    tgt = service(FakeClock(0))
    tgt.record_failure(MYSQL, "mallory-very-visible-name", "192.0.2.1")
    for table in (tgt.pair_failures, tgt.user_failures, tgt.address_failures):
        assert all(isinstance(k, bytes) and len(k) == 16 for k in table._entries)
