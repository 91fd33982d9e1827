"""The same AS requests to MIT krb5kdc and to our KDC, answers compared field by field.

MIT is the reference: where its answer is a protocol choice (e-text wording, which
PA-DATA the hints hold, last-req), ours must be the same.
Deliberate differences are asserted as such: MIT sets the enc-pa-rep ticket flag,
which has-kdc does not implement (FAST is compared in test_fast_vs_mit.py);
MIT tags the AS-REP's encrypted part EncTGSRepPart, where has-kdc sends the
EncASRepPart RFC 4120 defines, and has-kdc's reply part always names its starttime
(strict clients such as impacket need both; see has_kdc/kdc/as_req.py).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from has_kdc.asn1.codec import decode_enc_kdc_rep_part, decode_method_data, encode
from has_kdc.asn1.constants import (
    KRB_AS_REP,
    KU_AS_REP_ENC_PART,
    NT_PRINCIPAL,
    PA_FX_COOKIE,
    PA_FX_FAST,
    TicketFlags,
)
from has_kdc.asn1.messages import ETypeInfo2Entry, KdcReq, PrincipalName
from has_kdc.client.kdc_client import (
    KdcReplyError,
    build_as_req,
    error_etype_info2,
    etype_info2_of,
    pa_enc_timestamp,
    parse_reply,
    string_to_key,
)
from has_kdc.conf.kdc import KdcConfig
from has_kdc.crypto import enctype_by_id
from has_kdc.kdc.handler import Kdc
from tests.kdc_fakes import MemoryBackend

pytestmark = pytest.mark.mit

REALM = "MIT.TEST"
USER = PrincipalName(NT_PRINCIPAL, ("user",))
SALT = b"MIT.TESTuser"


def udp_sender(host: str, port: int) -> Callable[[bytes], bytes | None]:
    def send(data: bytes) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(data, (host, port))
            try:
                return s.recv(65536)
            except TimeoutError:
                return None

    return send


@pytest.fixture
def both(mit_realm):
    """(MIT sender, our sender) for realm MIT.TEST with user / user-pw in each."""
    backend = MemoryBackend()
    backend.add(f"krbtgt/{REALM}@{REALM}", requires_preauth=False)
    backend.add(f"user@{REALM}", "user-pw")
    ours = Kdc(KdcConfig(kdc_realm=REALM), backend)
    return udp_sender(mit_realm.host, mit_realm.port), (lambda b: ours.handle(b, "udp"))


def ask(send, req: KdcReq):
    data = send(encode(req))
    try:
        return parse_reply(data, KRB_AS_REP)
    except KdcReplyError as err:
        return err.error


def user_key(etype: int = 18):
    return string_to_key("user-pw", ETypeInfo2Entry(etype, SALT), SALT)


def hint_types(error) -> list[int]:
    types = [pa.padata_type for pa in decode_method_data(error.e_data)]
    return [t for t in types if t not in (PA_FX_FAST, PA_FX_COOKIE)]


def test_preauth_required_matches_mit(both) -> None:
    mit, ours = both
    req = build_as_req(USER, REALM, etypes=(17, 18))
    a, b = ask(mit, req), ask(ours, req)
    assert (a.error_code, a.e_text, a.cname, a.crealm) == (
        b.error_code,
        b.e_text,
        b.cname,
        b.crealm,
    )
    assert a.sname == b.sname and a.realm == b.realm
    assert hint_types(a) == hint_types(b) == [19, 2]
    assert error_etype_info2(a) == error_etype_info2(b) == (ETypeInfo2Entry(17, SALT),)


@pytest.mark.parametrize("case", ["unknown client", "wrong password", "skew", "bad option"])
def test_errors_match_mit(both, case: str) -> None:
    import time

    from has_kdc.asn1.constants import KDCOptions

    mit, ours = both
    if case == "unknown client":
        req = build_as_req(PrincipalName(NT_PRINCIPAL, ("nobody",)), REALM)
    elif case == "wrong password":
        wrong = string_to_key("nope", ETypeInfo2Entry(18, SALT), SALT)
        req = build_as_req(USER, REALM, padata=[pa_enc_timestamp(wrong, time.time())])
    elif case == "skew":
        req = build_as_req(USER, REALM, padata=[pa_enc_timestamp(user_key(), time.time() + 900)])
    else:
        req = build_as_req(USER, REALM, options=KDCOptions.RENEW)
    a, b = ask(mit, req), ask(ours, req)
    assert (a.error_code, a.e_text) == (b.error_code, b.e_text)
    assert (a.e_data is None) == (b.e_data is None)
    if a.e_data:
        assert hint_types(a) == hint_types(b)


def test_as_rep_matches_mit(both) -> None:
    import time

    mit, ours = both
    key = user_key()
    replies = []
    for send in (mit, ours):
        req = build_as_req(USER, REALM, padata=[pa_enc_timestamp(key, time.time())])
        rep = parse_reply(send(encode(req)), KRB_AS_REP)
        plain = enctype_by_id(18).decrypt(key.keyvalue, KU_AS_REP_ENC_PART, rep.enc_part.cipher)
        replies.append((rep, plain, decode_enc_kdc_rep_part(plain)))
    (mrep, mplain, menc), (orep, oplain, oenc) = replies
    assert etype_info2_of(mrep.padata) == etype_info2_of(orep.padata)
    assert [p.padata_type for p in mrep.padata] == [p.padata_type for p in orep.padata]
    # The one deliberate difference in the reply: MIT wraps it as EncTGSRepPart (0x7A),
    # we as EncASRepPart (0x79), as RFC 4120 §5.4.2 defines it (has_kdc/kdc/as_req.py).
    assert (mplain[0], oplain[0]) == (0x7A, 0x79)
    assert menc.last_req == oenc.last_req
    assert menc.flags & ~TicketFlags.ENC_PA_REP == oenc.flags
    assert (mrep.cname, mrep.crealm, menc.sname, menc.srealm) == (
        orep.cname,
        orep.crealm,
        oenc.sname,
        oenc.srealm,
    )
    assert (menc.renew_till, menc.key_expiration) == (oenc.renew_till, oenc.key_expiration)
    # MIT leaves out a starttime equal to the authtime; we name it (impacket needs it)
    assert (menc.starttime, oenc.starttime) == (None, oenc.authtime)
    assert mrep.enc_part.kvno == orep.enc_part.kvno


@pytest.mark.parametrize("case", ["unknown server", "bad checksum", "tampered ticket"])
def test_tgs_errors_name_the_client_as_mit(both, case: str) -> None:
    """MIT's prepare_error_tgs names the TGT's client once the TGT decrypted (even
    when the authenticator then fails), and no client when it did not."""
    import dataclasses

    from has_kdc.asn1.constants import KRB_TGS_REP, NT_SRV_INST
    from has_kdc.client.kdc_client import KdcClient, build_tgs_req

    answers = []
    for send in both:
        tgt = KdcClient(send, REALM).get_tgt("user", "user-pw")
        server = PrincipalName(NT_SRV_INST, ("host", "nowhere"))
        if case == "tampered ticket":
            enc = tgt.ticket.enc_part
            enc = dataclasses.replace(enc, cipher=bytes([enc.cipher[0] ^ 1]) + enc.cipher[1:])
            ticket = dataclasses.replace(tgt.ticket, enc_part=enc)
            tgt = dataclasses.replace(tgt, ticket=ticket)
        req = build_tgs_req(tgt, server, now=time.time())
        if case == "bad checksum":
            body = dataclasses.replace(req.req_body, nonce=req.req_body.nonce ^ 1)
            req = dataclasses.replace(req, req_body=body)
        try:
            parse_reply(send(encode(req)), KRB_TGS_REP)
        except KdcReplyError as err:
            e = err.error
            answers.append((e.error_code, e.e_text, e.crealm, e.cname, e.realm, e.sname))
        else:
            pytest.fail(f"{case}: a TGS-REP")
    mit, ours = answers
    print(f"{case}: MIT {mit} | has-kdc {ours}")
    assert ours == mit
    assert (mit[3] is None) == (case == "tampered ticket")


def test_undecodable_requests_get_no_answer_from_either(both) -> None:
    mit, ours = both
    for garbage in (b"\x6a\x03\x30\x01\x00", b"hello", b"\x6c\x00"):
        assert mit(garbage) is None
        assert ours(garbage) is None
