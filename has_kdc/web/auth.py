"""Who is asking: the authentication slot of the web server, and the admin check.

The server itself authenticates nobody. ``filter_auth_type = kerberos`` is served by
an `Authenticator` installed in ``WebContext.authenticator`` (the SPNEGO acceptor,
has_kdc/web/spnego.py). The middleware here calls it once per request, before any
handler:

- it returns ``None`` when the request carries no credentials it understands, or
  an `AuthResult` naming the client principal (plus response headers such as the
  mutual-authentication ``WWW-Authenticate: Negotiate <token>``, added to the answer);
- it raises ``ApiError(401, ...)`` for credentials that are present and wrong.

The result lands in ``request[AUTH_RESULT_KEY]`` (`request_principal` reads it).
Endpoints that need an administrator call `require_admin`: without a principal the
answer is 401 (with ``WWW-Authenticate: Negotiate`` when Kerberos is configured, so
curl --negotiate and browsers retry), with a principal that is not an admin it is 403. With no
authenticator installed every admin endpoint is therefore refused: deny by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from has_kdc.web.errors import ApiError

if TYPE_CHECKING:
    from has_kdc.web.context import WebContext

__all__ = [
    "AUTH_RESULT_KEY",
    "GRANT_KEY",
    "AuthResult",
    "Authenticator",
    "Grant",
    "is_admin",
    "make_auth_middleware",
    "peer_is_local",
    "request_is_local",
    "request_principal",
    "require_admin",
]

#: request key holding the AuthResult (or None) of the request
AUTH_RESULT_KEY: web.RequestKey[AuthResult | None] = web.RequestKey("has_auth_result")

#: Why the access rule let a request through: ``anyone`` (public and tls routes),
#: ``admin`` (an authenticated administrator) or ``setup_token`` (the setup window).
Grant = Literal["anyone", "admin", "setup_token"]
GRANT_KEY: web.RequestKey[str] = web.RequestKey("has_grant", str)


@dataclass(frozen=True)
class AuthResult:
    """An authenticated client: its principal name, and headers for the response."""

    principal: str
    response_headers: Mapping[str, str] = field(default_factory=dict)


class Authenticator(Protocol):
    """Checks a request's credentials (see the module docstring)."""

    async def __call__(self, request: web.Request) -> AuthResult | None: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_auth_middleware(context: WebContext) -> Middleware:
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        result = None
        authenticator = context.authenticator
        if authenticator is not None:
            result = await authenticator(request)
        request[AUTH_RESULT_KEY] = result
        response = await handler(request)
        if not response.prepared:  # a streamed answer set them itself (auth_headers)
            response.headers.update(auth_headers(request))
        return response

    return auth_middleware


def auth_headers(request: web.Request) -> Mapping[str, str]:
    """The authenticator's headers for this request's answer (e.g. SPNEGO's mutual
    token): a handler that streams its answer sends them before its first byte."""
    result: AuthResult | None = request.get(AUTH_RESULT_KEY)
    return result.response_headers if result is not None else {}


def request_principal(request: web.Request) -> str | None:
    result: AuthResult | None = request.get(AUTH_RESULT_KEY)
    return result.principal if result is not None else None


def is_admin(request: web.Request, context: WebContext) -> bool:
    principal = request_principal(request)
    return principal is not None and principal in context.admin_principals()


def require_admin(request: web.Request, context: WebContext, why: str = "") -> str:
    """The admin principal of the request, else ApiError 401 or 403 (``why`` opens
    the message when the endpoint is not always admin-only)."""
    principal = request_principal(request)
    lead = f"{why}: " if why else ""
    if principal is None:
        headers = {}
        if context.service.server_conf().filter_auth_type == "kerberos":
            headers["WWW-Authenticate"] = "Negotiate"
        raise ApiError(
            401,
            "unauthorized",
            f"{lead}this endpoint needs an authenticated administrator "
            "(Kerberos SPNEGO: Authorization: Negotiate)",
            headers=headers,
        )
    if principal not in context.admin_principals():
        raise ApiError(403, "forbidden", f"{lead}{principal} is not an administrator of this realm")
    return principal


def peer_is_local(peer: str, local: str | None) -> bool:
    """Whether a client at ``peer`` that reached this server at ``local`` runs on this
    node: a loopback address, or the very address it connected to."""
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if address.is_loopback or (mapped is not None and mapped.is_loopback):
        return True
    return local is not None and local == peer


def request_is_local(request: web.Request) -> bool:
    """`peer_is_local` for a request. (A reverse proxy on the node would make every
    client look local: has-kdc is meant to be reached directly.)"""
    transport = request.transport
    if transport is None:
        return False
    peer = transport.get_extra_info("peername")
    local = transport.get_extra_info("sockname")
    if not isinstance(peer, tuple) or not peer:
        return False
    return peer_is_local(str(peer[0]), str(local[0]) if isinstance(local, tuple) else None)
