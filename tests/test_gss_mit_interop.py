"""HTTP Negotiate against real clients: curl --negotiate and requests-gssapi (MIT libgssapi).

Our KDC (has-server, realm HADOOP.COM) issues the tickets; HTTP/localhost's key is
exported with hadmin ktadd; the aiohttp test server (tests/gss_server.py) runs the
Negotiate middleware over that keytab. MIT's krb5.conf from MitClient has
rdns = false and dns_canonicalize_hostname = false, so http://localhost:PORT means
HTTP/localhost to curl and to python-gssapi.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.asn1 import EncryptionKey, decode_ap_rep, decode_enc_ap_rep_part
from has_kdc.asn1.constants import KU_AP_REP_ENC_PART
from has_kdc.client.kdc_client import KdcClient
from has_kdc.client.negotiate import http_service, negotiate_with_keytab
from has_kdc.client.transport import KdcTransport
from has_kdc.crypto import enctype_by_id
from has_kdc.formats import read_ccache
from has_kdc.gss import KRB5_OID, GssError, KeytabKeys, NegTokenResp, decode_negotiation_token
from has_kdc.gss.krb5mech import TOK_AP_REP, parse_krb5_token
from tests.gss_server import NegotiateServer
from tests.mitkrb import MitClient

pytestmark = pytest.mark.mit

ADMIN = "alice@HADOOP.COM"


class Setup:
    def __init__(self, node, tmp: Path) -> None:
        self.node = node
        node.hadmin("addprinc", "-pw", "alice-pw", "alice")
        node.hadmin("addprinc", "-pw", "bob-pw", "bob")
        node.hadmin("addprinc", "-randkey", "HTTP/localhost")
        node.hadmin("addprinc", "-randkey", "robot")
        self.http_keytab = tmp / "http.keytab"
        self.robot_keytab = tmp / "robot.keytab"
        node.hadmin("ktadd", "-k", str(self.http_keytab), "HTTP/localhost")
        node.hadmin("ktadd", "-k", str(self.robot_keytab), "robot")
        self.server = NegotiateServer(
            KeytabKeys(self.http_keytab), admins={ADMIN, "robot@HADOOP.COM"}
        )
        self.mit: MitClient = node.mit_client(tmp / "mit")

    def curl(self, *args: str, path: str = "/admin/whoami") -> tuple[int, dict[str, str], str]:
        """curl → (status, headers with lower-case names, body)."""
        proc = subprocess.run(
            [
                "curl",
                "-sS",
                "-D",
                "-",
                "--resolve",
                f"localhost:{self.server.port}:127.0.0.1",
                *args,
                self.server.url(path),
            ],
            env=dict(os.environ, **self.mit.env),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        head, _, body = proc.stdout.replace("\r\n", "\n").partition("\n\n")
        lines = head.splitlines()
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, body

    def session_key_for_http(self) -> EncryptionKey:
        """The HTTP/localhost session key MIT stored in its ccache."""
        cache = read_ccache(self.mit.ccache)
        for cred in cache.tickets:
            if cred.server.components == ("HTTP", "localhost"):
                return EncryptionKey(cred.keyblock.enctype, cred.keyblock.key)
        raise AssertionError("no HTTP/localhost ticket in the MIT ccache")


@pytest.fixture
def setup(has_node, tmp_path: Path) -> Iterator[Setup]:
    s = Setup(has_node, tmp_path)
    try:
        yield s
    finally:
        s.server.stop()


def test_curl_negotiate_admin(setup: Setup):
    setup.mit.kinit("alice", "alice-pw")
    status, headers, body = setup.curl("--negotiate", "-u", ":")
    assert status == 200, body
    assert json.loads(body) == {"principal": ADMIN}
    # The mutual-authentication token: negTokenResp accept-completed, with an AP-REP
    # that MIT's session key for HTTP/localhost decrypts.
    scheme, token_b64 = headers["www-authenticate"].split()
    assert scheme == "Negotiate"
    resp = decode_negotiation_token(base64.b64decode(token_b64))
    assert isinstance(resp, NegTokenResp)
    assert (resp.neg_state, resp.supported_mech) == (0, KRB5_OID)
    mech, tok_id, message = parse_krb5_token(resp.response_token)
    assert (mech, tok_id) == (KRB5_OID, TOK_AP_REP)
    ap_rep = decode_ap_rep(message)
    key = setup.session_key_for_http()
    plain = enctype_by_id(key.keytype).decrypt(
        key.keyvalue, KU_AP_REP_ENC_PART, ap_rep.enc_part.cipher
    )
    enc = decode_enc_ap_rep_part(plain)
    assert enc.seq_number is not None
    # What curl sent was SPNEGO with Kerberos first and an optimistic AP-REQ.
    sent = decode_negotiation_token(setup.server.accepted[-1])
    assert sent.mech_types[0] == KRB5_OID and sent.mech_token is not None


def test_curl_non_admin_is_forbidden(setup: Setup):
    setup.mit.kinit("bob", "bob-pw")
    status, headers, body = setup.curl("--negotiate", "-u", ":")
    assert status == 403
    assert json.loads(body)["error"] == "forbidden"
    assert "bob@HADOOP.COM" in json.loads(body)["message"]
    assert headers["www-authenticate"].startswith("Negotiate ")


def test_curl_missing_garbage_and_expired(setup: Setup):
    status, headers, body = setup.curl()  # no credentials at all
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert json.loads(body)["error"] == "unauthorized"
    status, headers, body = setup.curl("-H", "Authorization: Negotiate Z2FyYmFnZQ==")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert "GSS" not in body and "Kerberos authentication failed" in json.loads(body)["message"]
    status, _, _ = setup.curl("-H", "Authorization: Negotiate !!!not-base64")
    assert status == 401
    # --negotiate without a ticket: curl cannot make a token and the server says 401.
    status, headers, _ = setup.curl("--negotiate", "-u", ":")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    # A real ticket, presented to a server whose clock is two days ahead: expired.
    setup.mit.kinit("alice", "alice-pw")
    setup.server.clock_offset = 2 * 86400
    status, headers, body = setup.curl("--negotiate", "-u", ":")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert "expired" in json.loads(body)["message"]
    setup.server.clock_offset = 0
    assert setup.curl("--negotiate", "-u", ":")[0] == 200


def test_public_path_needs_nothing(setup: Setup):
    status, headers, _ = setup.curl(path="/public")
    assert status == 200 and "www-authenticate" not in headers


# python-gssapi defers an error of the final step when MIT also returns a token, so
# requests-gssapi's own check can miss a bad mutual-authentication reply; asking the
# context whether it is complete raises the deferred error (MIT's verdict on our AP-REP).
REQUESTS_GSSAPI = """
import json, sys, gssapi, requests, requests_gssapi
auth = requests_gssapi.HTTPSPNEGOAuth(mutual_authentication=requests_gssapi.REQUIRED)
out = {}
try:
    r = requests.get(sys.argv[1], auth=auth, timeout=20)
    out.update(status=r.status_code, body=r.text)
except requests_gssapi.exceptions.MutualAuthenticationError as err:
    out["mutual_failed"] = str(err)[:200]
ctx = auth.context["localhost"]
try:
    out["complete"] = ctx.complete
    out["mutual"] = gssapi.RequirementFlag.mutual_authentication in ctx.actual_flags
except gssapi.exceptions.GSSError as err:
    out["gss_error"] = err.gen_message()
print(json.dumps(out))
"""


def run_requests_gssapi(setup: Setup) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", REQUESTS_GSSAPI, setup.server.url("/admin/whoami")],
        env=dict(os.environ, **setup.mit.env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def test_requests_gssapi_mutual_required(setup: Setup):
    setup.mit.kinit("alice", "alice-pw")
    out = run_requests_gssapi(setup)
    assert out["status"] == 200
    assert json.loads(out["body"]) == {"principal": ADMIN}
    assert out["complete"] is True and out["mutual"] is True
    # MIT's initiator really checks our AP-REP: with one bit of it flipped, MIT fails
    # the context ("Decrypt integrity check failed").
    setup.server.corrupt_reply = True
    out = run_requests_gssapi(setup)
    assert "integrity" in out["gss_error"].lower(), out
    assert "complete" not in out


def test_our_initiator_with_keytab(setup: Setup):
    kdc = KdcClient(KdcTransport([f"{setup.node.host}:{setup.node.port}"], timeout=5), "HADOOP.COM")
    init = negotiate_with_keytab(
        kdc, "robot@HADOOP.COM", setup.robot_keytab, http_service("LocalHost", "HADOOP.COM")
    )
    req = urllib.request.Request(  # noqa: S310 (loopback test server)
        setup.server.url("/admin/whoami", host="127.0.0.1"),
        headers={"Authorization": init.authorization()},
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 (loopback test server)
        assert json.loads(r.read()) == {"principal": "robot@HADOOP.COM"}
        init.verify(r.headers["WWW-Authenticate"])
    assert init.established
    # A reply that does not verify is refused by our initiator too.
    init2 = negotiate_with_keytab(kdc, "robot@HADOOP.COM", setup.robot_keytab, "HTTP/localhost")
    setup.server.corrupt_reply = True
    req = urllib.request.Request(  # noqa: S310 (loopback test server)
        setup.server.url("/admin/whoami", host="127.0.0.1"),
        headers={"Authorization": init2.authorization()},
    )
    with urllib.request.urlopen(req, timeout=10) as r, pytest.raises(GssError):  # noqa: S310
        init2.verify(r.headers["WWW-Authenticate"])
