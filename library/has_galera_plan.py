#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: which Galera node to bootstrap, if any, and which ones join."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_galera_plan
short_description: Decide how to start a Galera cluster without ever splitting it
description:
  - Takes what C(has_galera_node) reported for every node and returns the node to
    bootstrap (only when no node runs in a primary component) and the nodes to start
    as joiners, following MariaDB's rules; see C(module_utils/has_galera.py).
  - Never bootstraps while a node runs in a primary component; a node is
    bootstrapped after a full stop only if it says C(safe_to_bootstrap 1), or on an
    untouched cluster the bootstrap host, or the node the operator names.
  - Fails, naming each node's position, when that decision is the operator's.
version_added: "0.1.0"
author: has-kdc contributors
options:
  nodes:
    description: Host name to the result of C(has_galera_node) on it, in inventory order.
    type: dict
    required: true
  bootstrap_host:
    description: The host that starts a new cluster when no node ever had one.
    type: str
    required: true
  force_bootstrap:
    description: The host to bootstrap after every node crashed (empty = none).
    type: str
    default: ""
notes:
  - Pure computation; it reads nothing on the host it runs on.
extends_documentation_fragment:
  - has_kdc.read_only
"""

EXAMPLES = r"""
- name: Decide how to start the cluster
  has_galera_plan:
    nodes: >-
      {{ dict(groups['has_mysql']
              | zip(groups['has_mysql'] | map('extract', hostvars, 'galera_node'))) }}
    bootstrap_host: "{{ groups['has_mysql'] | first }}"
  run_once: true
  register: galera_plan
"""

RETURN = r"""
bootstrap:
  description: The host to start with --wsrep-new-cluster, or null.
  returned: success
  type: str
join:
  description: The hosts to start as joiners, one at a time, in this order.
  returned: success
  type: list
  elements: str
stop:
  description: Hosts whose server runs without Galera (a package's first start), to stop first.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.has_galera import plan


def main():
    module = AnsibleModule(
        argument_spec={
            "nodes": {"type": "dict", "required": True},
            "bootstrap_host": {"type": "str", "required": True},
            "force_bootstrap": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    p = module.params
    result = plan(p["nodes"], p["bootstrap_host"], p["force_bootstrap"])
    if result["error"]:
        module.fail_json(msg=result["error"])
    module.exit_json(
        changed=False, bootstrap=result["bootstrap"], join=result["join"], stop=result["stop"]
    )


if __name__ == "__main__":
    main()
