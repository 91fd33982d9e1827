"""HAS's auth token claims, the same for every plugin.

Each HAS client plugin fills a Kerby ``AuthToken`` the same way (issuer ``has``, the
subject, issue and expiry times, then its own credential attributes), and each server
plugin refuses an expired token and reads its attributes as non-empty strings. What
differs between plugins is only which attributes, and who vouches for them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from has_kdc.plugins import BadToken, Prompt

__all__ = ["TOKEN_LIFETIME", "from_env_or_prompt", "new_claims", "string_claim", "token_expired"]

#: HAS's client plugins make tokens valid for 60 minutes.
TOKEN_LIFETIME = 3600


def new_claims(subject: str, **attributes: str) -> dict[str, Any]:
    """The claims of a new token for ``subject``, valid for ``TOKEN_LIFETIME``."""
    now = int(time.time())
    return {"iss": "has", "sub": subject, "iat": now, "exp": now + TOKEN_LIFETIME, **attributes}


def token_expired(token: Mapping[str, Any], now: float) -> bool:
    """HAS's check (MySQLHasServerPlugin): a token past its ``exp`` is refused."""
    exp = token.get("exp")
    if exp is None:
        return False
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise BadToken("the token's exp claim is not a number of seconds")
    return now > exp


def string_claim(token: Mapping[str, Any], *names: str) -> str:
    """The first of the claims ``names`` that is a non-empty string; else `BadToken`."""
    for name in names:
        value = token.get(name)
        if isinstance(value, str) and value:
            return value
    raise BadToken(f"the token has no {' or '.join(names)} (a non-empty string)")


def from_env_or_prompt(
    environ: Mapping[str, str],
    names: tuple[str, ...],
    prompt: Prompt | None,
    question: str,
    *,
    secret: bool,
    missing: str,
) -> str:
    """A credential from the first set variable of ``names``, else asked with ``question``
    (a name is stripped, a secret taken as typed); `BadToken` with ``missing`` if empty.
    """
    value = next((environ[n] for n in names if environ.get(n)), None)
    if value is None and prompt is not None:
        value = prompt(question, secret)
        if not secret:
            value = value.strip()
    if not value:
        raise BadToken(missing)
    return value
