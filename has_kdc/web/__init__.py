"""The HTTPS side of a HAS node: the /has/v1 REST API, health and metrics.

- `HasService` (`has_kdc.node.service`): what the node does (client configs, realm
  init, conf edits), as plain functions over its conf_dir and the shared store; the
  handlers call it and answer its refusals through `errors`;
- `app.create_app(context, extra_routes=...)`: the aiohttp application; the route
  table (`routes.Route`) drives routing, access rules and the OpenAPI document;
- `server.WebServer` / `server.WebServerThread`: HTTPS (TLS >= 1.2, `tls`) and, only
  when configured, plain HTTP;
- `auth`: the authentication slot (SPNEGO goes there) and the admin check;
- `errors`: every failure as ``{"error", "detail"}`` JSON with a 4xx/5xx status;
- `metrics`: Prometheus text format, HTTP and KDC counters and latency histograms.
"""

from has_kdc.node.service import HasService, InitOutcome
from has_kdc.web.app import create_app, default_routes
from has_kdc.web.auth import Authenticator, AuthResult, request_principal, require_admin
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.errors import ApiError
from has_kdc.web.routes import API_PREFIX, Param, Route
from has_kdc.web.server import WebServer, WebServerThread, WebStartupError
from has_kdc.web.tls import node_ssl_context, server_ssl_context, server_tls_files

__all__ = [
    "API_PREFIX",
    "CONTEXT",
    "ApiError",
    "AuthResult",
    "Authenticator",
    "HasService",
    "InitOutcome",
    "Param",
    "Route",
    "WebContext",
    "WebServer",
    "WebServerThread",
    "WebStartupError",
    "create_app",
    "default_routes",
    "node_ssl_context",
    "request_principal",
    "require_admin",
    "server_ssl_context",
    "server_tls_files",
]
