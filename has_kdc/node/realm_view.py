"""The realm as clients see it: every registered HAS node with its KDC and HTTPS ports.

Each has-server registers its host at start (`has_kdc.admin.register_node`, an audited
change). The node table holds host names only, so the ports go next to it in the
shared realm configuration, one entry per node: ``node/<host>`` =
``kdc_port=88;https_port=8092``.
A node registered without such an entry (an older version) is listed with the ports
of the node answering, since HAS nodes share their ports.
"""

from __future__ import annotations

from has_kdc.admin.realm import NODE_KEY_PREFIX
from has_kdc.backend import IdentityBackend
from has_kdc.conf import HasServerConfig, KdcConfig
from has_kdc.conf.client_exports import Node, RealmView

__all__ = [
    "NODE_KEY_PREFIX",
    "build_realm_view",
    "kdc_port",
    "node_ports",
]


def kdc_port(kdc: KdcConfig) -> int:
    """The port clients put in ``kdc = host:port``: UDP's, else TCP's (HAS has one)."""
    port = kdc.kdc_udp_port if kdc.kdc_udp_port is not None else kdc.kdc_tcp_port
    return port if port is not None else 88


def _parse_ports(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in text.split(";"):
        name, _, value = part.partition("=")
        if name.strip() in ("kdc_port", "https_port") and value.strip().isdigit():
            out[name.strip()] = int(value)
    return out


def node_ports(config: dict[str, str], host: str) -> dict[str, int]:
    return _parse_ports(config.get(NODE_KEY_PREFIX + host, ""))


def build_realm_view(
    backend: IdentityBackend,
    kdc: KdcConfig,
    server: HasServerConfig,
    this_host: str | None = None,
) -> RealmView:
    """The RealmView for the client exports, from the nodes registered in ``backend``."""
    config = backend.get_realm_config()
    hosts = backend.list_nodes()
    here = this_host or kdc.kdc_host
    if here not in hosts:  # not registered yet (e.g. kdcinit --local before has-server)
        hosts = [*hosts, here]
    defaults = {"kdc_port": kdc_port(kdc), "https_port": server.https_port}
    nodes = []
    for host in hosts:
        ports = {**defaults, **node_ports(config, host)}
        nodes.append(Node(host, ports["kdc_port"], ports["https_port"]))
    return RealmView(
        realm=kdc.kdc_realm,
        nodes=tuple(nodes),
        ticket_lifetime=kdc.max_life,
        renew_lifetime=kdc.max_renewable_life,
        auth_type=server.auth_type,
        filter_auth_type=server.filter_auth_type,
        enable_conf=server.enable_conf,
        domain_realm=dict(kdc.domain_realm),
        trusted_realms=dict(kdc.trusted_realms),
        capaths=kdc.capaths_map(),
    )
