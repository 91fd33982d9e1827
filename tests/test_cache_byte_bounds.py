"""Every cache and memo keyed by what clients send is bounded in bytes, not only in entries.

Each is filled with more distinct, large keys than it may hold, and the memory Python
allocated for it (tracemalloc) must stay within its byte budget, with some room for
what the budget's per-entry estimates leave out. Before, an entry count was the only
bound: 4,096 decoded names of 60 KB (the fast path's memo alone) are 500 MB.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import pytest

from has_kdc.asn1 import codec, encode, fast
from has_kdc.asn1.memo import Memo
from has_kdc.asn1.messages import EncryptionKey, EncTicketPart, PrincipalName, TransitedEncoding
from has_kdc.client.kdc_client import build_as_req
from has_kdc.gss.replay import ReplayCache
from has_kdc.kdc import context
from has_kdc.kdc.principal_cache import PrincipalCache
from has_kdc.kdc.ticket_cache import TicketCache
from tests.kdc_fakes import REALM, FakeClock, MemoryBackend, standard_realm

#: Allowance over a budget for what per-entry estimates miss (dict resizing, the
#: allocator's rounding).
SLACK = 1.5


def allocated_by(fill: Callable[[], object]) -> tuple[int, object]:
    """Bytes still allocated after ``fill()`` returns (what it kept), and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fill()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, result
    finally:
        tracemalloc.stop()


def test_a_memo_empties_itself_at_its_byte_budget_and_declines_large_items():
    memo = Memo(max_entries=1000, max_bytes=10_000, max_item_bytes=2_000)
    memo.remember("big", b"x", 2_001)
    assert "big" not in memo
    for i in range(9):
        memo.remember(i, i, 1_000)
    assert len(memo) == 9 and memo.nbytes == 9_000
    memo.remember("one more", 0, 1_500)  # would make 10,500: emptied first
    assert list(memo) == ["one more"] and memo.nbytes == 1_500
    for i in range(2000):
        memo.remember(("n", i), i, 1)
    assert len(memo) <= 1000
    with pytest.raises(ValueError):
        Memo(max_entries=10, max_bytes=100, max_item_bytes=101)


def test_decoding_many_distinct_names_keeps_the_codec_memos_within_their_budget():
    """AS-REQs with 3,000 distinct 500-byte names (just under what the memos keep):
    the decoded and encoded names remembered stay within the memos' byte budgets."""
    template = encode(
        build_as_req(PrincipalName(1, ("Z" * 8 + "a" * 492,)), REALM, nonce=0x40000000)
    )
    offset = template.index(b"Z" * 8)

    def fill() -> None:
        for i in range(3000):
            packet = bytearray(template)
            packet[offset : offset + 8] = b"%08x" % i
            req = codec.decode_kdc_req(bytes(packet))
            encode(req.req_body.cname)  # the encode-side memo, as an error reply would

    memos = (fast._principal_by_der, fast._principal_memo, fast._text_memo)
    for memo in memos:
        memo.clear()
    kept, _ = allocated_by(fill)
    budget = sum(m.max_bytes for m in memos)
    assert all(m.nbytes <= m.max_bytes for m in memos)
    assert kept < budget * SLACK, f"kept {kept / 1e6:.1f} MB for a {budget / 1e6:.1f} MB budget"


def test_names_over_the_memo_item_size_are_not_kept_at_all():
    fast._principal_by_der.clear()
    name = PrincipalName(1, ("a" * 60_000,))
    codec.decode_kdc_req(encode(build_as_req(name, REALM, nonce=1)))
    assert all(len(der) < 1000 for der in fast._principal_by_der)


def test_the_principal_text_memo_stays_within_its_budget():
    memo = context._principal_texts
    memo.clear()

    def fill() -> None:
        for i in range(20_000):
            context.principal_text(PrincipalName(1, (f"{i:08x}" + "b" * 990,)), REALM)

    kept, _ = allocated_by(fill)
    assert memo.nbytes <= memo.max_bytes
    assert kept < memo.max_bytes * SLACK


def test_unknown_names_are_kept_within_their_byte_budget_and_never_push_out_known_ones():
    backend = MemoryBackend()
    standard_realm(backend)
    budget = 2 * 1024 * 1024
    cache = PrincipalCache(backend, clock=FakeClock(), max_negative_bytes=budget)
    alice = f"alice@{REALM}"
    cache.get(alice)

    def fill() -> None:
        for i in range(20_000):  # 20 MB of names
            assert cache.get(f"{i:08x}{'c' * 990}@{REALM}") is None

    kept, _ = allocated_by(fill)
    assert cache.negative_bytes <= budget
    assert kept < budget * SLACK
    backend.reset_calls()
    assert cache.get(alice) is not None
    assert backend.calls["get_principal"] == 0  # still cached
    # the most recent unknown names are still answered from memory
    assert cache.get(f"{19_999:08x}{'c' * 990}@{REALM}") is None
    assert backend.calls["get_principal"] == 0


def _part() -> EncTicketPart:
    return EncTicketPart(
        flags=0,
        key=EncryptionKey(18, bytes(32)),
        crealm=REALM,
        cname=PrincipalName(1, ("alice",)),
        transited=TransitedEncoding(1, b""),
        authtime=1,
        endtime=2,
    )


def test_the_ticket_cache_stays_within_its_byte_budget():
    budget = 4 * 1024 * 1024
    cache = TicketCache(max_entries=4096, max_bytes=budget)
    key = bytes(32)

    def fill() -> None:
        for i in range(2000):  # 60 KB tickets: 120 MB if all were kept
            cache.put(18, key, i.to_bytes(4, "big") + bytes(60_000), _part())

    kept, _ = allocated_by(fill)
    assert cache.nbytes <= budget
    assert kept < budget * SLACK


def test_the_replay_cache_stays_within_its_byte_budget():
    budget = 2 * 1024 * 1024
    cache = ReplayCache(skew=300, max_entries=100_000, max_bytes=budget)

    def fill() -> None:
        for i in range(20_000):
            client = f"{i:08x}{'d' * 1000}@{REALM}"
            assert cache.check_and_store(client, "HTTP/h@R", 1000, i % 1_000_000, b"x", 900.0)

    kept, _ = allocated_by(fill)
    assert cache.nbytes <= budget
    assert kept < budget * SLACK
    # the newest authenticator is still recognised as a replay
    last = f"{19_999:08x}{'d' * 1000}@{REALM}"
    assert not cache.check_and_store(last, "HTTP/h@R", 1000, 19_999 % 1_000_000, b"x", 900.0)
