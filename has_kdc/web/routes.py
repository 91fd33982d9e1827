"""The route table: every endpoint once, with what the router, the gates and OpenAPI need.

A `Route` names its verb, path, handler, parameters and access rule. `create_app`
registers the routes it is given and `openapi.build_document` describes the same
list, so the description cannot drift from what is served. Other parts of has-kdc
add endpoints by handing their own routes to ``create_app(extra_routes=...)`` (the
TGT-over-HTTPS plugins, the SPNEGO admin API).

Access rules (``access``):

- ``public``: served over HTTPS and, when configured, plain HTTP (health, metrics,
  the OpenAPI document, the CA certificate);
- ``tls``: HTTPS only, anyone (HAS's "AuthType: HTTPS" endpoints);
- ``conf``: HTTPS only; an authenticated administrator always. Anyone else only in
  the setup window (`setup_window`): the realm not initialized yet, has-server.conf
  saying ``enable_conf = true`` (HAS's ConfFilter) and the node's one-time setup
  token in the request. Once the realm is initialized, administrators only, whatever
  ``enable_conf`` says: kdcinit then hands the admin keys to no one else;
- ``admin``: HTTPS only, authenticated administrator required.

Every rule is in the OpenAPI document (``x-has-access`` and ``security`` of each
operation), and tests/test_web_access.py walks every route with every kind of caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

__all__ = ["API_PREFIX", "Access", "Param", "Route"]

API_PREFIX = "/has/v1"

Access = Literal["public", "tls", "conf", "admin"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Param:
    """One query (or JSON body) parameter, as OpenAPI describes it."""

    name: str
    description: str
    required: bool = False
    type: Literal["string", "integer", "boolean"] = "string"
    #: a password or token: taken from the JSON body only, refused (400) in the URL,
    #: where proxies and access logs would keep it
    secret: bool = False
    #: a secret that HAS's own clients send in the query string (HasClient's
    #: authToken): still accepted there, for them
    query_allowed: bool = False
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Route:
    """One endpoint. ``path`` is relative to /has/v1 unless it starts with '/'."""

    method: str
    path: str
    handler: Handler
    summary: str
    access: Access = "tls"
    params: tuple[Param, ...] = ()
    #: whether the parameters may also come as a JSON object body
    json_body: bool = False
    #: media type of a 200 answer
    produces: str = "application/json"
    #: what HAS calls this endpoint (for the documentation), if it has one
    has_counterpart: str | None = None
    tag: str = "has"
    responses: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def full_path(self) -> str:
        if self.path.startswith("/"):
            return self.path
        return f"{API_PREFIX}/{self.path}" if self.path else API_PREFIX
