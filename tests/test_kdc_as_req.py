"""AS exchange through ``Kdc.handle``: pre-authentication, errors, enctypes, times, flags."""

from __future__ import annotations

from dataclasses import replace

import pytest

from has_kdc.asn1.codec import (
    decode_etype_info2,
    decode_krb_error,
    decode_method_data,
    encode,
)
from has_kdc.asn1.constants import (
    APP_ENC_AS_REP_PART,
    KDC_ERR_BADOPTION,
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_KEY_EXPIRED,
    KDC_ERR_NAME_EXP,
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KRB_AP_ERR_SKEW,
    KRB_AS_REP,
    KU_TICKET,
    NT_ENTERPRISE,
    NT_PRINCIPAL,
    NT_SRV_INST,
    PA_ENC_TIMESTAMP,
    PA_ETYPE_INFO2,
    PA_FX_COOKIE,
    PA_FX_FAST,
    KDCOptions,
    TicketFlags,
)
from has_kdc.asn1.messages import (
    EncryptionKey,
    ETypeInfo2Entry,
    HostAddress,
    KdcReq,
    PAData,
    PrincipalName,
)
from has_kdc.client.kdc_client import (
    KdcReplyError,
    build_as_req,
    decrypt_as_rep,
    error_etype_info2,
    etype_info2_of,
    pa_enc_timestamp,
    parse_reply,
    string_to_key,
)
from has_kdc.crypto import enctype_by_id
from has_kdc.principal import default_salt
from tests.kdc_fakes import REALM, make_kdc

ALICE = PrincipalName(NT_PRINCIPAL, ("alice",))
BOB = PrincipalName(NT_PRINCIPAL, ("bob",))
TGS = f"krbtgt/{REALM}@{REALM}"


def alice_key(etype: int = 18, password: str = "alice-pw") -> EncryptionKey:  # noqa: S107
    salt = default_salt(("alice",), REALM)
    return string_to_key(password, ETypeInfo2Entry(etype, salt), salt)


def call(kdc, req: KdcReq) -> bytes:
    reply = kdc.handle(encode(req), "udp", peer="192.0.2.7")
    assert reply is not None
    return reply


def error_of(kdc, req: KdcReq):
    with pytest.raises(KdcReplyError) as info:
        parse_reply(call(kdc, req), KRB_AS_REP)
    return info.value.error


def as_rep(kdc, req: KdcReq, key: EncryptionKey):
    rep = parse_reply(call(kdc, req), KRB_AS_REP)
    return rep, decrypt_as_rep(rep, key)


def preauth_req(clock, key: EncryptionKey | None = None, **kwargs):
    key = key or alice_key()
    return build_as_req(
        ALICE, REALM, padata=[pa_enc_timestamp(key, clock())], now=clock(), **kwargs
    )


# -- pre-authentication ----------------------------------------------------------


def test_preauth_required_carries_etype_info2_and_enc_timestamp_hint() -> None:
    kdc, _, clock = make_kdc()
    err = error_of(kdc, build_as_req(ALICE, REALM, etypes=(17, 18), now=clock()))
    assert err.error_code == KDC_ERR_PREAUTH_REQUIRED
    assert err.e_text == "NEEDED_PREAUTH"
    assert err.stime == int(clock()) and err.susec == 250_000
    assert err.realm == REALM and err.sname.components == ("krbtgt", REALM)
    assert err.cname == ALICE and err.crealm == REALM
    hints = decode_method_data(err.e_data)
    # MIT's order: FAST offered, the salt, the method, the cookie
    assert [pa.padata_type for pa in hints] == [
        PA_FX_FAST,
        PA_ETYPE_INFO2,
        PA_ENC_TIMESTAMP,
        PA_FX_COOKIE,
    ]
    (entry,) = decode_etype_info2(hints[1].padata_value)
    # one entry, for the client's first enctype (MIT add_etype_info), with the default salt
    assert entry == ETypeInfo2Entry(17, f"{REALM}alice".encode(), None)
    assert hints[0].padata_value == hints[2].padata_value == b""
    assert hints[3].padata_value == b"MIT"


def test_preauth_succeeds_and_reply_has_pre_authent_and_etype_info2() -> None:
    kdc, _, clock = make_kdc()
    req = preauth_req(clock)
    rep, enc = as_rep(kdc, req, alice_key())
    assert enc.nonce == req.req_body.nonce
    assert enc.flags & TicketFlags.PRE_AUTHENT and enc.flags & TicketFlags.INITIAL
    # EncASRepPart as RFC 4120 §5.4.2 defines it (MIT sends 26; strict clients need 25)
    assert enc.application_tag == APP_ENC_AS_REP_PART
    assert rep.cname == ALICE and rep.crealm == REALM
    assert rep.enc_part.etype == 18 and rep.enc_part.kvno is None  # as MIT sends it
    assert etype_info2_of(rep.padata) == (ETypeInfo2Entry(18, f"{REALM}alice".encode()),)
    assert enc.authtime == int(clock())
    assert enc.sname.components == ("krbtgt", REALM)


def test_the_ticket_decrypts_with_the_krbtgt_key_and_holds_the_session_key() -> None:
    from has_kdc.asn1.codec import decode_enc_ticket_part

    kdc, backend, clock = make_kdc()
    rep, enc = as_rep(kdc, preauth_req(clock), alice_key())
    krbtgt = backend.get_principal(TGS)
    key = next(k for k in krbtgt.keys if k.enctype == rep.ticket.enc_part.etype)
    part = decode_enc_ticket_part(
        enctype_by_id(key.enctype).decrypt(key.key, KU_TICKET, rep.ticket.enc_part.cipher)
    )
    assert part.key == enc.key
    assert part.cname == ALICE and part.crealm == REALM
    assert part.flags == enc.flags and part.endtime == enc.endtime


def test_wrong_password_is_preauth_failed_with_hints() -> None:
    kdc, _, clock = make_kdc()
    err = error_of(kdc, preauth_req(clock, alice_key(password="wrong")))
    assert err.error_code == KDC_ERR_PREAUTH_FAILED
    assert err.e_text == "PREAUTH_FAILED"
    types = [pa.padata_type for pa in decode_method_data(err.e_data)]
    assert types == [PA_FX_FAST, PA_ETYPE_INFO2, PA_ENC_TIMESTAMP, PA_FX_COOKIE]


def test_garbage_enc_timestamp_is_preauth_failed() -> None:
    kdc, _, _clock = make_kdc()
    req = build_as_req(ALICE, REALM, padata=[PAData(PA_ENC_TIMESTAMP, b"\x30\x03\x02\x01")])
    assert error_of(kdc, req).error_code == KDC_ERR_PREAUTH_FAILED


def test_enc_timestamp_in_an_enctype_the_client_has_no_key_for_fails() -> None:
    kdc, backend, clock = make_kdc()
    backend.add(f"carol@{REALM}", "carol-pw", etypes=(17,))
    salt = default_salt(("carol",), REALM)
    key = string_to_key("carol-pw", ETypeInfo2Entry(18, salt), salt)
    req = build_as_req(PrincipalName(1, ("carol",)), REALM, padata=[pa_enc_timestamp(key, clock())])
    assert error_of(kdc, req).error_code == KDC_ERR_PREAUTH_FAILED


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_timestamp_outside_clock_skew_is_krb_ap_err_skew(offset: int) -> None:
    kdc, _, clock = make_kdc()
    req = build_as_req(ALICE, REALM, padata=[pa_enc_timestamp(alice_key(), clock() + offset)])
    err = error_of(kdc, req)
    assert err.error_code == KRB_AP_ERR_SKEW
    assert err.e_data is None


def test_timestamp_inside_clock_skew_is_accepted() -> None:
    kdc, _, clock = make_kdc()
    req = build_as_req(ALICE, REALM, padata=[pa_enc_timestamp(alice_key(), clock() - 299)])
    as_rep(kdc, req, alice_key())


def test_principal_without_requires_preauth_gets_a_ticket_without_pre_authent() -> None:
    kdc, _, clock = make_kdc()
    salt = default_salt(("bob",), REALM)
    rep = parse_reply(call(kdc, build_as_req(BOB, REALM, now=clock())), KRB_AS_REP)
    (entry,) = etype_info2_of(rep.padata)
    enc = decrypt_as_rep(rep, string_to_key("bob-pw", entry, salt))
    assert not enc.flags & TicketFlags.PRE_AUTHENT
    assert enc.flags & TicketFlags.INITIAL


def test_s2kparams_and_explicit_salt_are_sent_in_etype_info2() -> None:
    kdc, backend, clock = make_kdc()
    principal = backend.add(f"dave@{REALM}", "dave-pw", etypes=(18,))
    et = enctype_by_id(18)
    params = (8192).to_bytes(4, "big")
    principal.keys[0].salt = b"custom-salt"
    principal.keys[0].s2kparams = params
    principal.keys[0].key = et.string_to_key(b"dave-pw", b"custom-salt", params)
    backend.put(principal)
    err = error_of(kdc, build_as_req(PrincipalName(1, ("dave",)), REALM))
    (entry,) = error_etype_info2(err)
    assert entry == ETypeInfo2Entry(18, b"custom-salt", params)
    key = string_to_key("dave-pw", entry, b"unused")
    req = build_as_req(PrincipalName(1, ("dave",)), REALM, padata=[pa_enc_timestamp(key, clock())])
    as_rep(kdc, req, key)


# -- enctypes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "reply", "session"),
    [
        ((18, 17, 20, 19), 18, 18),
        ((17, 18), 17, 17),
        ((19, 20), 19, 19),
        ((20,), 20, 20),
        ((23, 16, 17), 17, 17),  # rc4 and 3des are skipped, not errors
    ],
)
def test_enctypes_follow_the_client_order(requested, reply, session) -> None:
    kdc, _, clock = make_kdc()
    key = alice_key(reply)
    req = preauth_req(clock, key, etypes=requested)
    rep, enc = as_rep(kdc, req, key)
    assert rep.enc_part.etype == reply
    assert enc.key.keytype == session
    # the ticket is under the krbtgt's first key in supported_enctypes order
    assert rep.ticket.enc_part.etype == 18


def test_session_key_can_be_aes256_sha1_even_if_the_service_lacks_it() -> None:
    # MIT assumes every service takes aes256-cts-hmac-sha1-96 session keys
    kdc, backend, clock = make_kdc()
    backend.add(f"krbtgt/{REALM}@{REALM}", etypes=(17,))
    req = preauth_req(clock, alice_key(18), etypes=(18, 17))
    rep, enc = as_rep(kdc, req, alice_key(18))
    assert enc.key.keytype == 18
    assert rep.ticket.enc_part.etype == 17


def test_session_key_skips_enctypes_the_service_has_no_key_for() -> None:
    kdc, backend, clock = make_kdc()
    backend.add(f"krbtgt/{REALM}@{REALM}", etypes=(17,))
    req = preauth_req(clock, alice_key(20), etypes=(20, 17))
    _, enc = as_rep(kdc, req, alice_key(20))
    assert enc.key.keytype == 17


def test_no_common_enctype_is_etype_nosupp() -> None:
    kdc, _, _clock = make_kdc()
    err = error_of(kdc, build_as_req(ALICE, REALM, etypes=(23, 16)))
    assert err.error_code == KDC_ERR_ETYPE_NOSUPP


def test_client_without_a_key_of_any_requested_enctype_is_etype_nosupp() -> None:
    kdc, backend, _clock = make_kdc()
    backend.add(f"carol@{REALM}", "carol-pw", etypes=(17,))
    err = error_of(kdc, build_as_req(PrincipalName(1, ("carol",)), REALM, etypes=(18,)))
    assert err.error_code == KDC_ERR_ETYPE_NOSUPP
    assert err.e_text == "CANT_FIND_CLIENT_KEY"


def test_enctypes_outside_supported_enctypes_are_not_used() -> None:
    kdc, _, clock = make_kdc(supported_enctypes=(17,))
    err = error_of(kdc, build_as_req(ALICE, REALM, etypes=(18,)))
    assert err.error_code == KDC_ERR_ETYPE_NOSUPP
    req = preauth_req(clock, alice_key(17), etypes=(18, 17))
    rep, enc = as_rep(kdc, req, alice_key(17))
    assert rep.enc_part.etype == 17 and enc.key.keytype == 17
    assert rep.ticket.enc_part.etype == 17


# -- principals ----------------------------------------------------------------------


def test_unknown_client_is_c_principal_unknown() -> None:
    kdc, _, _ = make_kdc()
    err = error_of(kdc, build_as_req(PrincipalName(1, ("nobody",)), REALM))
    assert err.error_code == KDC_ERR_C_PRINCIPAL_UNKNOWN
    assert err.e_text == "CLIENT_NOT_FOUND"


def test_unknown_server_is_s_principal_unknown() -> None:
    kdc, _, _ = make_kdc()
    req = build_as_req(ALICE, REALM, server=PrincipalName(NT_SRV_INST, ("nosuch", "svc")))
    err = error_of(kdc, req)
    assert err.error_code == KDC_ERR_S_PRINCIPAL_UNKNOWN
    assert err.sname.components == ("nosuch", "svc")


def test_other_realm_is_not_served() -> None:
    kdc, _, _ = make_kdc()
    err = error_of(kdc, build_as_req(ALICE, "OTHER.ORG"))
    assert err.error_code == KDC_ERR_C_PRINCIPAL_UNKNOWN


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ({"disabled": True}, KDC_ERR_CLIENT_REVOKED),
        ({"allow_tix": False}, KDC_ERR_CLIENT_REVOKED),
        ({"expiration": 1_600_000_000}, KDC_ERR_NAME_EXP),
        ({"pw_expiration": 1_600_000_000}, KDC_ERR_KEY_EXPIRED),
    ],
)
def test_client_account_state(attributes, code) -> None:
    kdc, backend, clock = make_kdc()
    backend.modify(f"alice@{REALM}", **attributes)
    clock.advance(2)  # past the cache's next change poll
    assert error_of(kdc, preauth_req(clock)).error_code == code


def test_expired_password_may_still_reach_kadmin_changepw() -> None:
    kdc, backend, clock = make_kdc()
    backend.add(f"kadmin/changepw@{REALM}", requires_preauth=False)
    backend.modify(f"alice@{REALM}", pw_expiration=1_600_000_000)
    clock.advance(2)
    req = preauth_req(clock, server=PrincipalName(NT_SRV_INST, ("kadmin", "changepw")))
    _rep, enc = as_rep(kdc, req, alice_key())
    assert enc.key_expiration == 1_600_000_000


def test_disabled_server_is_s_principal_unknown() -> None:
    kdc, backend, clock = make_kdc()
    backend.modify(f"krbtgt/{REALM}@{REALM}", disabled=True)
    clock.advance(2)
    assert error_of(kdc, preauth_req(clock)).error_code == KDC_ERR_S_PRINCIPAL_UNKNOWN


def test_canonicalize_returns_the_stored_name_for_an_enterprise_name() -> None:
    kdc, _, clock = make_kdc()
    enterprise = PrincipalName(NT_ENTERPRISE, (f"alice@{REALM}",))
    req = build_as_req(
        enterprise,
        REALM,
        options=KDCOptions.CANONICALIZE,
        padata=[pa_enc_timestamp(alice_key(), clock())],
    )
    rep, _ = as_rep(kdc, req, alice_key())
    assert rep.cname == ALICE


# -- options, times, flags -------------------------------------------------------------


@pytest.mark.parametrize(
    "option", [KDCOptions.FORWARDED, KDCOptions.PROXY, KDCOptions.RENEW, KDCOptions.VALIDATE]
)
def test_tgs_only_options_in_as_req_are_badoption(option) -> None:
    kdc, _, clock = make_kdc()
    err = error_of(kdc, preauth_req(clock, options=option))
    assert err.error_code == KDC_ERR_BADOPTION


def test_forwardable_and_proxiable_when_allowed() -> None:
    kdc, _, clock = make_kdc()
    req = preauth_req(clock, options=KDCOptions.FORWARDABLE | KDCOptions.PROXIABLE)
    _, enc = as_rep(kdc, req, alice_key())
    assert enc.flags & TicketFlags.FORWARDABLE and enc.flags & TicketFlags.PROXIABLE


def test_forwardable_and_proxiable_dropped_when_the_principal_forbids() -> None:
    kdc, backend, clock = make_kdc()
    backend.modify(f"alice@{REALM}", allow_forwardable=False, allow_proxiable=False)
    clock.advance(2)
    req = preauth_req(clock, options=KDCOptions.FORWARDABLE | KDCOptions.PROXIABLE)
    _, enc = as_rep(kdc, req, alice_key())
    assert not enc.flags & (TicketFlags.FORWARDABLE | TicketFlags.PROXIABLE)


def test_requested_lifetime_is_honoured() -> None:
    kdc, _, clock = make_kdc()
    now = int(clock())
    _, enc = as_rep(kdc, preauth_req(clock, till=now + 3600), alice_key())
    assert enc.endtime == now + 3600
    # starttime: left out of the ticket (it equals authtime), always named in the reply
    assert enc.starttime == now and enc.renew_till is None


@pytest.mark.parametrize(
    ("realm_max", "client_max", "server_max", "expected"),
    [
        (36000, None, None, 36000),
        (36000, 7200, None, 7200),
        (36000, None, 5400, 5400),
        (36000, 7200, 5400, 5400),
    ],
)
def test_lifetime_is_capped_by_realm_client_and_server(
    realm_max, client_max, server_max, expected
) -> None:
    kdc, backend, clock = make_kdc(max_life=realm_max)
    backend.modify(f"alice@{REALM}", max_life=client_max)
    backend.modify(TGS, max_life=server_max)
    now = int(clock())
    _, enc = as_rep(kdc, preauth_req(clock, till=now + 7 * 86400), alice_key())
    assert enc.endtime == now + expected


def test_till_zero_means_the_longest_allowed() -> None:
    kdc, _, clock = make_kdc(max_life=36000)
    now = int(clock())
    _, enc = as_rep(kdc, preauth_req(clock, till=0), alice_key())
    assert enc.endtime == now + 36000


def test_renewable_with_rtime_capped_by_max_renewable_life() -> None:
    kdc, backend, clock = make_kdc(max_renewable_life=3 * 86400)
    now = int(clock())
    req = preauth_req(clock, options=KDCOptions.RENEWABLE, till=now + 3600, rtime=now + 30 * 86400)
    _, enc = as_rep(kdc, req, alice_key())
    assert enc.flags & TicketFlags.RENEWABLE
    assert enc.renew_till == now + 3 * 86400
    backend.modify(f"alice@{REALM}", max_renewable_life=86400)
    clock.advance(2)
    now = int(clock())
    req = preauth_req(clock, options=KDCOptions.RENEWABLE, till=now + 3600, rtime=now + 30 * 86400)
    _, enc = as_rep(kdc, req, alice_key())
    assert enc.renew_till == now + 86400


def test_renewable_ok_turns_a_too_long_till_into_a_renewable_ticket() -> None:
    kdc, _, clock = make_kdc(max_life=36000, max_renewable_life=7 * 86400)
    now = int(clock())
    req = preauth_req(clock, options=KDCOptions.RENEWABLE_OK, till=now + 2 * 86400)
    _, enc = as_rep(kdc, req, alice_key())
    assert enc.endtime == now + 36000
    assert enc.flags & TicketFlags.RENEWABLE and enc.renew_till == now + 2 * 86400
    # a till that fits the lifetime stays a plain ticket
    req = preauth_req(clock, options=KDCOptions.RENEWABLE_OK, till=now + 3600)
    _, enc = as_rep(kdc, req, alice_key())
    assert not enc.flags & TicketFlags.RENEWABLE and enc.renew_till is None


def test_no_renewable_ticket_when_the_principal_forbids() -> None:
    kdc, backend, clock = make_kdc()
    backend.modify(f"alice@{REALM}", allow_renewable=False)
    clock.advance(2)
    now = int(clock())
    req = preauth_req(clock, options=KDCOptions.RENEWABLE, rtime=now + 86400)
    _, enc = as_rep(kdc, req, alice_key())
    assert not enc.flags & TicketFlags.RENEWABLE and enc.renew_till is None


def test_postdated_ticket_is_invalid_and_starts_later() -> None:
    kdc, _, clock = make_kdc()
    now = int(clock())
    req = preauth_req(
        clock,
        options=KDCOptions.POSTDATED | KDCOptions.ALLOW_POSTDATE,
        from_time=now + 600,
        till=now + 3600,
    )
    _, enc = as_rep(kdc, req, alice_key())
    assert enc.starttime == now + 600 and enc.endtime == now + 3600
    assert enc.flags & TicketFlags.INVALID and enc.flags & TicketFlags.POSTDATED
    assert enc.flags & TicketFlags.MAY_POSTDATE


def test_addresses_are_copied_into_the_ticket() -> None:
    kdc, _, clock = make_kdc()
    addresses = (HostAddress(2, bytes([192, 0, 2, 7])),)
    req = preauth_req(clock)
    req = replace(req, req_body=replace(req.req_body, addresses=addresses))
    _, enc = as_rep(kdc, req, alice_key())
    assert enc.caddr == addresses


def test_every_error_is_a_krb_error_with_e_text() -> None:
    kdc, _, _ = make_kdc()
    reply = call(kdc, build_as_req(PrincipalName(1, ("nobody",)), REALM))
    err = decode_krb_error(reply)
    assert err.e_text and err.error_code == KDC_ERR_C_PRINCIPAL_UNKNOWN
