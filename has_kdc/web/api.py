"""The /has/v1 endpoints of a HAS node: client configs, realm init, KDC state, conf edits.

Paths and verbs follow HAS's ``HasApi``/``ConfigApi`` (has-server web/rest, Apache
Kerby has-project) so HAS's kdcinit and scripts work; where HAS answered ``200``
with a failure inside, these answer a 4xx/5xx JSON error (see `errors`). The table
`ROUTES` is the whole API; `openapi` describes it, `app` serves it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from has_kdc.admin.hostroles import host_roles_json
from has_kdc.conf import BackendConfig
from has_kdc.pki import certificates_only
from has_kdc.web.actor import request_actor
from has_kdc.web.auth import GRANT_KEY, is_admin, request_principal, require_admin
from has_kdc.web.cluster_view import cluster_metrics, kdc_store_detail
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.errors import ApiError
from has_kdc.web.metrics import MetricsText, render_kdc
from has_kdc.web.routes import Param, Route

__all__ = ["PARAMS_KEY", "ROUTES", "decode_json", "parse_params"]

log = logging.getLogger("has_kdc.web")

#: request key holding the checked parameters of the request (a dict)
PARAMS_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("has_params", dict)
_JSON = "application/json"


def _ctx(request: web.Request) -> WebContext:
    return request.app[CONTEXT]


def _params(request: web.Request) -> dict[str, Any]:
    return request[PARAMS_KEY]


def _message(msg: str, **extra: object) -> web.Response:
    """HAS's success shape ``{"result": "success", "msg": ...}``."""
    return web.json_response({"result": "success", "msg": msg, **extra})


def _attachment(body: bytes | str, filename: str, content_type: str) -> web.Response:
    data = body.encode() if isinstance(body, str) else body
    return web.Response(
        body=data,
        content_type=content_type,
        charset="utf-8" if content_type.startswith("text/") else None,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


# ------------------------------------------------------------------ parameters

#: An integer parameter: ASCII digits, at most 20 of them (str.isdigit() accepts
#: superscripts that int() refuses, and int() gives up on 5,000 digits).
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")


def decode_json(raw: bytes) -> object:
    """A request body as JSON; 400 ``invalid_json`` for anything else. (json.loads
    recurses: a body of 60,000 '[' raises RecursionError, which is a client's error.)"""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "too deeply nested" if isinstance(exc, RecursionError) else str(exc)
        raise ApiError(400, "invalid_json", f"the request body is not JSON: {reason}") from None


def _convert(param: Param, value: object, where: str) -> object:
    if param.type == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ApiError.bad_request(f"{param.name} must be an integer ({where})")
        text = str(value).strip()
        if not _INTEGER.match(text):
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ApiError.bad_request(f"{param.name} must be an integer, not {shown!r}")
        number = int(text)
        if param.minimum is not None and number < param.minimum:
            raise ApiError.bad_request(f"{param.name} must be at least {param.minimum}")
        if param.maximum is not None and number > param.maximum:
            raise ApiError.bad_request(f"{param.name} must be at most {param.maximum}")
        return number
    if param.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ApiError.bad_request(f"{param.name} must be true or false")
    if not isinstance(value, str):
        raise ApiError.bad_request(f"{param.name} must be a string ({where})")
    if not value:
        raise ApiError.bad_request(f"{param.name} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: %ED%A0%80 in a URL, "\ud800" in JSON
        raise ApiError.bad_request(f"{param.name} is not valid Unicode text") from None
    return value


async def parse_params(request: web.Request, route: Route) -> dict[str, Any]:
    """The route's parameters from the query string (and a JSON body if it takes one).

    Unknown or repeated names, values of the wrong type, a body that is not a JSON
    object and missing required parameters are all 400, naming the parameter.
    """
    known = {p.name: p for p in route.params}
    values: dict[str, object] = {}
    for name in request.query:
        if name not in known:
            allowed = ", ".join(known) or "none"
            raise ApiError.bad_request(f"unknown parameter {name!r}; this endpoint takes {allowed}")
        if known[name].secret and not known[name].query_allowed:
            raise ApiError.bad_request(
                f"{name} is a secret: send it in the JSON body (Content-Type: {_JSON}), "
                "not in the URL, where proxies and logs keep it"
            )
        found = request.query.getall(name)
        if len(found) > 1:
            raise ApiError.bad_request(f"parameter {name!r} is given {len(found)} times")
        values[name] = _convert(known[name], found[0], "query")
    if route.json_body and request.body_exists:  # read (and kept) by the body middleware
        raw = await request.read()
        if raw.strip():
            if request.content_type != _JSON:
                raise ApiError(
                    415,
                    "unsupported_media_type",
                    f"send the parameters as {_JSON} (found {request.content_type})",
                )
            body = decode_json(raw)
            if not isinstance(body, dict):
                raise ApiError(400, "invalid_json", "the request body must be a JSON object")
            for name, value in body.items():
                if name not in known:
                    allowed = ", ".join(known)
                    raise ApiError.bad_request(
                        f"unknown field {name!r} in the body; this endpoint takes {allowed}"
                    )
                if name in values:
                    raise ApiError.bad_request(f"{name!r} is given in both the query and the body")
                if value is not None:
                    values[name] = _convert(known[name], value, "body")
    missing = [p.name for p in route.params if p.required and p.name not in values]
    if missing:
        raise ApiError.bad_request(f"missing parameter(s): {', '.join(missing)}")
    return values


# ------------------------------------------------------------------ client configs


async def get_krb5_conf(request: web.Request) -> web.Response:
    text = await _ctx(request).run(_ctx(request).service.krb5_conf)
    return _attachment(text, "krb5.conf", "text/plain")


async def get_has_conf(request: web.Request) -> web.Response:
    text = await _ctx(request).run(_ctx(request).service.has_client_conf)
    return _attachment(text, "has-client.conf", "text/plain")


async def get_core_site(request: web.Request) -> web.Response:
    text = await _ctx(request).run(_ctx(request).service.core_site)
    return _attachment(text, "core-site-has.xml", "application/xml")


async def get_cert(request: web.Request) -> web.Response:
    bundle = await _ctx(request).run(_ctx(request).service.ca_certificate)
    pem = certificates_only(bundle) if bundle is not None else None
    if pem is None:
        raise ApiError(
            404,
            "not_found",
            "this node has no CA certificate to hand out (set ssl_ca_file in has-server.conf)",
        )
    return _attachment(pem, "ca-root.pem", "application/x-pem-file")


async def get_host_roles(request: web.Request) -> web.Response:
    return web.json_response(host_roles_json())


# ------------------------------------------------------------------ realm and KDC


async def kdc_start(request: web.Request) -> web.Response:
    """HAS's kdcstart: here the KDC runs with has-server; this reports its state."""
    ctx = _ctx(request)
    listening = ctx.kdc_listening()
    initialized = await ctx.run(ctx.service.is_initialized)
    if not listening:
        raise ApiError(503, "kdc_not_listening", "the KDC of this node is not listening (yet)")
    if initialized:
        msg = "Succeed in starting KDC server: it is serving the realm."
    else:
        msg = (
            "KDC server started; it answers once the realm is initialized "
            "(kdcinit <conf_dir> init -p DIR)."
        )
    return _message(msg, listening=listening, initialized=initialized)


async def kdc_init(request: web.Request) -> web.Response:
    """HAS's kdcinit: initialize the realm once; the answer is admin.keytab (a secret).

    An administrator gets the admin keys any time. Through the setup window (the
    setup token) only the request that creates the realm gets them: if another node
    or path initialized it meanwhile, the token holder is refused like anyone else.
    """
    ctx = _ctx(request)
    grant = request.get(GRANT_KEY)
    if grant not in ("admin", "setup_token"):  # the route table says conf: never reached
        raise ApiError(403, "forbidden", "kdcinit needs an administrator or the setup token")
    outcome = await ctx.run(ctx.service.init_realm, request_actor(request))
    if grant == "setup_token":
        await ctx.run(
            ctx.setup_window.close, f"realm {outcome.realm} initialized by kdcinit over HTTPS"
        )
        if not outcome.created:
            require_admin(request, ctx, f"realm {outcome.realm} is already initialized")
    if outcome.created:
        log.info(
            "realm %s initialized at the request of %s; created %s",
            outcome.realm,
            request.remote,
            ", ".join(outcome.created_principals),
        )
    else:
        log.info(
            "admin keytab of %s handed to %s at %s",
            outcome.realm,
            request_principal(request),
            request.remote,
        )
    response = _attachment(outcome.keytab, "admin.keytab", "application/octet-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Has-Realm-Created"] = "true" if outcome.created else "false"
    response.headers["X-Has-Realm"] = outcome.realm
    if outcome.created_principals:
        response.headers["X-Has-Created-Principals"] = ",".join(outcome.created_principals)
    return response


# ------------------------------------------------------------------ conf/*


async def _edit(ctx: WebContext, fn: Callable[..., str], *args: object, **kwargs: object) -> str:
    """A configuration edit; a file the service may not write is the node's state, not a
    crash (the Ansible roles keep the conf_dir root's: edit it there)."""
    try:
        return await ctx.run(fn, *args, **kwargs)
    except OSError as exc:
        raise ApiError(
            409,
            "not_writable",
            f"this node cannot change its configuration files ({exc.strerror or exc}); "
            "change them where they are managed",
        ) from None


async def set_plugin(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    plugin, actor = _params(request)["plugin"], request_actor(request)
    return _message(await _edit(ctx, ctx.service.set_plugin, plugin, actor=actor))


async def config_kdc_backend(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = _params(request)
    msg = await _edit(
        ctx,
        ctx.service.config_backend,
        p["backendType"],
        url=p.get("url"),
        user=p.get("user"),
        password=p.get("password"),
        directory=p.get("dir"),
        actor=request_actor(request),
    )
    return _message(msg)


async def config_kdc(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = _params(request)
    actor = request_actor(request)
    return _message(
        await _edit(ctx, ctx.service.config_kdc, p["host"], p["port"], p["realm"], actor=actor)
    )


# ------------------------------------------------------------------ operations


async def health(request: web.Request) -> web.Response:
    """ok (200), or degraded (serving known principals from memory) or unavailable
    (503). Only to the node itself and to administrators it also says why, and where
    the store is: host, port, database and user are no one else's business."""
    ctx = _ctx(request)
    reachable, initialized, error = await ctx.run(ctx.service.probe)
    if not reachable:
        ctx.database_error()
    listening = ctx.kdc_listening()
    store = kdc_store_detail(ctx)
    word = "ok" if reachable and initialized and listening else "unavailable"
    if word != "ok" and listening and store["kdc_state"] == "from_memory":
        word = "degraded"  # no database: the KDC serves known principals, nothing changes
    status = 200 if word == "ok" else 503
    body: dict[str, Any] = {"status": word}
    if ctx.is_local(request) or is_admin(request, ctx):
        kdc = ctx.service.conf.kdc
        body.update(
            {
                "node": ctx.service.host,
                "database": {"reachable": reachable, **_store_details(ctx.service.conf.backend)},
                "realm": {"name": kdc.kdc_realm, "initialized": initialized},
                "kdc": {
                    "listening": listening,
                    "udp_port": kdc.kdc_udp_port,
                    "tcp_port": kdc.kdc_tcp_port,
                    **store,
                },
            }
        )
        if error is not None:
            body["database"]["error"] = error
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def _store_details(backend: BackendConfig) -> dict[str, Any]:
    """Where the identity store is (never its password)."""
    if backend.kind == "mysql":
        hosts = backend.mysql_hosts or ((backend.mysql_host, backend.mysql_port),)
        return {
            "backend": "mysql",
            "hosts": [f"{host}:{port}" for host, port in hosts],
            "name": backend.mysql_database,
            "user": backend.mysql_user,
        }
    return {"backend": backend.kind, "path": str(backend.sqlite_path)}


async def metrics(request: web.Request) -> web.Response:
    """This node's counters and gauges to anyone; the series that name other nodes and
    the database hosts only to the node itself and to administrators (as /health)."""
    ctx = _ctx(request)
    reachable, initialized, _error = await ctx.run(ctx.service.probe)
    if not reachable:
        ctx.database_error()
    out = MetricsText()
    out.gauge("has_database_up", "Whether the identity store answered.", int(reachable))
    out.gauge("has_realm_initialized", "Whether the realm is initialized.", int(bool(initialized)))
    out.gauge("has_kdc_listening", "Whether this node's KDC is bound.", int(ctx.kdc_listening()))
    if ctx.kdc_counters is not None:
        render_kdc(ctx.kdc_counters.snapshot(), out)
    detail = ctx.is_local(request) or is_admin(request, ctx)
    await ctx.run(cluster_metrics, out, ctx, cluster=detail)
    gate = ctx.connections
    if gate is not None:
        out.gauge("has_http_connections_open", "Open HTTPS (and HTTP) connections.", gate.open)
        out.header(
            "has_http_connections_refused_total",
            "counter",
            "Connections reset at once: the node's or the client address's cap was reached.",
        )
        for reason, count in sorted(gate.refused.items()):
            out.sample("has_http_connections_refused_total", {"cap": reason}, count)
    ctx.http_metrics.render(out)
    return web.Response(text=out.text(), headers={"Content-Type": MetricsText.CONTENT_TYPE})


async def openapi_document(request: web.Request) -> web.Response:
    from has_kdc.web.app import ROUTES_KEY
    from has_kdc.web.openapi import build_document

    routes = request.app[ROUTES_KEY]
    return web.json_response(build_document(routes))


_HOST = Param("host", "KDC host name or address (kdc.conf kdc_host)", required=True)
_PORT = Param(
    "port", "KDC port, UDP and TCP", required=True, type="integer", minimum=1, maximum=65535
)
_REALM = Param("realm", "realm name, e.g. HADOOP.COM", required=True)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "getkrb5conf",
        get_krb5_conf,
        "krb5.conf for clients: one kdc line per registered HAS node",
        produces="text/plain",
        has_counterpart="GET /has/v1/getkrb5conf",
        tag="client configuration",
    ),
    Route(
        "GET",
        "gethasconf",
        get_has_conf,
        "has-client.conf for clients: https_host lists every registered node",
        produces="text/plain",
        has_counterpart="GET /has/v1/gethasconf",
        tag="client configuration",
    ),
    Route(
        "GET",
        "conf/getkrb5conf",
        get_krb5_conf,
        "krb5.conf, at the path of Kerby's has-project HAS (same answer as getkrb5conf)",
        produces="text/plain",
        has_counterpart="GET /has/v1/conf/getkrb5conf (has-project)",
        tag="client configuration",
    ),
    Route(
        "GET",
        "conf/gethasclientconf",
        get_has_conf,
        "has-client.conf, at the path of Kerby's has-project HAS (same answer as gethasconf)",
        produces="text/plain",
        has_counterpart="GET /has/v1/conf/gethasclientconf (has-project)",
        tag="client configuration",
    ),
    Route(
        "GET",
        "getcoresite",
        get_core_site,
        "Hadoop core-site.xml properties that make a cluster use HAS",
        produces="application/xml",
        tag="client configuration",
    ),
    Route(
        "GET",
        "getcert",
        get_cert,
        "the CA certificate clients trust (PEM)",
        access="public",
        produces="application/x-pem-file",
        has_counterpart="GET /has/v1/getcert",
        tag="client configuration",
    ),
    Route(
        "GET",
        "conf/getcert",
        get_cert,
        "the CA certificate clients trust (PEM), where HAS's Java client fetches it over "
        "plain HTTP (http_port) to build its trust store",
        access="public",
        produces="application/x-pem-file",
        has_counterpart="GET /has/v1/conf/getcert",
        tag="client configuration",
    ),
    Route(
        "GET",
        "hostroles",
        get_host_roles,
        "Hadoop host roles and the service principals each needs",
        has_counterpart="GET /has/v1/hostroles",
        tag="realm",
    ),
    Route(
        "GET",
        "kdcstart",
        kdc_start,
        "state of this node's KDC (it starts with has-server)",
        has_counterpart="GET /has/v1/kdcstart",
        tag="realm",
    ),
    Route(
        "PUT",
        "kdcstart",
        kdc_start,
        "state of this node's KDC (it starts with has-server)",
        has_counterpart="PUT /has/v1/init/kdcstart",
        tag="realm",
    ),
    Route(
        "GET",
        "kdcinit",
        kdc_init,
        "initialize the realm once; answers admin.keytab (secret)",
        access="conf",
        produces="application/octet-stream",
        has_counterpart="GET /has/v1/kdcinit",
        tag="realm",
    ),
    Route(
        "PUT",
        "kdcinit",
        kdc_init,
        "initialize the realm once; answers admin.keytab (secret)",
        access="conf",
        produces="application/octet-stream",
        has_counterpart="GET /has/v1/init/kdcinit",
        tag="realm",
    ),
    Route(
        "PUT",
        "conf/setplugin",
        set_plugin,
        "set [PLUGIN] auth_type in this node's has-server.conf",
        access="conf",
        params=(Param("plugin", "plugin name, e.g. MySQL or RAM", required=True),),
        json_body=True,
        has_counterpart="PUT /has/v1/conf/setplugin",
        tag="configuration",
    ),
    Route(
        "PUT",
        "conf/configkdcbackend",
        config_kdc_backend,
        "write this node's backend.conf (applies at the next start)",
        access="conf",
        params=(
            Param("backendType", "mysql or sqlite", required=True),
            Param("url", "MySQL URL (jdbc:mysql://host:3306/db or mysql://...)"),
            Param("user", "MySQL user"),
            Param("password", "MySQL password: send it in the JSON body", secret=True),
            Param("dir", "sqlite: directory of the database file"),
            Param("driver", "HAS's JDBC driver class; accepted and ignored"),
        ),
        json_body=True,
        has_counterpart="PUT /has/v1/conf/configkdcbackend",
        tag="configuration",
    ),
    Route(
        "PUT",
        "conf/configkdc",
        config_kdc,
        "set kdc_host, KDC ports and kdc_realm in this node's kdc.conf",
        access="conf",
        params=(_HOST, _PORT, _REALM),
        json_body=True,
        has_counterpart="PUT /has/v1/conf/configkdc",
        tag="configuration",
    ),
    Route(
        "GET",
        "health",
        health,
        "ok (200: database reachable, realm initialized, KDC listening), else degraded or "
        "unavailable (503); the details only to the node itself and to administrators",
        access="public",
        tag="operations",
    ),
    Route(
        "GET",
        "openapi.json",
        openapi_document,
        "this API as an OpenAPI 3 document",
        access="public",
        tag="operations",
    ),
    Route(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics (text exposition format 0.0.4)",
        access="public",
        produces="text/plain",
        tag="operations",
    ),
)
