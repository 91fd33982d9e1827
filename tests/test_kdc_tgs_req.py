"""TGS exchange through ``Kdc.handle``: service tickets, subkeys, renew, forward, proxy, and
every way a PA-TGS-REQ can be wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from has_kdc.asn1.codec import decode_ap_req, decode_enc_ticket_part, encode
from has_kdc.asn1.constants import (
    KDC_ERR_BADOPTION,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_NEVER_VALID,
    KDC_ERR_PADATA_TYPE_NOSUPP,
    KDC_ERR_POLICY,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_SERVER_NOMATCH,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADADDR,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KRB_TGS_REP,
    KU_TGS_REQ_AUTH,
    KU_TICKET,
    NT_PRINCIPAL,
    NT_SRV_INST,
    PA_TGS_REQ,
    KDCOptions,
    TicketFlags,
)
from has_kdc.asn1.messages import (
    ApReq,
    Authenticator,
    Checksum,
    EncryptedData,
    EncryptionKey,
    HostAddress,
    KdcReq,
    PAData,
    PrincipalName,
)
from has_kdc.client.kdc_client import (
    Credentials,
    KdcClient,
    KdcReplyError,
    build_tgs_req,
    credentials_from,
    decrypt_tgs_rep,
    parse_reply,
)
from has_kdc.crypto import enctype_by_id
from tests.kdc_fakes import REALM, make_kdc, make_keys

SERVICE = PrincipalName(NT_SRV_INST, ("host", "server.example.com"))
TGS_NAME = PrincipalName(NT_SRV_INST, ("krbtgt", REALM))
HOST = f"host/server.example.com@{REALM}"


def setup(**config):
    kdc, backend, clock = make_kdc(**config)
    client = KdcClient(lambda b: kdc.handle(b, "udp", peer="192.0.2.7"), REALM, clock=clock)
    return kdc, backend, clock, client


def tgt_for(client: KdcClient, **kwargs) -> Credentials:
    return client.get_tgt("alice", "alice-pw", **kwargs)


def send(kdc, req: KdcReq, peer: str = "192.0.2.7") -> bytes:
    reply = kdc.handle(encode(req), "udp", peer=peer)
    assert reply is not None
    return reply


def tgs_error(kdc, req: KdcReq, peer: str = "192.0.2.7"):
    with pytest.raises(KdcReplyError) as info:
        parse_reply(send(kdc, req, peer), KRB_TGS_REP)
    return info.value.error


def service_key(backend, etype: int) -> bytes:
    principal = backend.get_principal(HOST)
    return next(k.key for k in principal.keys if k.enctype == etype)


# -- service tickets ------------------------------------------------------------------


def test_service_ticket_decrypts_with_the_service_key() -> None:
    _kdc, backend, clock, client = setup()
    tgt = tgt_for(client)
    clock.advance(60)
    creds = client.get_service_ticket(tgt, "host/server.example.com")
    assert creds.sname == SERVICE and creds.cname == tgt.cname
    assert creds.authtime == tgt.authtime
    assert creds.starttime == int(clock())
    assert creds.flags & TicketFlags.PRE_AUTHENT
    assert not creds.flags & TicketFlags.INITIAL
    enc = creds.ticket.enc_part
    part = decode_enc_ticket_part(
        enctype_by_id(enc.etype).decrypt(service_key(backend, enc.etype), KU_TICKET, enc.cipher)
    )
    assert part.key == creds.session_key
    assert part.cname == tgt.cname and part.crealm == REALM
    assert part.endtime == creds.endtime


def test_reply_is_under_the_subkey_when_the_authenticator_has_one() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    subkey = EncryptionKey(18, enctype_by_id(18).random_key())
    req = build_tgs_req(tgt, SERVICE, subkey=subkey, now=clock())
    rep = parse_reply(send(kdc, req), KRB_TGS_REP)
    enc = decrypt_tgs_rep(rep, tgt, subkey)
    assert enc.nonce == req.req_body.nonce
    with pytest.raises(Exception):  # noqa: B017 - not under the session key
        decrypt_tgs_rep(rep, tgt)


def test_reply_is_under_the_session_key_without_subkey() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, SERVICE, now=clock())
    rep = parse_reply(send(kdc, req), KRB_TGS_REP)
    assert decrypt_tgs_rep(rep, tgt).sname == SERVICE
    assert rep.enc_part.kvno is None


@pytest.mark.parametrize(("requested", "session"), [((17, 18), 17), ((20, 18), 20), ((18,), 18)])
def test_session_enctype_follows_the_client_order(requested, session) -> None:
    _kdc, _, _clock, client = setup()
    tgt = tgt_for(client)
    creds = client.get_service_ticket(tgt, "host/server.example.com", etypes=requested)
    assert creds.session_key.keytype == session


def test_ticket_key_follows_supported_enctypes_and_service_keys() -> None:
    _kdc, backend, _clock, client = setup()
    backend.add(HOST, etypes=(19, 17))
    tgt = tgt_for(client)
    creds = client.get_service_ticket(tgt, "host/server.example.com", etypes=(19, 17))
    # supported_enctypes is 18 17 20 19: the service's first key in that order is 17
    assert creds.ticket.enc_part.etype == 17
    assert creds.session_key.keytype == 19


def test_no_session_enctype_the_service_takes_is_etype_nosupp() -> None:
    kdc, backend, clock, client = setup()
    backend.add(HOST, etypes=(17,))
    tgt = tgt_for(client)
    err = tgs_error(kdc, build_tgs_req(tgt, SERVICE, etypes=(20, 19), now=clock()))
    assert err.error_code == KDC_ERR_ETYPE_NOSUPP


def test_unknown_service_is_s_principal_unknown() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, PrincipalName(NT_SRV_INST, ("nosuch", "svc")), now=clock())
    err = tgs_error(kdc, req)
    assert err.error_code == KDC_ERR_S_PRINCIPAL_UNKNOWN
    assert err.sname.components == ("nosuch", "svc")


def test_service_in_another_realm_is_s_principal_unknown() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    err = tgs_error(kdc, build_tgs_req(tgt, SERVICE, realm="OTHER.ORG", now=clock()))
    assert err.error_code == KDC_ERR_S_PRINCIPAL_UNKNOWN


def test_disabled_service_is_s_principal_unknown() -> None:
    kdc, backend, clock, client = setup()
    backend.modify(HOST, disabled=True)
    tgt = tgt_for(client)
    err = tgs_error(kdc, build_tgs_req(tgt, SERVICE, now=clock()))
    assert err.error_code == KDC_ERR_S_PRINCIPAL_UNKNOWN


# -- lifetimes ----------------------------------------------------------------------


def test_service_ticket_ends_no_later_than_the_tgt() -> None:
    _kdc, _, clock, client = setup()
    tgt = tgt_for(client, lifetime=3600)
    clock.advance(600)
    creds = client.get_service_ticket(tgt, "host/server.example.com", lifetime=86400)
    assert creds.endtime == tgt.endtime


def test_service_ticket_capped_by_service_and_realm_max_life() -> None:
    _kdc, backend, clock, client = setup(max_life=36000)
    backend.modify(HOST, max_life=1800)
    tgt = tgt_for(client)
    creds = client.get_service_ticket(tgt, "host/server.example.com")
    assert creds.endtime == int(clock()) + 1800
    backend.modify(HOST, max_life=None)
    clock.advance(2)
    creds = client.get_service_ticket(tgt, "host/server.example.com")
    assert creds.endtime == tgt.endtime == tgt.authtime + 36000


# -- renew ------------------------------------------------------------------------------


def test_renew_gives_the_same_lifetime_again_within_renew_till() -> None:
    _kdc, _, clock, client = setup()
    tgt = tgt_for(client, lifetime=3600, renewable_life=3 * 3600)
    assert tgt.flags & TicketFlags.RENEWABLE
    assert tgt.renew_till == tgt.authtime + 3 * 3600
    clock.advance(1800)
    renewed = client.renew(tgt)
    now = int(clock())
    assert renewed.endtime == now + 3600
    assert renewed.renew_till == tgt.renew_till
    assert renewed.authtime == tgt.authtime
    assert renewed.flags & TicketFlags.RENEWABLE and renewed.flags & TicketFlags.INITIAL
    # near the end of the renewable life, the new end is the renew-till
    clock.advance(3000)
    again = client.renew(renewed)
    assert again.endtime == int(clock()) + 3600
    clock.advance(3000)
    last = client.renew(again)
    assert last.endtime == tgt.renew_till


def test_renew_of_a_ticket_that_is_not_renewable_is_badoption() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client, lifetime=3600)
    assert not tgt.flags & TicketFlags.RENEWABLE
    req = build_tgs_req(tgt, TGS_NAME, options=KDCOptions.RENEW, now=clock())
    err = tgs_error(kdc, req)
    assert err.error_code == KDC_ERR_BADOPTION
    assert err.e_text == "TICKET NOT RENEWABLE"


def test_renew_after_the_ticket_expired_is_tkt_expired() -> None:
    _kdc, _, clock, client = setup()
    tgt = tgt_for(client, lifetime=3600, renewable_life=86400)
    clock.advance(3600 + 301)
    with pytest.raises(KdcReplyError) as info:
        client.renew(tgt)
    assert info.value.code == KRB_AP_ERR_TKT_EXPIRED


def test_renew_names_the_tickets_own_server() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client, renewable_life=86400)
    req = build_tgs_req(tgt, SERVICE, options=KDCOptions.RENEW, now=clock())
    assert tgs_error(kdc, req).error_code == KDC_ERR_SERVER_NOMATCH


def test_service_refusing_renewable_tickets_is_policy() -> None:
    kdc, backend, clock, client = setup()
    backend.modify(HOST, allow_renewable=False)
    tgt = tgt_for(client, renewable_life=86400)
    req = build_tgs_req(tgt, SERVICE, options=KDCOptions.RENEWABLE, now=clock())
    assert tgs_error(kdc, req).error_code == KDC_ERR_POLICY


def test_service_ticket_renewable_up_to_the_tgt_renew_till() -> None:
    _kdc, _, _clock, client = setup()
    tgt = tgt_for(client, lifetime=3600, renewable_life=7200)
    creds = client.get_service_ticket(tgt, "host/server.example.com", options=KDCOptions.RENEWABLE)
    assert creds.flags & TicketFlags.RENEWABLE
    assert creds.renew_till == tgt.renew_till


# -- forward, proxy, validate ------------------------------------------------------------


def test_forwarded_tgt_from_a_forwardable_one() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    assert tgt.flags & TicketFlags.FORWARDABLE
    addresses = (HostAddress(2, bytes([198, 51, 100, 1])),)
    req = build_tgs_req(
        tgt, TGS_NAME, options=KDCOptions.FORWARDED | KDCOptions.FORWARDABLE, now=clock()
    )
    req = replace(req, req_body=replace(req.req_body, addresses=addresses))
    # the body changed after the authenticator was made: rebuild it over the new body
    req = _resign(tgt, req, clock)
    enc = decrypt_tgs_rep(parse_reply(send(kdc, req), KRB_TGS_REP), tgt)
    assert enc.flags & TicketFlags.FORWARDED and enc.flags & TicketFlags.FORWARDABLE
    assert enc.caddr == addresses


def test_forwarded_from_a_tgt_that_is_not_forwardable_is_badoption() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client, options=0)
    assert not tgt.flags & TicketFlags.FORWARDABLE
    req = build_tgs_req(tgt, TGS_NAME, options=KDCOptions.FORWARDED, now=clock())
    err = tgs_error(kdc, req)
    assert err.error_code == KDC_ERR_BADOPTION and err.e_text == "TGT NOT FORWARDABLE"


def test_forwardable_service_ticket_only_from_a_forwardable_tgt() -> None:
    _kdc, _, _clock, client = setup()
    tgt = tgt_for(client, options=0)
    creds = client.get_service_ticket(
        tgt, "host/server.example.com", options=KDCOptions.FORWARDABLE
    )
    assert not creds.flags & TicketFlags.FORWARDABLE


def test_proxy_needs_a_proxiable_tgt() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    assert not tgt.flags & TicketFlags.PROXIABLE
    req = build_tgs_req(tgt, TGS_NAME, options=KDCOptions.PROXY, now=clock())
    err = tgs_error(kdc, req)
    assert err.error_code == KDC_ERR_BADOPTION and err.e_text == "TGT NOT PROXIABLE"


def test_a_tgt_cannot_be_proxied() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client, options=KDCOptions.PROXIABLE)
    req = build_tgs_req(tgt, TGS_NAME, options=KDCOptions.PROXY, now=clock())
    err = tgs_error(kdc, req)
    assert err.error_code == KDC_ERR_BADOPTION and err.e_text == "CAN'T PROXY TGT"


def test_validate_a_postdated_tgt_once_it_starts() -> None:
    kdc, _, clock, client = setup()
    now = int(clock())
    tgt = tgt_for(client, options=KDCOptions.ALLOW_POSTDATE)
    assert tgt.flags & TicketFlags.MAY_POSTDATE
    postdated = client.get_service_ticket(
        tgt, f"krbtgt/{REALM}", options=KDCOptions.POSTDATED | KDCOptions.FORWARDABLE
    )
    assert postdated.flags & TicketFlags.INVALID
    # an invalid ticket is good for nothing but VALIDATE
    err = tgs_error(kdc, build_tgs_req(postdated, SERVICE, now=clock()))
    assert err.error_code == KRB_AP_ERR_TKT_NYV
    assert now  # the request carried from_time None: the ticket starts now, valid at once
    valid = client.get_service_ticket(postdated, f"krbtgt/{REALM}", options=KDCOptions.VALIDATE)
    assert not valid.flags & TicketFlags.INVALID


def test_validate_a_valid_ticket_is_badoption() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, TGS_NAME, options=KDCOptions.VALIDATE, now=clock())
    assert tgs_error(kdc, req).error_code == KDC_ERR_BADOPTION


# -- a PA-TGS-REQ that is wrong ---------------------------------------------------------


def _resign(tgt: Credentials, req: KdcReq, clock, **authenticator_changes) -> KdcReq:
    """Rebuild the PA-TGS-REQ over ``req``'s current body, with optional changes."""
    session = tgt.session_key
    et = enctype_by_id(session.keytype)
    body_der = encode(req.req_body)
    auth = Authenticator(
        crealm=tgt.crealm,
        cname=tgt.cname,
        cusec=0,
        ctime=int(clock()),
        cksum=Checksum(et.checksum_type, et.checksum(session.keyvalue, 6, body_der)),
    )
    auth = replace(auth, **authenticator_changes)
    ap_req = ApReq(
        ap_options=0,
        ticket=tgt.ticket,
        authenticator=EncryptedData(
            session.keytype, et.encrypt(session.keyvalue, KU_TGS_REQ_AUTH, encode(auth))
        ),
    )
    return replace(req, padata=(PAData(PA_TGS_REQ, encode(ap_req)),))


def test_modified_request_body_is_bad_integrity() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, SERVICE, now=clock())
    tampered = replace(req, req_body=replace(req.req_body, till=req.req_body.till + 86400))
    assert tgs_error(kdc, tampered).error_code == KRB_AP_ERR_BAD_INTEGRITY


def test_modified_ticket_is_bad_integrity() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    cipher = bytearray(tgt.ticket.enc_part.cipher)
    cipher[20] ^= 1
    bad = replace(
        tgt, ticket=replace(tgt.ticket, enc_part=replace(tgt.ticket.enc_part, cipher=bytes(cipher)))
    )
    assert tgs_error(kdc, build_tgs_req(bad, SERVICE, now=clock())).error_code == (
        KRB_AP_ERR_BAD_INTEGRITY
    )


def test_authenticator_under_another_key_is_bad_integrity() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    wrong = replace(tgt, session_key=EncryptionKey(18, enctype_by_id(18).random_key()))
    req = build_tgs_req(wrong, SERVICE, now=clock())
    assert tgs_error(kdc, req).error_code == KRB_AP_ERR_BAD_INTEGRITY


def test_unknown_krbtgt_kvno_is_badkeyver() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    bad = replace(tgt, ticket=replace(tgt.ticket, enc_part=replace(tgt.ticket.enc_part, kvno=7)))
    assert tgs_error(kdc, build_tgs_req(bad, SERVICE, now=clock())).error_code == (
        KRB_AP_ERR_BADKEYVER
    )


def test_tgt_from_before_a_krbtgt_key_change_still_works_while_the_old_kvno_is_kept() -> None:
    _kdc, backend, clock, client = setup()
    tgt = tgt_for(client)
    krbtgt = backend.get_principal(f"krbtgt/{REALM}@{REALM}")
    krbtgt.keys = make_keys(krbtgt.name, None, kvno=2) + krbtgt.keys
    krbtgt.kvno = 2
    backend.put(krbtgt)
    clock.advance(2)
    creds = client.get_service_ticket(tgt, "host/server.example.com")
    assert creds.sname == SERVICE
    assert client.get_tgt("alice", "alice-pw").ticket.enc_part.kvno == 2


def test_authenticator_checksum_missing_or_unkeyed_is_inapp_cksum() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, SERVICE, now=clock())
    assert tgs_error(kdc, _resign(tgt, req, clock, cksum=None)).error_code == (
        KRB_AP_ERR_INAPP_CKSUM
    )
    unkeyed = build_tgs_req(tgt, SERVICE, now=clock(), cksumtype=7)  # rsa-md5
    assert tgs_error(kdc, unkeyed).error_code == KRB_AP_ERR_INAPP_CKSUM


def test_authenticator_for_another_client_is_badmatch() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, SERVICE, now=clock())
    forged = _resign(tgt, req, clock, cname=PrincipalName(NT_PRINCIPAL, ("bob",)))
    assert tgs_error(kdc, forged).error_code == KRB_AP_ERR_BADMATCH


@pytest.mark.parametrize("offset", [301, -301])
def test_authenticator_outside_clock_skew_is_skew(offset: int) -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, SERVICE, now=clock() + offset)
    assert tgs_error(kdc, req).error_code == KRB_AP_ERR_SKEW


def test_expired_tgt_is_tkt_expired() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client, lifetime=3600)
    clock.advance(3600 - 10)
    assert client.get_service_ticket(tgt, "host/server.example.com").endtime == tgt.endtime
    # past its end but within the clock skew the TGT is still read, and the ticket it
    # would give has no lifetime left (RFC 4120 3.1.3: KDC_ERR_NEVER_VALID)
    clock.advance(210)
    err = tgs_error(kdc, build_tgs_req(tgt, SERVICE, now=clock()))
    assert err.error_code == KDC_ERR_NEVER_VALID
    clock.advance(200)
    err = tgs_error(kdc, build_tgs_req(tgt, SERVICE, now=clock()))
    assert err.error_code == KRB_AP_ERR_TKT_EXPIRED


def test_tgt_not_yet_valid_is_tkt_nyv() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    clock.advance(-400)
    req = build_tgs_req(tgt, SERVICE, now=clock())
    assert tgs_error(kdc, req).error_code == KRB_AP_ERR_TKT_NYV


def test_no_pa_tgs_req_is_padata_type_nosupp() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = replace(build_tgs_req(tgt, SERVICE, now=clock()), padata=())
    assert tgs_error(kdc, req).error_code == KDC_ERR_PADATA_TYPE_NOSUPP


def test_service_ticket_is_not_a_tgt() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    service_ticket = client.get_service_ticket(tgt, "host/server.example.com")
    err = tgs_error(kdc, build_tgs_req(service_ticket, SERVICE, now=clock()))
    assert err.error_code == KRB_AP_ERR_NOT_US


def forwarded_tgt(kdc, tgt: Credentials, clock, addresses) -> Credentials:
    req = build_tgs_req(tgt, TGS_NAME, options=KDCOptions.FORWARDED, now=clock())
    req = _resign(tgt, replace(req, req_body=replace(req.req_body, addresses=addresses)), clock)
    rep = parse_reply(send(kdc, req), KRB_TGS_REP)
    return credentials_from(rep, decrypt_tgs_rep(rep, tgt))


def test_addressed_tgt_is_accepted_only_from_its_address() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    there = "198.51.100.1"
    addressed = forwarded_tgt(kdc, tgt, clock, (HostAddress(2, bytes([198, 51, 100, 1])),))
    req = build_tgs_req(addressed, SERVICE, now=clock())
    assert tgs_error(kdc, req, peer="192.0.2.7").error_code == KRB_AP_ERR_BADADDR
    rep = parse_reply(send(kdc, req, peer=there), KRB_TGS_REP)
    assert decrypt_tgs_rep(rep, addressed).caddr == (HostAddress(2, bytes([198, 51, 100, 1])),)


def test_ap_options_mutual_required_is_policy() -> None:
    kdc, _, clock, client = setup()
    tgt = tgt_for(client)
    req = build_tgs_req(tgt, SERVICE, now=clock())
    ap_req = decode_ap_req(req.padata[0].padata_value)
    ap_req = replace(ap_req, ap_options=0x20000000)  # mutual-required
    req = replace(req, padata=(PAData(PA_TGS_REQ, encode(ap_req)),))
    assert tgs_error(kdc, req).error_code == KDC_ERR_POLICY
