"""The KDC's memos hold a cluster's names at once, not just a few thousand.

A memo is emptied when it is full (``has_kdc.asn1.memo``), so one smaller than the
set of names in use never hits: with 4,096 entries, AS-REQs cycling over 5,000
clients cost 44 µs each instead of 16. Here 10,000 clients (a cluster's users and
services during a login burst) each send an AS-REQ, get a refusal and a log line,
twice over: the second time every name, template and line comes from memory.
"""

from __future__ import annotations

from has_kdc.asn1 import codec, fast
from has_kdc.asn1.messages import PrincipalName
from has_kdc.client.kdc_client import build_as_req
from has_kdc.kdc import context, errors
from has_kdc.kdc.context import RequestLog
from has_kdc.kdc.errors import build_krb_error
from tests.kdc_fakes import REALM

CLIENTS = 10_000
TGS = PrincipalName(2, ("krbtgt", REALM))


def _requests() -> list[bytes]:
    return [
        codec.encode(build_as_req(PrincipalName(1, (f"user{i:05d}",)), REALM, nonce=0x40000000 + i))
        for i in range(CLIENTS)
    ]


def _serve(requests: list[bytes]) -> list[tuple[object, bytes, str]]:
    """What a refusal of each request reads from memory: the decoded client, the
    KRB-ERROR's template and the log line."""
    seen = []
    for der in requests:
        body = codec.decode_kdc_req(der).req_body
        assert body.cname is not None
        build_krb_error(
            25, now=1.5e9, realm=REALM, sname=TGS, crealm=REALM, cname=body.cname, e_text="X"
        )
        key = (25, REALM, TGS.name_type, TGS.components, REALM, 1, body.cname.components, "X", None)
        template = errors._tails.get(key)
        assert template is not None
        rlog = RequestLog("AS_REQ", "10.0.0.1", body.etypes, body.cname.components[0], "krbtgt")
        rlog.status, rlog.code = "NEEDED_PREAUTH", 25
        seen.append((body.cname, template[0], rlog.line()))
    return seen


def test_ten_thousand_clients_are_served_from_memory_the_second_time():
    for memo in (fast._principal_by_der, errors._tails, context._lines):
        memo.clear()
    requests = _requests()
    first = _serve(requests)
    second = _serve(requests)
    assert all(a[0] is b[0] for a, b in zip(first, second, strict=True))  # one decoded name
    assert all(a[1] is b[1] for a, b in zip(first, second, strict=True))  # one template
    assert all(a[2] is b[2] for a, b in zip(first, second, strict=True))  # one line
    for memo in (fast._principal_by_der, errors._tails, context._lines):
        assert len(memo) >= CLIENTS
        assert memo.nbytes <= memo.max_bytes
