"""The HTTP ``Negotiate`` scheme (RFC 4559): header values in and out.

Framework-free, so the aiohttp middleware, the REST client and the tests share it.
"""

from __future__ import annotations

import base64
import binascii

from has_kdc.gss.errors import DEFECTIVE_TOKEN, GssError

SCHEME = "Negotiate"


def negotiate_header(token: bytes | None) -> str:
    """``Negotiate <base64>`` (or the bare ``Negotiate`` challenge when ``token`` is None)."""
    if not token:
        return SCHEME
    return f"{SCHEME} {base64.b64encode(token).decode('ascii')}"


def parse_negotiate(value: str | None) -> bytes | None:
    """The token of an ``Authorization: Negotiate <base64>`` or of the Negotiate
    challenge in a ``WWW-Authenticate`` value (other schemes beside it are skipped).

    ``None`` when there is no Negotiate token; ``GssError`` when there is one but it
    is not base64.
    """
    if not value:
        return None
    for part in value.split(","):
        words = part.strip().split(None, 1)
        if not words or words[0].lower() != SCHEME.lower():
            continue
        if len(words) == 1:
            return None
        try:
            return base64.b64decode(words[1].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise GssError(DEFECTIVE_TOKEN, "Negotiate token is not valid base64") from None
    return None
