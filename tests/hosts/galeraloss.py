"""Galera database hosts lost under a login loop, on booted test hosts.

    python -m tests.hosts.galeraloss STATE CLIENT NODE OTHER_NODE DB1 DB2 DB3 USER PLUGIN_USER
    (the two passwords on standard input, one line each)

The two HAS nodes list the three database hosts (``mysql_url =
jdbc:mysql://DB1:3306,DB2:3306,DB3:3306/has``), so each uses DB1 while it answers. The
login loops of ``hostloss.py`` run on CLIENT (MIT ``kinit``, then ``login-test tgt``)
through the three cases, one after another:

1. ``one_lost``: DB1 loses its power. A principal is added through NODE (whose database
   host was DB1) as soon as the cluster takes writes again, and must serve a kinit
   through OTHER_NODE alone; DB1 boots again after 20 s and must rejoin by itself
   (mariadb.service is enabled; it catches up by IST).
2. ``quorum_lost``: DB2 and DB3 lose their power. DB1 is left without quorum and must
   refuse writes (``hadmin-local addprinc`` through NODE fails and says why) while both
   KDCs serve logins from memory. The operator's decision, then: DB1 is made the
   primary component (``pc.bootstrap``), DB2 and DB3 boot and rejoin.
3. ``all_down``: the three lose their power at once for 30 s. Logins are served from
   memory, changes refused; then the three boot. Each one's mariadb.service finds its
   position (``galera_recovery``, i.e. ``mariadbd --wsrep-recover``) and Galera's
   ``pc.recovery`` restores the last primary component once all its members are back.
   If it has not within ``RESTORE_LIMIT_S``, the test does what docs/ha.md tells an
   operator: stop them, bootstrap the most advanced one, start the others; the report
   says which of the two brought the cluster back.

Printed as JSON: per case the logins, failed logins, longest login and the times
(seconds) from the loss to each milestone. Exits 1 when a case fails its rule.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import time
from pathlib import Path

from tests.hosts.cluster import Cluster
from tests.hosts.hostloss import (
    REALM,
    WORK,
    phase,
    start_login_loops,
    stop_login_loops,
    wait,
)
from tests.hosts.machine import Machine

__all__ = ["main"]

HADMIN = ["timeout", "60", "/opt/has/venv/bin/hadmin-local", "/etc/has"]
#: seconds the cluster gets to restore itself after every host lost its power
RESTORE_LIMIT_S = 90
OUTAGE_S = 30


def galera_state(db: Machine) -> dict[str, str]:
    """The node's wsrep status (empty when its server does not answer)."""
    query = (
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', "
        "'wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_last_committed')"
    )
    try:
        result = db.run(["timeout", "5", "mariadb", "-N", "-B", "-e", query])
    except RuntimeError:  # powered off
        return {}
    if result.returncode != 0:
        return {}
    return dict(line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)


def synced(dbs: list[Machine]) -> bool:
    """Every node Synced in one primary component of them all."""
    for db in dbs:
        state = galera_state(db)
        if (
            state.get("wsrep_cluster_status") != "Primary"
            or state.get("wsrep_local_state_comment") != "Synced"
            or state.get("wsrep_cluster_size") != str(len(dbs))
        ):
            return False
    return True


def hadmin(node: Machine, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """hadmin-local on ``node``: exit status and its last line of output."""
    result = node.run([*HADMIN, *args], stdin)
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return result.returncode, lines[-1] if lines else ""


def kinit_through(client: Machine, node: str, principal: str, password: str) -> bool:
    """kinit as ``principal`` through ``node`` alone (a krb5.conf naming only its KDC)."""
    conf = (
        f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
        f"[realms]\n {REALM} = {{\n  kdc = {node}:88\n }}\n"
    )
    client.run(
        ["sh", "-c", f"umask 077; mkdir -p {WORK}/galera; cat > {WORK}/galera/krb5.conf"], conf
    )
    script = (
        f"KRB5_CONFIG={WORK}/galera/krb5.conf KRB5CCNAME=FILE:{WORK}/galera/cc "
        f"timeout 10 kinit {principal}@{REALM}"
    )
    return client.run(["sh", "-c", script], password + "\n").returncode == 0


def health(client: Machine, node: str) -> str:
    """The node's /health status as a client on another host sees it."""
    url = f"https://{node}:8092/has/v1/health"
    result = client.run(["curl", "-s", "--max-time", "5", "--cacert", "/etc/has/ca-root.pem", url])
    try:
        return str(json.loads(result.stdout)["status"])
    except (ValueError, KeyError, TypeError):
        return "no answer"


def since(start: float) -> float:
    return round(time.time() - start, 2)


def until(predicate, limit: float) -> float | None:
    """Seconds until ``predicate`` holds (checked every 0.5 s), None after ``limit``."""
    return wait(predicate, limit)


def refused_write(node: Machine, name: str) -> tuple[float | None, str]:
    """addprinc through ``node``, which must fail: seconds until it did, and its error
    (None and the output when the write was accepted)."""
    started = time.time()
    rc, message = hadmin(node, "addprinc", "-randkey", name)
    if rc == 0:
        return None, f"accepted: {message}"
    return since(started), message


def accepted_write(node: Machine, name: str, limit: float = 120) -> tuple[float | None, str]:
    """Try addprinc -randkey through ``node`` until it succeeds; seconds and last error."""
    started = time.time()
    last = ""
    while time.time() - started < limit:
        rc, last = hadmin(node, "addprinc", "-randkey", name)
        if rc == 0 or "already exists" in last:
            return since(started), ""
        time.sleep(0.5)
    return None, last


def restore_as_operator(dbs: list[Machine]) -> dict[str, object]:
    """docs/ha.md's recovery after every node crashed: each node's recovered position
    (galera_recovery, i.e. mariadbd --wsrep-recover), the most advanced one
    bootstrapped (safe_to_bootstrap: 1, galera_new_cluster), the others started."""
    positions = {}
    for db in dbs:
        db.run(["systemctl", "stop", "mariadb"])
        out = db.run(["galera_recovery"]).stdout
        found = re.search(r"--wsrep_start_position=[0-9a-f-]+:(-?\d+)", out)
        positions[db.name] = int(found.group(1)) if found else -1
    best = max(dbs, key=lambda d: positions[d.name])
    best.run(
        [
            "sed",
            "-i",
            "s/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/",
            "/var/lib/mysql/grastate.dat",
        ]
    )
    best.run(["galera_new_cluster"])
    for db in dbs:
        if db is not best:
            db.run(["systemctl", "start", "mariadb"])
    return {"positions": positions, "bootstrapped": best.name}


def run(
    cluster: Cluster,
    client_name: str,
    node_name: str,
    other: str,
    db_names: list[str],
    login_secrets: list[str],
) -> dict[str, object]:
    client, node = cluster.machine(client_name), cluster.machine(node_name)
    dbs = [cluster.machine(n) for n in db_names]
    db1, db2, db3 = db_names
    late_password = secrets.token_urlsafe(12)
    # names of this run alone: a principal of an earlier run on the same hosts would
    # answer "already exists" and have another password
    run_id = secrets.token_hex(3)
    late = f"galera-late-{run_id}"
    report: dict[str, object] = {}
    start_login_loops(client, login_secrets)
    marks: dict[str, tuple[float, float]] = {}
    try:
        if wait(lambda: synced(dbs), 120) is None:
            raise RuntimeError("the Galera cluster is not Synced with 3 nodes before the losses")

        # 1. one database host lost
        cut = time.time()
        cluster.power_off(db1)
        rc, message = hadmin(
            node,
            "addprinc",
            late,
            stdin=f"{late_password}\n{late_password}\n",
        )
        while rc != 0 and time.time() - cut < 120:
            time.sleep(0.5)
            rc, message = hadmin(
                node, "addprinc", late, stdin=f"{late_password}\n{late_password}\n"
            )
            if "already exists" in message:
                rc = 0
        write_s = since(cut) if rc == 0 else None
        usable = until(lambda: kinit_through(client, other, late, late_password), 60)
        usable_s = since(cut) if usable is not None else None
        time.sleep(max(0.0, 20 - (time.time() - cut)))
        booted = time.time()
        boot_s = cluster.power_on(db1)
        rejoined = until(lambda: synced(dbs), 180)
        back = time.time()
        marks["one_lost"] = (cut, back)
        report["one_lost"] = {
            "host": db1,
            "write_through_node_accepted_after_s": write_s,
            "write_error_until_then": "" if rc == 0 else message,
            "usable_through_other_node_after_s": usable_s,
            "boot_to_ssh_s": boot_s,
            "boot_to_rejoined_s": None if rejoined is None else since(booted),
        }

        # 2. two of three lost: no quorum
        cut = time.time()
        cluster.power_off(db2)
        cluster.power_off(db3)
        # writes stall until Galera evicts the lost nodes; then the survivor is alone,
        # without quorum, and must refuse
        no_quorum = until(
            lambda: galera_state(dbs[0]).get("wsrep_cluster_status") == "non-Primary", 60
        )
        survivor = galera_state(dbs[0])
        refused_s, refusal = refused_write(node, f"galera-refused-{run_id}")
        time.sleep(max(0.0, 20 - (time.time() - cut)))
        served_until = time.time()
        # the operator's decision: the survivor becomes the primary component
        dbs[0].run(["mariadb", "-e", "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'"])
        write_after_s, write_error = accepted_write(node, f"galera-after-quorum-{run_id}")
        booted = time.time()
        boot_s = {n: cluster.power_on(n) for n in (db2, db3)}
        rejoined = until(lambda: synced(dbs), 180)
        back = time.time()
        marks["quorum_lost"] = (cut, served_until)
        report["quorum_lost"] = {
            "hosts": [db2, db3],
            "survivor_non_primary_after_s": None if no_quorum is None else round(no_quorum, 2),
            "survivor_state": survivor,
            "write_refused_in_s": refused_s,
            "refusal": refusal,
            "pc_bootstrap_to_write_accepted_s": write_after_s,
            "write_error": write_error,
            "boot_to_rejoined_s": None if rejoined is None else since(booted),
            "boot_to_ssh_s": boot_s,
        }

        # 3. every database host lost for OUTAGE_S
        cut = time.time()
        for db in db_names:
            cluster.power_off(db)
        time.sleep(3)
        refused_s, refusal = refused_write(node, f"galera-refused-{run_id}")
        node_health = health(client, node_name)
        time.sleep(max(0.0, OUTAGE_S - (time.time() - cut)))
        booted = time.time()
        boot_s = {n: cluster.power_on(n) for n in db_names}
        restored = until(lambda: synced(dbs), RESTORE_LIMIT_S)
        operator = None
        if restored is None:
            operator = restore_as_operator(dbs)
            restored = until(lambda: synced(dbs), 180)
        cluster_back = time.time()
        nodes_back = until(lambda: all(health(client, n) == "ok" for n in (node_name, other)), 120)
        write_after_s, write_error = accepted_write(node, f"galera-after-outage-{run_id}")
        back = time.time()
        marks["all_down"] = (cut, booted)
        marks["all_recovering"] = (booted, back)
        marks["after"] = (back, back + 10)
        report["all_down"] = {
            "hosts": db_names,
            "outage_s": round(booted - cut, 2),
            "write_refused_in_s": refused_s,
            "refusal": refusal,
            "node_health_during": node_health,
            "boot_to_ssh_s": boot_s,
            "restored_by": "pc.recovery" if operator is None else "operator",
            "operator": operator,
            "boot_to_cluster_synced_s": None
            if restored is None
            else round(cluster_back - booted, 2),
            "cluster_synced_to_both_nodes_ok_s": nodes_back,
            "boot_to_write_accepted_s": None if write_after_s is None else round(back - booted, 2),
            "write_error": write_error,
        }
        time.sleep(10)  # a few rounds with everything back
    finally:
        rounds = stop_login_loops(client)
    for case, (start, end) in marks.items():
        figures = phase(rounds, start, end)
        if case in report:
            report[case] = {**figures, **report[case]}
        else:
            report[case] = figures
    return report


def verdict(report: dict) -> list[str]:
    """What the losses must not do; empty when they held."""
    problems = []
    one = report["one_lost"]
    if one["failed_logins"]:
        problems.append(f"{one['failed_logins']} logins failed while {one['host']} was lost")
    if one["write_through_node_accepted_after_s"] is None:
        problems.append(
            f"no write accepted with {one['host']} lost: {one['write_error_until_then']}"
        )
    if one["usable_through_other_node_after_s"] is None:
        problems.append("a principal added through one node was not usable through the other")
    if one["boot_to_rejoined_s"] is None:
        problems.append(f"{one['host']} did not rejoin the cluster")
    quorum = report["quorum_lost"]
    if quorum["failed_logins"]:
        problems.append(f"{quorum['failed_logins']} logins failed while quorum was lost")
    if quorum["write_refused_in_s"] is None:
        problems.append(f"the survivor without quorum took a write: {quorum['refusal']}")
    if quorum["pc_bootstrap_to_write_accepted_s"] is None:
        problems.append(f"no write after pc.bootstrap: {quorum['write_error']}")
    if quorum["boot_to_rejoined_s"] is None:
        problems.append("the two hosts did not rejoin after pc.bootstrap")
    down = report["all_down"]
    if down["failed_logins"]:
        problems.append(f"{down['failed_logins']} logins failed with every database host down")
    if down["write_refused_in_s"] is None:
        problems.append(f"a write was accepted with every database host down: {down['refusal']}")
    if down["boot_to_cluster_synced_s"] is None:
        problems.append("the cluster did not come back after every host lost its power")
    if down["boot_to_write_accepted_s"] is None:
        problems.append(f"no write after the cluster came back: {down['write_error']}")
    if down["cluster_synced_to_both_nodes_ok_s"] is None:
        problems.append("the nodes did not serve again (/health ok) after the cluster came back")
    if report["after"]["failed_logins"]:
        problems.append(f"{report['after']['failed_logins']} logins failed after recovery")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 9:
        print(__doc__, file=sys.stderr)
        return 2
    state, client, node, other, db1, db2, db3, user, plugin_user = argv
    user_password, plugin_password = sys.stdin.read().splitlines()[:2]
    report = run(
        Cluster(Path(state)),
        client,
        node,
        other,
        [db1, db2, db3],
        [user, user_password, plugin_user, plugin_password],
    )
    problems = verdict(report)
    report["problems"] = problems
    print(json.dumps(report, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
