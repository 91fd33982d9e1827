#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: what one Galera node is doing, read from its socket and its datadir."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_galera_node
short_description: Report (and optionally wait for) the Galera state of one MariaDB node
description:
  - Reads the node's Galera status over its unix socket as C(root) (socket
    authentication) when the server runs, and its C(grastate.dat) (cluster UUID,
    C(seqno), C(safe_to_bootstrap)) from the data directory in any case.
  - With I(wait_synced), waits until the node is C(Synced) in a primary component of
    at least I(cluster_size) nodes, and fails with the last state seen if it is not
    within that many seconds. Check mode never waits.
  - Changes nothing; the role decides from these facts (module C(has_galera_plan)).
  - Needs PyMySQL for the interpreter that runs it (Debian C(python3-pymysql)).
version_added: "0.1.0"
author: has-kdc contributors
options:
  login_unix_socket:
    description: The server's unix socket.
    type: path
    required: true
  datadir:
    description: The server's data directory (where C(grastate.dat) is).
    type: path
    required: true
  wait_synced:
    description: Seconds to wait for the node to be Synced in a primary component (0 = do not wait).
    type: int
    default: 0
  cluster_size:
    description: With I(wait_synced), the cluster size to wait for as well.
    type: int
    default: 0
extends_documentation_fragment:
  - has_kdc.read_only
"""

EXAMPLES = r"""
- name: Wait until this node has joined
  has_galera_node:
    login_unix_socket: /run/mysqld/mysqld.sock
    datadir: /var/lib/mysql
    wait_synced: 300
    cluster_size: 3
"""

RETURN = r"""
running:
  description: Whether the server answered on its socket.
  returned: always
  type: bool
galera:
  description: Whether the running server has wsrep on (false for a standalone server).
  returned: always
  type: bool
wsrep:
  description: The wsrep status variables (lower-case names) of a running node.
  returned: always
  type: dict
  sample:
    wsrep_cluster_size: "3"
    wsrep_cluster_status: Primary
    wsrep_local_state_comment: Synced
grastate:
  description: The fields of grastate.dat (empty when there is none).
  returned: always
  type: dict
  sample: {"uuid": "1b1c1942-eefe-11f1-b21c-abb59facdbd5", "seqno": "-1", "safe_to_bootstrap": "0"}
initialized:
  description: Whether the data directory holds system tables.
  returned: always
  type: bool
synced:
  description: Whether the node is Synced in a primary component.
  returned: always
  type: bool
"""

import os
import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.has_galera import read_grastate

PYMYSQL_ERROR = None
try:
    import pymysql
except ImportError:  # pragma: no cover - reported below
    PYMYSQL_ERROR = traceback.format_exc()

_STATUS = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', "
    "'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_state_uuid', "
    "'wsrep_connected', 'wsrep_last_committed')"
)


def wsrep_status(socket_path):
    """The node's wsrep status (``galera``: whether wsrep is on), or None when the server
    does not answer."""
    if not os.path.exists(socket_path):
        return None
    try:
        conn = pymysql.connect(
            unix_socket=socket_path, user="root", connect_timeout=5, read_timeout=10
        )
    except pymysql.err.MySQLError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.wsrep_on")
            galera = bool(int(cur.fetchone()[0]))
            cur.execute(_STATUS)
            state = {str(k).lower(): str(v) for k, v in cur.fetchall()}
            state["galera"] = galera
            return state
    except pymysql.err.MySQLError:
        return None
    finally:
        conn.close()


def synced(state, size):
    return bool(
        state
        and state.get("wsrep_local_state_comment") == "Synced"
        and state.get("wsrep_cluster_status") == "Primary"
        and int(state.get("wsrep_cluster_size", "0") or 0) >= size
    )


def main():
    module = AnsibleModule(
        argument_spec={
            "login_unix_socket": {"type": "path", "required": True},
            "datadir": {"type": "path", "required": True},
            "wait_synced": {"type": "int", "default": 0},
            "cluster_size": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    if PYMYSQL_ERROR is not None:
        module.fail_json(
            msg="PyMySQL is not importable by this interpreter; install python3-pymysql",
            exception=PYMYSQL_ERROR,
        )
    p = module.params
    state = wsrep_status(p["login_unix_socket"])
    if p["wait_synced"] > 0 and not module.check_mode:
        deadline = time.monotonic() + p["wait_synced"]
        while not synced(state, p["cluster_size"]) and time.monotonic() < deadline:
            time.sleep(1)
            state = wsrep_status(p["login_unix_socket"])
        if not synced(state, p["cluster_size"]):
            state = {k: v for k, v in (state or {}).items() if k != "galera"}
            module.fail_json(
                msg="the Galera node is not Synced in a primary component of %d nodes after "
                "%d s: %s" % (p["cluster_size"], p["wait_synced"], state or "not answering"),
                wsrep=state,
            )
    galera = bool(state and state.pop("galera"))
    module.exit_json(
        changed=False,
        running=state is not None,
        galera=galera,
        wsrep=state or {},
        grastate=read_grastate(os.path.join(p["datadir"], "grastate.dat")),
        initialized=os.path.isdir(os.path.join(p["datadir"], "mysql")),
        synced=synced(state, 0),
    )


if __name__ == "__main__":
    main()
