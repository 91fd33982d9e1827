"""FAST (RFC 6113) in the KDC, through ``Kdc.handle`` with a fake clock.

The same exchanges are compared with MIT krb5kdc in ``test_fast_vs_mit.py`` and run
with MIT's own tools in ``test_fast_mit_interop.py``; here each RFC rule is one test.
"""

from __future__ import annotations

import pytest

from has_kdc.asn1.codec import decode_krb_error, decode_method_data, encode
from has_kdc.asn1.constants import (
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_SERVER_NOMATCH,
    KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_SKEW,
    NT_PRINCIPAL,
    NT_SRV_INST,
    PA_ENC_TIMESTAMP,
    PA_ENCRYPTED_CHALLENGE,
    PA_ETYPE_INFO2,
    PA_FX_COOKIE,
    PA_FX_ERROR,
    PA_FX_FAST,
    TicketFlags,
)
from has_kdc.asn1.messages import EncryptionKey, ETypeInfo2Entry, PrincipalName
from has_kdc.client.kdc_client import (
    KdcClient,
    build_as_req,
    build_tgs_req,
    decrypt_tgs_rep,
    pa_enc_timestamp,
    string_to_key,
)
from has_kdc.crypto import IntegrityError
from has_kdc.principal import default_salt
from tests import fast_client as fc
from tests.kdc_fakes import REALM, make_kdc

ALICE = PrincipalName(NT_PRINCIPAL, ("alice",))
SALT = default_salt(("alice",), REALM)
HOST = PrincipalName(NT_SRV_INST, ("host", "server.example.com"))


def alice_key(password: str = "alice-pw", etype: int = 18):  # noqa: S107
    return string_to_key(password, ETypeInfo2Entry(etype, SALT), SALT)


@pytest.fixture
def realm():
    kdc, _backend, clock = make_kdc()
    send = lambda data: kdc.handle(data, "udp", peer="192.0.2.7")  # noqa: E731
    client = KdcClient(send, REALM, clock=clock)
    armor_tgt = client.get_tgt("bob", "bob-pw")  # any TGT of the realm armors
    return kdc, send, clock, client, armor_tgt


def armored_as_req(clock, armor_tgt, padata=(), **kwargs):
    armor = fc.ap_req_armor(armor_tgt, clock())
    req = build_as_req(ALICE, REALM, etypes=(18, 17), now=clock())
    return fc.armor_request(req, armor, inner_padata=padata, **kwargs), armor


def test_preauth_required_offers_fast_as_mit() -> None:
    kdc, _, clock = make_kdc()
    data = kdc.handle(encode(build_as_req(ALICE, REALM, now=clock())), "udp")
    hints = decode_method_data(decode_krb_error(data).e_data)
    assert [p.padata_type for p in hints] == [
        PA_FX_FAST,
        PA_ETYPE_INFO2,
        PA_ENC_TIMESTAMP,
        PA_FX_COOKIE,
    ]
    assert hints[0].padata_value == b"" and hints[3].padata_value == b"MIT"


def test_armored_preauth_required_is_an_armored_error_offering_encrypted_challenge(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    req, armor = armored_as_req(clock, armor_tgt)
    err = fc.read_error(send(encode(req)), armor.armor_key)
    assert err.outer.error_code == err.inner.error_code == KDC_ERR_PREAUTH_REQUIRED
    assert err.outer.e_text == err.inner.e_text == "NEEDED_PREAUTH"
    assert err.inner.e_data is None and err.inner.cname == ALICE
    assert err.hint_types == [
        PA_FX_FAST,
        PA_ETYPE_INFO2,
        PA_ENCRYPTED_CHALLENGE,
        PA_FX_COOKIE,
        PA_FX_ERROR,
    ]
    assert err.response.nonce == req.req_body.nonce
    assert err.response.finished is None and err.response.strengthen_key is None


def test_encrypted_challenge_logs_in_and_the_reply_is_strengthened_and_finished(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    armor = fc.ap_req_armor(armor_tgt, clock())
    key = alice_key()
    req = build_as_req(ALICE, REALM, etypes=(18, 17), now=clock())
    req = fc.armor_request(
        req, armor, inner_padata=[fc.encrypted_challenge(armor.armor_key, key, clock())]
    )
    reply = fc.read_as_rep(send(encode(req)), armor.armor_key, key)
    assert reply.enc_part.nonce == req.req_body.nonce
    assert reply.enc_part.flags & TicketFlags.PRE_AUTHENT
    assert reply.reply_key != key  # strengthened: the long-term key alone does not open it
    types = [p.padata_type for p in reply.response.padata]
    assert types == [PA_ENCRYPTED_CHALLENGE, PA_ETYPE_INFO2]  # MIT's order
    kdc_time = fc.kdc_challenge_time(armor.armor_key, key, reply.response.padata[0].padata_value)
    assert kdc_time == int(clock())
    assert [p.padata_type for p in reply.rep.padata] == [PA_FX_FAST]


def test_wrong_password_in_encrypted_challenge_is_armored_preauth_failed(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    armor = fc.ap_req_armor(armor_tgt, clock())
    wrong = alice_key("wrong")
    req = build_as_req(ALICE, REALM, etypes=(18, 17), now=clock())
    req = fc.armor_request(
        req, armor, inner_padata=[fc.encrypted_challenge(armor.armor_key, wrong, clock())]
    )
    err = fc.read_error(send(encode(req)), armor.armor_key)
    assert err.outer.error_code == err.inner.error_code == KDC_ERR_PREAUTH_FAILED
    assert err.hint_types == [
        PA_FX_FAST,
        PA_ETYPE_INFO2,
        PA_ENCRYPTED_CHALLENGE,
        PA_FX_COOKIE,
        PA_FX_ERROR,
    ]


def test_challenge_outside_the_skew_is_armored_skew(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    armor = fc.ap_req_armor(armor_tgt, clock())
    late = fc.encrypted_challenge(armor.armor_key, alice_key(), clock() + 3600)
    req = fc.armor_request(build_as_req(ALICE, REALM, now=clock()), armor, inner_padata=[late])
    err = fc.read_error(send(encode(req)), armor.armor_key)
    assert err.inner.error_code == KRB_AP_ERR_SKEW
    assert err.hint_types == [PA_FX_ERROR]


def test_encrypted_timestamp_inside_fast_still_works(realm) -> None:
    """MIT no longer offers it inside FAST but still accepts it (kdc_preauth_encts.c)."""
    _, send, clock, _, armor_tgt = realm
    armor = fc.ap_req_armor(armor_tgt, clock())
    key = alice_key()
    req = fc.armor_request(
        build_as_req(ALICE, REALM, now=clock()),
        armor,
        inner_padata=[pa_enc_timestamp(key, clock())],
    )
    assert (
        fc.read_as_rep(send(encode(req)), armor.armor_key, key).enc_part.flags
        & TicketFlags.PRE_AUTHENT
    )


def test_modified_request_is_armored_modified(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    req, armor = armored_as_req(clock, armor_tgt, tamper_checksum=True)
    err = fc.read_error(send(encode(req)), armor.armor_key)
    assert err.outer.error_code == KRB_AP_ERR_MODIFIED


def test_unknown_critical_fast_option_is_refused(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    req, armor = armored_as_req(clock, armor_tgt, fast_options=1 << (31 - 5))
    err = fc.read_error(send(encode(req)), armor.armor_key)
    assert err.outer.error_code == KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS


def test_armor_from_a_service_ticket_is_refused_unarmored(realm) -> None:
    _, send, clock, client, armor_tgt = realm
    service_ticket = client.get_service_ticket(armor_tgt, "host/server.example.com")
    req, _ = armored_as_req(clock, service_ticket)
    error = decode_krb_error(send(encode(req)))
    assert error.error_code == KDC_ERR_SERVER_NOMATCH and error.e_text == "FIND_FAST"
    assert error.e_data is None


def test_ap_req_armor_without_subkey_or_no_armor_at_all_is_refused(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    no_subkey = fc.ap_req_armor(armor_tgt, clock(), subkey=False)
    req = fc.armor_request(build_as_req(ALICE, REALM, now=clock()), no_subkey)
    assert decode_krb_error(send(encode(req))).error_code == 12  # KDC_ERR_POLICY
    unarmored = fc.Armor(no_subkey.armor_key, None)
    req = fc.armor_request(build_as_req(ALICE, REALM, now=clock()), unarmored)
    assert decode_krb_error(send(encode(req))).error_code == KDC_ERR_PREAUTH_FAILED


def test_tgs_request_armored_by_its_own_subkey(realm) -> None:
    _, send, clock, client, _ = realm
    tgt = client.get_tgt("alice", "alice-pw")
    req, armor, subkey = fc.armored_tgs_req(tgt, HOST, realm=REALM, now=clock())
    reply = fc.read_tgs_rep(send(encode(req)), armor.armor_key, subkey)
    assert reply.enc_part.sname == HOST and reply.enc_part.nonce == req.req_body.nonce
    with pytest.raises(IntegrityError):  # the subkey alone no longer opens the reply
        decrypt_tgs_rep(reply.rep, tgt, subkey)


def test_tgs_request_with_ap_req_armor_is_refused(realm) -> None:
    _, send, clock, client, armor_tgt = realm
    tgt = client.get_tgt("alice", "alice-pw")
    req, _, _ = fc.armored_tgs_req(tgt, HOST, realm=REALM, now=clock(), ap_req_armor_from=armor_tgt)
    error = decode_krb_error(send(encode(req)))
    assert error.error_code == KDC_ERR_PREAUTH_FAILED and error.e_text == "FIND_FAST"


def test_armored_tgs_error_is_armored(realm) -> None:
    _, send, clock, client, _ = realm
    tgt = client.get_tgt("alice", "alice-pw")
    nobody = PrincipalName(NT_SRV_INST, ("host", "nowhere.example.com"))
    req, armor, _ = fc.armored_tgs_req(tgt, nobody, realm=REALM, now=clock())
    err = fc.read_error(send(encode(req)), armor.armor_key)
    assert err.outer.error_code == err.inner.error_code == 7
    assert err.inner.sname == nobody and err.hint_types == [PA_FX_ERROR]


def test_clients_without_fast_are_answered_as_before(realm) -> None:
    _, _, _, client, _ = realm
    tgt = client.get_tgt("alice", "alice-pw")
    assert client.get_service_ticket(tgt, "host/server.example.com").sname == HOST


def test_hide_client_names_shows_the_anonymous_principal_outside(realm) -> None:
    _, send, clock, _, armor_tgt = realm
    armor = fc.ap_req_armor(armor_tgt, clock())
    key = alice_key()
    req = fc.armor_request(
        build_as_req(ALICE, REALM, now=clock()),
        armor,
        inner_padata=[fc.encrypted_challenge(armor.armor_key, key, clock())],
        fast_options=fc.HIDE_CLIENT_NAMES,
    )
    reply = fc.read_as_rep(send(encode(req)), armor.armor_key, key)
    assert (reply.rep.crealm, reply.rep.cname.components) == (
        "WELLKNOWN:ANONYMOUS",
        ("WELLKNOWN", "ANONYMOUS"),
    )
    assert reply.response.finished.cname == ALICE  # the name travels inside only


def test_armor_subkey_of_an_enctype_we_lack_is_a_plain_error(realm) -> None:
    _, send, clock, client, _ = realm
    tgt = client.get_tgt("alice", "alice-pw")
    rc4_subkey = EncryptionKey(23, bytes(16))
    plain = build_tgs_req(tgt, HOST, realm=REALM, subkey=rc4_subkey, now=clock())
    pa_tgs_req = plain.padata[0].padata_value
    req = fc.armor_request(plain, fc.Armor(fc.random_key(18), None), checksummed=pa_tgs_req)
    error = decode_krb_error(send(encode(req)))
    assert (error.error_code, error.e_text) == (60, "FIND_FAST")
