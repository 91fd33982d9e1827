"""Database faults under running has-server nodes, on a private MariaDB this module owns.

What is promised (docs/ha.md, "Faults"):

- MySQL unreachable when has-server starts: the node starts anyway (KDC ports bound,
  AS/TGS answered with KRB-ERROR 29 KDC_ERR_SVC_UNAVAILABLE), logs one clear line per
  attempt ("MySQL at host:port/db unreachable: ...; retrying in N s") with growing
  delays, and serves as soon as the database is back, without a restart.
- MySQL lost while running: a request that needs the database (a principal not in
  the node's cache, or the one request that runs the once-a-second change poll) is
  answered 29 at once; principals already cached keep being served meanwhile. No
  request waits past the MySQL timeouts (a stopped server: immediately; a hung one:
  the 5 s read timeout), so an MIT client is never left without an answer.
- MySQL restarted (here: crashed with SIGKILL and started again) under load: both
  nodes recover by themselves within about a second of the database being back.

Probes are single AS-REQs from our own client (``tests.hacluster.probe``): MIT kinit
retries a 29 for many seconds, which would hide what one node answered and when.
"""

from __future__ import annotations

import threading
import time

import pytest

from has_kdc.asn1.constants import (
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_SVC_UNAVAILABLE,
)
from tests.hacluster import REALM, make_nodes, mysql_config, probe, wait_for
from tests.mariadb import MariaDb

pytestmark = pytest.mark.mit


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A MariaDB of this module's own: the tests stop, kill and restart it."""
    server = MariaDb(tmp_path_factory.mktemp("ha-faults-db"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _ensure_running(server: MariaDb) -> None:
    if not server.running:
        server.start()


def test_unreachable_at_start_then_serving_when_the_database_comes(db, tmp_path):
    _ensure_running(db)
    config = mysql_config(db, "ha_start")
    (node,) = make_nodes(tmp_path, config, hosts=("127.0.1.1",))
    db.stop()
    node.start()  # returns once the KDC listens, although MySQL is down
    try:
        assert probe(node.host, node.port, "alice") == KDC_ERR_SVC_UNAVAILABLE
        where = f"MySQL at {db.host}:{db.port}/ha_start unreachable:"
        wait_for(lambda: node.log_text().count("retrying in") >= 3, 10)
        log = node.log_text()
        assert where in log, log
        delays = [
            float(line.split("retrying in ")[1].split(" s")[0])
            for line in log.splitlines()
            if where in line and "retrying in " in line
        ]
        assert delays[1:] == sorted(delays[1:]) and delays[-1] > delays[1], delays  # backoff
        assert probe(node.host, node.port, "alice") == KDC_ERR_SVC_UNAVAILABLE
        db.start()
        up = time.monotonic()
        node.init()
        node.hadmin("addprinc", "-pw", "alice-pw", "alice")
        wait_for(lambda: probe(node.host, node.port, "alice") == KDC_ERR_PREAUTH_REQUIRED, 5)
        print(f"serving {time.monotonic() - up:.2f} s after MySQL came up (init included)")
        node.mit_client(tmp_path / "client").kinit("alice", "alice-pw")
        # The background retries registered the node and, the realm being initialized
        # by then or later, its HTTP principal exists (init creates it for the node).
        wait_for(lambda: "registered" in node.log_text(), 35)
        assert f"HTTP/{node.host}@{REALM}" in node.hadmin("listprincs", "HTTP/*").stdout.split()
    finally:
        node.stop()
        _ensure_running(db)


def test_database_lost_while_running_gets_prompt_29_and_recovers(db, tmp_path):
    _ensure_running(db)
    config = mysql_config(db, "ha_lost")
    (node,) = make_nodes(tmp_path, config, hosts=("127.0.1.1",))
    node.start()
    try:
        node.init()
        node.hadmin("addprinc", "-pw", "alice-pw", "alice")
        client = node.mit_client(tmp_path / "client")
        wait_for(lambda: client.kinit("alice", "alice-pw", check=False).returncode == 0, 5)

        db.kill()  # a crash: connections reset, nothing listens
        started = time.monotonic()
        assert probe(node.host, node.port, "bob") == KDC_ERR_SVC_UNAVAILABLE
        assert time.monotonic() - started < 1.0
        # For 2.5 s: uncached names always 29; cached alice served or (the request
        # that ran the failing change poll) 29; every answer prompt.
        answers: dict[str, list[int | None]] = {"alice": [], "bob": []}
        slowest = 0.0
        until = time.monotonic() + 2.5
        while time.monotonic() < until:
            for name in answers:
                sent = time.monotonic()
                answers[name].append(probe(node.host, node.port, name))
                slowest = max(slowest, time.monotonic() - sent)
            time.sleep(0.05)
        assert set(answers["bob"]) == {KDC_ERR_SVC_UNAVAILABLE}
        assert set(answers["alice"]) <= {KDC_ERR_PREAUTH_REQUIRED, KDC_ERR_SVC_UNAVAILABLE}
        assert KDC_ERR_PREAUTH_REQUIRED in answers["alice"]  # the cache still serves
        assert slowest < 1.0, slowest

        # A hung server (SIGSTOP): answers wait for the read timeout (5 s), not forever.
        db.start()
        wait_for(lambda: probe(node.host, node.port, "bob") == KDC_ERR_C_PRINCIPAL_UNKNOWN, 5)
        db.pause()
        sent = time.monotonic()
        code = probe(node.host, node.port, "carol", timeout=10)
        waited = time.monotonic() - sent
        db.resume()
        assert code == KDC_ERR_SVC_UNAVAILABLE and waited < 6.5, (code, waited)
        recovered = wait_for(
            lambda: probe(node.host, node.port, "carol") == KDC_ERR_C_PRINCIPAL_UNKNOWN, 10
        )
        print(
            f"lost: 29 within {slowest:.3f} s; hung: 29 after {waited:.1f} s; "
            f"back {recovered:.2f} s"
        )
        client.kinit("alice", "alice-pw")
    finally:
        db.resume()
        node.stop()


def test_database_restart_under_load_both_nodes_recover(db, tmp_path):
    _ensure_running(db)
    config = mysql_config(db, "ha_restart")
    nodes = make_nodes(tmp_path, config)
    for node in nodes:
        node.start()
    try:
        nodes[0].init()
        nodes[1].hadmin("addprinc", "-pw", "alice-pw", "alice")
        for node in nodes:
            wait_for(lambda n=node: probe(n.host, n.port, "alice") == KDC_ERR_PREAUTH_REQUIRED, 5)

        records: list[tuple[float, int, int | None]] = []  # (time, node index, answer)
        stop = threading.Event()

        def load() -> None:
            i = 0
            deadline = time.monotonic() + 30  # bounded, whatever happens
            while not stop.is_set() and time.monotonic() < deadline:
                index = i % len(nodes)
                node = nodes[index]
                # a name never asked before: no cache entry, so the database is needed
                answer = probe(node.host, node.port, f"nobody{i}", timeout=5)
                records.append((time.monotonic(), index, answer))
                i += 1
                time.sleep(0.01)

        loader = threading.Thread(target=load)
        loader.start()
        try:
            time.sleep(1.0)
            down = time.monotonic()
            db.kill()
            time.sleep(1.0)
            restarting = time.monotonic()
            db.start()
            up = time.monotonic()  # mariadbd accepts connections (give or take 0.1 s)
            wait_for(lambda: _recovered(records, up, len(nodes)), 15)
            time.sleep(0.5)
        finally:
            stop.set()
            loader.join()

        assert all(answer is not None for _, _, answer in records), "a request got no answer"
        during = {a for t, _, a in records if down + 0.1 < t < restarting}
        assert during == {KDC_ERR_SVC_UNAVAILABLE}, during
        outage, recovery = [], []
        for index in range(len(nodes)):
            mine = [(t, a) for t, i, a in records if i == index and t > down]
            failed = [t for t, a in mine if a == KDC_ERR_SVC_UNAVAILABLE]
            first_ok = next(t for t, a in mine if t > failed[-1])
            # once recovered, every later answer is right again (the database's "unknown")
            assert {a for t, a in mine if t >= first_ok} == {KDC_ERR_C_PRINCIPAL_UNKNOWN}
            outage.append(first_ok - failed[0])
            recovery.append(first_ok - up)
        print(
            f"MariaDB killed, started again after {restarting - down:.1f} s, accepting after "
            f"{up - down:.1f} s; {len(records)} requests; per node: outage seen by clients "
            + ", ".join(f"{o:.2f} s" for o in outage)
            + "; recovered after the database was up: "
            + ", ".join(f"{r:+.2f} s" for r in recovery)
        )
        assert max(recovery) < 3.0, recovery

        # Correct answers through both nodes, no restart: a principal added now works.
        nodes[0].hadmin("addprinc", "-pw", "dave-pw", "dave")
        for i, node in enumerate(nodes):
            client = node.mit_client(tmp_path / f"client{i}")
            wait_for(lambda c=client: c.kinit("dave", "dave-pw", check=False).returncode == 0, 2)
            client.kinit("alice", "alice-pw")
    finally:
        for node in nodes:
            node.stop()


def _recovered(records: list[tuple[float, int, int | None]], up: float, count: int) -> bool:
    """Whether every node has answered "unknown principal" (the database's answer) since ``up``."""
    return all(
        any(t > up and i == index and a == KDC_ERR_C_PRINCIPAL_UNKNOWN for t, i, a in list(records))
        for index in range(count)
    )
