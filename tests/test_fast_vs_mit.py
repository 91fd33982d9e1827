"""FAST requests to MIT krb5kdc and to has-kdc, the answers compared field by field.

Each case builds the same armored request for each KDC (the armor is a TGT each KDC
issued itself) with the FAST client of ``tests/fast_client.py``, and reduces the
answer to what a client acts on: outer and inner (PA-FX-ERROR) code and e-text, the
PA-DATA types inside the armored response and, for a reply, that it opens with the
strengthened reply key and its ``finished`` checksums the ticket.
"""

from __future__ import annotations

import time

import pytest

from has_kdc.asn1.codec import decode_krb_error, decode_method_data, encode
from has_kdc.asn1.constants import NT_PRINCIPAL, NT_SRV_INST
from has_kdc.asn1.messages import ETypeInfo2Entry, PrincipalName
from has_kdc.client.kdc_client import KdcClient, build_as_req, pa_enc_timestamp, string_to_key
from has_kdc.conf.kdc import KdcConfig
from has_kdc.kdc.handler import Kdc
from tests import fast_client as fc
from tests.kdc_fakes import MemoryBackend
from tests.test_kdc_vs_mit import udp_sender

pytestmark = pytest.mark.mit

REALM = "MIT.TEST"
USER = PrincipalName(NT_PRINCIPAL, ("user",))
SALT = b"MIT.TESTuser"
SERVICE = PrincipalName(NT_SRV_INST, ("host", "service.mit.test"))


@pytest.fixture
def kdcs(mit_realm):
    """{"MIT": send, "has-kdc": send} for realm MIT.TEST with user / user-pw and
    host/service.mit.test in each."""
    backend = MemoryBackend()
    backend.add(f"krbtgt/{REALM}@{REALM}", requires_preauth=False)
    backend.add(f"user@{REALM}", "user-pw")
    backend.add(f"host/service.mit.test@{REALM}", requires_preauth=False)
    ours = Kdc(KdcConfig(kdc_realm=REALM), backend)
    return {
        "MIT": udp_sender(mit_realm.host, mit_realm.port),
        "has-kdc": lambda data: ours.handle(data, "udp"),
    }


def user_key(password: str = "user-pw"):  # noqa: S107
    return string_to_key(password, ETypeInfo2Entry(18, SALT), SALT)


def summary_of_error(data: bytes, armor_key) -> tuple:
    err = fc.read_error(data, armor_key)
    cookie = next((p.padata_value for p in err.response.padata if p.padata_type == 133), None)
    return (
        "error",
        err.outer.error_code,
        err.outer.e_text,
        err.inner.error_code,
        err.inner.e_text,
        tuple(err.hint_types),
        cookie,
        err.response.nonce,
        (err.outer.crealm, err.outer.cname),
        (err.inner.crealm, err.inner.cname),
    )


def run_case(send, case: str) -> tuple:
    client = KdcClient(send, REALM)
    armor_tgt = client.get_tgt("user", "user-pw")
    now = time.time()
    armor = fc.ap_req_armor(armor_tgt, now)
    key = user_key()
    base = build_as_req(USER, REALM, etypes=(18, 17), nonce=12345, now=now)
    hide = fc.HIDE_CLIENT_NAMES if "hide" in case else 0
    if case.startswith("tgs"):
        server = (
            SERVICE
            if "unknown server" not in case
            else PrincipalName(NT_SRV_INST, ("host", "nowhere"))
        )
        extra = armor_tgt if case == "tgs ap-req armor" else None
        req, tgs_armor, subkey = fc.armored_tgs_req(
            armor_tgt, server, realm=REALM, now=now, ap_req_armor_from=extra, fast_options=hide
        )
        data = send(encode(req))
        if fc.is_error(data):
            error = decode_krb_error(data)
            if error.e_data and 136 in [p.padata_type for p in decode_method_data(error.e_data)]:
                # Both name the TGT's client, outside (unless hidden) and inside.
                summary = summary_of_error(data, tgs_armor.armor_key)
                assert summary[7] == req.req_body.nonce
                return summary[:7] + summary[8:]
            return ("plain error", error.error_code, error.e_text)
        reply = fc.read_tgs_rep(data, tgs_armor.armor_key, subkey)
        return (
            "TGS-REP",
            reply.enc_part.sname,
            tuple(p.padata_type for p in reply.rep.padata),
            (reply.rep.crealm, reply.rep.cname),
            (reply.response.finished.crealm, reply.response.finished.cname),
        )
    padata: list = []
    options = hide
    tamper = False
    if case in ("encrypted challenge", "hide client"):
        padata = [fc.encrypted_challenge(armor.armor_key, key, now)]
    elif case == "wrong password":
        padata = [fc.encrypted_challenge(armor.armor_key, user_key("wrong"), now)]
    elif case == "skew":
        padata = [fc.encrypted_challenge(armor.armor_key, key, now + 3600)]
    elif case == "encrypted timestamp inside":
        padata = [pa_enc_timestamp(key, now)]
    elif case == "critical option":
        options = 1 << (31 - 5)
    elif case == "modified":
        tamper = True
    req = fc.armor_request(
        base, armor, inner_padata=padata, fast_options=options, tamper_checksum=tamper
    )
    data = send(encode(req))
    if fc.is_error(data):
        error = decode_krb_error(data)
        if not error.e_data:
            return ("plain error", error.error_code, error.e_text)
        return summary_of_error(data, armor.armor_key)
    reply = fc.read_as_rep(data, armor.armor_key, key)
    return (
        "AS-REP",
        reply.enc_part.nonce,
        tuple(p.padata_type for p in reply.rep.padata),
        tuple(p.padata_type for p in reply.response.padata),
        reply.response.strengthen_key is not None,
        (reply.rep.crealm, reply.rep.cname),
        (reply.response.finished.crealm, reply.response.finished.cname),
    )


CASES = [
    "no preauth",
    "encrypted challenge",
    "wrong password",
    "skew",
    "encrypted timestamp inside",
    "critical option",
    "modified",
    "tgs",
    "tgs ap-req armor",
    "tgs unknown server",
    "hide client",
    "hide client no preauth",
    "tgs hide client",
    "tgs hide client unknown server",
]


@pytest.mark.parametrize("case", CASES)
def test_fast_answers_match_mit(kdcs, case: str) -> None:
    mit, ours = run_case(kdcs["MIT"], case), run_case(kdcs["has-kdc"], case)
    print(f"{case}: MIT {mit} | has-kdc {ours}")
    assert ours == mit


def test_unarmored_preauth_required_hints_match_mit_byte_for_byte(kdcs) -> None:
    """PA-FX-FAST (empty), PA-ETYPE-INFO2, PA-ENC-TIMESTAMP (empty), PA-FX-COOKIE "MIT"."""
    answers = {}
    for name, send in kdcs.items():
        error = decode_krb_error(send(encode(build_as_req(USER, REALM, etypes=(18, 17)))))
        answers[name] = (error.error_code, error.e_text, decode_method_data(error.e_data))
    assert answers["has-kdc"] == answers["MIT"]
    assert [p.padata_type for p in answers["MIT"][2]] == [136, 19, 2, 133]
