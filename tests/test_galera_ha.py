"""Two has-server nodes over a real three-node Galera cluster, and the database hosts dying.

The cluster is three ``mariadbd`` on 127.0.0.1 (tests/galera.py: own datadirs, SQL and
Galera ports, rsync SST, run as ``mysql``), started once for the module. The nodes
are has-server processes on 127.0.1.1 and 127.0.1.2 whose backend.conf lists the three
hosts (``jdbc:mysql://h1,h2,h3/db``) with ``mysql_prefer_host`` db1 for node 1 and db2
for node 2; node 1 keeps serving from memory for ``kdc_stale_ok = 1h``, node 2 for 20 s,
so that the bound itself shows. The cases are those of docs/ha.md:

- ``kdcinit init`` on three conf_dirs, each on its own database host, at the same
  moment (three processes released together by a barrier), 20 times on a fresh
  database: the realm is created exactly once;
- one database host killed under a bounded AS+TGS load through both nodes: no request
  fails, the longest stall and the time back to full service are printed; a
  principal added through node 1 (its own database host dead) is served by node 2
  within the staleness bound; the host rejoins;
- two of three killed: the survivor has no quorum and refuses writes (hadmin-local
  says so); both KDCs serve the principals they hold from memory; the survivor is
  made primary again and the others rejoin;
- all three killed for 30 s: known principals served by node 1 the whole time and by
  node 2 for its 20 s; changes refused (hadmin-local error, admin API 503 through
  hadmin-remote); /health says ``degraded`` and the metrics say so; the cluster is
  recovered (``--wsrep-recover``, the most advanced node bootstrapped) and both nodes
  serve fresh data again by themselves.

Figures are printed (run with ``-s``); the assertions are about what was answered,
not how fast, except the staleness bound the documentation promises.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pymysql
import pytest

from has_kdc.asn1.constants import (
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_SVC_UNAVAILABLE,
)
from has_kdc.client.kdc_client import KdcClient, KdcReplyError
from has_kdc.client.transport import KdcTransport
from has_kdc.conf import BackendConfig
from has_kdc.formats import read_keytab
from tests.galera import GaleraCluster
from tests.hacluster import port_free_on_all, probe, wait_for
from tests.hasnode import HasNode, script
from tests.mitkrb import render_krb5_conf

pytestmark = [pytest.mark.galera, pytest.mark.timeout(600)]

REALM = "HADOOP.COM"
HOSTS = ("127.0.1.1", "127.0.1.2")
DB_USER = "has"
DB_PASSWORD = "galera-db-Secret-9"  # a throwaway test cluster's
INIT_ROUNDS = 20
OUTAGE = 30.0
USERS = {f"user{i}": f"user{i}-pw" for i in range(4)}
SERVICE = "host/svc.example.com"


def galera_config(
    cluster: GaleraCluster,
    database: str,
    *,
    prefer: int | None = None,
    only: int | None = None,
) -> BackendConfig:
    nodes = cluster.nodes if only is None else [cluster.nodes[only]]
    hosts = tuple((n.host, n.port) for n in nodes)
    return BackendConfig(
        kind="mysql",
        mysql_host=hosts[0][0],
        mysql_port=hosts[0][1],
        mysql_hosts=hosts,
        mysql_prefer_host=hosts[prefer] if prefer is not None else None,
        mysql_database=database,
        mysql_user=DB_USER,
        mysql_password=DB_PASSWORD,
        # one connect attempt per dead host costs at most 1 s; back to the preferred
        # host 5 s after it answers again
        mysql_params={"connectTimeout": "1000", "secondsBeforeRetryPrimaryHost": "5"},
    )


def heal(cluster: GaleraCluster) -> None:
    """Every node running and Synced, whatever an earlier test left."""
    running = cluster.running()
    if not running:
        cluster.recover()
        return
    if not any(cluster.nodes[i].synced() for i in running):
        cluster.bootstrap_survivor(running[0])
    for i in range(len(cluster.nodes)):
        if i not in cluster.running():
            cluster.start_node(i)
    cluster.wait_synced()


def synced_rows(cluster: GaleraCluster, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows read on a running node after it applied everything committed anywhere."""
    node = cluster.nodes[cluster.running()[0]]
    conn = node.admin()
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION wsrep_sync_wait = 1")
            cur.execute(sql, params)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def galera() -> Iterator[GaleraCluster]:
    cluster = GaleraCluster(3)
    started = time.monotonic()
    try:
        cluster.start()
        print(f"\nGalera: 3 nodes Synced in {time.monotonic() - started:.1f} s")
        cluster.create_database("g_ha", DB_USER, DB_PASSWORD)
        yield cluster
    finally:
        cluster.close()


# ---------------------------------------------------------------------- init


def _kdcinit_process(conn: Connection, barrier: Barrier) -> None:
    """One node's kdcinit, kept running between rounds: each round it waits for the
    others at ``barrier`` and then runs ``kdcinit <conf_dir> init -p DIR`` (its
    ``main``), so the three start together without paying an interpreter start each."""
    from has_kdc.cli.kdcinit import main

    while (args := conn.recv()) is not None:
        out, err = io.StringIO(), io.StringIO()
        barrier.wait(60)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
        conn.send((code, out.getvalue(), err.getvalue()))


class Inits:
    """Three kdcinit processes (see ``_kdcinit_process``); ``run(nodes)`` is one round."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(count)
        self.pipes = []
        self.procs = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            proc = context.Process(target=_kdcinit_process, args=(theirs, barrier), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def run(self, nodes: list[HasNode]) -> list[tuple[int, str, str]]:
        for pipe, node in zip(self.pipes, nodes, strict=True):
            pipe.send([str(node.conf_dir), "init", "-p", str(node.tmp)])
        results = []
        for pipe in self.pipes:
            if not pipe.poll(120):
                raise AssertionError("a kdcinit did not finish within 120 s")
            results.append(pipe.recv())
        return results

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for proc in self.procs:
            proc.join(10)


def _keytab(path: Path) -> list[tuple]:
    return sorted(
        (e.components, e.kvno, e.enctype, bytes(e.key)) for e in read_keytab(path).entries
    )


def test_concurrent_init_on_every_database_host_creates_the_realm_once(galera, tmp_path):
    heal(galera)
    database = "g_init"  # (named in the queries below)
    started = time.monotonic()
    inits = Inits(3)
    for round_no in range(INIT_ROUNDS):
        galera.drop_database(database)
        galera.create_database(database, DB_USER, DB_PASSWORD)  # no schema yet: that races too
        nodes = [
            HasNode(
                tmp_path / f"round{round_no}" / f"node{i + 1}",
                REALM,
                f"127.0.1.{i + 1}",
                backend=galera_config(galera, database, only=i),  # node i on db i alone
            )
            for i in range(3)
        ]
        results = inits.run(nodes)
        for node, (code, _out, err) in zip(nodes, results, strict=True):
            assert code == 0, f"round {round_no}, {node.host}: {err}"
        created = [out for _, out, _ in results if f"Realm {REALM} initialized; created:" in out]
        found = [out for _, out, _ in results if "is already initialized" in out]
        assert (len(created), len(found)) == (1, 2), [out for _, out, _ in results]
        keytabs = [_keytab(node.admin_keytab) for node in nodes]
        assert keytabs[0] and keytabs[0] == keytabs[1] == keytabs[2], f"round {round_no}"
        rows = synced_rows(
            galera,
            "SELECT name FROM g_init.principals WHERE name LIKE %s OR name LIKE %s",
            (b"krbtgt/%", b"kadmin/%"),
        )
        assert sorted(bytes(r[0]).decode() for r in rows) == sorted(
            [f"kadmin/changepw@{REALM}", f"kadmin/{REALM}@{REALM}", f"krbtgt/{REALM}@{REALM}"]
        )
        (realm,) = synced_rows(galera, "SELECT value FROM g_init.realm_config WHERE name = 'realm'")
        assert realm == (REALM,)
    inits.close()
    galera.drop_database(database)
    print(
        f"\nconcurrent init on 3 database hosts: {INIT_ROUNDS} rounds, the realm created "
        f"exactly once each time ({time.monotonic() - started:.1f} s)"
    )


# ---------------------------------------------------------------------- the nodes


@dataclass
class Ha:
    cluster: GaleraCluster
    nodes: list[HasNode]
    admin_conf: Path
    tmp: Path


@pytest.fixture(scope="module")
def ha(galera, tmp_path_factory) -> Iterator[Ha]:
    tmp = tmp_path_factory.mktemp("galera-ha")
    kdc_port = port_free_on_all(HOSTS)
    https_port = port_free_on_all(HOSTS)
    nodes = [
        HasNode(
            tmp / f"node{i + 1}",
            REALM,
            HOSTS[i],
            kdc_port,
            backend=galera_config(galera, "g_ha", prefer=i),
            https_port=https_port,
            ca_dir=tmp / "ca",
            kdc_extra={"kdc_stale_ok": ("1h", "20s")[i]},
        )
        for i in range(2)
    ]
    started: list[HasNode] = []
    try:
        for node in nodes:
            node.start()
            started.append(node)
        nodes[0].init()
        for user, password in USERS.items():
            nodes[0].hadmin("addprinc", "-pw", password, user)
        nodes[0].hadmin("addprinc", "-randkey", SERVICE)
        admin_conf = tmp / "admin"
        admin_conf.mkdir()
        (admin_conf / "hadmin.conf").write_text(
            "[HAS]\n"
            f"  https_host = {','.join(HOSTS)}\n"
            f"  https_port = {https_port}\n"
            f"  admin_keytab = {nodes[0].admin_keytab}\n"
            f"  admin_keytab_principal = kadmin/{REALM}@{REALM}\n"
            "  filter_auth_type = kerberos\n"
        )
        (admin_conf / "krb5.conf").write_text(
            render_krb5_conf(REALM, [n.kdc_address() for n in nodes])
        )
        shutil.copy(nodes[0].ca_file, admin_conf / "ca-root.pem")
        yield Ha(galera, nodes, admin_conf, tmp)
    finally:
        for node in started:
            node.stop()


def login(node: HasNode, user: str) -> int | None:
    """AS (with pre-authentication) then TGS through ``node`` alone: 0, or the error code."""
    client = KdcClient(KdcTransport([node.kdc_address()], timeout=5.0), REALM)
    try:
        tgt = client.get_tgt(user, USERS.get(user, "x"))
        client.get_service_ticket(tgt, SERVICE)
    except KdcReplyError as exc:
        return exc.code
    except OSError:
        return None
    return 0


def hadmin_remote(ha: Ha, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KRB5_CONFIG", "CA_ROOT")}
    return subprocess.run(
        [script("hadmin-remote"), str(ha.admin_conf), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def warm(ha: Ha) -> None:
    """Every node has served every user and the service (so it holds them)."""
    for node in ha.nodes:
        for user in USERS:
            wait_for(lambda n=node, u=user: login(n, u) == 0, 20)


@dataclass
class Load:
    """A bounded AS+TGS load through both nodes; one record per KDC exchange."""

    nodes: list[HasNode]
    records: list[tuple[float, float, int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _worker(self, index: int, user: str) -> None:
        node = self.nodes[index]
        transport = KdcTransport([node.kdc_address()], timeout=10.0)

        def send(request: bytes) -> bytes:
            sent = time.monotonic()
            try:
                return transport(request)
            finally:
                self.records.append((sent, time.monotonic(), index, "sent"))

        client = KdcClient(send, REALM)
        deadline = time.monotonic() + 120  # bounded, whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                tgt = client.get_tgt(user, USERS[user])
                client.get_service_ticket(tgt, SERVICE)
                outcome = "ok"
            except KdcReplyError as exc:
                outcome = f"error {exc.code}"
            except OSError as exc:
                outcome = f"no answer: {exc}"
            self.records.append((started, time.monotonic(), index, outcome))
            time.sleep(0.02)

    def __enter__(self) -> Load:
        self.threads = [
            threading.Thread(target=self._worker, args=(i % 2, user), daemon=True)
            for i, user in enumerate(USERS)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def logins(self, since: float = 0.0) -> list[tuple[float, float, int, str]]:
        return [r for r in list(self.records) if r[3] != "sent" and r[0] >= since]

    def longest_exchange(self, since: float) -> float:
        return max((e - s for s, e, _, k in list(self.records) if k == "sent" and s >= since))


def test_one_database_host_killed_under_load(ha):
    cluster, (node1, node2) = ha.cluster, ha.nodes
    heal(cluster)
    warm(ha)
    with Load(ha.nodes) as load:
        time.sleep(2.0)
        killed = time.monotonic()
        cluster.kill(0)  # db1: node 1's own database host
        # a principal added through node 1 while its database host is down
        node1.hadmin("addprinc", "-pw", "late-pw", "late")
        written = time.monotonic()
        visible = wait_for(lambda: probe(node2.host, node2.port, "late") == 25, 10)
        full = time.monotonic() - killed
        wait_for(lambda: cluster.status(1).get("wsrep_cluster_size") == "2", 30)
        time.sleep(3.0)
    during = load.logins(killed)
    failed = [r for r in during if r[3] != "ok"]
    assert during and not failed, failed[:5]
    # within the staleness bound: the next change poll (1 s) and one query
    assert visible < 2.0, visible
    stall = load.longest_exchange(killed)
    before = load.longest_exchange(0.0) if load.records else 0.0
    rejoin_started = time.monotonic()
    cluster.start_node(0)
    rejoined = time.monotonic() - rejoin_started
    assert login(node1, "user0") == 0 and login(node2, "user1") == 0
    print(
        f"\none of three database hosts killed (SIGKILL) under load: {len(during)} logins "
        f"(AS with pre-authentication + TGS) through both nodes after the kill, "
        f"{len(failed)} failed; longest KDC exchange after the kill {stall * 1000:.0f} ms "
        f"(whole run {before * 1000:.0f} ms); addprinc through node 1 returned "
        f"{written - killed:.1f} s after the kill (Galera writes wait until the dead host is "
        f"evicted), served by node 2 {visible:.2f} s after that; full service "
        f"(a change through node 1 usable through node 2) {full:.1f} s after the kill; "
        f"db1 rejoined (IST) in {rejoined:.1f} s"
    )


def test_two_of_three_killed_survivor_refuses_writes_kdcs_serve_from_memory(ha):
    cluster, (node1, node2) = ha.cluster, ha.nodes
    heal(cluster)
    warm(ha)
    cluster.kill(0)
    cluster.kill(1)
    lost = time.monotonic()
    # the survivor notices it is alone: a non-primary component
    wait_for(lambda: cluster.status(2).get("wsrep_cluster_status") == "non-Primary", 30)
    with pytest.raises(pymysql.err.MySQLError) as refused:
        cluster.nodes[2].execute("INSERT INTO g_ha.realm_config VALUES ('x', 'y')")
    assert refused.value.args[0] == 1047  # WSREP has not yet prepared node for application use
    proc = node1.hadmin("addprinc", "-pw", "x", "nobody-new", check=False)
    assert proc.returncode == 1 and "no database host of" in proc.stderr, proc.stderr
    assert "non-Primary" in proc.stderr  # it says why the survivor was not used
    for node in (node1, node2):
        for user in USERS:
            assert login(node, user) == 0, (node.host, user)
        assert probe(node.host, node.port, "never-seen") == KDC_ERR_SVC_UNAVAILABLE
    served = time.monotonic() - lost
    cluster.bootstrap_survivor(2)  # the operator's call: db3 carries on alone
    fresh = wait_for(
        lambda: probe(node2.host, node2.port, "never-seen") == KDC_ERR_C_PRINCIPAL_UNKNOWN, 20
    )
    node1.hadmin("addprinc", "-pw", "after-pw", "after2")
    wait_for(lambda: probe(node2.host, node2.port, "after2") == KDC_ERR_PREAUTH_REQUIRED, 5)
    for i in (0, 1):
        cluster.start_node(i)
    cluster.wait_synced()
    print(
        f"\ntwo of three database hosts killed: the survivor refused writes (1047), both KDCs "
        f"served every known principal from memory for {served:.1f} s of checks; after "
        f"pc.bootstrap on the survivor the KDCs were in step again within {fresh:.2f} s"
    )


def test_all_database_hosts_down_for_30_s(ha):
    cluster, (node1, node2) = ha.cluster, ha.nodes
    heal(cluster)
    warm(ha)
    assert hadmin_remote(ha, "getprinc", "user0").returncode == 0  # its tickets are held too
    health_before = node1.https_client().get("health").json()
    assert health_before["status"] == "ok"
    # The bound runs from each KDC's last successful poll: make that now, on both.
    time.sleep(1.2)
    assert all(login(node, "user2") == 0 for node in ha.nodes)
    for i in range(3):
        cluster.kill(i)
    down = time.monotonic()
    answers: dict[int, list[tuple[float, int | None]]] = {0: [], 1: []}
    refusals: dict[str, object] = {}

    def try_changes() -> None:  # beside the logins, so they are sampled all along
        time.sleep(3.0)
        refusals["local"] = node1.hadmin("cpw", "-pw", "new-pw", "user2", check=False)
        refusals["remote"] = hadmin_remote(ha, "cpw", "-pw", "new-pw", "user2")
        refusals["health"] = _health(node1)
        refusals["metrics"] = node1.https_client().get("/metrics").text()
        refusals["nodes"] = json.loads(node1.kdcinit("nodes", "--json").stdout)

    checker = threading.Thread(target=try_changes)
    checker.start()
    while time.monotonic() - down < OUTAGE:
        for index, node in enumerate(ha.nodes):
            answers[index].append((time.monotonic() - down, login(node, "user2")))
        time.sleep(0.5)
    checker.join(60)
    local, remote = refusals["local"], refusals["remote"]
    assert local.returncode == 1 and "no database host of" in local.stderr, local.stderr
    assert remote.returncode == 1 and "503" in remote.stderr, remote.stderr
    assert "database" in remote.stderr
    status, health = refusals["health"]
    assert status == 503 and health["status"] == "degraded", health
    assert health["kdc"]["kdc_state"] == "from_memory"
    assert "has_kdc_serving_from_memory 1" in refusals["metrics"]
    assert "has_database_up 0" in refusals["metrics"]
    hosts = refusals["nodes"]["database"]["hosts"]
    assert [h["state"] for h in hosts] == ["down"] * 3
    served1 = [code for _, code in answers[0]]
    assert set(served1) == {0}, answers[0]  # node 1 (kdc_stale_ok = 1h): the whole time
    early = [code for t, code in answers[1] if t < 15]
    late = [code for t, code in answers[1] if t > 22]
    assert set(early) == {0}, answers[1]
    assert late and set(late) == {KDC_ERR_SVC_UNAVAILABLE}, answers[1]  # beyond its 20 s
    refused_at = min(t for t, code in answers[1] if code == KDC_ERR_SVC_UNAVAILABLE)
    assert {code for t, code in answers[1] if t >= refused_at} == {KDC_ERR_SVC_UNAVAILABLE}
    assert "beyond kdc_stale_ok" in node2.log_text()
    assert "database unreachable" in node1.log_text() and "serving the" in node1.log_text()
    recovery_started = time.monotonic()
    best, positions = cluster.recover()
    cluster_back = time.monotonic() - recovery_started
    back = wait_for(lambda: all(login(n, "user3") == 0 for n in ha.nodes), 30)
    node2.hadmin("cpw", "-pw", "changed-pw", "user3")
    USERS["user3"] = "changed-pw"
    fresh = wait_for(lambda: login(node1, "user3") == 0, 5)
    status, health = _health(node1)
    assert status == 200 and health["status"] == "ok" and health["kdc"]["kdc_state"] == "serving"
    print(
        f"\nall three database hosts killed for {OUTAGE:.0f} s: node 1 (kdc_stale_ok 1h) "
        f"answered all {len(served1)} logins; node 2 (kdc_stale_ok 20s) answered until "
        f"{refused_at:.1f} s, then KDC_ERR_SVC_UNAVAILABLE; hadmin-local and the admin API "
        f"(503) refused changes; cluster recovered in {cluster_back:.1f} s (--wsrep-recover "
        f"seqnos {positions}, bootstrapped db{best + 1}); both KDCs served again "
        f"{back:.2f} s later, a password change seen through the other node in {fresh:.2f} s"
    )


def _health(node: HasNode) -> tuple[int, dict]:
    import http.client

    from has_kdc.client.has_client import client_ssl_context

    conn = http.client.HTTPSConnection(
        node.host, node.https_port, timeout=10, context=client_ssl_context(node.ca_file)
    )
    try:
        conn.request("GET", "/has/v1/health")
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()
