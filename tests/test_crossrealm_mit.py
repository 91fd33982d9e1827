"""Cross-realm trust between a has-kdc realm and a real MIT krb5kdc realm.

HADOOP.COM is a has-server node (127.0.0.1), MIT.TEST an MIT krb5kdc (127.0.0.2).
The trust principals are made on each side by its own admin tool with the same
password, as operators of two realms do (``hadmin-local addprinc -e ... -pw`` here,
``kadmin.local addprinc -e ... -pw`` there), and the MIT client tools cross the trust
in both directions. Where a request is refused, MIT's KDC is asked the mirror
request and must refuse it the same way.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from has_kdc.asn1.constants import KDCOptions, TicketFlags, error_name
from has_kdc.client.kdc_client import Credentials, KdcClient, KdcReplyError
from has_kdc.formats import read_keytab
from tests.hacluster import eventually
from tests.hasnode import HasNode
from tests.mitkrb import MitClient, MitRealm

pytestmark = pytest.mark.mit

HAS_REALM = "HADOOP.COM"
MIT_REALM = "MIT.TEST"
TRUST_PW = "trust-Shared-Secret-7"
TRUST_ENCTYPES = "aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal"
HAS_SERVICE = "HTTP/svc.hadoop.com@HADOOP.COM"
MIT_SERVICE = "host/service.mit.test@MIT.TEST"
INCOMING = f"krbtgt/{HAS_REALM}@{MIT_REALM}"  # MIT.TEST users reach HADOOP.COM services
OUTGOING = f"krbtgt/{MIT_REALM}@{HAS_REALM}"  # HADOOP.COM users reach MIT.TEST services


@dataclass
class Realms:
    has: HasNode
    mit: MitRealm
    tmp: Path

    def client(self, name: str, default_realm: str) -> MitClient:
        """MIT client tools that know both realms' KDCs."""
        client = MitClient(self.tmp / name, default_realm, [])
        client.krb5_conf.write_text(
            "\n".join(
                [
                    "[libdefaults]",
                    f"    default_realm = {default_realm}",
                    "    dns_lookup_kdc = false",
                    "    dns_lookup_realm = false",
                    "    rdns = false",
                    "    dns_canonicalize_hostname = false",
                    "[realms]",
                    f"    {HAS_REALM} = {{",
                    f"        kdc = {self.has.kdc_address()}",
                    "    }",
                    f"    {MIT_REALM} = {{",
                    f"        kdc = {self.mit.host}:{self.mit.port}",
                    "    }",
                    "",
                ]
            )
        )
        return client

    def trust(self, name: str) -> None:
        """``name`` with the shared password in both realms' databases."""
        self.has.hadmin("addprinc", "-e", TRUST_ENCTYPES, "-pw", TRUST_PW, name)
        self.mit.kadmin(f"addprinc -e {TRUST_ENCTYPES} -pw {TRUST_PW} {name}")


@pytest.fixture
def realms(tmp_path: Path) -> Iterator[Realms]:
    mit = MitRealm(tmp_path / "mit", MIT_REALM, host="127.0.0.2")
    mit.create()
    mit.addprinc("user", "user-pw")
    mit.addprinc(MIT_SERVICE)
    has = HasNode(tmp_path / "has", HAS_REALM)
    has.init()
    has.hadmin("addprinc", "-pw", "alice-pw", "alice")
    has.hadmin("addprinc", "-randkey", HAS_SERVICE)
    mit.start()
    has.start()
    try:
        yield Realms(has, mit, tmp_path)
    finally:
        has.stop()
        mit.stop()


def _keys(keytab: Path, name: str) -> set[tuple[int, int, bytes]]:
    return {
        (e.kvno, e.enctype, e.key)
        for e in read_keytab(keytab).entries
        if "/".join(e.principal.components) + "@" + e.principal.realm == name
    }


def test_trust_principals_get_the_keys_mit_kadmin_derives(realms: Realms, tmp_path: Path) -> None:
    for name in (INCOMING, OUTGOING):
        realms.trust(name)
        realms.has.hadmin("ktadd", "-k", str(tmp_path / "has.kt"), "-norandkey", name)
        realms.mit.ktadd(tmp_path / "mit.kt", name)
        ours, theirs = _keys(tmp_path / "has.kt", name), _keys(tmp_path / "mit.kt", name)
        assert {(kvno, etype) for kvno, etype, _ in ours} == {(1, 18), (1, 17)}
        assert ours == theirs


def test_mit_user_gets_a_has_service_ticket_across_the_trust(
    realms: Realms, tmp_path: Path
) -> None:
    realms.trust(INCOMING)
    client = realms.client("mit-user", MIT_REALM)
    client.kinit("user@MIT.TEST", "user-pw")
    realms.has.hadmin("ktadd", "-k", str(tmp_path / "svc.kt"), "-norandkey", HAS_SERVICE)
    # -k: kvno decrypts the ticket with the service's keytab, as the service would
    out = client.kvno("-k", str(tmp_path / "svc.kt"), HAS_SERVICE).stdout
    assert f"{HAS_SERVICE}: kvno = 1, keytab entry valid" in out
    listed = client.klist("-f").stdout
    assert INCOMING in listed and HAS_SERVICE in listed
    # the service ticket's flags: T (transit policy checked) set by has-kdc
    service_flags = listed.split(HAS_SERVICE, 1)[1].split("Flags:", 1)[1].split("\n", 1)[0]
    assert "T" in service_flags

    def logged() -> None:  # request lines are written in batches (has_kdc.logbuffer)
        assert f"user@MIT.TEST for {HAS_SERVICE}" in realms.has.log_text()

    eventually(logged)


def test_has_user_gets_an_mit_service_ticket_across_the_trust(realms: Realms) -> None:
    realms.trust(OUTGOING)
    client = realms.client("has-user", HAS_REALM)
    client.kinit("alice@HADOOP.COM", "alice-pw")
    out = client.kvno(MIT_SERVICE).stdout
    assert f"{MIT_SERVICE}: kvno = 1" in out
    listed = client.klist("-f").stdout
    assert OUTGOING in listed
    # MIT accepted has-kdc's referral TGT and marked its ticket transit-checked too
    service_flags = listed.split(MIT_SERVICE, 1)[1].split("Flags:", 1)[1].split("\n", 1)[0]
    assert "T" in service_flags
    mit_log = (realms.mit.tmp / "krb5kdc.log").read_text()
    assert "ISSUE: authtime" in mit_log and f"alice@HADOOP.COM for {MIT_SERVICE}" in mit_log


def test_one_way_trust_is_refused_in_the_untrusted_direction_as_mit_refuses(
    realms: Realms,
) -> None:
    """Only MIT.TEST -> HADOOP.COM is trusted: HADOOP.COM users get nothing from MIT.TEST.

    The mirror case is asked of MIT: with only HADOOP.COM -> MIT.TEST trusted, MIT's
    KDC refuses its own user a TGT for HADOOP.COM. Both answer KDC_ERR_S_PRINCIPAL_UNKNOWN
    for the missing cross-realm TGS, which kvno reports the same way.
    """
    realms.trust(INCOMING)
    has_user = realms.client("has-user", HAS_REALM)
    has_user.kinit("alice@HADOOP.COM", "alice-pw")
    ours = has_user.kvno(MIT_SERVICE, check=False)
    assert ours.returncode == 1
    assert f"Server krbtgt/{MIT_REALM}@{HAS_REALM} not found in Kerberos database" in ours.stderr

    realms.mit.kadmin(f"delprinc -force {INCOMING}")
    realms.mit.kadmin(f"addprinc -e {TRUST_ENCTYPES} -pw {TRUST_PW} {OUTGOING}")
    mit_user = realms.client("mit-user", MIT_REALM)
    mit_user.kinit("user@MIT.TEST", "user-pw")
    theirs = mit_user.kvno(HAS_SERVICE, check=False)
    assert theirs.returncode == ours.returncode
    assert _generic(theirs.stderr, MIT_REALM, HAS_REALM, HAS_SERVICE) == _generic(
        ours.stderr, HAS_REALM, MIT_REALM, MIT_SERVICE
    )
    assert "Server krbtgt/OTHER@HOME not found in Kerberos database" in _generic(
        ours.stderr, HAS_REALM, MIT_REALM, MIT_SERVICE
    )


def _generic(text: str, home: str, other: str, service: str) -> str:
    """A client's message with its realm, the other realm and the service named alike."""
    return text.replace(service, "SERVICE").replace(home, "HOME").replace(other, "OTHER")


def test_exported_krb5_conf_takes_clients_across_the_trust(realms: Realms, tmp_path: Path) -> None:
    """kdc.conf declares the trusted realm; ``kdcinit getkrb5`` and ``getcoresite`` export
    it; MIT's tools use that krb5.conf alone, in both directions."""
    realms.trust(INCOMING)
    realms.trust(OUTGOING)
    kdc_conf = realms.has.conf_dir / "kdc.conf"
    kdc_conf.write_text(
        kdc_conf.read_text()
        + f"[realms]\n  {MIT_REALM} = {{\n    kdc = {realms.mit.host}:{realms.mit.port}\n  }}\n"
        + "[domain_realm]\n  .mit.test = MIT.TEST\n  .hadoop.com = HADOOP.COM\n"
    )
    exports = tmp_path / "exports"
    realms.has.kdcinit("getkrb5", "-p", str(exports))
    realms.has.kdcinit("getcoresite", "-p", str(exports))
    assert "RULE:[1:$1@$0](.*@MIT\\.TEST)s/@.*//" in (exports / "core-site-has.xml").read_text()
    for user, pw, service in (
        ("user@MIT.TEST", "user-pw", HAS_SERVICE),
        ("alice@HADOOP.COM", "alice-pw", MIT_SERVICE),
    ):
        client = MitClient(tmp_path / user, HAS_REALM, [])
        client.krb5_conf.write_text((exports / "krb5.conf").read_text())
        client.kinit(user, pw)
        assert f"{service}: kvno = 1" in client.kvno(service).stdout


def test_kdc_host_referral_by_domain_realm_as_mit_gives_it(realms: Realms) -> None:
    """The client knows no realm for the host (``kvno -S``: a host-based name in the
    referral realm); its own KDC maps the host by [domain_realm] and refers it to the
    trusted realm. MIT's KDC does it for its user, has-kdc for ours."""
    realms.trust(INCOMING)
    realms.trust(OUTGOING)
    kdc_conf = realms.has.conf_dir / "kdc.conf"
    kdc_conf.write_text(kdc_conf.read_text() + "[domain_realm]\n  .mit.test = MIT.TEST\n")
    realms.has.stop()
    realms.has.start()
    realms.mit.stop()
    realms.mit.kdc_conf.write_text(
        realms.mit.kdc_conf.read_text() + "[domain_realm]\n  .hadoop.com = HADOOP.COM\n"
    )
    realms.mit.start()
    for user, pw, home, service in (
        ("user@MIT.TEST", "user-pw", MIT_REALM, HAS_SERVICE),
        ("alice@HADOOP.COM", "alice-pw", HAS_REALM, MIT_SERVICE),
    ):
        client = realms.client(user, home)
        client.kinit(user, pw)
        kind, host = service.split("@")[0].split("/")
        out = client.kvno("-S", kind, host).stdout
        # kvno names it in the referral (empty) realm it asked for
        assert f"{kind}/{host}@: kvno = 1" in out, (user, out)
        # the ticket is the other realm's service's, reached through the referral TGT
        assert f"Ticket server: {service}" in client.klist().stdout


#: python-gssapi (MIT libgssapi_krb5) both ends of one context: the initiator from the
#: ccache, the acceptor from KRB5_KTNAME; prints who the acceptor saw and a wrapped message.
GSS_SCRIPT = """
import sys, gssapi
name = gssapi.Name(sys.argv[1], gssapi.NameType.kerberos_principal)
flags = gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.integrity
init = gssapi.SecurityContext(name=name, usage="initiate", mech=gssapi.MechType.kerberos,
                              flags=flags)
acc = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
token = init.step()
while not acc.complete:
    reply = acc.step(token)
    if reply:
        token = init.step(reply)
assert init.complete
print(acc.initiator_name)
print(acc.unwrap(init.wrap(b"across the trust", True).message).message.decode())
"""


@pytest.mark.parametrize("direction", ["mit-user-to-has-service", "has-user-to-mit-service"])
def test_python_gssapi_context_across_the_trust(
    realms: Realms, tmp_path: Path, direction: str
) -> None:
    if direction == "mit-user-to-has-service":
        realms.trust(INCOMING)
        client = realms.client("gss", MIT_REALM)
        client.kinit("user@MIT.TEST", "user-pw")
        user, service = "user@MIT.TEST", HAS_SERVICE
        realms.has.hadmin("ktadd", "-k", str(tmp_path / "svc.kt"), "-norandkey", service)
    else:
        realms.trust(OUTGOING)
        client = realms.client("gss", HAS_REALM)
        client.kinit("alice@HADOOP.COM", "alice-pw")
        user, service = "alice@HADOOP.COM", MIT_SERVICE
        realms.mit.ktadd(tmp_path / "svc.kt", service)
    proc = subprocess.run(
        [sys.executable, "-c", GSS_SCRIPT, service],
        env=dict(client.env, KRB5_KTNAME=f"FILE:{tmp_path / 'svc.kt'}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [user, "across the trust"]


@pytest.mark.parametrize("direction", ["mit-user-to-has-service", "has-user-to-mit-service"])
def test_jdk_login_and_jgss_context_across_the_trust(
    realms: Realms, tmp_path: Path, direction: str
) -> None:
    """Hadoop's way in: JAAS Krb5LoginModule logs the user in at its own realm's KDC,
    JGSS crosses the trust for the service (tests/data/jdk/JgssCheck.java)."""
    if direction == "mit-user-to-has-service":
        realms.trust(INCOMING)
        user, pw, service = "user@MIT.TEST", "user-pw", HAS_SERVICE
        realms.has.hadmin("ktadd", "-k", str(tmp_path / "svc.kt"), "-norandkey", service)
    else:
        realms.trust(OUTGOING)
        user, pw, service = "alice@HADOOP.COM", "alice-pw", MIT_SERVICE
        realms.mit.ktadd(tmp_path / "svc.kt", service)
    classes = tmp_path / "classes"
    source = Path(__file__).parent / "data" / "jdk" / "JgssCheck.java"
    subprocess.run(["javac", "-d", str(classes), str(source)], check=True, timeout=300)
    conf = realms.client("jdk", user.split("@")[1]).krb5_conf
    proc = subprocess.run(
        [
            "java",
            f"-Djava.security.krb5.conf={conf}",
            "-cp",
            str(classes),
            "JgssCheck",
            user,
            "-password",
            service,
            str(tmp_path / "svc.kt"),
        ],
        input=pw + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    realm = user.split("@")[1]
    assert lines[0] == f"login {user} tgt krbtgt/{realm}@{realm} etype 18"
    assert lines[2] == f"context {user} -> {service}"
    assert lines[-1] == "OK 18"


# -- the same requests to both KDCs, answers compared ---------------------------------


def _udp(host: str, port: int) -> Callable[[bytes], bytes]:
    def send(data: bytes) -> bytes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(data, (host, port))
            return s.recv(65536)

    return send


def _answer(ask: Callable[[], Credentials]) -> str:
    """What a KDC said: the ticket's server and transit flag, or the error code's name."""
    try:
        creds = ask()
    except KdcReplyError as err:
        return error_name(err.code)
    checked = " T" if creds.flags & TicketFlags.TRANSITED_POLICY_CHECKED else ""
    if creds.sname.components[0] != "krbtgt":
        return "service ticket" + checked
    realm = creds.sname.components[1]
    return "krbtgt/" + ("OTHER" if realm in (MIT_REALM, HAS_REALM) else realm) + checked


def _side(home: KdcClient, other: KdcClient, user: str, pw: str, home_svc: str, other_svc: str):
    """The cross-realm cases from one realm's side; realm names left out of the answers."""
    other_realm = other.realm
    disable = KDCOptions.FORWARDABLE | KDCOptions.DISABLE_TRANSITED_CHECK
    tgt = home.get_tgt(user, pw)
    cross = home.get_service_ticket(tgt, f"krbtgt/{other_realm}@{home.realm}")
    return {
        "home KDC: TGT for the trusted realm": _answer(lambda: cross),
        "home KDC: TGT for a realm with no trust": _answer(
            lambda: home.get_service_ticket(tgt, f"krbtgt/NOWHERE.ORG@{home.realm}")
        ),
        "home KDC: its own cross-realm TGT used at home": _answer(
            lambda: home.get_service_ticket(cross, home_svc)
        ),
        "home KDC: DISABLE-TRANSITED-CHECK, local service": _answer(
            lambda: home.get_service_ticket(tgt, home_svc, options=disable)
        ),
        "trusted KDC: service ticket from the cross-realm TGT": _answer(
            lambda: other.get_service_ticket(cross, other_svc)
        ),
        "trusted KDC: same with DISABLE-TRANSITED-CHECK": _answer(
            lambda: other.get_service_ticket(cross, other_svc, options=disable)
        ),
    }


def test_cross_realm_answers_match_mit_request_for_request(realms: Realms) -> None:
    """Both trusts; each realm's user runs the same cases from its own side. MIT's
    answers from the MIT side and has-kdc's from the has side must be the same."""
    realms.trust(INCOMING)
    realms.trust(OUTGOING)
    mit = KdcClient(_udp(realms.mit.host, realms.mit.port), MIT_REALM)
    has = KdcClient(_udp(realms.has.host, realms.has.port), HAS_REALM)
    from_mit = _side(mit, has, "user", "user-pw", MIT_SERVICE, HAS_SERVICE)
    from_has = _side(has, mit, "alice", "alice-pw", HAS_SERVICE, MIT_SERVICE)
    home_cases = [case for case in from_mit if case.startswith("home")]
    # MIT's KDC answering as home == has-kdc answering as home
    assert {c: from_mit[c] for c in home_cases} == {c: from_has[c] for c in home_cases}
    # has-kdc accepting MIT's cross-realm TGT == MIT accepting has-kdc's
    trusted = [case for case in from_mit if case.startswith("trusted")]
    assert {c: from_mit[c] for c in trusted} == {c: from_has[c] for c in trusted}
    assert from_mit["home KDC: TGT for the trusted realm"] == "krbtgt/OTHER T"
    assert from_mit["trusted KDC: service ticket from the cross-realm TGT"].endswith(" T")
    for case in from_mit:
        print(f"{case:58} MIT: {from_mit[case]:28} has-kdc: {from_has[case]}")


# -- three realms: a path through an intermediate realm -------------------------------


def test_transit_through_an_intermediate_realm_is_checked_as_mit_checks_it(
    tmp_path: Path,
) -> None:
    """t_crossrealm.py's "transited error" with has-kdc as the last realm, beside an MIT
    realm in the same place: MIT.TEST -> MID.ORG -> {HADOOP.COM, MITC.COM}.

    The last KDC sees MID.ORG in the transited field; without a [capaths] entry naming
    it both refuse ("KDC policy rejects request"), with one both issue the ticket.
    """
    first = MitRealm(tmp_path / "first", MIT_REALM, host="127.0.0.2")
    middle = MitRealm(tmp_path / "middle", "MID.ORG", host="127.0.0.3")
    mit_last = MitRealm(tmp_path / "last", "MITC.COM", host="127.0.0.4")
    has = HasNode(tmp_path / "has", HAS_REALM)
    pairs = (
        ("krbtgt/MID.ORG@MIT.TEST", first, middle),
        ("krbtgt/HADOOP.COM@MID.ORG", middle, None),  # None: has-kdc
        ("krbtgt/MITC.COM@MID.ORG", middle, mit_last),
    )
    for realm in (first, middle, mit_last):
        realm.create()
    first.addprinc("user", "user-pw")
    mit_last.addprinc("host/svc.mitc.com")
    has.init()
    has.hadmin("addprinc", "-randkey", HAS_SERVICE)
    for name, one, other in pairs:
        for realm in (one, other):
            if realm is None:
                has.hadmin("addprinc", "-e", TRUST_ENCTYPES, "-pw", TRUST_PW, name)
            else:
                realm.kadmin(f"addprinc -e {TRUST_ENCTYPES} -pw {TRUST_PW} {name}")
    capaths = "[capaths]\n  MIT.TEST = {\n    HADOOP.COM = MID.ORG\n    MITC.COM = MID.ORG\n  }\n"
    client = MitClient(tmp_path / "client", MIT_REALM, [])
    realms_text = (
        "".join(
            f"    {r.realm} = {{\n        kdc = {r.host}:{r.port}\n    }}\n"
            for r in (first, middle, mit_last)
        )
        + f"    {HAS_REALM} = {{\n        kdc = {has.kdc_address()}\n    }}\n"
    )
    client.krb5_conf.write_text(
        f"[libdefaults]\n    default_realm = {MIT_REALM}\n    dns_lookup_kdc = false\n"
        f"    rdns = false\n[realms]\n{realms_text}{capaths}"
    )
    services = {"MIT": "host/svc.mitc.com@MITC.COM", "has-kdc": HAS_SERVICE}
    try:
        for realm in (first, middle, mit_last):
            realm.start()
        has.start()
        client.kinit("user@MIT.TEST", "user-pw")
        refused = {who: client.kvno(svc, check=False) for who, svc in services.items()}
        for who, proc in refused.items():
            assert proc.returncode == 1, who
            assert "KDC policy rejects request" in proc.stderr, (who, proc.stderr)

        # the last realms learn the path through MID.ORG
        has.stop()
        kdc_conf = has.conf_dir / "kdc.conf"
        kdc_conf.write_text(kdc_conf.read_text() + capaths)
        has.start()
        mit_last.stop()
        mit_last.kdc_conf.write_text(mit_last.kdc_conf.read_text() + capaths)
        mit_last.start()
        for who, svc in services.items():
            assert f"{svc}: kvno = 1" in client.kvno(svc).stdout, who
    finally:
        has.stop()
        for realm in (first, middle, mit_last):
            realm.stop()
