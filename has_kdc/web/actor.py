"""Who is asking, for the audit trail: the authenticated principal and the client address.

Every handler that changes something passes `request_actor(request)` down to
`has_kdc.admin` or `HasService`, where the change is recorded; the edge only says who.
A client let in by the setup window (``conf`` routes before init, with the node's
setup token: `has_kdc.web.setup_window`) is recorded as ``setup-token``; a route that
lets anyone in, as ``anonymous``.
"""

from __future__ import annotations

from aiohttp import web

from has_kdc.admin import Actor
from has_kdc.web.auth import GRANT_KEY, request_principal

__all__ = ["ANONYMOUS", "SETUP_TOKEN", "VIA", "request_actor"]

ANONYMOUS = "anonymous"
SETUP_TOKEN = "setup-token"  # noqa: S105 (the name an audit record gives the holder)
VIA = "rest"


def request_actor(request: web.Request) -> Actor:
    """The `Actor` of a request: its authenticated principal (or ``anonymous``) from
    its client address (``unknown`` when the transport does not say)."""
    who = request_principal(request)
    if who is None:
        who = SETUP_TOKEN if request.get(GRANT_KEY) == "setup_token" else ANONYMOUS
    return Actor(who, VIA, request.remote or "unknown")
