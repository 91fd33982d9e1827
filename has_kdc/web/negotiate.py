"""HTTP Negotiate (SPNEGO/Kerberos) in front of protected aiohttp routes.

    app = web.Application(middlewares=[
        negotiate_middleware(acceptor, protect=lambda r: r.path.startswith("/has/v1/admin"),
                             admins={"kadmin/HADOOP.COM@HADOOP.COM"}),
    ])

For a request ``protect`` selects:

- no ``Authorization: Negotiate`` header, or a token that does not authenticate →
  401 with ``WWW-Authenticate: Negotiate`` and a JSON body saying why (the reason
  is the ``GssError`` message: names and numbers, never keys or tokens);
- SPNEGO wanting another round → 401 with ``WWW-Authenticate: Negotiate <token>``;
- an authenticated principal not in ``admins`` → 403 JSON;
- otherwise ``request["principal"]`` is the client principal (MIT text form) and the
  handler runs; its response (or HTTP exception) carries
  ``WWW-Authenticate: Negotiate <token>`` when the acceptor produced one (the
  mutual-authentication reply).

Requests ``protect`` does not select pass through untouched. The acceptor's work is
a few AES operations, done inline on the event loop.

``NegotiateAuthenticator`` is the same acceptor shaped as the web server's
``has_kdc.web.auth.Authenticator`` slot (``WebContext.authenticator``), for when the
server's own auth middleware and ``require_admin`` do the admin check.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from aiohttp import hdrs, web

from has_kdc.gss import Acceptor, AcceptResult, GssError, negotiate_header, parse_negotiate
from has_kdc.web.auth import AuthResult
from has_kdc.web.errors import ApiError

__all__ = ["PRINCIPAL_KEY", "NegotiateAuthenticator", "negotiate_middleware"]

log = logging.getLogger(__name__)

#: Where the authenticated principal (``str``, MIT text form) is stored on the request.
#: A plain string key, so handlers read ``request["principal"]``; aiohttp's advice to use
#: a typed ``web.RequestKey`` is only a warning, which aiohttp itself filters out.
PRINCIPAL_KEY = "principal"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_error(status: int, error: str, message: str, challenge: str) -> web.Response:
    return web.json_response(
        {"error": error, "message": message},
        status=status,
        headers={hdrs.WWW_AUTHENTICATE: challenge},
    )


def _unauthorized(message: str, token: bytes | None = None) -> web.Response:
    return _json_error(401, "unauthorized", message, negotiate_header(token))


def negotiate_middleware(
    acceptor: Acceptor,
    protect: Callable[[web.Request], bool],
    admins: Collection[str],
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """An aiohttp middleware that admits only ``admins`` to the requests ``protect`` selects."""
    allowed = frozenset(admins)

    @web.middleware
    async def negotiate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not protect(request):
            return await handler(request)
        try:
            token = parse_negotiate(request.headers.get(hdrs.AUTHORIZATION))
            if token is None:
                return _unauthorized("authentication required: use Kerberos (Negotiate)")
            result: AcceptResult = acceptor.accept(token)
        except GssError as err:
            log.info("Negotiate from %s refused: %s", request.remote, err)
            return _unauthorized(f"Kerberos authentication failed: {err.message}", err.output_token)
        if not result.complete or result.principal is None:
            return _unauthorized("SPNEGO negotiation continues", result.output_token)
        principal = result.principal
        reply = negotiate_header(result.output_token) if result.output_token else None
        if principal not in allowed:
            log.info(
                "Negotiate: %s is not an admin (%s %s)", principal, request.method, request.path
            )
            response = web.json_response(
                {"error": "forbidden", "message": f"{principal} is not an administrator"},
                status=403,
            )
            if reply:
                response.headers[hdrs.WWW_AUTHENTICATE] = reply
            return response
        request[PRINCIPAL_KEY] = principal
        answer: web.StreamResponse
        try:
            answer = await handler(request)
        except web.HTTPException as exc:
            if reply:
                exc.headers[hdrs.WWW_AUTHENTICATE] = reply
            raise
        if reply and not answer.prepared:
            answer.headers[hdrs.WWW_AUTHENTICATE] = reply
        return answer

    return negotiate


class NegotiateAuthenticator:
    """``has_kdc.web.auth.Authenticator`` over a Negotiate acceptor.

    No ``Authorization: Negotiate`` header → ``None`` (the endpoint decides whether
    it needs a principal); a token that does not authenticate, or a SPNEGO round
    that is not finished → ``ApiError(401)`` with ``WWW-Authenticate: Negotiate``
    (and SPNEGO's token when there is one); success → ``AuthResult`` whose response
    headers carry the mutual-authentication token.
    """

    def __init__(
        self,
        acceptor: Acceptor,
        run: Callable[..., Awaitable[AcceptResult]] | None = None,
    ) -> None:
        self.acceptor = acceptor
        #: how ``accept`` is called: inline, or e.g. ``WebContext.run`` (a thread) when
        #: the key lookup queries the database and must not hold up the event loop
        self._run = run

    async def __call__(self, request: web.Request) -> AuthResult | None:
        try:
            token = parse_negotiate(request.headers.get(hdrs.AUTHORIZATION))
            if token is None:
                return None
            if self._run is None:
                result = self.acceptor.accept(token)
            else:
                result = await self._run(self.acceptor.accept, token)
        except GssError as err:
            log.info("Negotiate from %s refused: %s", request.remote, err)
            raise ApiError(
                401,
                "unauthorized",
                f"Kerberos authentication failed: {err.message}",
                headers={hdrs.WWW_AUTHENTICATE: negotiate_header(err.output_token)},
            ) from None
        if not result.complete or result.principal is None:
            raise ApiError(
                401,
                "unauthorized",
                "SPNEGO negotiation continues",
                headers={hdrs.WWW_AUTHENTICATE: negotiate_header(result.output_token)},
            )
        headers: dict[str, str] = {}
        if result.output_token:
            headers[hdrs.WWW_AUTHENTICATE] = negotiate_header(result.output_token)
        return AuthResult(principal=result.principal, response_headers=headers)
