"""HAS's admin endpoints (/has/v1/admin/...): principals and keytabs, for administrators only.

Every route here has access ``admin``: the request must carry an authenticated
principal that is an administrator (see `auth`). has-kdc installs no authenticator
of its own, so until the SPNEGO acceptor is configured these all answer 401: deny
by default. Paths and verbs are HAS's ``HadminApi``/``KadminApi``; bodies are JSON.

Differences from HAS: ``exportkeytabs`` answers one keytab holding every principal
of the host's roles (HAS sent a zip of one keytab per role), and exports the current
keys without re-keying them, so services already running keep working.

Beyond HAS's list, what ``hadmin-remote`` needs to offer hadmin-local's commands:
``getprincipal`` (getprinc, as JSON and as getprinc's text), ``changepassword`` (cpw,
a password or new random keys, ``keepold`` to keep the older kvnos), ``purgekeys``
(purgekeys: drop kept old kvnos), ``modifyprincipal`` (modprinc) and principal
attributes on ``addprincipal``, ``exportkeytab?randkey=true`` (ktadd: new random keys,
then the keytab, in one request) and HAS's ``setconf?isEnable=`` (enable_configure /
disable_configure: ``enable_conf`` in this node's has-server.conf). Times are sent as
``@<epoch seconds>`` or ``never`` by hadmin-remote, so the client's time zone decides
what ``2027-01-01`` means, as it does for hadmin-local.

Every change (and keytab export) is made on behalf of the request's authenticated
principal and client address (`has_kdc.web.actor`) and is one record of the audit
trail; ``GET admin/audit`` reads the trail back, with hadmin-local's ``audit`` filters.
"""

from __future__ import annotations

import json
import logging
import tempfile

from aiohttp import web

from has_kdc.admin import (
    PrincipalAdmin,
    PrincipalExistsError,
    audit_query,
    deregister_node,
    keytab_entries,
    parse_duration,
    parse_time,
)
from has_kdc.admin.audit import record_json
from has_kdc.admin.hostroles import HOST_ROLES
from has_kdc.backend import Principal
from has_kdc.crypto import enctype_name
from has_kdc.formats.keytab import keytab_to_bytes
from has_kdc.node.service import check_host
from has_kdc.principal import format_principal
from has_kdc.web.actor import request_actor
from has_kdc.web.api import PARAMS_KEY, decode_json
from has_kdc.web.auth import auth_headers, request_principal
from has_kdc.web.cluster_view import nodes_json, nodes_page
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.errors import ApiError
from has_kdc.web.routes import Param, Route

__all__ = ["ROUTES"]

log = logging.getLogger("has_kdc.web")


def _ctx(request: web.Request) -> WebContext:
    return request.app[CONTEXT]


def _admin(request: web.Request) -> PrincipalAdmin:
    """The admin layer for this request's principal (whose changes are audited)."""
    context = _ctx(request)
    return PrincipalAdmin(
        context.service.backend(), context.service.conf.kdc, request_actor(request)
    )


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


_SWITCHES = (
    "requires_preauth",
    "allow_forwardable",
    "allow_proxiable",
    "allow_renewable",
    "allow_tix",
    "allow_svr",
    "disabled",
)
_DURATIONS = ("max_life", "max_renewable_life")
_TIMES = ("expiration", "pw_expiration")


def _attributes(p: dict[str, object]) -> dict[str, object]:
    """Principal attributes from the request's parameters (only those given)."""
    out: dict[str, object] = {name: p[name] for name in _SWITCHES if name in p}
    for name in _DURATIONS:
        if name in p:
            out[name] = parse_duration(str(p[name]))
    for name in _TIMES:
        if name in p:
            out[name] = parse_time(str(p[name]))
    if "policy" in p:  # the password policy (hadmin -policy)
        out["policy"] = str(p["policy"])
    if p.get("clearpolicy"):  # hadmin -clearpolicy
        out["policy"] = None
    return out


def _principal_json(principal: Principal) -> dict[str, object]:
    """A principal's attributes and key list (kvno and enctype only: never key bytes)."""
    return {
        "name": principal.name,
        "kvno": principal.kvno,
        "keys": [
            {"kvno": k.kvno, "enctype": k.enctype, "enctype_name": enctype_name(k.enctype)}
            for k in principal.keys
        ],
        **{name: getattr(principal, name) for name in _SWITCHES},
        **{name: getattr(principal, name) for name in (*_DURATIONS, *_TIMES)},
        "created": principal.created,
        "modified": principal.modified,
        "policy": principal.policy,
    }


#: names per database query (and per page when a caller gives ``after`` without ``limit``)
PRINCIPALS_PAGE = 1000


async def get_principals(request: web.Request) -> web.StreamResponse:
    """Names in HAS's reply shape; one page with ``limit``/``after``, else every name,
    streamed a page at a time so 100,000 principals never make one reply in memory."""
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    exp = p.get("exp")
    if "limit" not in p and "after" not in p:
        return await _stream_principals(request, exp)
    limit = p.get("limit") or PRINCIPALS_PAGE
    names = await ctx.run(
        lambda: _admin(request).list_principals(exp, after=p.get("after"), limit=limit)
    )
    # HAS's server put the names in "msg" as the text of a JSON array, and HAS's Java
    # admin client reads them back from there (getString("msg"), then a JSONArray).
    # "next" is the "after" of the next page; null when this page is the last.
    following = names[-1] if len(names) == limit else None
    return _ok(json.dumps(names), principals=names, count=len(names), next=following)


async def _stream_principals(request: web.Request, exp: str | None) -> web.StreamResponse:
    """Every name as ``{"result", "msg", "principals", "count"}``, the same bytes
    ``json_response`` would give, written page by page.

    One pass over the store: each page's names go out at once as part of "msg" and
    are kept, already encoded, for "principals" in a spool file (memory up to 1 MiB,
    then disk), so both lists are the same snapshot of pages and memory stays bounded.
    A failure before the first byte is an ordinary error answer; after it, the
    connection is closed mid-body, which no JSON reader mistakes for a whole list.
    """
    ctx = _ctx(request)
    admin = await ctx.run(_admin, request)
    spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 (closed below)

    def page(after: str | None) -> list[str]:
        names = admin.list_principals(exp, after=after, limit=PRINCIPALS_PAGE)
        if names:
            text = ", ".join(json.dumps(n) for n in names)
            spool.write((", " + text if spool.tell() else text).encode("ascii"))
        return names

    try:
        names = await ctx.run(page, None)
        response = web.StreamResponse(headers={**auth_headers(request)})
        response.content_type = "application/json"
        await response.prepare(request)
        try:
            await response.write(b'{"result": "success", "msg": "[')
            count = 0
            while True:
                if names:
                    text = ", ".join(json.dumps(n) for n in names)
                    # the array's text, escaped as the inside of a JSON string
                    msg = json.dumps(", " + text if count else text)[1:-1]
                    await response.write(msg.encode("ascii"))
                    count += len(names)
                if len(names) < PRINCIPALS_PAGE:
                    break
                names = await ctx.run(page, names[-1])
            await response.write(b']", "principals": [')
            await ctx.run(spool.seek, 0)
            while chunk := await ctx.run(spool.read, 1 << 16):
                await response.write(chunk)
            await response.write(f'], "count": {count}}}'.encode("ascii"))
            await response.write_eof()
        except Exception:
            log.warning("getprincipals: the list was cut off", exc_info=True)
            if request.transport is not None:
                request.transport.close()
        return response
    finally:
        spool.close()


async def list_principals(request: web.Request) -> web.Response:
    """has-project's ``kadmin/listprincipals``: the names as a bare JSON array, which
    is what that branch's Java admin client parses."""
    ctx = _ctx(request)
    exp = request[PARAMS_KEY].get("exp")
    names = await ctx.run(lambda: _admin(request).list_principals(exp))
    return web.json_response(names)


async def add_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    password = p.get("password")

    def work() -> str:
        admin = _admin(request)
        created = admin.add_principal(
            p["principal"],
            password=password,
            randkey=password is None,
            attributes=_attributes(p),
        )
        return created.name

    name = await ctx.run(work)
    log.info("principal %s added by %s", name, request_principal(request))
    return _ok(f"Add principal {name} successfully.", principal=name)


async def delete_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    name = request[PARAMS_KEY]["principal"]
    await ctx.run(lambda: _admin(request).delete_principal(name))
    return _ok(f"Delete principal {name} successfully.")


async def delete_node(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    host = request[PARAMS_KEY]["host"]
    actor = request_actor(request)

    def work() -> bool:
        return deregister_node(ctx.service.backend(), ctx.service.conf.kdc, actor, host=host)

    if not await ctx.run(work):
        raise ApiError(404, "not_found", f"no HAS node {host} is registered")
    return _ok(f"Deregistered node {host} successfully.", host=host)


async def rename_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    renamed = await ctx.run(
        lambda: _admin(request).rename_principal(p["oldprincipal"], p["newprincipal"])
    )
    return _ok(f"Rename principal to {renamed.name} successfully.", principal=renamed.name)


async def get_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    name = request[PARAMS_KEY]["principal"]

    def work() -> tuple[dict[str, object], str]:
        admin = _admin(request)
        return _principal_json(admin.get_principal(name)), admin.describe_principal(name)

    found, text = await ctx.run(work)
    return _ok(f"Principal {found['name']}", principal=found, description=text)


async def change_password(request: web.Request) -> web.Response:
    """cpw: new keys from ``password``, else new random keys (kvno + 1 either way)."""
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    password = p.get("password")
    keepold = p.get("keepold", False)

    def work() -> Principal:
        admin = _admin(request)
        if password is None:
            return admin.randomize_keys(p["principal"], keepold=keepold)
        return admin.change_password(p["principal"], password, keepold=keepold)

    changed = await ctx.run(work)
    what = "Key randomized" if password is None else "Password changed"
    log.info("keys of %s changed by %s", changed.name, request_principal(request))
    return _ok(f"{what} for {changed.name}.", principal=changed.name, kvno=changed.kvno)


async def purge_keys(request: web.Request) -> web.Response:
    """purgekeys: drop the kvnos below ``keepkvno`` (default: all but the current), or
    every key with ``all``."""
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    changed = await ctx.run(
        lambda: _admin(request).purge_keys(
            p["principal"], keepkvno=p.get("keepkvno"), purge_all=p.get("all", False)
        )
    )
    log.info("old keys of %s purged by %s", changed.name, request_principal(request))
    return _ok(f"Old keys for principal {changed.name} purged.", principal=_principal_json(changed))


async def modify_principal(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    attributes = _attributes(p)
    kvno = p.get("kvno")
    if not attributes and kvno is None:
        raise ApiError.bad_request("nothing to change: give at least one attribute or kvno")
    changed = await ctx.run(
        lambda: _admin(request).modify_principal(p["principal"], attributes, kvno=kvno)
    )
    log.info("principal %s modified by %s", changed.name, request_principal(request))
    return _ok(f"Principal {changed.name} modified.", principal=_principal_json(changed))


async def set_conf(request: web.Request) -> web.Response:
    """HAS's setconf: open or close this node's configuration endpoints (enable_conf)."""
    ctx = _ctx(request)
    enabled = request[PARAMS_KEY]["isEnable"]
    changed = await ctx.run(
        lambda: ctx.service.set_enable_conf(enabled, actor=request_actor(request))
    )
    word = "true" if enabled else "false"
    state = "set" if changed else "already"
    log.info("enable_conf %s to %s by %s", state, word, request_principal(request))
    return _ok(
        f"enable_conf {state} {word} on {ctx.service.host}",
        node=ctx.service.host,
        enable_conf=enabled,
        changed=changed,
    )


async def export_keytab(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    name = request[PARAMS_KEY]["principal"]
    randkey = request[PARAMS_KEY].get("randkey", False)

    def work() -> tuple[str, bytes]:
        admin = _admin(request)
        principal = admin.export_keys(name, randkey=randkey, to="https answer")
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
    body = decode_json(await request.read() or b"null")
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
        admin = _admin(request)
        created, existing = [], []
        names = list(dict.fromkeys(wanted))
        label = names[0] if len(names) == 1 else f"{len(names)} principals"
        with admin.audit.change("creprincs", label, atomic=False) as change:
            for name in names:
                try:
                    admin.add_principal(name, randkey=True)
                    created.append(name)
                except PrincipalExistsError:
                    existing.append(name)
            change.note(created=len(created), skipped=len(existing), principals=created[:100])
            if not created:
                change.unchanged()
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
        admin = _admin(request)
        with admin.audit.change(
            "expkeytabs", host, role=p.get("role"), to="https answer"
        ) as change:
            found = admin.backend.get_principals(names)
            present = [found[n] for n in names if n in found]
            entries = [e for principal in present for e in keytab_entries(principal)]
            if not entries:
                raise ApiError(
                    404, "no_such_principal", f"no principal of those roles exists for {host}"
                )
            change.note(principals=[principal.name for principal in present])
            return keytab_to_bytes(entries)

    data = await ctx.run(work)
    suffix = f"{p['role'].upper()}-{host}" if p.get("role") else host
    return _keytab_response(data, f"{suffix}.keytab")


async def get_audit(request: web.Request) -> web.Response:
    """The audit trail, newest ``limit`` records matching the filters, oldest first."""
    ctx = _ctx(request)
    p = request[PARAMS_KEY]
    query = audit_query(**{name: p.get(name) for name in _AUDIT_FILTERS})

    def work() -> list[dict[str, object]]:
        return [json.loads(record_json(r)) for r in _admin(request).audit.records(query)]

    records = await ctx.run(work)
    return _ok(f"{len(records)} audit record(s)", records=records)


_AUDIT_FILTERS = ("since", "until", "actor", "via", "action", "target", "result", "limit")
_AUDIT_PARAMS = (
    Param("since", "records at or after: 2027-01-01, @<epoch seconds>, '2h ago'"),
    Param("until", "records at or before (same forms as since)"),
    Param("actor", "who made the change, exactly (a principal, an OS user)"),
    Param("via", "the way in: hadmin-local, rest, kdcinit, ansible:<module>, has-server"),
    Param("action", "what: addprinc, cpw, ktadd, init, setplugin, addpluginuser ..."),
    Param("target", "what it was done to; * matches any text, ? one character"),
    Param("result", "success or failure"),
    Param("limit", "the newest N records (default 100)", type="integer", minimum=1, maximum=10000),
)

_PRINCIPAL = Param("principal", "principal name (the default realm when no @REALM)", required=True)
_ATTRIBUTE_PARAMS = (
    *(Param(name, f"set (true) or clear (false) {name}", type="boolean") for name in _SWITCHES),
    Param("max_life", "maximum ticket life, e.g. 10h or 36000"),
    Param("max_renewable_life", "maximum renewable life, e.g. 7d"),
    Param("expiration", "expiration: @<epoch seconds>, a date such as 2027-01-01, or never"),
    Param("pw_expiration", "password expiration: @<epoch seconds>, a date, or never"),
    Param("policy", "password policy name (see hadmin-local addpol)"),
    Param("clearpolicy", "true: no password policy", type="boolean"),
)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "admin/audit",
        get_audit,
        "the audit trail: who changed what, when, from where, with what result",
        access="admin",
        params=_AUDIT_PARAMS,
        tag="admin",
    ),
    Route(
        "GET",
        "admin/getprincipals",
        get_principals,
        "list principals (optionally matching a glob)",
        access="admin",
        params=(
            Param("exp", "shell glob, e.g. HTTP/*"),
            Param(
                "limit",
                "one page of at most this many names, with next: the after of the next page",
                type="integer",
                minimum=1,
                maximum=10000,
            ),
            Param("after", "the page of names sorting after this one (the last page's next)"),
        ),
        has_counterpart="GET /has/v1/admin/getprincipals",
        tag="admin",
    ),
    Route(
        "GET",
        "kadmin/listprincipals",
        list_principals,
        "list principals as a bare JSON array (Kerby has-project's kadmin API)",
        access="admin",
        params=(Param("exp", "shell glob, e.g. HTTP/*"),),
        has_counterpart="GET /has/v1/kadmin/listprincipals (has-project)",
        tag="admin",
    ),
    Route(
        "POST",
        "admin/addprincipal",
        add_principal,
        "add a principal (random keys unless a password is given)",
        access="admin",
        params=(
            _PRINCIPAL,
            Param("password", "password: send it in the JSON body", secret=True),
            *_ATTRIBUTE_PARAMS,
        ),
        json_body=True,
        has_counterpart="POST /has/v1/admin/addprincipal",
        tag="admin",
    ),
    Route(
        "GET",
        "admin/getprincipal",
        get_principal,
        "one principal's attributes and key versions (never its keys)",
        access="admin",
        params=(_PRINCIPAL,),
        has_counterpart="POST /has/v1/kadmin/getprincipal",
        tag="admin",
    ),
    Route(
        "POST",
        "admin/changepassword",
        change_password,
        "new keys for a principal: from a password, else random (kvno + 1)",
        access="admin",
        params=(
            _PRINCIPAL,
            Param("password", "new password: send it in the JSON body", secret=True),
            Param("keepold", "true: keep the older kvnos' keys too (cpw -keepold)", type="boolean"),
        ),
        json_body=True,
        has_counterpart="POST /has/v1/kadmin/changepassword",
        tag="admin",
    ),
    Route(
        "POST",
        "admin/purgekeys",
        purge_keys,
        "drop old kvnos' keys kept by changepassword keepold (default: all but the current)",
        access="admin",
        params=(
            _PRINCIPAL,
            Param(
                "keepkvno",
                "purge only the kvnos lower than this one",
                type="integer",
                minimum=1,
                maximum=2**32 - 1,
            ),
            Param("all", "true: purge every key, the current one too", type="boolean"),
        ),
        json_body=True,
        tag="admin",
    ),
    Route(
        "POST",
        "admin/modifyprincipal",
        modify_principal,
        "change a principal's attributes (or relabel its current keys with kvno)",
        access="admin",
        params=(
            _PRINCIPAL,
            *_ATTRIBUTE_PARAMS,
            Param("kvno", "key version number", type="integer", minimum=1, maximum=2**32 - 1),
        ),
        json_body=True,
        tag="admin",
    ),
    Route(
        "PUT",
        "admin/setconf",
        set_conf,
        "open (true) or close (false) this node's configuration endpoints: enable_conf",
        access="admin",
        params=(Param("isEnable", "true or false", required=True, type="boolean"),),
        has_counterpart="PUT /has/v1/admin/setconf",
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
        "DELETE",
        "admin/deletenode",
        delete_node,
        "deregister a HAS node taken out of service: clients stop listing it",
        access="admin",
        params=(Param("host", "the node's host, as registered (kdc_host)", True),),
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
        "keytab of one principal: current keys, or new random keys first (secret)",
        access="admin",
        params=(
            _PRINCIPAL,
            Param("randkey", "true: new random keys (kvno + 1) first, as ktadd", type="boolean"),
        ),
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
    Route(
        "GET",
        "admin/nodes",
        nodes_json,
        "every HAS node and database host: state, heartbeat, KDC load, schema, Galera",
        access="admin",
        tag="admin",
    ),
    Route(
        "GET",
        "admin/nodes.html",
        nodes_page,
        "the same as a small HTML page (refreshed every 10 s)",
        access="admin",
        produces="text/html",
        tag="admin",
    ),
)
