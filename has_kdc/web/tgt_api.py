"""``PUT /has/v1?type=<auth_type>``: a Kerberos TGT for credentials a plugin checks.

HAS (has-server ``AsRequestApi``; client ``HasClient.requestTgt``): the client sends
``PUT https://<node>:<port>/has/v1?type=<auth_type>&authToken=<JWT>``; the server
refuses plain HTTP (403 "HTTPS required."), decodes the token, lets the server plugin
of ``type`` authenticate it, has the KDC build an AS-REP for the token's user with
the reply part under string-to-key(passPhrase) (``HasKdcHandler``), and answers 200
``{"type": <auth_type>, "success": "true", "krbMessage": <base64 AS-REP>}``. HAS
answers failures with 200 and ``success: "false"``; here they have HTTP statuses:

======  ======================  ==============================================
status  error                   when
======  ======================  ==============================================
400     bad_token               token missing, not an unsecured JWT, lacks fields
400     plugin_not_enabled      ``type`` is not this node's ``[PLUGIN] auth_type``
401     authentication_failed   wrong credentials, unknown/disabled user, expired
403     https_required          plain HTTP
403     kdc_refused             the principal is locked out or expired
403     principal_not_allowed   the user maps to a principal no plugin login may get
                                (an administrator, a service, a principal with keys
                                of its own the user is not linked to)
429     rate_limited            too many failures (``Retry-After`` says how long)
503     plugin_unavailable      the credential store cannot be read (DB down)
503     kdc_unavailable         realm not initialized, or the store is down
503     busy                    every password-check worker busy and the queue
                                full (``Retry-After``; `plugins.hash_pool`)
======  ======================  ==============================================

The token may come in the query (HAS's clients) or, better, in a JSON body
``{"type": ..., "authToken": ..., "nonce": ...}`` (has-kdc's client): a query string
may end up in proxies' logs. ``nonce`` (optional, 0..2**31-1) is put into the
EncASRepPart so the client knows the reply answers its request.

The reply key is ``string_to_key(enctype, passphrase, default salt of the principal)``
with the realm's first permitted enctype, as HAS's ``HasUtil.getClientKey``; the
AS-REP carries PA-ETYPE-INFO2 naming enctype and salt. Only someone who knows the
credentials can decrypt the session key.

Which principal a login may get is `has_kdc.plugins.mapping`'s rule, checked for
every plugin after it vouched for the user. Rate limits (`ratelimit.TgtLimits`) apply
per (user, client address) with backoff, with a higher per-user ceiling that spares
the addresses a user logged in from, and per client address; every outcome is one
audit line (logger ``has_kdc.web.audit``) with plugin, user, principal, address and
result — never a token, password or key.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from has_kdc.asn1.constants import (
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_SVC_UNAVAILABLE,
    error_name,
)
from has_kdc.asn1.messages import EncryptionKey
from has_kdc.backend import BackendUnavailable, Principal
from has_kdc.crypto import enctype_by_id
from has_kdc.kdc.context import RealmContext
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.issue import HTTPS_TGT_OPTIONS, issue_tgt, reply_enctype
from has_kdc.kdc.principal_cache import PrincipalCache
from has_kdc.plugins import (
    AuthenticatedUser,
    AuthenticationFailed,
    PluginContext,
    PluginError,
    PluginUnavailable,
    ServerPlugin,
    UnknownPlugin,
    load_plugin,
)
from has_kdc.plugins.hash_pool import HashPool, HashPoolBusy
from has_kdc.plugins.mapping import PrincipalNotAllowed, check_principal_mapping
from has_kdc.plugins.token import TokenError, decode_token
from has_kdc.plugins.user_memo import PluginUserMemo
from has_kdc.principal import default_salt, parse_principal
from has_kdc.web.api import PARAMS_KEY, parse_params
from has_kdc.web.context import CONTEXT, WebContext
from has_kdc.web.errors import ApiError
from has_kdc.web.ratelimit import (
    DEFAULT_LIMITS,
    FailureBackoff,
    RecentSuccesses,
    TgtLimits,
    TokenBuckets,
    retry_after_header,
)
from has_kdc.web.routes import Param, Route

__all__ = ["TgtIssued", "TgtService", "register_tgt_routes", "tgt_routes"]

audit = logging.getLogger("has_kdc.web.audit")

#: Longest user or key name shown in an audit line (names come from the client).
_AUDIT_NAME = 64


@dataclass(frozen=True)
class TgtIssued:
    """A successful login: the AS-REP and who got it."""

    auth_type: str
    principal: str
    user: str
    as_rep: bytes = field(repr=False)


def _printable(name: str) -> str:
    text = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= _AUDIT_NAME else text[:_AUDIT_NAME] + "..."


class TgtService:
    """Plugins, limits and the KDC's view of the realm for one node's TGT endpoint."""

    def __init__(
        self,
        plugin_context: PluginContext,
        realm: Callable[[], RealmContext],
        *,
        enabled_types: Callable[[], str | None],
        admins: Callable[[], Collection[str]] = frozenset,
        limits: TgtLimits = DEFAULT_LIMITS,
        plugins: Mapping[str, ServerPlugin] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        hash_pool: HashPool | None = None,
    ) -> None:
        self.plugin_context = plugin_context
        #: where the reply key's string-to-key runs (the password check: plugin_context)
        self.hash_pool = hash_pool
        #: a thread per slot of the pool, so logins waiting for it hold no thread of
        #: the web server's other routes
        self._login_threads = (
            ThreadPoolExecutor(hash_pool.capacity, thread_name_prefix="has-login")
            if hash_pool is not None
            else None
        )
        self._realm = realm
        self._enabled_types = enabled_types
        self._admins = admins
        self._plugins: dict[str, ServerPlugin] = dict(plugins or {})
        self._plugins_lock = threading.Lock()
        self._kdc_lock = threading.Lock()
        size = limits.table_bytes
        self.pair_failures = FailureBackoff(limits.pair, max_bytes=size, clock=monotonic)
        self.user_failures = TokenBuckets(limits.user_failures, max_bytes=size, clock=monotonic)
        self.known_good = RecentSuccesses(limits.known_good_for, max_bytes=size, clock=monotonic)
        self.address_failures = TokenBuckets(
            limits.address_failures, max_bytes=size, clock=monotonic
        )
        self.address_requests = TokenBuckets(
            limits.address_requests, max_bytes=size, clock=monotonic
        )

    @classmethod
    def for_context(
        cls,
        context: WebContext,
        *,
        limits: TgtLimits = DEFAULT_LIMITS,
        hash_pool: HashPool | None = None,
    ) -> TgtService:
        """The service of a has-server node: its conf_dir, shared store and kdc.conf;
        password checks and reply keys in ``hash_pool`` (a new one, closed with the
        context, unless given)."""
        own_pool = hash_pool is None
        if hash_pool is None:
            hash_pool = HashPool()
        service = context.service
        kdc_conf = service.conf.kdc
        realm_holder: list[RealmContext] = []
        lock = threading.Lock()

        def realm() -> RealmContext:
            with lock:
                if not realm_holder:
                    cache = PrincipalCache(
                        service.backend(), refresh_interval=1.0, stale_ok=kdc_conf.stale_ok
                    )
                    realm_holder.append(
                        RealmContext.create(
                            realm=kdc_conf.kdc_realm,
                            max_life=kdc_conf.max_life,
                            max_renewable_life=kdc_conf.max_renewable_life,
                            clock_skew=kdc_conf.clock_skew,
                            supported_enctypes=kdc_conf.supported_enctypes,
                            principals=cache,
                        )
                    )
                return realm_holder[0]

        plugin_context = PluginContext(
            realm=kdc_conf.kdc_realm,
            conf_dir=service.conf_dir,
            backend=service.backend,
            clock=time.time,
            plugin_users=PluginUserMemo(kdc_conf.stale_ok),
            password_check=hash_pool.verify_password,
        )
        tgt = cls(
            plugin_context,
            realm,
            enabled_types=lambda: service.server_conf().auth_type,
            admins=context.admin_principals,
            limits=limits,
            hash_pool=hash_pool,
        )
        if own_pool:
            context.on_close.append(tgt.close)
        return tgt

    # -- plugins ----------------------------------------------------------------------

    def plugin(self, auth_type: str) -> ServerPlugin:
        """The server plugin for ``auth_type`` if this node enables it (400 otherwise)."""
        enabled = self._enabled_types()
        if enabled is None or auth_type.lower() != enabled.lower():
            raise ApiError(
                400,
                "plugin_not_enabled",
                f"authentication type {auth_type!r} is not enabled on this node "
                f"([PLUGIN] auth_type = {enabled or 'none'} in has-server.conf)",
            )
        with self._plugins_lock:
            plugin = self._plugins.get(enabled)
            if plugin is None:
                try:
                    plugin = load_plugin(enabled).server_plugin()
                except UnknownPlugin as exc:
                    raise ApiError(503, "plugin_unavailable", str(exc)) from None
                self._plugins[enabled] = plugin
            return plugin

    # -- limits -----------------------------------------------------------------------

    @staticmethod
    def _keys(auth_type: str, subject: str, address: str) -> tuple[str, str]:
        user = f"{auth_type}\0{subject}"
        return user, f"{user}\0{address}"

    def check_limits(self, auth_type: str, subject: str, address: str) -> None:
        """429 when this (user, address) is backing off, the address failed or sent
        too much, or the user's ceiling is spent and the address is not one it logged
        in from (see `ratelimit`)."""
        user, pair = self._keys(auth_type, subject, address)
        waits = [
            self.pair_failures.retry_after(pair),
            self.address_failures.retry_after(address),
        ]
        if pair not in self.known_good:
            waits.append(self.user_failures.retry_after(user))
        wait = max(waits)
        if wait == 0:
            wait = self.address_requests.allow(address)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"too many login attempts; try again in {retry_after_header(wait)} s",
                headers={"Retry-After": retry_after_header(wait)},
            )

    def record_failure(self, auth_type: str, subject: str, address: str) -> None:
        user, pair = self._keys(auth_type, subject, address)
        self.pair_failures.failure(pair)
        self.user_failures.take(user)
        self.address_failures.take(address)

    def record_success(self, auth_type: str, subject: str, address: str) -> None:
        _user, pair = self._keys(auth_type, subject, address)
        self.pair_failures.success(pair)
        self.known_good.add(pair)

    # -- the work (on a worker thread) ---------------------------------------------------

    def authenticate(self, plugin: ServerPlugin, claims: Mapping[str, Any]) -> AuthenticatedUser:
        return plugin.authenticate(claims, self.plugin_context)

    def principal(self, name: str) -> Principal | None:
        """``name`` as the KDC sees it: from its cache, which serves what it holds
        through a database outage for ``kdc_stale_ok``."""
        try:
            ctx = self._realm()
        except Exception as exc:  # the store could not be opened
            raise BackendUnavailable(str(exc)) from None
        with self._kdc_lock:  # the principal cache is not thread-safe
            entry = ctx.principals.get(name)
        return None if entry is None else entry.principal

    def issue(self, user: AuthenticatedUser, *, nonce: int | None, now: float) -> bytes:
        """The AS-REP for ``user`` under the key derived from its passphrase."""
        try:
            ctx = self._realm()
        except Exception as exc:  # the store could not be opened
            raise KdcError(KDC_ERR_SVC_UNAVAILABLE, f"STORE_UNAVAILABLE: {exc}") from None
        components, realm = parse_principal(user.principal, ctx.realm)
        etype = reply_enctype(ctx)
        salt = default_salt(components, realm)
        material = user.reply_key_material
        key = EncryptionKey(
            etype,
            self.hash_pool.derive_key(etype, material, salt)
            if self.hash_pool is not None
            else enctype_by_id(etype).string_to_key(material, salt, None),
        )
        with self._kdc_lock:  # the principal cache is not thread-safe
            return issue_tgt(
                ctx,
                user.principal,
                key,
                HTTPS_TGT_OPTIONS,
                now,
                till=int(now) + ctx.max_life,
                nonce=nonce,
                salt=salt,
            )

    async def run_login(
        self,
        plugin: ServerPlugin,
        claims: Mapping[str, Any],
        nonce: int | None,
        run: Callable[..., Awaitable[TgtIssued]],
    ) -> TgtIssued:
        """`login` off the event loop: in a slot of the hash pool (503 `HashPoolBusy`
        when it is full) on one of its threads, else by ``run``."""
        if self.hash_pool is None or self._login_threads is None:
            return await run(self.login, plugin, claims, nonce)
        with self.hash_pool.slot():
            return await asyncio.get_running_loop().run_in_executor(
                self._login_threads, functools.partial(self.login, plugin, claims, nonce)
            )

    def close(self) -> None:
        if self._login_threads is not None:
            self._login_threads.shutdown(wait=False, cancel_futures=True)
        if self.hash_pool is not None:
            self.hash_pool.close()

    def login(
        self, plugin: ServerPlugin, claims: Mapping[str, Any], nonce: int | None
    ) -> TgtIssued:
        user = self.authenticate(plugin, claims)
        check_principal_mapping(
            user,
            realm=self.plugin_context.realm,
            admins=self._admins(),
            lookup=self.principal,
        )
        as_rep = self.issue(user, nonce=nonce, now=self.plugin_context.clock())
        return TgtIssued(plugin.name, user.principal, user.user, as_rep)


# ------------------------------------------------------------------ HTTP


_PARAMS = (
    Param("type", "the authentication plugin (HAS's auth_type), e.g. MySQL or RAM", True),
    Param(
        "authToken",
        "the plugin's auth token: an unsecured JWT (HAS's format)",
        True,
        secret=True,
        query_allowed=True,  # HAS's HasClient sends it in the query
    ),
    Param(
        "nonce",
        "a number the reply's encrypted part repeats (0 to 2147483647)",
        type="integer",
        minimum=0,
        maximum=2**31 - 1,
    ),
)


def _kdc_refusal(err: KdcError) -> ApiError:
    if err.code == KDC_ERR_SVC_UNAVAILABLE:
        return ApiError(503, "kdc_unavailable", "the KDC cannot read the realm's store now")
    if err.code == KDC_ERR_S_PRINCIPAL_UNKNOWN:
        return ApiError(
            503, "kdc_unavailable", "the realm is not initialized (no krbtgt principal) yet"
        )
    return ApiError(
        403,
        "kdc_refused",
        f"the KDC refused the ticket: {error_name(err.code)} ({err.code}) {err.status}",
    )


def make_handler(service: TgtService) -> Callable[[web.Request], Any]:
    route_for_params = Route("PUT", "", _unused_handler, "", params=_PARAMS, json_body=True)

    async def put_tgt(request: web.Request) -> web.Response:
        if not request.secure:
            raise ApiError(403, "https_required", "this endpoint is served over HTTPS only")
        params = request.get(PARAMS_KEY)
        if params is None:
            params = await parse_params(request, route_for_params)
        auth_type = str(params["type"])
        address = request.remote or "unknown"
        plugin = service.plugin(auth_type)
        try:
            claims = decode_token(str(params["authToken"]))
            subject = plugin.subject(claims)
        except (TokenError, PluginError) as exc:
            audit.info("TGT %s from %s: BAD TOKEN: %s", auth_type, address, exc)
            raise ApiError(400, "bad_token", str(exc)) from None
        who = _printable(subject)
        try:
            service.check_limits(plugin.name, subject, address)
        except ApiError:
            audit.warning("TGT %s user %s from %s: RATE LIMITED", plugin.name, who, address)
            raise
        context: WebContext | None = request.app.get(CONTEXT)
        run = context.run if context is not None else _run_inline
        try:
            issued = await service.run_login(plugin, claims, params.get("nonce"), run)
        except AuthenticationFailed as exc:
            service.record_failure(plugin.name, subject, address)
            audit.warning("TGT %s user %s from %s: FAILED: %s", plugin.name, who, address, exc)
            raise ApiError(exc.status, exc.error, str(exc)) from None
        except PrincipalNotAllowed as exc:
            audit.warning("TGT %s user %s from %s: REFUSED: %s", plugin.name, who, address, exc)
            raise ApiError(exc.status, exc.error, str(exc)) from None
        except HashPoolBusy as exc:
            audit.warning("TGT %s user %s from %s: BUSY: %s", plugin.name, who, address, exc)
            raise ApiError(
                exc.status, exc.error, str(exc), headers={"Retry-After": str(exc.retry_after)}
            ) from None
        except PluginError as exc:
            if isinstance(exc, PluginUnavailable) and context is not None:
                context.database_error()
            audit.error("TGT %s user %s from %s: ERROR: %s", plugin.name, who, address, exc)
            raise ApiError(exc.status, exc.error, str(exc)) from None
        except KdcError as err:
            refusal = _kdc_refusal(err)
            if refusal.status == 503 and context is not None:
                context.database_error()
            audit.warning(
                "TGT %s user %s from %s: REFUSED: %s", plugin.name, who, address, refusal.detail
            )
            raise refusal from None
        service.record_success(plugin.name, subject, address)
        audit.info("TGT %s user %s from %s: ISSUE: %s", plugin.name, who, address, issued.principal)
        return web.json_response(
            {
                "type": plugin.name,
                "success": "true",
                "principal": issued.principal,
                "krbMessage": base64.b64encode(issued.as_rep).decode("ascii"),
            }
        )

    return put_tgt


async def _unused_handler(request: web.Request) -> web.StreamResponse:  # pragma: no cover
    raise web.HTTPNotFound()


async def _run_inline(fn: Callable[..., Any], *args: object) -> Any:
    return fn(*args)


def tgt_routes(service: TgtService) -> tuple[Route, ...]:
    """The endpoint as a route for ``create_app(context, extra_routes=...)``."""
    return (
        Route(
            "PUT",
            "",
            make_handler(service),
            "Get a Kerberos TGT with credentials an authentication plugin checks",
            access="tls",
            params=_PARAMS,
            json_body=True,
            has_counterpart="AsRequestApi: PUT /has/v1?type=<auth_type>&authToken=<token>",
            tag="tgt",
            responses={
                200: "the AS-REP, base64, in krbMessage",
                400: "bad token, or plugin not enabled",
                401: "authentication failed",
                403: "plain HTTP, the KDC refused, or the principal is not allowed",
                429: "rate limited (Retry-After)",
                503: "credential store or KDC unavailable, or every password check busy "
                "(Retry-After)",
            },
        ),
    )


def register_tgt_routes(app: web.Application, context: WebContext) -> TgtService:
    """Add ``PUT /has/v1`` to an application not yet started; returns its service."""
    service = TgtService.for_context(context)
    app.router.add_route("PUT", "/has/v1", make_handler(service))
    return service
