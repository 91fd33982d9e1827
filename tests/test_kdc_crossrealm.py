"""Cross-realm TGS rules through ``Kdc.handle`` (MIT do_tgs_req.c / tgs_policy.c), and the
realm paths and transited encoding of ``has_kdc.kdc.crossrealm`` (RFC 4120 §3.3.3.2).

Cross-realm TGTs are made here as the trusted realm's KDC would make them: an
EncTicketPart under the key of ``krbtgt/EXAMPLE.COM@OTHER`` that both realms hold.
"""

from __future__ import annotations

import pytest

from has_kdc.asn1.codec import decode_enc_ticket_part, encode
from has_kdc.asn1.constants import (
    DOMAIN_X500_COMPRESS,
    KDC_ERR_POLICY,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_TRTYPE_NOSUPP,
    KRB_AP_ERR_NOT_US,
    KRB_TGS_REP,
    KU_TICKET,
    NT_PRINCIPAL,
    NT_SRV_HST,
    NT_SRV_INST,
    KDCOptions,
    TicketFlags,
)
from has_kdc.asn1.messages import (
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)
from has_kdc.client.kdc_client import (
    Credentials,
    KdcReplyError,
    build_tgs_req,
    decrypt_tgs_rep,
    parse_reply,
)
from has_kdc.crypto import enctype_by_id
from has_kdc.kdc.crossrealm import (
    TransitedError,
    add_to_transited,
    check_transited,
    decode_transited,
    host_realm,
    realm_path,
)
from tests.kdc_fakes import REALM, make_kdc

SERVICE = PrincipalName(NT_SRV_INST, ("host", "server.example.com"))
HOST = f"host/server.example.com@{REALM}"


def trusting(*trusts: str, **config):
    """A KDC for REALM holding the cross-realm TGS principals ``trusts``."""
    kdc, backend, clock = make_kdc(**config)
    for name in trusts:
        backend.add(name, requires_preauth=False)
    return kdc, backend, clock


def cross_tgt(
    backend,
    clock,
    *,
    issuer: str = "OTHER.ORG",
    crealm: str = "OTHER.ORG",
    transited: TransitedEncoding | None = None,
    server_realm: str = REALM,
) -> Credentials:
    """The TGT ``krbtgt/<server_realm>@<issuer>`` that the issuing realm's KDC hands
    its user (or, transited, another realm's user)."""
    trust = backend.get_principal(f"krbtgt/{server_realm}@{issuer}")
    key = next(k for k in trust.keys if k.enctype == 18)
    session = EncryptionKey(18, enctype_by_id(18).random_key())
    now = int(clock())
    cname = PrincipalName(NT_PRINCIPAL, ("carol",))
    flags = TicketFlags.FORWARDABLE | TicketFlags.PRE_AUTHENT
    part = EncTicketPart(
        flags=flags,
        key=session,
        crealm=crealm,
        cname=cname,
        transited=transited or TransitedEncoding(DOMAIN_X500_COMPRESS, b""),
        authtime=now,
        endtime=now + 3600,
    )
    sname = PrincipalName(NT_SRV_INST, ("krbtgt", server_realm))
    cipher = enctype_by_id(18).encrypt(key.key, KU_TICKET, encode(part))
    ticket = Ticket(realm=issuer, sname=sname, enc_part=EncryptedData(18, cipher, key.kvno))
    return Credentials(
        crealm=crealm,
        cname=cname,
        srealm=issuer,
        sname=sname,
        ticket=ticket,
        session_key=session,
        flags=flags,
        authtime=now,
        endtime=now + 3600,
    )


def ask(kdc, tgt: Credentials, server: PrincipalName, clock, **kwargs):
    req = build_tgs_req(tgt, server, realm=REALM, now=clock(), **kwargs)
    reply = kdc.handle(encode(req), "udp", peer="192.0.2.7")
    return parse_reply(reply, KRB_TGS_REP), tgt


def refused(kdc, tgt: Credentials, server: PrincipalName, clock, **kwargs) -> int:
    with pytest.raises(KdcReplyError) as info:
        ask(kdc, tgt, server, clock, **kwargs)
    return info.value.error.error_code


def service_part(backend, rep) -> EncTicketPart:
    enc = rep.ticket.enc_part
    key = next(k.key for k in backend.get_principal(HOST).keys if k.enctype == enc.etype)
    return decode_enc_ticket_part(enctype_by_id(enc.etype).decrypt(key, KU_TICKET, enc.cipher))


# -- accepting a trusted realm's TGT --------------------------------------------------


def test_a_trusted_realms_tgt_gets_a_service_ticket_checked_for_transit() -> None:
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@OTHER.ORG")
    rep, tgt = ask(kdc, cross_tgt(backend, clock), SERVICE, clock)
    enc = decrypt_tgs_rep(rep, tgt)
    assert rep.crealm == "OTHER.ORG" and enc.srealm == REALM and enc.sname == SERVICE
    assert enc.flags & TicketFlags.TRANSITED_POLICY_CHECKED
    part = service_part(backend, rep)
    assert part.crealm == "OTHER.ORG"
    # the client's own realm issued the TGT: nothing is added to transited
    assert part.transited == TransitedEncoding(DOMAIN_X500_COMPRESS, b"")


def test_a_tgt_from_a_realm_we_share_no_key_with_is_unknown() -> None:
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@OTHER.ORG")
    backend.add(f"krbtgt/{REALM}@ROGUE.ORG", requires_preauth=False)
    tgt = cross_tgt(backend, clock, issuer="ROGUE.ORG", crealm="ROGUE.ORG")
    backend.delete(f"krbtgt/{REALM}@ROGUE.ORG")
    clock.advance(120)  # past the principal cache's refresh
    assert refused(kdc, tgt, SERVICE, clock) == KDC_ERR_S_PRINCIPAL_UNKNOWN


def test_a_cross_realm_tgt_for_a_client_of_our_own_realm_is_invalid_lineage() -> None:
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@OTHER.ORG")
    tgt = cross_tgt(backend, clock, crealm=REALM)
    assert refused(kdc, tgt, SERVICE, clock) == KDC_ERR_POLICY


def test_a_tgt_for_another_realms_kdc_is_not_us() -> None:
    """Our own krbtgt/OTHER.ORG@EXAMPLE.COM decrypts here but is meant for OTHER.ORG."""
    kdc, backend, clock = trusting(f"krbtgt/OTHER.ORG@{REALM}")
    tgt = cross_tgt(backend, clock, issuer=REALM, crealm=REALM, server_realm="OTHER.ORG")
    assert refused(kdc, tgt, SERVICE, clock) == KRB_AP_ERR_NOT_US


def test_the_issuing_realm_joins_transited_and_must_be_on_the_path() -> None:
    """A client of A.ORG came through B.ORG: B.ORG is transited; without a [capaths]
    entry naming it the hierarchy A.ORG -> ORG -> ... does not, so MIT refuses."""
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@B.ORG")
    tgt = cross_tgt(backend, clock, issuer="B.ORG", crealm="A.ORG")
    assert refused(kdc, tgt, SERVICE, clock) == KDC_ERR_POLICY

    capaths = (("A.ORG", REALM, ("B.ORG",)),)
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@B.ORG", capaths=capaths)
    rep, tgt = ask(kdc, cross_tgt(backend, clock, issuer="B.ORG", crealm="A.ORG"), SERVICE, clock)
    assert decrypt_tgs_rep(rep, tgt).flags & TicketFlags.TRANSITED_POLICY_CHECKED
    assert service_part(backend, rep).transited.contents == b"B.ORG"


def test_an_unknown_transited_encoding_is_refused() -> None:
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@B.ORG")
    tgt = cross_tgt(
        backend, clock, issuer="B.ORG", crealm="A.ORG", transited=TransitedEncoding(2, b"")
    )
    assert refused(kdc, tgt, SERVICE, clock) == KDC_ERR_TRTYPE_NOSUPP


def test_disable_transited_check_is_refused_as_mit_with_reject_bad_transit() -> None:
    kdc, backend, clock = trusting(f"krbtgt/{REALM}@OTHER.ORG")
    options = KDCOptions.FORWARDABLE | KDCOptions.DISABLE_TRANSITED_CHECK
    assert refused(kdc, cross_tgt(backend, clock), SERVICE, clock, options=options) == (
        KDC_ERR_POLICY
    )


# -- handing out TGTs for other realms ------------------------------------------------


def local_tgt(backend, clock) -> Credentials:
    return cross_tgt(backend, clock, issuer=REALM, crealm=REALM, server_realm=REALM)


def test_a_realm_we_trust_directly_gets_its_cross_realm_tgt() -> None:
    kdc, backend, clock = trusting(f"krbtgt/OTHER.ORG@{REALM}")
    wanted = PrincipalName(NT_SRV_INST, ("krbtgt", "OTHER.ORG"))
    rep, tgt = ask(kdc, local_tgt(backend, clock), wanted, clock)
    assert rep.ticket.sname == wanted and decrypt_tgs_rep(rep, tgt).sname == wanted


def test_a_far_realm_gets_the_tgt_of_the_next_hop_on_its_capath() -> None:
    capaths = ((REALM, "FAR.ORG", ("MID.ORG",)),)
    kdc, backend, clock = trusting(f"krbtgt/MID.ORG@{REALM}", capaths=capaths)
    wanted = PrincipalName(NT_SRV_INST, ("krbtgt", "FAR.ORG"))
    rep, tgt = ask(kdc, local_tgt(backend, clock), wanted, clock)
    hop = PrincipalName(NT_SRV_INST, ("krbtgt", "MID.ORG"))
    assert rep.ticket.sname == hop and decrypt_tgs_rep(rep, tgt).sname == hop


def test_a_realm_with_no_path_we_hold_a_key_for_is_unknown() -> None:
    capaths = ((REALM, "FAR.ORG", (".",)),)  # direct only, and we hold no direct key
    kdc, backend, clock = trusting(f"krbtgt/MID.ORG@{REALM}", capaths=capaths)
    wanted = PrincipalName(NT_SRV_INST, ("krbtgt", "FAR.ORG"))
    assert refused(kdc, local_tgt(backend, clock), wanted, clock) == KDC_ERR_S_PRINCIPAL_UNKNOWN


# -- realm paths and the transited field ----------------------------------------------


@pytest.mark.parametrize(
    ("client", "server", "path"),
    [
        ("A.X", "B.X", ["A.X", "X", "B.X"]),  # t_crossrealm.py "hierarchical realms"
        ("A.B.X", "C.X", ["A.B.X", "B.X", "X", "C.X"]),
        ("A.X", "X", ["A.X", "X"]),
        ("X", "A.X", ["X", "A.X"]),
        ("HADOOP.COM", "MIT.TEST", ["HADOOP.COM", "COM", "TEST", "MIT.TEST"]),
        ("A", "C", ["A", "C"]),
    ],
)
def test_hierarchical_realm_path(client: str, server: str, path: list[str]) -> None:
    assert realm_path(client, server, {}) == path


def test_capaths_decide_the_path() -> None:
    capaths = {"A": {"D": ("B", "C"), "C": ("B",), "E": (".",)}}
    assert realm_path("A", "D", capaths) == ["A", "B", "C", "D"]
    assert realm_path("A", "E", capaths) == ["A", "E"]


def test_transited_compressed_forms_expand_as_rfc_4120() -> None:
    # RFC 4120 §3.3.3.2's example
    assert decode_transited(b"EDU,MIT.,ATHENA.,WASHINGTON.EDU,CS.") == [
        "EDU",
        "MIT.EDU",
        "ATHENA.MIT.EDU",
        "WASHINGTON.EDU",
        "CS.WASHINGTON.EDU",
    ]
    assert decode_transited(b"/COM/HP,/APOLLO") == ["/COM/HP", "/COM/HP/APOLLO"]
    with pytest.raises(TransitedError):
        decode_transited(b"A,,B")  # "every realm in between": refused, fails closed


def test_added_realms_read_back_as_written() -> None:
    contents = b""
    for realm in ("B.ORG", "WEIRD,REALM", "TRAILING.", "/X500"):
        contents = add_to_transited(contents, realm)
    assert decode_transited(contents) == ["B.ORG", "WEIRD,REALM", "TRAILING.", "/X500"]


def test_transited_check_follows_the_path() -> None:
    check_transited(b"", "A", "C", {})
    with pytest.raises(TransitedError):
        check_transited(b"B", "A", "C", {})
    check_transited(b"B", "A", "C", {"A": {"C": ("B",)}})
    check_transited(b"X", "A.X", "B.X", {})


# -- host referrals by [domain_realm] (MIT find_referral_tgs) ---------------------------


def test_a_host_of_a_trusted_realm_gets_a_referral_when_the_client_canonicalizes() -> None:
    kdc, backend, clock = trusting(
        f"krbtgt/OTHER.ORG@{REALM}", domain_realm=((".other.org", "OTHER.ORG"),)
    )
    host = PrincipalName(NT_SRV_HST, ("host", "db.other.org"))
    canonicalize = KDCOptions.FORWARDABLE | KDCOptions.CANONICALIZE
    rep, _ = ask(kdc, local_tgt(backend, clock), host, clock, options=canonicalize)
    assert rep.ticket.sname == PrincipalName(NT_SRV_INST, ("krbtgt", "OTHER.ORG"))
    # no referral without CANONICALIZE, for a host no domain maps, or a one-label host
    assert refused(kdc, local_tgt(backend, clock), host, clock) == KDC_ERR_S_PRINCIPAL_UNKNOWN
    for name in (("host", "db.elsewhere.net"), ("host", "db")):
        other = PrincipalName(NT_SRV_HST, name)
        assert (
            refused(kdc, local_tgt(backend, clock), other, clock, options=canonicalize)
            == KDC_ERR_S_PRINCIPAL_UNKNOWN
        )


def test_host_realm_tries_the_host_then_each_parent_domain() -> None:
    mapping = {".corp.example": "CORP.EXAMPLE", "special.corp.example": "SPECIAL.EXAMPLE"}
    assert host_realm("special.corp.example", mapping) == "SPECIAL.EXAMPLE"
    assert host_realm("a.b.CORP.example", mapping) == "CORP.EXAMPLE"
    assert host_realm("corp.example", mapping) is None  # ".corp.example" is for hosts under it
    assert host_realm("corp.example", {"corp.example": "C"}) == "C"
    assert host_realm("other.example", mapping) is None
