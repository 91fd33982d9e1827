"""The OpenAPI 3.0 description of the served routes, built from the route table itself.

Each operation states its access rule three ways: in words (``description``), as
``x-has-access`` (the rule's name: public, tls, conf or admin) and as OpenAPI
``security`` (``negotiate`` for administrators, ``setupToken`` for the setup window).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from has_kdc import __version__ as _version
from has_kdc.web.routes import Param, Route

__all__ = ["build_document"]

_ACCESS_TEXT = {
    "public": "Anyone; served over HTTPS and, if configured, plain HTTP.",
    "tls": "Anyone, over HTTPS only.",
    "conf": (
        "HTTPS only. An authenticated administrator (SPNEGO) always; anyone else only "
        "before the realm is initialized, while has-server.conf sets enable_conf = true, "
        "and with the node's one-time setup token in X-Has-Setup-Token (401/403 "
        "otherwise). Once the realm is initialized: administrators only, whatever "
        "enable_conf says."
    ),
    "admin": "HTTPS only; needs an authenticated administrator (401/403 otherwise).",
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "tls": [],
    "conf": [{"negotiate": []}, {"setupToken": []}],
    "admin": [{"negotiate": []}],
}
_ERROR_REF = {"$ref": "#/components/responses/Error"}


def _schema(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type}
    if param.pattern:
        schema["pattern"] = param.pattern
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    if param.secret:
        schema["format"] = "password"
    return schema


def _operation(route: Route) -> dict[str, Any]:
    description = _ACCESS_TEXT[route.access]
    if route.has_counterpart:
        description += f" HAS: {route.has_counterpart}."
    op: dict[str, Any] = {
        "summary": route.summary,
        "description": description,
        "operationId": f"{route.method.lower()}_{route.full_path.strip('/').replace('/', '_')}",
        "tags": [route.tag],
        "security": _SECURITY[route.access],
        "x-has-access": route.access,
    }
    in_query = [p for p in route.params if not p.secret or p.query_allowed]
    if in_query:
        op["parameters"] = [
            {
                "name": p.name,
                "in": "query",
                # a parameter that may come in the body instead is not required in the URL
                "required": p.required and not route.json_body,
                "description": p.description,
                "schema": _schema(p),
            }
            for p in in_query
        ]
    if route.json_body:
        op["requestBody"] = {
            "required": False,
            "description": "the parameters as a JSON object instead of the query string",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {p.name: _schema(p) for p in route.params},
                    }
                }
            },
        }
    ok_schema: dict[str, Any] = (
        {"type": "string", "format": "binary"}
        if route.produces == "application/octet-stream"
        else ({"type": "object"} if route.produces == "application/json" else {"type": "string"})
    )
    responses: dict[str, Any] = {
        "200": {"description": "success", "content": {route.produces: {"schema": ok_schema}}},
        "400": _ERROR_REF,
        "500": _ERROR_REF,
        "503": _ERROR_REF,
    }
    if route.json_body:
        responses["408"] = _ERROR_REF
        responses["413"] = _ERROR_REF
        responses["415"] = _ERROR_REF
    if route.access != "public":
        responses["403"] = _ERROR_REF
    if route.access in ("admin", "conf"):
        responses["401"] = _ERROR_REF
    for status, text in route.responses.items():
        responses[str(status)] = {"description": text}
    op["responses"] = responses
    return op


def build_document(routes: Iterable[Route]) -> dict[str, Any]:
    """An OpenAPI 3.0.3 document for ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.full_path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "has-kdc HAS REST API",
            "version": _version,
            "description": (
                "The HTTPS API of a has-kdc node (Hadoop Authentication Service). Errors "
                'are JSON: {"error": "<word>", "detail": "<sentence>"} with a 4xx or 5xx status.'
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "negotiate": {
                    "type": "http",
                    "scheme": "negotiate",
                    "description": "Kerberos SPNEGO (curl --negotiate) as an administrator",
                },
                "setupToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Has-Setup-Token",
                    "description": (
                        "the node's one-time setup token (setup-token in its conf_dir), "
                        "before the realm is initialized"
                    ),
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {
                        "error": {"type": "string", "example": "bad_request"},
                        "detail": {"type": "string"},
                    },
                }
            },
            "responses": {
                "Error": {
                    "description": "failure",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }
