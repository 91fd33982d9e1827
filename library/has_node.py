#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a HAS node registered in the realm, or deregistered."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_node
short_description: Register or deregister a HAS node in the realm's shared store
description:
  - Every has-server registers its host when it starts; clients' krb5.conf and
    has-client.conf list every registered node. A node taken out of service stays
    registered (and listed) until it is deregistered.
  - C(state=absent) deregisters I(host) as C(hadmin-local delnode) does; the
    registration and its recorded ports and SPNEGO principal names go, in one
    transaction. Its C(HTTP/) principals stay. Stop the node's has-server first; a
    running node registers itself again when it starts.
  - C(state=present) registers I(host) as has-server does at start (ports are
    recorded by the node itself when it starts).
version_added: "0.1.0"
author: has-kdc contributors
options:
  host:
    description: The node's host as registered (its C(kdc_host)).
    type: str
    required: true
  state:
    description: Whether the node should be registered.
    type: str
    choices: [present, absent]
    default: absent
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
"""

EXAMPLES = r"""
- name: Forget emr-worker-2, removed from the cluster
  has_node:
    conf_dir: /etc/has
    host: emr-worker-2
    state: absent
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
"""

RETURN = r"""
host:
  description: The node's host.
  returned: always
  type: str
nodes:
  description: The registered nodes after the run (as they would be, in check mode).
  returned: always
  type: list
  elements: str
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet (a
      first C(--check) on a fresh host); nothing was read or written.
  returned: in check mode before the first install
  type: bool
"""

from ansible.module_utils.has_kdc_module import ABSENT, CONF_DIR_OPTION, HasKdcModule, summary_diff


def main():
    module = HasKdcModule(
        argument_spec={
            "conf_dir": CONF_DIR_OPTION,
            "host": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "absent"},
        },
        supports_check_mode=True,
        # a new realm registers its nodes as they start; none is there to deregister
        prediction=lambda p: {"changed": False, "host": p["host"], "nodes": []},
    )
    from has_kdc.admin import deregister_node, register_node

    p = module.params
    host = p["host"]
    with module.session(p["conf_dir"]) as (conf, backend, admin):
        nodes = backend.list_nodes()
        registered = host in nodes
        wanted = p["state"] == "present"
        if registered == wanted:
            module.exit_json(changed=False, host=host, nodes=nodes)
        if wanted:
            after = [*nodes, host]
            if not module.check_mode:
                register_node(backend, conf.kdc, admin.audit.actor, host=host)
        else:
            after = [n for n in nodes if n != host]
            if not module.check_mode:
                deregister_node(backend, conf.kdc, admin.audit.actor, host=host)
        describe = "registered HAS node: %s\n" % host
        diff = summary_diff(host, ABSENT if wanted else describe, describe if wanted else ABSENT)
        module.exit_json(changed=True, diff=diff, host=host, nodes=after)


if __name__ == "__main__":
    main()
