"""The one place where failures become HTTP answers: ``{"error": ..., "detail": ...}``.

Every failure of the REST API is a JSON body with a 4xx or 5xx status, never a 200
with a failure inside (HAS answered ``200 {"result": "error"}`` in places; its
clients had to parse bodies to notice). ``error`` is a stable machine-readable word,
``detail`` a sentence for the operator. Unknown paths (404) and wrong verbs (405,
with ``Allow``) get the same shape.

Mapping, in order (first match wins):

=============================  ======  =========================
exception                      status  error
=============================  ======  =========================
ApiError                       its     its own
aiohttp HTTPException          its     from the status
NodeConflict (node)            409     conflict
NodeError, InvalidRequest      400     bad_request
NoSuchPrincipalError           404     no_such_principal
PrincipalExistsError           409     principal_exists
RealmNotInitializedError       409     realm_not_initialized
AdminError                     400     bad_request
PrincipalNameError             400     bad_principal_name
BackendUnavailable             503     database_unavailable
BackendError                   503     database_error
anything else                  500     internal_error (no detail)
=============================  ======  =========================

A 500 says nothing about its cause to the client (the log has the traceback); the
other messages are written for users and never hold secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Middleware

from has_kdc.admin.errors import (
    AdminError,
    NoSuchPrincipalError,
    PrincipalExistsError,
    RealmNotInitializedError,
)
from has_kdc.backend import BackendError, BackendUnavailable
from has_kdc.node.errors import NodeConflict, NodeError
from has_kdc.principal import PrincipalNameError

__all__ = [
    "DATABASE_ERRORS",
    "ApiError",
    "error_middleware",
    "error_response",
    "status_error_word",
]

log = logging.getLogger("has_kdc.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Exceptions that count as database errors in the metrics.
DATABASE_ERRORS: tuple[type[Exception], ...] = (BackendError,)

_MAPPING: tuple[tuple[type[Exception], int, str], ...] = (
    (NodeConflict, 409, "conflict"),
    (NodeError, 400, "bad_request"),  # InvalidRequest and any other refusal of the node
    (NoSuchPrincipalError, 404, "no_such_principal"),
    (PrincipalExistsError, 409, "principal_exists"),
    (RealmNotInitializedError, 409, "realm_not_initialized"),
    (AdminError, 400, "bad_request"),
    (PrincipalNameError, 400, "bad_principal_name"),
    (BackendUnavailable, 503, "database_unavailable"),
    (BackendError, 503, "database_error"),
)

_STATUS_WORDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "request_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """A refusal with its HTTP status, error word and a message for the user."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        return cls(400, "bad_request", detail)


def status_error_word(status: int) -> str:
    if status in _STATUS_WORDS:
        return _STATUS_WORDS[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_response(
    status: int, error: str, detail: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.json_response({"error": error, "detail": detail}, status=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_exception(exc: web.HTTPException) -> web.Response:
    status = exc.status
    headers = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = sorted(exc.allowed_methods)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{exc.method} is not allowed here; use {' or '.join(allowed)}"
    elif status == 404:
        detail = "no such endpoint; GET /has/v1/openapi.json lists them"
    else:
        detail = exc.reason or HTTPStatus(status).phrase
    for name in ("WWW-Authenticate", "Retry-After", "Location"):
        if name in exc.headers:
            headers[name] = exc.headers[name]
    return error_response(status, status_error_word(status), detail, headers)


def map_exception(exc: Exception) -> tuple[int, str, str]:
    """(status, error, detail) for an exception a handler raised."""
    for kind, status, error in _MAPPING:
        if isinstance(exc, kind):
            return status, error, str(exc)
    return 500, "internal_error", "the server failed to answer; see its log"


def make_error_middleware(
    on_database_error: Callable[[], None] | None = None,
) -> Middleware:
    """The middleware turning every failure below it into a JSON error answer."""

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.error, exc.detail, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _http_exception(exc)
        except Exception as exc:
            status, error, detail = map_exception(exc)
            if isinstance(exc, DATABASE_ERRORS) and on_database_error is not None:
                on_database_error()
            if status >= 500:
                if status == 500:
                    log.exception("%s %s failed", request.method, request.path)
                else:
                    log.warning("%s %s: %s", request.method, request.path, detail)
            return error_response(status, error, detail)

    return error_middleware


error_middleware = make_error_middleware()
