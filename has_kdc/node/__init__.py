"""One HAS node as a service, between the edges (web/, cli/, library/) and the core.

- `realm_view`: the realm as clients see it (every registered node and its ports),
  for the client exports;
- `service.HasService`: what the node does (client configs, realm init, its KDC's
  state, configuration edits), as plain functions over its conf_dir and the shared
  store, refusing with the domain errors of `errors`;
- `backend_startup`: start-up against a store that may not be there yet, node
  registration and heartbeats;
- `realm_gate`: the KDC held back with error 29 until the realm is initialized, and
  the KDC handlers of a worker process.

Nothing here knows HTTP, a command line or Ansible: `has_kdc.web` maps the errors to
HTTP answers, `has_kdc.cli` to messages and exit codes. The heavier submodules are
imported by their users, so an Ansible module that needs the realm view loads no KDC.
"""

from has_kdc.node.errors import InvalidRequest, NodeConflict, NodeError
from has_kdc.node.realm_view import build_realm_view, kdc_port

__all__ = [
    "InvalidRequest",
    "NodeConflict",
    "NodeError",
    "build_realm_view",
    "kdc_port",
]
