"""The KDC's cache of decrypted TGTs: a TGT presented again is not decrypted again, and
the answers are exactly those without the cache (checks still run on every request)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from has_kdc.asn1.constants import (
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_TKT_EXPIRED,
)
from has_kdc.asn1.messages import EncryptionKey, EncTicketPart, PrincipalName, TransitedEncoding
from has_kdc.client.kdc_client import KdcClient, KdcReplyError
from has_kdc.kdc.ticket_cache import TicketCache
from tests.kdc_fakes import REALM, make_kdc, make_keys

SERVICE = "host/server.example.com"


def setup():
    kdc, backend, clock = make_kdc()
    client = KdcClient(lambda b: kdc.handle(b, "udp", peer="192.0.2.7"), REALM, clock=clock)
    return kdc, backend, clock, client


def test_a_tgt_presented_again_is_taken_from_the_cache() -> None:
    kdc, _, clock, client = setup()
    tgt = client.get_tgt("alice", "alice-pw")
    tickets = kdc.realm.tickets
    first = client.get_service_ticket(tgt, SERVICE)
    assert (tickets.hits, tickets.misses, len(tickets)) == (0, 1, 1)
    for _ in range(5):
        clock.advance(1)
        again = client.get_service_ticket(tgt, SERVICE)
        assert again.cname == first.cname and again.session_key != first.session_key
    assert (tickets.hits, tickets.misses, len(tickets)) == (5, 1, 1)


def test_a_modified_copy_of_a_cached_tgt_is_still_bad_integrity() -> None:
    kdc, _, _, client = setup()
    tgt = client.get_tgt("alice", "alice-pw")
    client.get_service_ticket(tgt, SERVICE)
    cipher = bytearray(tgt.ticket.enc_part.cipher)
    cipher[-1] ^= 1
    bad = replace(
        tgt, ticket=replace(tgt.ticket, enc_part=replace(tgt.ticket.enc_part, cipher=bytes(cipher)))
    )
    with pytest.raises(KdcReplyError) as info:
        client.get_service_ticket(bad, SERVICE)
    assert info.value.code == KRB_AP_ERR_BAD_INTEGRITY
    assert len(kdc.realm.tickets) == 1  # failures are not kept


def test_a_cached_tgt_under_a_key_the_realm_dropped_is_badkeyver() -> None:
    _kdc, backend, clock, client = setup()
    tgt = client.get_tgt("alice", "alice-pw")
    client.get_service_ticket(tgt, SERVICE)
    krbtgt = backend.get_principal(f"krbtgt/{REALM}@{REALM}")
    backend.put(replace(krbtgt, kvno=2, keys=make_keys(krbtgt.name, None, kvno=2)))
    clock.advance(2)  # past the principal cache's refresh interval
    with pytest.raises(KdcReplyError) as info:
        client.get_service_ticket(tgt, SERVICE)
    assert info.value.code == KRB_AP_ERR_BADKEYVER


def test_a_cached_tgt_past_its_end_is_expired() -> None:
    _kdc, _, clock, client = setup()
    tgt = client.get_tgt("alice", "alice-pw", lifetime=3600)
    client.get_service_ticket(tgt, SERVICE)
    clock.advance(3600 + 301)
    with pytest.raises(KdcReplyError) as info:
        client.get_service_ticket(tgt, SERVICE)
    assert info.value.code == KRB_AP_ERR_TKT_EXPIRED


def _part(n: int) -> EncTicketPart:
    return EncTicketPart(
        flags=0,
        key=EncryptionKey(18, bytes(32)),
        crealm=REALM,
        cname=PrincipalName(1, (f"user{n}",)),
        transited=TransitedEncoding(1, b""),
        authtime=n,
        endtime=n + 1,
    )


def test_the_cache_is_bounded_and_keyed_by_key_and_ciphertext() -> None:
    cache = TicketCache(max_entries=3)
    key_a, key_b = b"a" * 32, b"b" * 32
    for n in range(10):
        cache.put(18, key_a, bytes([n]) * 40, _part(n))
        assert len(cache) <= 3
    assert cache.get(18, key_a, bytes([9]) * 40) == _part(9)
    assert cache.get(18, key_b, bytes([9]) * 40) is None
    assert cache.get(17, key_a, bytes([9]) * 40) is None
    assert cache.get(18, key_a, bytes([0]) * 40) is None
    with pytest.raises(ValueError, match="at least 1"):
        TicketCache(max_entries=0)


def test_repr_shows_no_ticket_content() -> None:
    cache = TicketCache()
    cache.put(18, b"k" * 32, b"c" * 40, _part(1))
    text = repr(cache)
    assert "user1" not in text and "1/4096" in text
