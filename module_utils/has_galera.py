# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""How to start a Galera cluster safely, as one function of what every node says.

The rules MariaDB's documentation gives, made mechanical so that a playbook run never
splits a cluster:

- **A cluster that runs is joined, never bootstrapped.** If any node is a member of a
  primary component, the stopped nodes start as joiners (they catch up by IST or SST).
- **Running nodes without a primary component are left to the operator.** Such nodes
  lost quorum; making one of them primary (``pc.bootstrap``) is a decision about
  which data wins, so the plan fails and says so.
- **All nodes stopped:**

  - no node has ever been in a cluster (no ``grastate.dat`` with a cluster UUID):
    a new cluster is bootstrapped on the bootstrap host (the first of the group);
  - exactly one node says ``safe_to_bootstrap: 1`` (the last to leave after a clean
    shutdown): that one is bootstrapped, the others join;
  - none does (every node crashed): the plan fails with each node's position
    (``seqno``) unless the operator names the node to bootstrap
    (``force_bootstrap``), which should be the most advanced one.

``plan()`` is pure: it takes what ``has_galera_node`` gathered on each host and
returns what to do, so it is tested without a cluster.
"""

from __future__ import annotations

_NO_CLUSTER = ("", "00000000-0000-0000-0000-000000000000")


def read_grastate(path):
    """``grastate.dat`` as a dict (``uuid``, ``seqno``, ``safe_to_bootstrap``), {} if none."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not key.lstrip().startswith("#"):
            out[key.strip()] = value.strip()
    return out


def has_cluster(node):
    """Whether a stopped node's datadir has been part of a cluster."""
    return node.get("grastate", {}).get("uuid", "") not in _NO_CLUSTER


def primary(node):
    state = node.get("wsrep") or {}
    return bool(node.get("running")) and state.get("wsrep_cluster_status") == "Primary"


def plan(nodes, bootstrap_host, force_bootstrap=""):
    """What to do: ``{"bootstrap": host or None, "join": [hosts], "stop": [hosts],
    "error": text or None}`` (``stop``: servers running without Galera, to stop first).

    ``nodes`` maps each host to what ``has_galera_node`` returned for it; the order of
    ``join`` is the order of ``nodes`` (the inventory's).
    """
    hosts = list(nodes)
    # A server running without Galera (a package's first start) is stopped first and
    # then counts as stopped.
    standalone = [h for h in hosts if nodes[h].get("running") and not nodes[h].get("galera")]
    if standalone:
        nodes = {
            h: ({"grastate": n.get("grastate", {})} if h in standalone else n)
            for h, n in nodes.items()
        }
    result = _plan(nodes, hosts, bootstrap_host, force_bootstrap)
    result["stop"] = standalone
    return result


def _plan(nodes, hosts, bootstrap_host, force_bootstrap):
    stopped = [h for h in hosts if not nodes[h].get("running")]
    if any(primary(nodes[h]) for h in hosts):
        return {"bootstrap": None, "join": stopped, "error": None}
    running = [h for h in hosts if nodes[h].get("running")]
    if running:
        return {
            "bootstrap": None,
            "join": [],
            "error": (
                "Galera nodes %s run without a primary component (quorum lost); the role "
                "does not choose which data wins: make the most advanced one primary "
                "(SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'), then run again"
                % ", ".join(running)
            ),
        }
    if force_bootstrap:
        if force_bootstrap not in nodes:
            return {
                "bootstrap": None,
                "join": [],
                "error": "force_bootstrap %s is not one of the nodes (%s)"
                % (force_bootstrap, ", ".join(hosts)),
            }
        return _start(hosts, force_bootstrap)
    if not any(has_cluster(nodes[h]) for h in hosts):
        if bootstrap_host not in nodes:
            return {
                "bootstrap": None,
                "join": [],
                "error": "bootstrap host %s is not one of the nodes (%s)"
                % (bootstrap_host, ", ".join(hosts)),
            }
        return _start(hosts, bootstrap_host)
    safe = [h for h in hosts if nodes[h].get("grastate", {}).get("safe_to_bootstrap") == "1"]
    if len(safe) == 1:
        return _start(hosts, safe[0])
    positions = ", ".join(
        "%s seqno %s" % (h, nodes[h].get("grastate", {}).get("seqno", "?")) for h in hosts
    )
    return {
        "bootstrap": None,
        "join": [],
        "error": (
            "every Galera node is stopped and %s says safe_to_bootstrap: 1 (%s); after a "
            "crash, find the most advanced node (mariadbd --wsrep-recover on each, or "
            "galera_recovery) and set has_mariadb_galera_force_bootstrap to it"
            % ("none" if not safe else "more than one", positions)
        ),
    }


def _start(hosts, first):
    return {"bootstrap": first, "join": [h for h in hosts if h != first], "error": None}
