"""End to end: the MIT client tools against a real ``has-server`` process on loopback.

Where tests/test_kdc_mit_interop.py drives the ``Kdc`` handler through an in-test
loop, this module goes through everything an operator runs: ``kdcinit init``,
``hadmin-local``, ``has-server --daemon`` (its own UDP and TCP listeners, its worker,
its principal cache), and MIT ``kinit``/``klist``/``kvno`` with a private krb5.conf.

In the style of MIT's own KDC tests (src/tests/t_*.py with k5test): what the tools
print is asserted exactly — the whole stderr line of a refused ``kinit``, the flag
letters and enctypes ``klist`` shows, the lines of ``KRB5_TRACE`` in their order —
because that text is what users and the scripts around Hadoop see. Expected texts
were taken from MIT krb5 1.20 tools talking to MIT ``krb5kdc``.

One node serves the whole module (starting one takes about a second); every test
makes its own principals, named after the test, so tests do not depend on each
other or on their order. After every test the server must still be running.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from has_kdc.asn1.codec import decode_enc_ticket_part, decode_krb_error, decode_method_data, encode
from has_kdc.asn1.constants import (
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_PREAUTH_REQUIRED,
    KRB_AP_ERR_SKEW,
    KRB_ERR_FIELD_TOOLONG,
    KU_PA_ENC_TIMESTAMP,
    KU_TICKET,
    PA_ENC_TIMESTAMP,
    PA_ETYPE_INFO2,
    PA_FX_COOKIE,
    PA_FX_FAST,
    KDCOptions,
    TicketFlags,
)
from has_kdc.asn1.messages import EncryptedData, EncryptionKey, PAData
from has_kdc.client.kdc_client import (
    KdcClient,
    KdcReplyError,
    build_as_req,
    error_etype_info2,
    pa_enc_timestamp,
    principal_name,
    string_to_key,
)
from has_kdc.crypto import enctype_by_id
from has_kdc.formats.keytab import read_keytab
from has_kdc.net.framing import encode_record
from has_kdc.principal import default_salt
from tests.hasnode import HasNode
from tests.mitkrb import MitClient, free_port

pytestmark = pytest.mark.mit

REALM = "HADOOP.COM"
TGT = f"krbtgt/{REALM}@{REALM}"
#: The realm limits of the module's node, set apart from MIT's defaults (24 h, 7 d)
#: so a capped lifetime proves kdc.conf was read.
MAX_LIFE = timedelta(hours=10)
MAX_RENEWABLE_LIFE = timedelta(days=3)
#: enctype number -> (krb5.conf short name, the name klist prints)
ENCTYPES = {
    18: ("aes256-cts", "aes256-cts-hmac-sha1-96"),
    17: ("aes128-cts", "aes128-cts-hmac-sha1-96"),
    20: ("aes256-sha2", "aes256-cts-hmac-sha384-192"),
    19: ("aes128-sha2", "aes128-cts-hmac-sha256-128"),
}
#: The krbtgt key that encrypts every TGT: the realm's first supported enctype,
#: as MIT's krb5kdc with the same supported_enctypes picks it.
TGT_ENCTYPE = "aes256-cts-hmac-sha1-96"


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HasNode]:
    """One initialized has-server for the module, on a free port of 127.0.0.1."""
    has = HasNode(
        tmp_path_factory.mktemp("e2e-has"),
        REALM,
        kdc_extra={"max_life": "10h", "max_renewable_life": "3d"},
    )
    has.init()
    has.start()
    try:
        yield has
    finally:
        has.stop()


@pytest.fixture(autouse=True)
def server_survives(node: HasNode) -> Iterator[None]:
    """Whatever a test sent, the has-server process must still be there afterwards."""
    pid = node.pid
    assert pid is not None
    yield
    assert _alive(pid), f"has-server (pid {pid}) died during the test; see {node.log_file}"


@pytest.fixture
def client(node: HasNode, tmp_path: Path) -> MitClient:
    """MIT tools with their own krb5.conf and ccache, pointed at the node."""
    return node.mit_client(tmp_path / "client")


_serial = itertools.count(1)


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``names("user")``: a principal name no other test uses (from the test's name)."""
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")

    def make(role: str) -> str:
        return f"{role}-{test[:40]}-{next(_serial)}"

    return make


@dataclass(frozen=True)
class User:
    name: str
    password: str

    @property
    def principal(self) -> str:
        return f"{self.name}@{REALM}"


def add_user(node: HasNode, name: str, *options: str) -> User:
    user = User(name, f"pw-{secrets.token_hex(6)}")
    node.hadmin("addprinc", "-pw", user.password, *options, name)
    return user


def add_service(node: HasNode, name: str, keytab: Path) -> Path:
    """A random-key service principal and a keytab for it from ``hadmin-local ktadd``."""
    node.hadmin("addprinc", "-randkey", name)
    node.hadmin("ktadd", "-k", str(keytab), name)
    return keytab


@pytest.fixture
def user(node: HasNode, names: Callable[[str], str]) -> User:
    return add_user(node, names("user"))


# ------------------------------------------------------------------------- helpers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kdcs(node: HasNode) -> list[str]:
    return [node.kdc_address()]


def fails_with(proc: subprocess.CompletedProcess[str], stderr: str) -> None:
    """The tool failed (exit 1) and printed exactly ``stderr`` (one line)."""
    assert (proc.returncode, proc.stderr) == (1, stderr + "\n"), proc.stdout


_TRACE_PREFIX = re.compile(r"^\[\d+\] \d+\.\d+: ")


def traced(
    client: MitClient, *argv: str, input: str | None = None, check: bool = True
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run an MIT tool with KRB5_TRACE pointed at a file; its lines, minus "[pid] time: "."""
    trace = client.tmp / f"trace-{next(_serial)}.log"
    proc = client.run(*argv, input=input, check=check, env={"KRB5_TRACE": str(trace)})
    lines = [_TRACE_PREFIX.sub("", line) for line in trace.read_text().splitlines()]
    return proc, lines


def expect_trace(lines: Sequence[str], expected: Sequence[str]) -> None:
    """Each expected text is in a trace line after the previous one's (k5test's
    ``expected_trace``)."""
    position = 0
    for text in expected:
        for index in range(position, len(lines)):
            if text in lines[index]:
                position = index + 1
                break
        else:
            raise AssertionError(
                f"trace has no {text!r} after line {position}:\n" + "\n".join(lines)
            )


@dataclass(frozen=True)
class Ticket:
    """One ticket as ``klist -f -e`` lists it."""

    start: datetime
    end: datetime
    service: str
    renew_until: datetime | None
    flags: str
    skey: str | None
    tkt: str | None

    @property
    def lifetime(self) -> timedelta:
        return self.end - self.start


_WHEN = r"(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)"
_TICKET_LINE = re.compile(rf"^{_WHEN}  {_WHEN}  (\S+)$")


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%y %H:%M:%S")


def klist_tickets(client: MitClient) -> tuple[str, list[Ticket]]:
    """The default principal and the tickets of the client's ccache (klist -f -e)."""
    out = client.klist("-f", "-e").stdout
    lines = out.splitlines()
    assert lines[0] == f"Ticket cache: FILE:{client.ccache}"
    assert lines[1].startswith("Default principal: ")
    assert lines[3] == "Valid starting     Expires            Service principal"
    tickets: list[Ticket] = []
    index = 4
    while index < len(lines):
        match = _TICKET_LINE.match(lines[index])
        index += 1
        if not match:
            continue
        extra = []
        while index < len(lines) and lines[index].startswith("\t"):
            extra.append(lines[index])
            index += 1
        details = " ".join(extra)
        renew = re.search(rf"renew until {_WHEN}", details)
        flags = re.search(r"Flags: (\w+)", details)
        etypes = re.search(r"Etype \(skey, tkt\): ([\w-]+), ([\w-]+)", details)
        tickets.append(
            Ticket(
                start=_when(match[1]),
                end=_when(match[2]),
                service=match[3],
                renew_until=_when(renew[1]) if renew else None,
                flags=flags[1] if flags else "",
                skey=etypes[1] if etypes else None,
                tkt=etypes[2] if etypes else None,
            )
        )
    return lines[1].removeprefix("Default principal: "), tickets


def only_tgt(client: MitClient, principal: str) -> Ticket:
    """The ccache belongs to ``principal`` and holds exactly one ticket, its TGT."""
    default, tickets = klist_tickets(client)
    assert default == principal
    assert [t.service for t in tickets] == [TGT]
    return tickets[0]


def udp_exchange(node: HasNode, request: bytes, timeout: float = 5) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        udp.sendto(request, (node.host, node.port))
        reply, _ = udp.recvfrom(65536)
    return reply


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def tcp_exchange(node: HasNode, request: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection((node.host, node.port), timeout=timeout) as tcp:
        tcp.sendall(encode_record(request))
        length = int.from_bytes(_recv_exact(tcp, 4), "big")
        return _recv_exact(tcp, length)


# ------------------------------------------------------- kinit with a password, enctypes


@pytest.mark.parametrize("etype", sorted(ENCTYPES), ids=lambda e: ENCTYPES[e][0])
def test_kinit_with_one_enctype_allowed(node, client, user, etype) -> None:
    """A client that knows one enctype gets its reply key and session key in it."""
    short, long_name = ENCTYPES[etype]
    client.write_conf(
        kdcs(node),
        libdefaults={
            "permitted_enctypes": short,
            "default_tkt_enctypes": short,
            "default_tgs_enctypes": short,
        },
    )
    proc, trace = traced(client, "kinit", user.name, input=user.password + "\n")
    assert proc.stdout == f"Password for {user.principal}: \n"
    assert proc.stderr == ""
    expect_trace(
        trace,
        [
            f"Getting initial credentials for {user.principal}",
            "Received error from KDC: -1765328359/Additional pre-authentication required",
            "Processing preauth types: PA-FX-FAST (136), PA-ETYPE-INFO2 (19), "
            "PA-ENC-TIMESTAMP (2), PA-FX-COOKIE (133)",
            f'Selected etype info: etype {short}, salt "{REALM}{user.name}"',
            f"AS key obtained for encrypted timestamp: {short}/",
            f"AS key determined by preauth: {short}/",
            f"Decrypted AS reply; session key is: {short}/",
            "FAST negotiation: available",  # RFC 6806 §11, as with MIT's KDC
        ],
    )
    tgt = only_tgt(client, user.principal)
    assert (tgt.skey, tgt.tkt) == (long_name, TGT_ENCTYPE)


def test_kinit_with_all_enctypes_strongest_first(node, client, user) -> None:
    """All four allowed, strongest first: the KDC takes the client's first choice."""
    order = "aes256-sha2 aes128-sha2 aes256-cts aes128-cts"
    client.write_conf(
        kdcs(node),
        libdefaults={
            "permitted_enctypes": order,
            "default_tkt_enctypes": order,
            "default_tgs_enctypes": order,
        },
    )
    _, trace = traced(client, "kinit", user.name, input=user.password + "\n")
    expect_trace(
        trace,
        [
            "Processing preauth types: PA-FX-FAST (136), PA-ETYPE-INFO2 (19), "
            "PA-ENC-TIMESTAMP (2), PA-FX-COOKIE (133)",
            f'Selected etype info: etype aes256-sha2, salt "{REALM}{user.name}", '
            'params "\\x00\\x00\\x80\\x00"',
            "Decrypted AS reply; session key is: aes256-sha2/",
        ],
    )
    tgt = only_tgt(client, user.principal)
    assert (tgt.skey, tgt.tkt) == ("aes256-cts-hmac-sha384-192", TGT_ENCTYPE)


def test_kinit_with_mit_defaults_shows_the_tgt(client, user) -> None:
    """Plain kinit: a TGT for the user, renewable to kinit's 24 h (RENEWABLE-OK), no F."""
    client.kinit(user.name, user.password)
    tgt = only_tgt(client, user.principal)
    assert tgt.flags == "RIA"
    assert (tgt.skey, tgt.tkt) == (TGT_ENCTYPE, TGT_ENCTYPE)
    assert tgt.lifetime == MAX_LIFE
    assert tgt.renew_until == tgt.start + timedelta(hours=24)


# -------------------------------------------------------------------- refused kinits


def test_wrong_password(client, user) -> None:
    proc = client.kinit(user.name, "not-" + user.password, check=False)
    fails_with(proc, "kinit: Password incorrect while getting initial credentials")
    assert not client.ccache.exists()


def test_unknown_principal(client) -> None:
    proc = client.kinit("nobody", "whatever", check=False)
    fails_with(
        proc,
        f"kinit: Client 'nobody@{REALM}' not found in Kerberos database "
        "while getting initial credentials",
    )


@pytest.mark.parametrize("how", [("-disable",), ("-allow_tix",)], ids=lambda h: h[0])
def test_disabled_principal(node, client, user, how) -> None:
    node.hadmin("modprinc", *how, user.name)
    proc = client.kinit(user.name, user.password, check=False)
    fails_with(
        proc, "kinit: Client's credentials have been revoked while getting initial credentials"
    )


def test_expired_principal(node, client, names) -> None:
    user = add_user(node, names("user"), "-expire", "2020-01-01")
    proc = client.kinit(user.name, user.password, check=False)
    fails_with(
        proc, "kinit: Client's entry in database has expired while getting initial credentials"
    )


def test_expired_password_asks_for_a_new_one(node, client, names) -> None:
    """As with MIT's KDC (kdb5_util create makes kadmin/changepw): KEY_EXPIRED, then
    kinit gets a kadmin/changepw ticket with the old password and asks for a new one;
    with nothing more on stdin it gives up with "Cannot read password"."""
    user = add_user(node, names("user"), "-pwexpire", "2020-01-01")
    proc, trace = traced(client, "kinit", user.name, input=user.password + "\n", check=False)
    expect_trace(trace, ["Received error from KDC: -1765328361/Password has expired"])
    assert proc.stdout == (
        f"Password for {user.principal}: \n"
        "Password expired.  You must change it now.\n"
        "Enter new password: \n"
    )
    fails_with(proc, "kinit: Cannot read password while getting initial credentials")


# --------------------------------------------------------------------------- keytabs


def test_kinit_with_a_keytab_from_ktadd(node, client, names, tmp_path) -> None:
    service = f"{names('svc')}/host1.hadoop.com"
    keytab = add_service(node, service, tmp_path / "svc.keytab")
    client.kinit_keytab(service, keytab)
    tgt = only_tgt(client, f"{service}@{REALM}")
    # as with a password: kinit's 24 h capped to max_life, renewable to 24 h (RENEWABLE-OK)
    assert (tgt.flags, tgt.lifetime) == ("RIA", MAX_LIFE)


def test_ktadd_norandkey_keeps_the_password(node, client, user, tmp_path) -> None:
    keytab = tmp_path / "user.keytab"
    node.hadmin("ktadd", "-k", str(keytab), "-norandkey", user.name)
    client.kinit_keytab(user.name, keytab)
    only_tgt(client, user.principal)
    client.run("kdestroy")
    client.kinit(user.name, user.password)
    only_tgt(client, user.principal)


def test_ktadd_without_norandkey_replaces_the_password(node, client, user, tmp_path) -> None:
    """As MIT kadmin: ktadd gives the principal new random keys; the old password is gone."""
    keytab = tmp_path / "user.keytab"
    node.hadmin("ktadd", "-k", str(keytab), user.name)
    client.kinit_keytab(user.name, keytab)
    only_tgt(client, user.principal)
    fails_with(
        client.kinit(user.name, user.password, check=False),
        "kinit: Password incorrect while getting initial credentials",
    )


# ------------------------------------------------------------------ service tickets


def test_kvno_and_the_ticket_verifies_with_the_service_keytab(node, client, user, names, tmp_path):
    service = f"{names('HTTP')}/web1.hadoop.com"
    keytab = add_service(node, service, tmp_path / "http.keytab")
    client.kinit(user.name, user.password)
    assert client.kvno(service).stdout == f"{service}@{REALM}: kvno = 2\n"
    out = client.kvno("-k", str(keytab), service).stdout
    assert out == f"{service}@{REALM}: kvno = 2, keytab entry valid\n"
    _, tickets = klist_tickets(client)
    assert [t.service for t in tickets] == [TGT, f"{service}@{REALM}"]
    assert (tickets[1].skey, tickets[1].tkt) == (TGT_ENCTYPE, TGT_ENCTYPE)


def test_kvno_against_a_keytab_of_older_keys_is_invalid(node, client, user, names, tmp_path):
    """The check above can fail: a keytab whose keys were since replaced does not verify
    (MIT's kvno prints both lines on stderr)."""
    service = f"{names('HTTP')}/web2.hadoop.com"
    old = add_service(node, service, tmp_path / "old.keytab")  # kvno 2
    node.hadmin("cpw", "-randkey", service)  # kvno 3, not in old.keytab
    client.kinit(user.name, user.password)
    proc = client.kvno("-k", str(old), service, check=False)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"{service}@{REALM}: kvno = 3, keytab entry invalid\n"
        f"kvno: Wrong principal in request while decrypting ticket for {service}@{REALM}\n"
    )


def test_service_ticket_for_an_unknown_service(client, user) -> None:
    client.kinit(user.name, user.password)
    proc = client.kvno(f"nosuch/service@{REALM}", check=False)
    fails_with(
        proc,
        f"kvno: Server nosuch/service@{REALM} not found in Kerberos database "
        f"while getting credentials for nosuch/service@{REALM}",
    )


def test_tickets_from_a_tgt_are_marked_transit_policy_checked(node, client, user, names, tmp_path):
    """MIT's KDC sets TRANSITED-POLICY-CHECKED (klist "T") on every ticket it issues
    from a TGT: a service ticket shows "AT", a renewed TGT "RIAT" (MIT 1.20 krb5kdc)."""
    service = f"{names('host')}/db1.hadoop.com"
    add_service(node, service, tmp_path / "host.keytab")
    client.kinit(user.name, user.password, "-l", "1h")
    client.kvno(service)
    _, tickets = klist_tickets(client)
    flags = {"service": tickets[1].flags}
    client.kinit(user.name, user.password, "-l", "1h", "-r", "2h")
    client.run("kinit", "-R")
    flags["renewed TGT"] = only_tgt(client, user.principal).flags
    assert flags == {"service": "AT", "renewed TGT": "RIAT"}


# ------------------------------------------------------------- flags, renew, lifetimes


def test_kinit_forwardable(client, user) -> None:
    client.kinit(user.name, user.password, "-f", "-l", "2h")
    assert only_tgt(client, user.principal).flags == "FIA"


def test_kinit_forwardable_proxiable_renewable(client, user) -> None:
    client.kinit(user.name, user.password, "-f", "-p", "-r", "2d")
    assert only_tgt(client, user.principal).flags == "FPRIA"


def test_renew_moves_the_times_and_keeps_renew_until(client, user) -> None:
    client.kinit(user.name, user.password, "-r", "2d", "-l", "1h")
    before = only_tgt(client, user.principal)
    assert before.flags == "RIA"
    assert before.lifetime == timedelta(hours=1)
    assert before.renew_until == before.start + timedelta(days=2)
    time.sleep(1.1)  # klist shows seconds: let the renewed times be later
    proc = client.run("kinit", "-R")
    assert (proc.stdout, proc.stderr) == ("", "")
    after = only_tgt(client, user.principal)
    assert after.start > before.start
    assert after.lifetime == timedelta(hours=1)
    assert after.renew_until == before.renew_until
    # MIT adds T here; has-kdc's lack of it is test_tickets_from_a_tgt_are_marked_...
    assert after.flags.replace("T", "") == "RIA"


def test_renew_without_a_renewable_ticket(client, user) -> None:
    client.kinit(user.name, user.password, "-l", "1h")
    assert only_tgt(client, user.principal).renew_until is None
    proc = client.run("kinit", "-R", check=False)
    fails_with(proc, "kinit: KDC can't fulfill requested option while renewing credentials")


def test_requested_lifetime_is_honoured(client, user) -> None:
    client.kinit(user.name, user.password, "-l", "2h")
    tgt = only_tgt(client, user.principal)
    assert tgt.lifetime == timedelta(hours=2)
    assert (tgt.renew_until, tgt.flags) == (None, "IA")


def test_requested_lifetime_is_capped_by_the_realm(client, user) -> None:
    """30 d asked: max_life granted; RENEWABLE-OK makes it renewable to max_renewable_life."""
    client.kinit(user.name, user.password, "-l", "30d")
    tgt = only_tgt(client, user.principal)
    assert tgt.lifetime == MAX_LIFE
    assert tgt.renew_until == tgt.start + MAX_RENEWABLE_LIFE
    assert tgt.flags == "RIA"


def test_principal_maxlife_caps_the_lifetime(node, client, names) -> None:
    user = add_user(node, names("user"))
    node.hadmin("modprinc", "-maxlife", "3h", "-maxrenewlife", "5h", user.name)
    client.kinit(user.name, user.password, "-l", "9h")
    tgt = only_tgt(client, user.principal)
    assert tgt.lifetime == timedelta(hours=3)
    assert tgt.renew_until == tgt.start + timedelta(hours=5)


def test_modprinc_maxlife_reaches_a_running_server(node, client, user) -> None:
    """A principal already served (and cached) picks up -maxlife within the cache's
    refresh interval (1 s), without a restart."""
    client.kinit(user.name, user.password, "-l", "8h")
    assert only_tgt(client, user.principal).lifetime == timedelta(hours=8)
    node.hadmin("modprinc", "-maxlife", "90m", user.name)
    deadline = time.monotonic() + 5
    while True:
        client.kinit(user.name, user.password, "-l", "8h")
        lifetime = only_tgt(client, user.principal).lifetime
        if lifetime == timedelta(minutes=90) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lifetime == timedelta(minutes=90)


# ------------------------------------------------------------------------ transports


def test_forced_tcp(node, client, user) -> None:
    client.write_conf(kdcs(node), libdefaults={"udp_preference_limit": "1"})
    _, trace = traced(client, "kinit", user.name, input=user.password + "\n")
    stream = f"stream {node.kdc_address()}"
    expect_trace(
        trace,
        [
            f"Initiating TCP connection to {stream}",
            f"Sending TCP request to {stream}",
            "Received answer (",
            "Additional pre-authentication required",
            f"Sending TCP request to {stream}",
            "Decrypted AS reply",
        ],
    )
    assert not any("UDP" in line for line in trace)
    only_tgt(client, user.principal)


def test_udp_by_default(node, client, user) -> None:
    """The counterpart of the forced-TCP test: without udp_preference_limit = 1, UDP."""
    _, trace = traced(client, "kinit", user.name, input=user.password + "\n")
    expect_trace(trace, [f"Sending initial UDP request to dgram {node.kdc_address()}"])
    assert not any("TCP" in line for line in trace)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_first_kdc_dead(node, client, user, transport) -> None:
    dead = f"127.0.0.1:{free_port()}"
    libdefaults = {"udp_preference_limit": "1"} if transport == "tcp" else {}
    client.write_conf([dead, node.kdc_address()], libdefaults=libdefaults)
    started = time.monotonic()
    _, trace = traced(client, "kinit", user.name, input=user.password + "\n")
    elapsed = time.monotonic() - started
    live = node.kdc_address()
    if transport == "udp":
        tried = [f"Sending initial UDP request to dgram {dead}"]
        asked = [f"Sending initial UDP request to dgram {live}", f"from dgram {live}"]
    else:
        tried = [
            f"Initiating TCP connection to stream {dead}",
            f"Terminating TCP connection to stream {dead}",
        ]
        asked = [f"Sending TCP request to stream {live}", f"from stream {live}"]
    # both exchanges (PREAUTH_REQUIRED, then the AS-REP) go to the dead KDC first
    expect_trace(trace, [*tried, *asked, "Additional pre-authentication required", *tried, *asked])
    only_tgt(client, user.principal)
    assert elapsed < 10  # a refused port is skipped at once, not after a timeout


# ------------------------------------------------------------------- hostile traffic


def _real_as_req(user: User) -> bytes:
    cname, realm = principal_name(user.name, REALM)
    return encode(build_as_req(cname, realm))


def _server_log_tail(node: HasNode, offset: int) -> str:
    with open(node.log_file, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def test_garbage_udp_datagrams_are_ignored(node, client, user) -> None:
    """Random bytes, an empty datagram, a truncated AS-REQ and ~60 KB get no answer
    (as from MIT's krb5kdc: answering garbage would make the KDC a reflector); then a
    datagram on the same socket is answered and kinit works."""
    log_offset = node.log_file.stat().st_size
    as_req = _real_as_req(user)
    garbage = [
        secrets.token_bytes(200),
        b"",
        as_req[: len(as_req) // 2],
        b"\x6a" + secrets.token_bytes(100),  # claims to be an AS-REQ
        b"\x6c\x84\xff\xff\xff\xff",  # TGS-REQ tag with an absurd length
        secrets.token_bytes(60_000),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        for datagram in garbage:
            udp.sendto(datagram, (node.host, node.port))
        udp.sendto(as_req, (node.host, node.port))
        reply, _ = udp.recvfrom(65536)  # the first answer is the real request's
    error = decode_krb_error(reply)
    assert error.error_code == KDC_ERR_PREAUTH_REQUIRED
    client.kinit(user.name, user.password)
    only_tgt(client, user.principal)
    tail = _server_log_tail(node, log_offset)
    assert "Traceback" not in tail and " ERROR " not in tail, tail


def test_tcp_length_prefix_of_0xffffffff(node, client, user) -> None:
    """RFC 4120 §7.2.2: a length with the reserved high bit gets KRB_ERR_FIELD_TOOLONG
    and the connection is closed, as MIT's krb5kdc does (MIT resets it)."""
    with socket.create_connection((node.host, node.port), timeout=5) as tcp:
        tcp.sendall(b"\xff\xff\xff\xff" + secrets.token_bytes(64))
        length = int.from_bytes(_recv_exact(tcp, 4), "big")
        error = decode_krb_error(_recv_exact(tcp, length))
        assert tcp.recv(1) == b""  # closed after the error
    assert error.error_code == KRB_ERR_FIELD_TOOLONG
    assert error.realm == REALM
    client.write_conf(kdcs(node), libdefaults={"udp_preference_limit": "1"})
    client.kinit(user.name, user.password)
    only_tgt(client, user.principal)


def test_tcp_length_over_the_limit_and_a_half_record(node, client, user) -> None:
    """A length under 2**31 but over the server's limit is refused the same way; a
    connection that sends half a record and closes costs nothing."""
    with socket.create_connection((node.host, node.port), timeout=5) as tcp:
        tcp.sendall((10 * 1024 * 1024).to_bytes(4, "big"))
        length = int.from_bytes(_recv_exact(tcp, 4), "big")
        assert decode_krb_error(_recv_exact(tcp, length)).error_code == KRB_ERR_FIELD_TOOLONG
        assert tcp.recv(1) == b""
    as_req = _real_as_req(user)
    with socket.create_connection((node.host, node.port), timeout=5) as tcp:
        tcp.sendall(encode_record(as_req)[:20])
    reply = tcp_exchange(node, as_req)
    assert decode_krb_error(reply).error_code == KDC_ERR_PREAUTH_REQUIRED
    client.kinit(user.name, user.password)
    only_tgt(client, user.principal)


# ------------------------------------------------- pre-authentication over the wire


def _user_key(node: HasNode, user: User, etype: int = 18) -> EncryptionKey:
    """The user's long-term key, learned as a client learns it (ETYPE-INFO2 of error 25)."""
    cname, realm = principal_name(user.name, REALM)
    reply = udp_exchange(node, encode(build_as_req(cname, realm, etypes=(etype,))))
    error = decode_krb_error(reply)
    assert error.error_code == KDC_ERR_PREAUTH_REQUIRED
    (entry,) = error_etype_info2(error)
    return string_to_key(user.password, entry, default_salt(cname.components, realm))


def _as_req_with(user: User, padata: Sequence[PAData], etype: int = 18) -> bytes:
    cname, realm = principal_name(user.name, REALM)
    return encode(build_as_req(cname, realm, etypes=(etype,), padata=padata))


@pytest.mark.parametrize("offset", [3600, -3600])
def test_timestamp_an_hour_off_is_clock_skew(node, user, offset) -> None:
    """PA-ENC-TIMESTAMP with the right key but an hour off: KRB_AP_ERR_SKEW (37)."""
    key = _user_key(node, user)
    reply = udp_exchange(node, _as_req_with(user, [pa_enc_timestamp(key, time.time() + offset)]))
    error = decode_krb_error(reply)
    assert error.error_code == KRB_AP_ERR_SKEW
    assert abs(error.stime - time.time()) < 60  # the KDC's time, for the client to sync


def test_timestamp_within_the_skew_is_accepted(node, user) -> None:
    """The boundary on the other side: four minutes off (skew is 5 min) still works."""
    clock = lambda: time.time() - 240  # noqa: E731
    creds = KdcClient(lambda req: udp_exchange(node, req), REALM, clock=clock).get_tgt(
        user.name, user.password
    )
    assert creds.client == user.principal


def test_kdc_client_with_a_skewed_clock_gets_error_37(node, user) -> None:
    client = KdcClient(lambda req: udp_exchange(node, req), REALM, clock=lambda: time.time() + 3600)
    with pytest.raises(KdcReplyError) as caught:
        client.get_tgt(user.name, user.password)
    assert caught.value.code == KRB_AP_ERR_SKEW


def _malformed_padata(key: EncryptionKey) -> dict[str, PAData]:
    et = enctype_by_id(key.keytype)
    return {
        "not-encrypted-data": PAData(PA_ENC_TIMESTAMP, secrets.token_bytes(40)),
        "empty": PAData(PA_ENC_TIMESTAMP, b""),
        "not-a-timestamp-inside": PAData(
            PA_ENC_TIMESTAMP,
            encode(
                EncryptedData(key.keytype, et.encrypt(key.keyvalue, KU_PA_ENC_TIMESTAMP, b"hi"))
            ),
        ),
        "wrong-key-usage": PAData(
            PA_ENC_TIMESTAMP,
            encode(EncryptedData(key.keytype, et.encrypt(key.keyvalue, KU_TICKET, b"\x30\x00"))),
        ),
        "enctype-without-key": PAData(
            PA_ENC_TIMESTAMP, encode(EncryptedData(23, secrets.token_bytes(60)))
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not-encrypted-data",
        "empty",
        "not-a-timestamp-inside",
        "wrong-key-usage",
        "enctype-without-key",
    ],
)
def test_malformed_enc_timestamp_is_preauth_failed(node, user, case) -> None:
    """A PA-ENC-TIMESTAMP that does not decode or decrypt is KDC_ERR_PREAUTH_FAILED (24)
    with METHOD-DATA hints, as MIT krb5kdc answers each of these packets (FAST offered,
    the salt, the method, MIT's cookie)."""
    key = _user_key(node, user)
    reply = udp_exchange(node, _as_req_with(user, [_malformed_padata(key)[case]]))
    error = decode_krb_error(reply)
    assert error.error_code == KDC_ERR_PREAUTH_FAILED
    hints = [pa.padata_type for pa in decode_method_data(error.e_data)]
    assert hints == [PA_FX_FAST, PA_ETYPE_INFO2, PA_ENC_TIMESTAMP, PA_FX_COOKIE]


def test_unknown_padata_type_is_ignored(node, user) -> None:
    reply = udp_exchange(node, _as_req_with(user, [PAData(4242, b"\x00\x01")]))
    assert decode_krb_error(reply).error_code == KDC_ERR_PREAUTH_REQUIRED


# ------------------------------------------------------------ the Python client


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_kdc_client_tgt_service_ticket_and_renew(node, names, tmp_path, transport) -> None:
    """has_kdc.client against the server: TGT, a service ticket the service's keytab
    decrypts, and a renewal."""
    user = add_user(node, names("user"))
    service = f"{names('HTTP')}/api.hadoop.com"
    keytab = add_service(node, service, tmp_path / "svc.keytab")
    exchange = udp_exchange if transport == "udp" else tcp_exchange
    kdc = KdcClient(lambda req: exchange(node, req), REALM)

    tgt = kdc.get_tgt(
        user.name,
        user.password,
        options=KDCOptions.FORWARDABLE | KDCOptions.RENEWABLE,
        renewable_life=2 * 86400,
    )
    assert (tgt.client, tgt.server) == (user.principal, TGT)
    expected = TicketFlags.FORWARDABLE | TicketFlags.RENEWABLE | TicketFlags.INITIAL
    assert tgt.flags & ~int(TicketFlags.PRE_AUTHENT) == expected
    assert tgt.flags & TicketFlags.PRE_AUTHENT
    assert tgt.endtime - tgt.authtime == MAX_LIFE.total_seconds()  # 24 h asked, capped
    assert tgt.renew_till == tgt.authtime + 2 * 86400

    ticket = kdc.get_service_ticket(tgt, service)
    assert ticket.server == f"{service}@{REALM}"
    entries = {e.enctype: e for e in read_keytab(keytab).entries}
    enc_part = ticket.ticket.enc_part
    assert enc_part.kvno == entries[enc_part.etype].kvno == 2
    plain = enctype_by_id(enc_part.etype).decrypt(
        entries[enc_part.etype].key, KU_TICKET, enc_part.cipher
    )
    inside = decode_enc_ticket_part(plain)
    assert inside.crealm == REALM and inside.cname.components == (user.name,)
    assert inside.key.keyvalue == ticket.session_key.keyvalue

    time.sleep(1.05)
    renewed = kdc.renew(tgt)
    assert renewed.server == TGT
    assert renewed.authtime == tgt.authtime
    assert renewed.starttime is not None and renewed.starttime > tgt.authtime
    assert renewed.renew_till == tgt.renew_till


# -------------------------------------------------------------------------- FAST


def test_kinit_armored_with_a_host_tgt_then_kvno(node, client, user, names, tmp_path) -> None:
    """FAST on has-server as MIT admins set it up (docs/fast.md): the host keytab's TGT
    armors the password login (encrypted challenge, the KDC's own challenge checked
    by kinit), and kvno's TGS-REQ is armored by its own subkey."""
    host = f"host/{names('fast')}.hadoop.com"
    keytab = add_service(node, host, tmp_path / "host.keytab")
    armor = tmp_path / "armor.ccache"
    client.run("kinit", "-k", "-t", str(keytab), "-c", str(armor), host)
    proc, trace = traced(client, "kinit", "-T", str(armor), user.name, input=user.password + "\n")
    assert proc.stderr == ""
    challenge_ok = "Preauth module encrypted_challenge (138) (real) returned: 0/Success"
    expect_trace(
        trace,
        [
            f"Getting initial credentials for {user.principal}",
            "Using FAST due to armor ccache negotiation result",
            "FAST armor key: ",
            "Encoding request body and padata into FAST request",
            "Received error from KDC: -1765328359/Additional pre-authentication required",
            "Decoding FAST response",
            "Processing preauth types: PA-FX-FAST (136), PA-ETYPE-INFO2 (19), "
            "PA-ENCRYPTED-CHALLENGE (138), PA-FX-COOKIE (133), PA-FX-ERROR (137)",
            "Received cookie: MIT",
            challenge_ok,
            "Encoding request body and padata into FAST request",
            "Decoding FAST response",
            "Processing preauth types: PA-ENCRYPTED-CHALLENGE (138), PA-ETYPE-INFO2 (19)",
            challenge_ok,  # the KDC's challenge (key usage 55) verified by kinit
            "FAST reply key: ",
            "Decrypted AS reply",
            "FAST negotiation: available",
        ],
    )
    service = f"{names('HTTP')}/fast.hadoop.com"
    add_service(node, service, tmp_path / "http.keytab")
    proc, trace = traced(client, "kvno", service)
    assert proc.stdout == f"{service}@{REALM}: kvno = 2\n"
    expect_trace(
        trace,
        [
            "Generated subkey for TGS request: ",
            "Encoding request body and padata into FAST request",
            "Decoding FAST response",
            "FAST reply key: ",
            "TGS request result: 0/Success",
        ],
    )
