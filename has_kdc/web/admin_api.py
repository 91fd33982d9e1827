"""HAS's admin endpoints (/has/v1/admin/...): principals and keytabs, for administrators only.

Every route here has access ``admin``: the request must carry an authenticated
principal that is an administrator (see `auth`). has-kdc installs no authenticator
of its own, so until the SPNEGO acceptor is configured these all answer 401: deny
by default. Paths and verbs are HAS's ``HadminApi``/``KadminApi``; bodies are JSON.

Differences from HAS: ``exportkeytabs`` answers one keytab holding every principal
of the host's roles (HAS sent a zip of one keytab per role), and exports the current
keys without re-keying them, so services already running keep working.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from has_kdc.admin import PrincipalAdmin, PrincipalExistsError, keytab_entries
from has_kdc.admin.hostroles import HOST_ROLES
from has_kdc.formats.keytab import keytab_to_bytes
from has_kdc.principal import format_principal
from has_kdc.web.api import PARAMS_KEY
from has_kdc.web.auth import request_principal
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.errors import ApiError
from has_kdc.web.routes import Param, Route
from has_kdc.web.service import check_host

__all__ = ["ROUTES"]

log = logging.getLogger("has_kdc.web")


def _ctx(request: web.Request) -> WebContext:
    return request.app[CONTEXT]


def _admin(context: WebContext) -> PrincipalAdmin:
    return PrincipalAdmin(context.service.backend(), context.service.conf.kdc)


def _ok(msg: str, **extra: object) -> web.Response:
    return web.json_response({"result": "success", "msg": msg, **extra})


def _keytab_response(data: bytes, filename: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        },
    )


async def get_principals(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    exp = request[PARAMS_KEY].get("exp")
    names = await ctx.run(lambda: _admin(ctx).list_principals(exp))
    return _ok(f"{len(names)} principal(s)", principals=names)


async def add_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    password = p.get("password")

    def work() -> str:
        admin = _admin(ctx)
        created = admin.add_principal(p["principal"], password=password, randkey=password is None)
        return created.name

    name = await ctx.run(work)
    log.info("principal %s added by %s", name, request_principal(request))
    return _ok(f"Add principal {name} successfully.", principal=name)


async def delete_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    name = request[PARAMS_KEY]["principal"]
    await ctx.run(lambda: _admin(ctx).delete_principal(name))
    return _ok(f"Delete principal {name} successfully.")


async def rename_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    renamed = await ctx.run(
        lambda: _admin(ctx).rename_principal(p["oldprincipal"], p["newprincipal"])
    )
    return _ok(f"Rename principal to {renamed.name} successfully.", principal=renamed.name)


async def export_keytab(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    name = request[PARAMS_KEY]["principal"]

    def work() -> tuple[str, bytes]:
        principal = _admin(ctx).get_principal(name)
        entries = keytab_entries(principal)
        if not entries:
            raise ApiError(409, "conflict", f"principal {principal.name} has no keys to export")
        return principal.name, keytab_to_bytes(entries)

    canonical, data = await ctx.run(work)
    filename = canonical.split("@", 1)[0].replace("/", "-") + ".keytab"
    return _keytab_response(data, filename)


def _role_principals(host: str, roles: list[str], realm: str) -> list[str]:
    names = []
    for role in roles:
        key = role.strip().upper()
        if key not in HOST_ROLES:
            raise ApiError.bad_request(
                f"unknown host role {role!r}; known roles: {', '.join(HOST_ROLES)}"
            )
        names += [format_principal((service, host), realm) for service in HOST_ROLES[key]]
    return names


async def create_principals(request: web.Request) -> web.Response:
    """HAS's createprincipals: ``{"HOSTS": [{"name": h, "hostRoles": "HDFS,YARN"}]}``."""
    ctx = _ctx(request)
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the request body is not JSON: {exc}") from None
    hosts = body.get("HOSTS") if isinstance(body, dict) else None
    if not isinstance(hosts, list) or not hosts:
        raise ApiError(
            400,
            "invalid_json",
            'expected {"HOSTS": [{"name": "host1", "hostRoles": "HDFS,YARN"}, ...]}',
        )
    realm = ctx.service.conf.kdc.kdc_realm
    wanted: list[str] = []
    for entry in hosts:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ApiError(400, "invalid_json", "each HOSTS entry needs a name")
        roles = entry.get("hostRoles", "")
        if not isinstance(roles, str) or not roles.strip():
            raise ApiError(400, "invalid_json", f"host {entry['name']}: hostRoles is missing")
        host = check_host(entry["name"])
        wanted += _role_principals(host, roles.split(","), realm)

    def work() -> tuple[list[str], list[str]]:
        admin = _admin(ctx)
        created, existing = [], []
        for name in dict.fromkeys(wanted):
            try:
                admin.add_principal(name, randkey=True)
                created.append(name)
            except PrincipalExistsError:
                existing.append(name)
        return created, existing

    created, existing = await ctx.run(work)
    return _ok(
        f"created {len(created)}, already present {len(existing)}",
        created=created,
        existing=existing,
    )


async def export_keytabs(request: web.Request) -> web.Response:
    """All principals of a host's roles (every role when none is given), one keytab."""
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    host = check_host(p["host"])
    roles = [p["role"]] if p.get("role") else list(HOST_ROLES)
    names = _role_principals(host, roles, ctx.service.conf.kdc.kdc_realm)

    def work() -> bytes:
        admin = _admin(ctx)
        entries = []
        for name in names:
            if admin.exists(name):
                entries += keytab_entries(admin.get_principal(name))
        if not entries:
            raise ApiError(
                404, "no_such_principal", f"no principal of those roles exists for {host}"
            )
        return keytab_to_bytes(entries)

    data = await ctx.run(work)
    suffix = f"{p['role'].upper()}-{host}" if p.get("role") else host
    return _keytab_response(data, f"{suffix}.keytab")


_PRINCIPAL = Param("principal", "principal name (the default realm when no @REALM)", required=True)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "admin/getprincipals",
        get_principals,
        "list principals (optionally matching a glob)",
        access="admin",
        params=(Param("exp", "shell glob, e.g. HTTP/*"),),
        has_counterpart="GET /has/v1/admin/getprincipals",
        tag="admin",
    ),
    Route(
        "POST",
        "admin/addprincipal",
        add_principal,
        "add a principal (random keys unless a password is given)",
        access="admin",
        params=(_PRINCIPAL, Param("password", "password: send it in the JSON body", secret=True)),
        json_body=True,
        has_counterpart="POST /has/v1/admin/addprincipal",
        tag="admin",
    ),
    Route(
        "DELETE",
        "admin/deleteprincipal",
        delete_principal,
        "delete a principal",
        access="admin",
        params=(_PRINCIPAL,),
        has_counterpart="DELETE /has/v1/admin/deleteprincipal",
        tag="admin",
    ),
    Route(
        "POST",
        "admin/renameprincipal",
        rename_principal,
        "rename a principal, keeping its keys",
        access="admin",
        params=(
            Param("oldprincipal", "current name", required=True),
            Param("newprincipal", "new name", required=True),
        ),
        json_body=True,
        has_counterpart="POST /has/v1/admin/renameprincipal",
        tag="admin",
    ),
    Route(
        "GET",
        "admin/exportkeytab",
        export_keytab,
        "keytab of one principal, current keys (secret)",
        access="admin",
        params=(_PRINCIPAL,),
        produces="application/octet-stream",
        has_counterpart="GET /has/v1/admin/exportkeytab",
        tag="admin",
    ),
    Route(
        "PUT",
        "admin/createprincipals",
        create_principals,
        "create the service principals of hosts by Hadoop role",
        access="admin",
        has_counterpart="PUT /has/v1/admin/createprincipals",
        tag="admin",
    ),
    Route(
        "GET",
        "admin/exportkeytabs",
        export_keytabs,
        "one keytab with a host's role principals, current keys (secret)",
        access="admin",
        params=(
            Param("host", "host name", required=True),
            Param("role", "one Hadoop role (default: all)"),
        ),
        produces="application/octet-stream",
        has_counterpart="GET /has/v1/admin/exportkeytabs",
        tag="admin",
    ),
)
