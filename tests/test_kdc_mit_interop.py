"""MIT kinit/kvno/klist against ``Kdc.handle`` behind a minimal UDP+TCP loop.

The loop here is only enough transport to let the real MIT tools reach the handler
(the production listeners are in has_kdc.net); the principals live in a real SQLite
store, as in a single-node deployment.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from has_kdc.backend.model import Principal
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.conf.kdc import KdcConfig
from has_kdc.formats.keytab import make_entry, write_keytab
from has_kdc.kdc.handler import Kdc
from tests.kdc_fakes import make_keys
from tests.mitkrb import MitClient, free_port

pytestmark = pytest.mark.mit

REALM = "HAS.TEST"
ETYPE_NAMES = {
    18: "aes256-cts-hmac-sha1-96",
    17: "aes128-cts-hmac-sha1-96",
    20: "aes256-cts-hmac-sha384-192",
    19: "aes128-cts-hmac-sha256-128",
}


class LoopbackKdc:
    """Serve ``kdc.handle`` on 127.0.0.1:port over UDP and TCP in daemon threads."""

    def __init__(self, kdc: Kdc) -> None:
        self.kdc = kdc
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.requests = 0
        self._stop = False
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _serve_udp(self) -> None:
        while not self._stop:
            try:
                data, addr = self.udp.recvfrom(65536)
            except OSError:
                return
            self.requests += 1
            reply = self.kdc.handle(data, "udp", peer=addr[0])
            if reply is not None:
                if len(reply) > 1400:
                    reply = self.kdc.response_too_big(data)
                try:
                    self.udp.sendto(reply, addr)
                except OSError:
                    return  # closed by close() while this reply was being built

    def _serve_tcp(self) -> None:
        while not self._stop:
            try:
                conn, addr = self.tcp.accept()
            except OSError:
                return
            with conn:
                header = conn.recv(4, socket.MSG_WAITALL)
                if len(header) < 4:
                    continue
                (length,) = struct.unpack(">I", header)
                data = conn.recv(length, socket.MSG_WAITALL)
                self.requests += 1
                reply = self.kdc.handle(data, "tcp", peer=addr[0])
                if reply is not None:
                    conn.sendall(struct.pack(">I", len(reply)) + reply)

    def close(self) -> None:
        self._stop = True
        self.udp.close()
        self.tcp.close()


def start_realm(tmp_path: Path) -> tuple[SqliteBackend, LoopbackKdc, MitClient]:
    """A SQLite realm with krbtgt, one user per enctype, alice, and a host service,
    served on a free loopback port, and an MIT client configured for it."""
    backend = SqliteBackend(tmp_path / "principals.sqlite")
    backend.migrate()
    add = backend.add_principal
    add(Principal(name=f"krbtgt/{REALM}@{REALM}", keys=make_keys(f"krbtgt/{REALM}@{REALM}", None)))
    for etype, name in ETYPE_NAMES.items():
        user = f"user{etype}@{REALM}"
        add(Principal(name=user, keys=make_keys(user, f"pw-{name}", (etype,))))
    add(Principal(name=f"alice@{REALM}", keys=make_keys(f"alice@{REALM}", "alice-pw")))
    service = f"host/server.has.test@{REALM}"
    add(Principal(name=service, keys=make_keys(service, None), requires_preauth=False))
    kdc = Kdc(KdcConfig(kdc_realm=REALM, max_life=10 * 3600, max_renewable_life=7 * 86400), backend)
    server = LoopbackKdc(kdc)
    client = MitClient(tmp_path / "client", REALM, [f"127.0.0.1:{server.port}"])
    return backend, server, client


@pytest.fixture
def realm(tmp_path: Path) -> Iterator[tuple[SqliteBackend, LoopbackKdc, MitClient]]:
    backend, server, client = start_realm(tmp_path)
    try:
        yield backend, server, client
    finally:
        server.close()
        backend.close()


@pytest.mark.parametrize("etype", sorted(ETYPE_NAMES))
def test_kinit_with_password_for_each_enctype(realm, etype: int) -> None:
    _, _, client = realm
    client.kinit(f"user{etype}", f"pw-{ETYPE_NAMES[etype]}")
    out = client.klist("-e").stdout
    assert f"krbtgt/{REALM}@{REALM}" in out
    assert f"Default principal: user{etype}@{REALM}" in out
    # the session key is in the client's first requested enctype the krbtgt has (aes256-sha1)
    assert "Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96" in out


def test_kinit_with_only_the_users_enctype_allowed(realm) -> None:
    _, server, client = realm
    client.write_conf(
        [f"127.0.0.1:{server.port}"],
        libdefaults={"default_tkt_enctypes": "aes128-sha2", "permitted_enctypes": "aes128-sha2"},
    )
    client.kinit("user19", "pw-aes128-cts-hmac-sha256-128")
    out = client.klist("-e").stdout
    assert "Etype (skey, tkt): aes128-cts-hmac-sha256-128, aes256-cts-hmac-sha1-96" in out


def test_wrong_password_is_password_incorrect(realm) -> None:
    _, _, client = realm
    proc = client.kinit("alice", "not-the-password", check=False)
    assert proc.returncode != 0
    assert "Password incorrect" in proc.stderr


def test_unknown_client(realm) -> None:
    _, _, client = realm
    proc = client.kinit("nobody", "whatever", check=False)
    assert proc.returncode != 0
    assert "not found in Kerberos database" in proc.stderr


def test_kvno_for_a_service_and_the_ticket_decrypts_with_its_keytab(realm, tmp_path) -> None:
    backend, _, client = realm
    client.kinit("alice", "alice-pw")
    out = client.kvno(f"host/server.has.test@{REALM}").stdout
    assert f"host/server.has.test@{REALM}: kvno = 1" in out
    # The service ticket must decrypt with the service's keys: ask MIT to verify it
    # with a keytab holding them (kvno -k reads the ticket with the keytab).
    service = backend.get_principal(f"host/server.has.test@{REALM}")
    assert service is not None
    keytab = tmp_path / "service.keytab"
    write_keytab(keytab, [make_entry(service.name, k.kvno, k.enctype, k.key) for k in service.keys])
    out = client.kvno("-k", str(keytab), f"host/server.has.test@{REALM}").stdout
    assert "keytab entry valid" in out


def test_kinit_forwardable_renewable_then_renew(realm, caplog) -> None:
    _, _, client = realm
    client.kinit("alice", "alice-pw", "-f", "-r", "2d", "-l", "1h")
    out = client.klist("-f").stdout
    assert "Flags: FRIA\n" in out
    assert "renew until" in out
    caplog.set_level(logging.INFO, logger="has_kdc.kdc")
    client.run("kinit", "-R")
    renewals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("TGS_REQ")]
    assert len(renewals) == 1 and ": ISSUE: " in renewals[0]
    assert f"alice@{REALM} for krbtgt/{REALM}@{REALM}" in renewals[0]
    # a renewed TGT keeps the flags and the renew-until of the one it renews
    # (plus T: a TGS reply is transited-policy-checked, as MIT marks it)
    assert "Flags: FRIAT\n" in client.klist("-f").stdout


def test_renewing_a_ticket_that_is_not_renewable_is_refused(realm) -> None:
    _, _, client = realm
    client.kinit("alice", "alice-pw", "-l", "1h")
    assert "renew until" not in client.klist().stdout
    proc = client.run("kinit", "-R", check=False)
    assert proc.returncode != 0
    assert "KDC can't fulfill requested option" in proc.stderr


def test_kvno_for_an_unknown_service(realm) -> None:
    _, _, client = realm
    client.kinit("alice", "alice-pw")
    proc = client.kvno(f"nosuch/service@{REALM}", check=False)
    assert proc.returncode != 0
    assert f"Server nosuch/service@{REALM} not found in Kerberos database" in proc.stderr


def test_kinit_over_tcp(realm) -> None:
    _, server, client = realm
    client.write_conf([f"127.0.0.1:{server.port}"], libdefaults={"udp_preference_limit": "1"})
    client.kinit("alice", "alice-pw")
    assert f"krbtgt/{REALM}@{REALM}" in client.klist().stdout


def _lifetime(klist_out: str) -> timedelta:
    """Expires minus Valid starting of the first ticket klist lists."""
    line = next(ln for ln in klist_out.splitlines() if "krbtgt/" in ln)
    start, end = line.split()[0:2], line.split()[2:4]
    parse = lambda parts: datetime.strptime(" ".join(parts), "%m/%d/%y %H:%M:%S")  # noqa: E731
    return parse(end) - parse(start)


def test_requested_lifetime_is_honoured_and_capped_at_max_life(realm) -> None:
    _, _, client = realm
    client.kinit("alice", "alice-pw", "-l", "2h")
    assert _lifetime(client.klist().stdout) == timedelta(hours=2)
    client.kinit("alice", "alice-pw", "-l", "2d")
    out = client.klist().stdout
    assert _lifetime(out) == timedelta(hours=10)
    # kinit asks with RENEWABLE-OK: a lifetime cut short comes back renewable to it
    assert "renew until" in out


def test_kinit_with_a_keytab(realm, tmp_path) -> None:
    backend, _, client = realm
    service = backend.get_principal(f"host/server.has.test@{REALM}")
    keytab = tmp_path / "host.keytab"
    write_keytab(keytab, [make_entry(service.name, k.kvno, k.enctype, k.key) for k in service.keys])
    client.kinit_keytab(f"host/server.has.test@{REALM}", keytab)
    assert f"Default principal: host/server.has.test@{REALM}" in client.klist().stdout
