"""HAS's auth token: an unsigned JWT of claims and plugin attributes.

HAS's client plugins fill a Kerby ``AuthToken`` (issuer ``has``, subject, issue and
expiry times, plus attributes such as ``user`` and ``secret``) and ``HasClient``
sends it JWT-encoded (``KrbRuntime.getTokenProvider("JWT")``, no signing key: an
unsecured JWT, RFC 7519 §6, header ``{"alg":"none"}`` and an empty signature) as the
``authToken`` query parameter of ``PUT /has/v1?type=<auth_type>``.

The token carries the user's credentials; TLS protects it on the wire, and a
signature would prove nothing (the client has no key of its own). So only
``alg: none`` is accepted, and the decoder is strict about shape and size.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_TOKEN_LENGTH", "TokenError", "decode_token", "encode_token"]

#: Longest token string accepted: credentials and a few claims need far less.
MAX_TOKEN_LENGTH = 8192
_HEADER = {"alg": "none"}


class TokenError(ValueError):
    """The token is not an unsecured JWT of claims; the message says what is wrong.

    It never quotes the token (it holds a password).
    """


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64url(part: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(f"the token's {what} is not base64url") from None


def encode_token(claims: Mapping[str, Any]) -> str:
    """``claims`` as HAS's client sends them: ``header.payload.`` (unsecured JWT)."""
    header = _b64url(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{header}.{payload}."


def decode_token(token: str) -> dict[str, Any]:
    """The claims of an unsecured JWT; ``TokenError`` for anything else."""
    if not isinstance(token, str) or not token:
        raise TokenError("the auth token is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError(f"the auth token is longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenError("the auth token is not a JWT (header.payload.signature)")
    try:
        header = json.loads(_unb64url(parts[0], "header"))
        claims = json.loads(_unb64url(parts[1], "payload"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TokenError("the auth token's header or payload is not JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("the auth token's header and payload must be JSON objects")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() != "none" or parts[2]:
        raise TokenError(
            "only unsecured tokens (alg none, empty signature) are accepted: the token "
            "travels inside TLS and carries the credentials itself"
        )
    return claims
