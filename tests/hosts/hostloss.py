"""A HAS host and then the database host lost under a login loop, on booted test hosts.

    python -m tests.hosts.hostloss STATE CLIENT NODE OTHER_NODE DB_HOST USER PLUGIN_USER
    (the two passwords on standard input, one line each)

On CLIENT ``LOOPS`` bounded loops (transient systemd units) log in again and again,
as users would: MIT ``kinit`` with /etc/krb5.conf, then ``login-test tgt /etc/has MySQL`` with
/etc/has/has-client.conf; each round's start, end and exit codes go to a file. Meanwhile:

1. NODE loses its link, then its power (every process dies at once), then boots
   again from its disk: has-server is enabled, so it must serve again with no action.
   Every login must succeed through OTHER_NODE meanwhile.
2. DB_HOST loses its power and boots again (MariaDB enabled): both nodes must serve
   again without being restarted (same has-server main PID before and after).

Printed as JSON: per phase the logins (every login under way at some moment of the
phase), failed logins, the longest login, and recovery times (seconds from the host's
boot until NODE serves kinit alone, and until both nodes report the database reachable
again). Exits 1 when a phase fails its rule.
The loop stops by itself after ``LOOP_LIMIT_S``; everything it wrote on CLIENT goes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.hosts.cluster import Cluster
from tests.hosts.machine import Machine

__all__ = ["main", "phase", "start_login_loops", "stop_login_loops", "wait"]

LOOP_LIMIT_S = 600
#: login loops running side by side on the client (more logins per second measured)
LOOPS = 3
RECOVERY_LIMIT_S = 180
WORK = "/root/has-login-loop"
REALM = "HADOOP.COM"

_LOOP = f"""#!/bin/sh
# loop.sh N: one line per round: start end kinit_rc login_rc
cd {WORK}
n=$1
end=$(( $(date +%s) + {LOOP_LIMIT_S} ))
while [ ! -e stop ] && [ "$(date +%s)" -lt "$end" ]; do
    t0=$(date +%s.%N)
    KRB5CCNAME=FILE:{WORK}/kinit-$n.cc kinit "$(cat user)@{REALM}" < user-password > /dev/null 2>&1
    k=$?
    KRB5CCNAME=FILE:{WORK}/login-$n.cc HAS_USER=$(cat plugin-user) \\
        HAS_PASSWORD=$(cat plugin-password) \\
        /opt/has/venv/bin/login-test tgt /etc/has MySQL > /dev/null 2>&1
    l=$?
    echo "$t0 $(date +%s.%N) $k $l" >> rounds
done
"""


def _check(result, what: str) -> str:
    if result.returncode != 0:
        raise RuntimeError(f"{what}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _write(machine: Machine, path: str, text: str, mode: str = "0600") -> None:
    _check(
        machine.run(["sh", "-c", f"umask 077; cat > {path} && chmod {mode} {path}"], text),
        f"write {path} on {machine.name}",
    )


def rounds_of(client: Machine) -> list[tuple[float, float, int, int]]:
    out = client.run(["cat", f"{WORK}/rounds"]).stdout
    rounds = []
    for line in out.splitlines():
        t0, t1, k, lt = line.split()
        rounds.append((float(t0), float(t1), int(k), int(lt)))
    return rounds


def _kinit_through(client: Machine, node: str) -> bool:
    """kinit through ``node`` alone (a krb5.conf naming only its KDC)."""
    conf = (
        f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
        f"[realms]\n {REALM} = {{\n  kdc = {node}:88\n }}\n"
    )
    _write(client, f"{WORK}/krb5-{node}.conf", conf, "0644")
    script = (
        f"KRB5_CONFIG={WORK}/krb5-{node}.conf KRB5CCNAME=FILE:{WORK}/{node}.cc "
        f'kinit "$(cat {WORK}/user)@{REALM}" < {WORK}/user-password'
    )
    return client.run(["timeout", "10", "sh", "-c", script]).returncode == 0


def _database_reachable(client: Machine, node: str) -> bool:
    """Whether ``node`` serves again: /health says "ok" (to a client on another host it
    says only that; "ok" needs the database, the initialized realm and the KDC)."""
    url = f"https://{node}:8092/has/v1/health"
    result = client.run(["curl", "-s", "--max-time", "5", "--cacert", "/etc/has/ca-root.pem", url])
    try:
        return json.loads(result.stdout)["status"] == "ok"
    except (ValueError, KeyError, TypeError):
        return False


def _main_pid(machine: Machine) -> str:
    return _check(
        machine.run(["systemctl", "show", "--property=MainPID", "--value", "has-server"]),
        f"has-server's PID on {machine.name}",
    ).strip()


def wait(predicate, limit: float = RECOVERY_LIMIT_S) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if predicate():
            return round(time.monotonic() - started, 2)
        time.sleep(0.5)
    return None


def phase(rounds, start: float, end: float) -> dict[str, object]:
    """The rounds that ran at any moment of [start, end): a login begun just before a
    cut and held up by it counts as a login during the cut."""
    inside = [r for r in rounds if r[0] < end and r[1] > start]
    failed = [r for r in inside if r[2] != 0 or r[3] != 0]
    return {
        "logins": len(inside),
        "failed_logins": len(failed),
        "failed_kinit": sum(1 for r in inside if r[2] != 0),
        "failed_login_test": sum(1 for r in inside if r[3] != 0),
        "longest_login_s": round(max((r[1] - r[0] for r in inside), default=0.0), 2),
    }


def start_login_loops(client: Machine, secrets: list[str]) -> None:
    """Start ``LOOPS`` login loops on ``client`` (secrets: user, password, plugin user,
    password; written 0600 in a scratch directory, never on a command line)."""
    user, user_password, plugin_user, plugin_password = secrets
    _check(client.run(["sh", "-c", f"rm -rf {WORK} && mkdir -m 0700 {WORK}"]), "scratch")
    for name, value in (
        ("user", user),
        ("user-password", user_password),
        ("plugin-user", plugin_user),
        ("plugin-password", plugin_password),
    ):
        _write(client, f"{WORK}/{name}", value + "\n")
    _write(client, f"{WORK}/loop.sh", _LOOP, "0700")
    # rounds are stamped on the client with date(1): the hosts share the controller's
    # clock (one kernel), so time.time() here marks the phases on the same scale
    for n in range(1, LOOPS + 1):
        _check(
            client.run(
                ["systemd-run", f"--unit=has-login-loop-{n}", "--collect",
                 "/bin/sh", f"{WORK}/loop.sh", str(n)]
            ),
            "start the login loops",
        )  # fmt: skip


def stop_login_loops(client: Machine) -> list[tuple[float, float, int, int]]:
    """Stop the loops, wait for their last rounds, remove the scratch; the rounds."""
    client.run(["touch", f"{WORK}/stop"])
    units = [f"has-login-loop-{n}" for n in range(1, LOOPS + 1)]
    wait(
        lambda: client.run(["systemctl", "is-active", "--quiet", *units]).returncode != 0,
        60,
    )
    rounds = rounds_of(client)
    client.run(["rm", "-rf", WORK])
    return rounds


def run(
    cluster: Cluster, client_name: str, node: str, other: str, db: str, secrets: list[str]
) -> dict[str, object]:
    client = cluster.machine(client_name)
    start_login_loops(client, secrets)
    report: dict[str, object] = {}
    try:
        baseline_start = time.time()
        if wait(lambda: len(rounds_of(client)) >= 2 * LOOPS, 120) is None:
            raise RuntimeError(f"the login loops made no {2 * LOOPS} rounds in 120 s")

        # 1. a HAS node: link down, power off, power on
        cut = time.time()
        cluster.set_link(node, False)
        time.sleep(20)
        cluster.power_off(node)
        time.sleep(20)
        booted = time.time()
        boot_s = cluster.power_on(node)
        node_kinit_s = wait(lambda: _kinit_through(client, node))
        node_back = time.time()
        time.sleep(5)  # a few rounds with both nodes up again
        pid_before = {n: _main_pid(cluster.machine(n)) for n in (node, other)}

        # 2. the database host: power off, power on
        db_cut = time.time()
        cluster.power_off(db)
        time.sleep(20)
        db_booted = time.time()
        db_boot_s = cluster.power_on(db)
        db_recovery_s = wait(lambda: all(_database_reachable(client, n) for n in (node, other)))
        db_back = time.time()
        time.sleep(5)
        pid_after = {n: _main_pid(cluster.machine(n)) for n in (node, other)}
        end = time.time()
    finally:
        rounds = stop_login_loops(client)

    # before: rounds over before the cut; after: rounds begun once both nodes reached
    # the database again
    report["baseline"] = phase([r for r in rounds if r[1] <= cut], baseline_start, cut)
    report["node_lost"] = {
        "node": node,
        **phase(rounds, cut, node_back),
        "boot_to_ssh_s": boot_s,
        "recovery_s": {
            "cut_to_boot": round(booted - cut, 2),
            "boot_to_kinit_through_node": None
            if node_kinit_s is None
            else round(node_back - booted, 2),
        },
    }
    report["database_lost"] = {
        "host": db,
        **phase(rounds, db_cut, db_back),
        "boot_to_ssh_s": db_boot_s,
        "recovery_s": {
            "off_to_boot": round(db_booted - db_cut, 2),
            "boot_to_both_nodes_reach_database": None
            if db_recovery_s is None
            else round(db_back - db_booted, 2),
        },
        "has_server_restarted": sorted(n for n in pid_before if pid_before[n] != pid_after[n]),
    }
    report["after"] = phase([r for r in rounds if r[0] >= db_back], db_back, end + 60)
    return report


def verdict(report: dict) -> list[str]:
    """What the host loss must not do; empty when it held."""
    problems = []
    lost = report["node_lost"]
    if lost["failed_logins"]:
        problems.append(f"{lost['failed_logins']} logins failed while {lost['node']} was lost")
    if lost["recovery_s"]["boot_to_kinit_through_node"] is None:
        problems.append(f"{lost['node']} did not serve again within {RECOVERY_LIMIT_S} s")
    db = report["database_lost"]
    if db["recovery_s"]["boot_to_both_nodes_reach_database"] is None:
        problems.append(f"the nodes did not reach the database within {RECOVERY_LIMIT_S} s")
    if db["has_server_restarted"]:
        problems.append(
            f"has-server restarted during the database loss: {db['has_server_restarted']}"
        )
    if report["after"]["failed_logins"]:
        problems.append(f"{report['after']['failed_logins']} logins failed after recovery")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    state, client, node, other, db, user, plugin_user = argv
    user_password, plugin_password = sys.stdin.read().splitlines()[:2]
    cluster = Cluster(Path(state))
    report = run(
        cluster, client, node, other, db, [user, user_password, plugin_user, plugin_password]
    )
    problems = verdict(report)
    report["problems"] = problems
    print(json.dumps(report, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
