"""The OpenAPI 3.0 description of the served routes, built from the route table itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from has_kdc import __version__ as _version
from has_kdc.web.routes import Param, Route

__all__ = ["build_document"]

_ACCESS_TEXT = {
    "public": "Served over HTTPS and, if configured, plain HTTP.",
    "tls": "HTTPS only.",
    "conf": (
        "HTTPS only; refused (403) unless has-server.conf sets enable_conf = true or "
        "the request is authenticated as an administrator."
    ),
    "admin": "HTTPS only; needs an authenticated administrator (401/403 otherwise).",
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
    }
    if route.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.description,
                "schema": _schema(p),
            }
            for p in route.params
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
    if route.access != "public":
        responses["403"] = _ERROR_REF
    if route.access == "admin":
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
