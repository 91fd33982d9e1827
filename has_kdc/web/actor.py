"""Who is asking, for the audit trail: the authenticated principal and the client address.

Every handler that changes something passes `request_actor(request)` down to
`has_kdc.admin` or `HasService`, where the change is recorded; the edge only says who.
A route that lets unauthenticated clients in (``conf`` while ``enable_conf`` is on)
records them as ``anonymous``.
"""

from __future__ import annotations

from aiohttp import web

from has_kdc.admin import Actor
from has_kdc.web.auth import request_principal

__all__ = ["ANONYMOUS", "VIA", "request_actor"]

ANONYMOUS = "anonymous"
VIA = "rest"


def request_actor(request: web.Request) -> Actor:
    """The `Actor` of a request: its authenticated principal (or ``anonymous``) from
    its client address (``unknown`` when the transport does not say)."""
    return Actor(request_principal(request) or ANONYMOUS, VIA, request.remote or "unknown")
