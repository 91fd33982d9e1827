"""The HAS nodes a realm knows: registration is by has-server, removal is here.

A has-server registers its host when it starts (``backend.register_node``) and
records its ports (``node/<host>``) and SPNEGO principals (``principals/<host>``) in
the realm configuration; clients' krb5.conf and has-client.conf list every
registered node. A node taken out of service stays registered until it is
deregistered: `deregister_node` removes the registration and both entries in one
transaction. It is the one place that does, for ``hadmin-local delnode``, the admin
REST API (``DELETE /has/v1/admin/deletenode``) and the ``has_node`` module alike.

The node's ``HTTP/`` principals stay (a service may still hold their keys; delete
them with delprinc when it is gone). Stop the node's has-server first: a running
node registers itself again when it starts.
"""

from __future__ import annotations

from has_kdc.admin.errors import AdminError
from has_kdc.admin.realm import NODE_PRINCIPALS_PREFIX
from has_kdc.backend import IdentityBackend

__all__ = ["NODE_PORTS_PREFIX", "deregister_node", "registered_nodes"]

#: realm configuration key prefix: ``node/<host>`` = ``kdc_port=88;https_port=8092``
NODE_PORTS_PREFIX = "node/"


def registered_nodes(backend: IdentityBackend) -> list[str]:
    """Hosts of the registered nodes, in registration order."""
    return backend.list_nodes()


def deregister_node(backend: IdentityBackend, host: str) -> bool:
    """Remove ``host``'s registration and its entries; False if it was not registered."""
    if not host or host != host.strip():
        raise AdminError(f"not a node host name: {host!r}")
    with backend.transaction():
        removed = backend.deregister_node(host)
        for key in (NODE_PORTS_PREFIX + host, NODE_PRINCIPALS_PREFIX + host):
            if backend.get_config(key) is not None:
                backend.set_config(key, None)
                removed = True
        return removed
