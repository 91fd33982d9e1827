"""The aiohttp application of a HAS node: routes, access rules, middlewares.

``create_app(context, extra_routes=...)`` serves `default_routes()` plus whatever
other parts add (the TGT-over-HTTPS plugins, the SPNEGO-protected admin API). Each
request goes through, outermost first:

1. metrics: counts it by route template, method and status, and times it;
2. errors: turns every failure into ``{"error", "detail"}`` JSON (see `errors`);
3. body: reads the request body within the body timeout (`connlimits`);
4. authentication: the `auth` slot (nothing installed: nobody is authenticated);
5. the route's access rule (``Route.access``, see `routes`; for ``conf`` routes the
   setup window of `setup_window`) and its parameter checks, then the handler.

The access log names method, path, status and time, but never the query string:
HAS puts passwords there (``conf/configkdcbackend?password=``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from has_kdc.web.admin_api import ROUTES as ADMIN_ROUTES
from has_kdc.web.api import PARAMS_KEY, ROUTES, parse_params
from has_kdc.web.auth import GRANT_KEY, is_admin, make_auth_middleware, require_admin
from has_kdc.web.connlimits import DEFAULT_LIMITS, HttpLimits, body_timeout_middleware
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.errors import ApiError, make_error_middleware
from has_kdc.web.routes import Route
from has_kdc.web.setup_window import SETUP_TOKEN_FILE, SETUP_TOKEN_HEADER

__all__ = ["ROUTES_KEY", "AccessLogger", "create_app", "default_routes"]

ROUTES_KEY: web.AppKey[tuple[Route, ...]] = web.AppKey("has_routes")
#: Largest request body accepted (JSON parameters; nothing bigger is ever needed).
MAX_BODY = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def default_routes() -> tuple[Route, ...]:
    """Every endpoint this package serves."""
    return (*ROUTES, *ADMIN_ROUTES)


class AccessLogger(AbstractAccessLogger):
    """One line per request: client, method, path without query, status, size, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )


async def _conf_access(request: web.Request, context: WebContext) -> str:
    """Who may use kdcinit and conf/* (``conf`` routes); returns the grant or raises.

    An administrator always. Anyone else only inside the setup window: the realm not
    initialized yet, ``enable_conf = true``, and this node's one-time setup token in
    the request. Once the realm is initialized, ``enable_conf`` no longer matters.
    """
    if is_admin(request, context):
        return "admin"
    state = await context.run(context.setup_window.refresh)
    if state == "closed":
        require_admin(
            request,
            context,
            "the realm is initialized, so kdcinit and the configuration endpoints "
            "answer only administrators, whatever enable_conf says",
        )
        return "admin"
    if state == "unknown":
        raise ApiError(
            503,
            "database_unavailable",
            "cannot tell whether the realm is initialized (the identity store is not "
            "readable), so the configuration endpoints stay closed",
        )
    if not context.service.server_conf().enable_conf:
        raise ApiError(
            403,
            "configuration_disabled",
            "configuration endpoints are closed: enable_conf is not true in "
            f"{context.service.server_conf_path}",
        )
    presented = request.headers.get(SETUP_TOKEN_HEADER)
    if not await context.run(context.setup_window.use_token, presented):
        raise ApiError(
            401,
            "setup_token_required",
            "until the realm is initialized, this endpoint needs the node's one-time setup "
            f"token in the {SETUP_TOKEN_HEADER} header: kdcinit run on the node sends it "
            f"(it reads {SETUP_TOKEN_FILE} in the conf_dir; has-server logs where)",
        )
    return "setup_token"


def _guard(route: Route) -> Handler:
    """The route's handler behind its access rule and parameter checks."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        context = request.app[CONTEXT]
        if route.access != "public" and not request.secure:
            raise ApiError(403, "https_required", "this endpoint is served over HTTPS only")
        grant = "anyone"
        if route.access == "conf":
            grant = await _conf_access(request, context)
        elif route.access == "admin":
            require_admin(request, context)
            grant = "admin"
        request[GRANT_KEY] = grant
        request[PARAMS_KEY] = await parse_params(request, route)
        return await route.handler(request)

    return guarded


def _metrics_middleware(context: WebContext) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            template = resource.canonical if resource is not None else "unmatched"
            context.http_metrics.observe(
                template, request.method, status, time.perf_counter() - start
            )

    return metrics_middleware


def create_app(
    context: WebContext,
    *,
    extra_routes: Iterable[Route] = (),
    limits: HttpLimits = DEFAULT_LIMITS,
) -> web.Application:
    """The application serving ``default_routes()`` and ``extra_routes`` with ``context``."""
    routes = (*default_routes(), *extra_routes)
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            _metrics_middleware(context),
            make_error_middleware(context.database_error),
            body_timeout_middleware(limits.body_timeout),
            make_auth_middleware(context),
        ],
    )
    app[CONTEXT] = context
    app[ROUTES_KEY] = routes
    seen: set[tuple[str, str]] = set()
    for route in routes:
        key = (route.method, route.full_path)
        if key in seen:
            raise ValueError(f"{route.method} {route.full_path} is defined twice")
        seen.add(key)
        app.router.add_route(route.method, route.full_path, _guard(route))
    return app
