"""Several has-kdc nodes over one MariaDB database, and probes that time what they answer.

- ``mysql_config(server, database)``: the ``BackendConfig`` of a database on a
  ``tests.mariadb.MariaDb`` (created with its own user).
- ``port_free_on_all(hosts)``: a port free for UDP and TCP on every host, since the
  nodes of a cluster share their ports.
- ``make_nodes(tmp, config, hosts)``: one ``HasNode`` per loopback address, all on one
  KDC port and realm, as the HA layout has them (127.0.1.1, 127.0.1.2, ...); with
  ``https=True`` also on one HTTPS port, with certificates of one CA.
- ``running_cluster(tmp, config, init=...)``: those nodes with HTTPS, started in HAS's
  order (servers first, then, if asked, ``kdcinit init`` on the first), stopped at the
  end of the ``with`` block.
- ``probe(host, port, principal)``: one AS-REQ (no pre-authentication) over UDP with
  our own client; returns the KRB-ERROR code (25 PREAUTH_REQUIRED means "known and
  usable", 6 "unknown", 18 "revoked", 29 "service unavailable"), 0 for an AS-REP, or
  ``None`` when nothing came back within ``timeout``. Unlike MIT kinit it never
  retries, so it shows exactly what one node answered and how fast.
- ``wait_for(check, timeout)``: poll until ``check()`` is true; returns the seconds it
  took (or raises with the last value).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from has_kdc.asn1.codec import decode_krb_error, encode
from has_kdc.asn1.constants import KRB_ERROR
from has_kdc.client.kdc_client import build_as_req, principal_name
from has_kdc.conf import BackendConfig
from tests.hasnode import HasNode

T = TypeVar("T")

REALM = "HADOOP.COM"
HOSTS = ("127.0.1.1", "127.0.1.2")
DB_USER = "has"
DB_PASSWORD = "ha-db-Secret-7"  # a throwaway test server's


def mysql_config(server: object, database: str) -> BackendConfig:
    """A fresh database ``database`` on ``server`` (a tests.mariadb.MariaDb) for the nodes."""
    server.drop_database(database)  # type: ignore[attr-defined]
    server.create_database(database, DB_USER, DB_PASSWORD)  # type: ignore[attr-defined]
    return BackendConfig(
        kind="mysql",
        mysql_host=server.host,  # type: ignore[attr-defined]
        mysql_port=server.port,  # type: ignore[attr-defined]
        mysql_database=database,
        mysql_user=DB_USER,
        mysql_password=DB_PASSWORD,
    )


def port_free_on_all(hosts: tuple[str, ...]) -> int:
    """A port free for UDP and TCP on every host (nodes share their ports)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        try:
            for host in hosts:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every host")


def make_nodes(
    tmp: Path,
    config: BackendConfig,
    hosts: tuple[str, ...] = HOSTS,
    port: int | None = None,
    *,
    https: bool = False,
) -> list[HasNode]:
    """One node per host, same KDC port (free on every host) and realm, one database.

    With ``https`` the nodes also share one HTTPS port and one CA (``tmp/ca``).
    """
    if port is None:
        port = port_free_on_all(hosts)
    https_port = port_free_on_all(hosts) if https else None
    return [
        HasNode(
            tmp / f"node{i + 1}",
            REALM,
            host,
            port,
            backend=config,
            https_port=https_port,
            ca_dir=tmp / "ca",
        )
        for i, host in enumerate(hosts)
    ]


@contextlib.contextmanager
def running_cluster(
    tmp: Path, config: BackendConfig, hosts: tuple[str, ...] = HOSTS, *, init: bool
) -> Iterator[list[HasNode]]:
    """HTTPS nodes over ``config``, started servers first; ``init``: then realm init."""
    nodes = make_nodes(tmp, config, hosts, https=True)
    started = []
    try:
        for node in nodes:  # HAS's order: servers first, then init
            node.start()
            started.append(node)
        if init:
            nodes[0].init()
        yield nodes
    finally:
        for node in started:
            node.stop()


@contextlib.contextmanager
def node_on_own_mariadb(tmp_path: Path, realm: str) -> Iterator[tuple[object, HasNode]]:
    """A started has-server node on 127.0.0.1 over a MariaDB of its own (``tests.mariadb``),
    for tests that stop and start the database under it; both stopped at the end."""
    from tests.mariadb import MariaDb

    db = MariaDb(tmp_path / "db")
    db.start()
    try:
        db.create_database("has", "has", "has-Secret-9")
        config = BackendConfig(
            kind="mysql",
            mysql_host=db.host,
            mysql_port=db.port,
            mysql_database="has",
            mysql_user="has",
            mysql_password="has-Secret-9",
        )
        node = HasNode(
            tmp_path / "node",
            realm,
            "127.0.0.1",
            backend=config,
            https_port=port_free_on_all(("127.0.0.1",)),
        )
        node.start()
        try:
            yield db, node
        finally:
            node.stop()
    finally:
        db.stop()


def eventually(check: Callable[[], T], timeout: float = 10.0) -> T:
    """``check()`` until it stops raising AssertionError (then its value), for at most
    ``timeout`` s: a KDC sees a change made through any node within about a second (its
    principal cache polls the store's change counter)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def probe(host: str, port: int, principal: str, timeout: float = 3.0) -> int | None:
    """What one KDC answers to one AS-REQ for ``principal``: error code, 0, or None."""
    cname, realm = principal_name(principal, REALM)
    request = encode(build_as_req(cname, realm))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        udp.sendto(request, (host, port))
        try:
            reply, _ = udp.recvfrom(65536)
        except TimeoutError:
            return None
    if reply[:1] == bytes((0x60 | KRB_ERROR,)):
        return decode_krb_error(reply).error_code
    return 0


def wait_for(check: Callable[[], T], timeout: float, interval: float = 0.02) -> float:
    """Seconds until ``check()`` returns something true; AssertionError after ``timeout``."""
    started = time.monotonic()
    while True:
        value = check()
        elapsed = time.monotonic() - started
        if value:
            return elapsed
        if elapsed > timeout:
            raise AssertionError(f"still {value!r} after {elapsed:.2f} s")
        time.sleep(interval)
