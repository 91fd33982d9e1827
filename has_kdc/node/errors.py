"""The refusals of a node's own operations, in the node's words, not HTTP's.

`HasService` and the rest of `has_kdc.node` serve the REST API, ``kdcinit --local``
and the Ansible modules alike, so a refusal says what is wrong with the request and
each edge decides how to show it: `has_kdc.web.errors` maps `NodeConflict` to 409
``conflict`` and every other refusal (`InvalidRequest`) to 400 ``bad_request``; the
CLIs print the message and exit 1. Messages are written for users and never hold a
secret.
"""

from __future__ import annotations

__all__ = ["InvalidRequest", "NodeConflict", "NodeError"]


class NodeError(Exception):
    """An operation on this node that cannot be done as asked."""


class InvalidRequest(NodeError):
    """A value the node refuses whatever its state: a host, port, realm or plugin name
    that is not one, a configuration that would not load."""


class NodeConflict(NodeError):
    """A request that is well formed but clashes with the realm as it is, such as a
    realm name other than the database's, or nodes whose ports cannot be exported."""
