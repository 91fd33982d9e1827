"""python-gssapi (MIT libgssapi_krb5) with has-server as the KDC, and with our GSS code.

- MIT initiator → our acceptor: ``gssapi.SecurityContext`` (Kerberos and SPNEGO)
  makes the token from a ticket MIT got from our KDC; ``has_kdc.gss.Acceptor`` with
  HTTP/localhost's keytab (hadmin ktadd) accepts it, and MIT accepts our
  mutual-authentication reply (it verifies the AP-REP: a flipped bit fails it).
- Our KDC's tickets → MIT acceptor: MIT initiator and MIT acceptor (the keytab from
  our hadmin ktadd in ``KRB5_KTNAME``) establish a context over a ticket from our
  KDC, then exchange RFC 4121 wrap (sealed and not) and MIC tokens both ways, for
  each session-key enctype: only right session keys and subkeys get that far. Our
  own initiator (``has_kdc.client.negotiate``) is accepted by MIT's acceptor too.
- MIT doing the AS exchange with us from inside GSSAPI:
  ``gssapi.raw.acquire_cred_with_password``, and a client keytab written by MIT
  ``ktutil`` (salt fetched from our KDC with ``addent -f``) through
  ``KRB5_CLIENT_KTNAME`` — also used by ``kinit -k -t``.

gssapi runs in child processes with the MitClient environment (KRB5_CONFIG,
KRB5CCNAME, KRB5_KTNAME, ...), so the test process's own Kerberos state is untouched.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.client.kdc_client import KdcClient
from has_kdc.client.negotiate import negotiate_with_keytab
from has_kdc.client.transport import KdcTransport
from has_kdc.gss import Acceptor, GssError, KeytabKeys, Krb5Acceptor
from has_kdc.gss.spnego import NegTokenResp, decode_negotiation_token
from tests.hasnode import HasNode
from tests.mitkrb import MitClient

pytestmark = pytest.mark.mit

REALM = "HADOOP.COM"
HTTP = f"HTTP/localhost@{REALM}"
ALICE, ALICE_PW = f"alice@{REALM}", "alice-Passw0rd"
#: Renamed after creation, so its keys keep the salt of its old name (not the default).
CAROL, CAROL_PW, CAROL_OLD = f"carol@{REALM}", "carol-Passw0rd", "carol-old"
ROBOT = f"robot@{REALM}"
ENCTYPES = (
    "aes256-cts-hmac-sha1-96",
    "aes128-cts-hmac-sha1-96",
    "aes256-cts-hmac-sha384-192",
    "aes128-cts-hmac-sha256-128",
)

#: Shared by the child scripts: JSON lines on stdout, base64 tokens.
PRELUDE = """
import base64, json, sys, gssapi, gssapi.raw
MECHS = {"krb5": gssapi.MechType.kerberos, "spnego": gssapi.OID.from_int_seq("1.3.6.1.5.5.2")}
F = gssapi.RequirementFlag
FLAGS = [F.mutual_authentication, F.integrity, F.confidentiality, F.replay_detection,
         F.out_of_sequence_detection]
HTTP = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
def say(**kw):
    print(json.dumps(kw), flush=True)
def b64(data):
    return base64.b64encode(data).decode() if data else None
def unb64(text):
    return base64.b64decode(text) if text and text != "None" else None
def establish(init, acc):
    token = init.step()
    rounds = 0
    while not (init.complete and acc.complete):
        rounds += 1
        token = acc.step(token)
        if not init.complete:
            token = init.step(token)
    return rounds
def per_message(init, acc):
    out = {}
    for sealed in (True, False):
        w = init.wrap(b"from initiator", sealed)
        u = acc.unwrap(w.message)
        out[f"i2a_{sealed}"] = [u.message.decode(), w.encrypted, u.encrypted]
        w = acc.wrap(b"from acceptor", sealed)
        u = init.unwrap(w.message)
        out[f"a2i_{sealed}"] = [u.message.decode(), w.encrypted, u.encrypted]
    mic = init.get_signature(b"signed by initiator")
    acc.verify_signature(b"signed by initiator", mic)
    mic = acc.get_signature(b"signed by acceptor")
    init.verify_signature(b"signed by acceptor", mic)
    out["mic"] = True
    try:
        # the last octet flipped, never replaced: a checksum may end in any value
        token = init.wrap(b"x", True).message
        acc.unwrap(token[:-1] + bytes([token[-1] ^ 0x01]))
        out["tampered"] = "accepted"
    except gssapi.exceptions.GSSError as err:
        out["tampered"] = err.gen_message()
    return out
"""

#: MIT initiator against an acceptor in the test process: token out, reply in.
MIT_INITIATOR = (
    PRELUDE
    + """
ctx = gssapi.SecurityContext(name=HTTP, usage="initiate", mech=MECHS[sys.argv[1]], flags=FLAGS)
say(token=b64(ctx.step()))
reply = unb64(sys.stdin.readline().strip())
try:
    out = ctx.step(reply)
    say(complete=ctx.complete, more=b64(out), mutual=F.mutual_authentication in ctx.actual_flags,
        target=str(ctx.target_name))
except gssapi.exceptions.GSSError as err:
    say(error=err.gen_message())
"""
)

#: MIT initiator (credentials per argv[2]) and MIT acceptor (KRB5_KTNAME) in one process.
MIT_BOTH_ENDS = (
    PRELUDE
    + """
mech, how = MECHS[sys.argv[1]], sys.argv[2]
creds = None
try:
    if how == "password":
        name = gssapi.Name(sys.argv[3], gssapi.NameType.kerberos_principal)
        creds = gssapi.raw.acquire_cred_with_password(
            name, sys.stdin.readline().rstrip("\\n").encode(), usage="initiate").creds
    elif how == "client-keytab":
        name = gssapi.Name(sys.argv[3], gssapi.NameType.kerberos_principal)
        creds = gssapi.Credentials(name=name, usage="initiate")
except gssapi.exceptions.GSSError as err:
    say(error=err.gen_message())
    sys.exit(0)
init = gssapi.SecurityContext(name=HTTP, usage="initiate", mech=mech, flags=FLAGS, creds=creds)
acc = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
rounds = establish(init, acc)
say(rounds=rounds, initiator=str(acc.initiator_name), target=str(init.target_name),
    acceptor_mech=acc.mech.dotted_form, **per_message(init, acc))
"""
)

#: MIT acceptor for a token made in the test process: token in, reply out.
MIT_ACCEPTOR = (
    PRELUDE
    + """
acc = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
try:
    out = acc.step(unb64(sys.stdin.readline().strip()))
    say(complete=acc.complete, initiator=str(acc.initiator_name), token=b64(out),
        mech=acc.mech.dotted_form)
except gssapi.exceptions.GSSError as err:
    say(error=err.gen_message())
"""
)


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.node = HasNode(tmp / "has", REALM)
        self.node.init()
        self.node.start()
        self.node.hadmin("addprinc", "-pw", ALICE_PW, "alice")
        self.node.hadmin("addprinc", "-pw", CAROL_PW, CAROL_OLD)
        self.node.hadmin("renprinc", CAROL_OLD, "carol")
        self.node.hadmin("addprinc", "-randkey", "HTTP/localhost")
        self.node.hadmin("addprinc", "-randkey", "robot")
        self.http_keytab = tmp / "http.keytab"
        self.robot_keytab = tmp / "robot.keytab"
        self.node.hadmin("ktadd", "-k", str(self.http_keytab), "HTTP/localhost")
        self.node.hadmin("ktadd", "-k", str(self.robot_keytab), "robot")
        self._clients = 0

    def client(self, **libdefaults: str) -> MitClient:
        """A fresh MIT client (own ccache); the acceptor side reads the HTTP keytab."""
        self._clients += 1
        mit = self.node.mit_client(self.tmp / f"mit{self._clients}", libdefaults=libdefaults)
        mit.env["KRB5_KTNAME"] = f"FILE:{self.http_keytab}"
        return mit

    def acceptor(self) -> Acceptor:
        return Acceptor(Krb5Acceptor(KeytabKeys(self.http_keytab), services={HTTP}))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    s = Setup(tmp_path_factory.mktemp("gssapi"))
    try:
        yield s
    finally:
        s.node.stop()


def run_script(
    mit: MitClient, script: str, *args: str, input: str = "", extra_env: dict | None = None
) -> dict:
    env = {**os.environ, **mit.env, **(extra_env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        input=input,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout, f"exit {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout.splitlines()[-1])


# ------------------------------------------------ (a) MIT initiator, our acceptor


class MitInitiator:
    """A child process holding one MIT initiator context, token by token."""

    def __init__(self, mit: MitClient, mech: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MIT_INITIATOR, mech],
            env=dict(os.environ, **mit.env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def first_token(self) -> bytes:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        assert line, self.proc.stderr.read()  # type: ignore[union-attr]
        return base64.b64decode(json.loads(line)["token"])

    def finish(self, reply: bytes | None) -> dict:
        text = base64.b64encode(reply).decode() if reply else "None"
        out, err = self.proc.communicate(text + "\n", timeout=30)
        assert out, err
        return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize("mech", ["krb5", "spnego"])
def test_mit_initiator_our_acceptor_and_mutual_reply(setup: Setup, mech: str) -> None:
    mit = setup.client()
    mit.kinit("alice", ALICE_PW)
    initiator = MitInitiator(mit, mech)
    result = setup.acceptor().accept(initiator.first_token())
    assert result.complete and result.principal == ALICE
    assert result.spnego is (mech == "spnego")
    assert result.context is not None and result.context.mutual
    # MIT sends an initiator subkey, and our acceptor holds it as the context key
    assert result.context.initiator_subkey is not None
    if mech == "spnego":
        resp = decode_negotiation_token(result.output_token)
        assert isinstance(resp, NegTokenResp) and resp.neg_state == 0
    out = initiator.finish(result.output_token)
    assert (out["complete"], out["more"], out["mutual"]) == (True, None, True), out
    assert out["target"].startswith("HTTP/localhost@")  # MIT's name for the service


@pytest.mark.parametrize("mech", ["krb5", "spnego"])
def test_mit_initiator_refuses_a_tampered_mutual_reply(setup: Setup, mech: str) -> None:
    mit = setup.client()
    mit.kinit("alice", ALICE_PW)
    initiator = MitInitiator(mit, mech)
    result = setup.acceptor().accept(initiator.first_token())
    reply = bytearray(result.output_token)
    reply[-3] ^= 0x01  # inside the AP-REP's ciphertext, for both token forms
    out = initiator.finish(bytes(reply))
    assert "error" in out, out
    assert "integrity" in out["error"].lower() or "failed" in out["error"].lower(), out


# --------------------------------- (b) tickets from our KDC, MIT at both ends


@pytest.mark.parametrize("mech", ["krb5", "spnego"])
@pytest.mark.parametrize("session_enctype", ENCTYPES)
def test_mit_acceptor_takes_our_tickets_and_per_message_tokens_flow(
    setup: Setup, mech: str, session_enctype: str
) -> None:
    # the TGT's session key must be of a TGS enctype too, so both lists are the one
    mit = setup.client(default_tkt_enctypes=session_enctype, default_tgs_enctypes=session_enctype)
    mit.kinit("alice", ALICE_PW)
    out = run_script(mit, MIT_BOTH_ENDS, mech, "ccache")
    assert out["initiator"] == ALICE
    assert out["target"].startswith("HTTP/localhost@")
    assert out["acceptor_mech"] == "1.2.840.113554.1.2.2"  # Kerberos, bare or under SPNEGO
    for direction in ("i2a", "a2i"):
        text = "from initiator" if direction == "i2a" else "from acceptor"
        assert out[f"{direction}_True"] == [text, True, True]
        assert out[f"{direction}_False"] == [text, False, False]
    assert out["mic"] is True
    assert out["tampered"] != "accepted"
    # MIT asked our KDC for that session-key enctype, and got it
    klist = mit.klist("-e").stdout
    found = re.search(r"HTTP/localhost@\S*\s*\n\s*Etype \(skey, tkt\): ([\w-]+), ", klist)
    assert found is not None and found.group(1) == session_enctype, klist


@pytest.mark.parametrize("spnego", [True, False], ids=["spnego", "krb5"])
def test_our_initiator_is_accepted_by_mit(setup: Setup, spnego: bool) -> None:
    mit = setup.client()
    transport = KdcTransport([setup.node.kdc_address()])
    init = negotiate_with_keytab(KdcClient(transport, REALM), ROBOT, setup.robot_keytab, HTTP)
    init.spnego = spnego
    token = base64.b64encode(init.initial_token()).decode()
    out = run_script(mit, MIT_ACCEPTOR, input=token + "\n")
    assert out["complete"] is True and out["initiator"] == ROBOT, out
    assert out["mech"] == "1.2.840.113554.1.2.2"  # Kerberos, under SPNEGO or not
    init.process_reply(base64.b64decode(out["token"]))
    assert init.established


# ------------------------------------------ (c) MIT's AS exchange with our KDC


def test_acquire_cred_with_password(setup: Setup) -> None:
    mit = setup.client()
    out = run_script(mit, MIT_BOTH_ENDS, "krb5", "password", ALICE, input=ALICE_PW + "\n")
    assert out["initiator"] == ALICE and out["i2a_True"][0] == "from initiator"
    assert not mit.ccache.exists()  # the credentials stayed in memory
    out = run_script(mit, MIT_BOTH_ENDS, "krb5", "password", ALICE, input="wrong\n")
    assert "Preauthentication failed" in out["error"], out
    out = run_script(mit, MIT_BOTH_ENDS, "krb5", "password", f"nobody@{REALM}", input="x\n")
    assert "not found in Kerberos database" in out["error"], out


def ktutil_keytab(mit: MitClient, path: Path) -> None:
    """carol's keys written by MIT ktutil from her password; ``-f`` asks our KDC for
    the salt (her keys keep the salt of her old name, so the default would be wrong)."""
    commands = []
    for enctype in ENCTYPES:
        commands += [f"addent -password -p {CAROL} -k 1 -e {enctype} -f", CAROL_PW]
    mit.ktutil([*commands, f"wkt {path}"])


def test_ktutil_keytab_with_kinit_and_as_gssapi_client_keytab(setup: Setup) -> None:
    mit = setup.client()
    keytab = setup.tmp / "carol-ktutil.keytab"
    ktutil_keytab(mit, keytab)
    listed = mit.run("klist", "-k", "-e", "-K", str(keytab)).stdout
    assert listed.count(CAROL) == len(ENCTYPES)

    mit.kinit_keytab(CAROL, keytab)
    assert f"Default principal: {CAROL}" in mit.klist().stdout
    mit.run("kdestroy")

    # gssapi with no ccache: MIT gets carol's TGT from the client keytab by itself
    fresh = setup.client()
    client_kt = {"KRB5_CLIENT_KTNAME": f"FILE:{keytab}"}
    out = run_script(fresh, MIT_BOTH_ENDS, "spnego", "client-keytab", CAROL, extra_env=client_kt)
    assert out["initiator"] == CAROL and out["a2i_True"][0] == "from acceptor", out

    # The default salt (what ktutil writes without -f) gives keys our KDC refuses.
    wrong = setup.tmp / "carol-default-salt.keytab"
    mit.ktutil([f"addent -password -p {CAROL} -k 1 -e {ENCTYPES[0]}", CAROL_PW, f"wkt {wrong}"])
    failed = mit.kinit_keytab(CAROL, wrong, check=False)
    assert "Preauthentication failed" in failed.stderr, failed.stderr


def test_our_acceptor_refuses_a_ticket_for_another_service(setup: Setup) -> None:
    """The acceptor the (a) tests use is not a pushover: a ticket MIT got for robot
    (not HTTP/localhost) is refused, so acceptance above was of the right ticket."""
    mit = setup.client()
    mit.kinit("alice", ALICE_PW)
    script = PRELUDE + (
        "name = gssapi.Name(sys.argv[1], gssapi.NameType.kerberos_principal)\n"
        "ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=MECHS['krb5'])\n"
        "say(token=b64(ctx.step()))\n"
    )
    out = run_script(mit, script, ROBOT)
    with pytest.raises(GssError, match=re.escape(f"this service accepts {HTTP}")):
        setup.acceptor().accept(base64.b64decode(out["token"]))
