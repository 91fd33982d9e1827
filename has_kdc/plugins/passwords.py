"""Password hashes for plugin credentials: scrypt, parameters stored in the hash string.

HAS's MySQL plugin compares the password with a plain-text ``pass_word`` column.
Here only a hash is stored, in the modular-crypt style that names its parameters::

    $scrypt$ln=15,r=8,p=1$<salt, base64>$<hash, base64>

(base64 without padding; ``ln`` is log2 of scrypt's N). A hash made with other
parameters keeps verifying after the default changes, and `needs_rehash` tells when
to re-hash at the next password reset. The defaults (N = 2**15, r = 8, p = 1: 32 MiB
and tens of milliseconds per check) follow RFC 7914's interactive-login advice;
guessing is further slowed by the HTTPS rate limits.

Stored parameters are bounded (`MAX_LN` etc.) so a tampered row cannot make the
server allocate gigabytes. Unknown users are checked against `dummy_hash()` so the
answer takes as long as for a wrong password.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "DEFAULT_PARAMS",
    "ScryptParams",
    "dummy_hash",
    "hash_password",
    "needs_rehash",
    "parse_hash",
    "verify_password",
]

MAX_LN = 20  # N up to 2**20 (1 GiB with r = 8): far above any sensible setting
MAX_R = 32
MAX_P = 16
SALT_BYTES = 16
HASH_BYTES = 32

_FORMAT = re.compile(
    r"^\$scrypt\$ln=(?P<ln>\d{1,2}),r=(?P<r>\d{1,2}),p=(?P<p>\d{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]{4,})\$(?P<hash>[A-Za-z0-9+/]{16,})$"
)


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost: N = 2**ln, block size r, parallelism p."""

    ln: int = 15
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not (1 <= self.ln <= MAX_LN and 1 <= self.r <= MAX_R and 1 <= self.p <= MAX_P):
            raise ValueError(
                f"scrypt parameters ln={self.ln}, r={self.r}, p={self.p} are out of range "
                f"(ln 1..{MAX_LN}, r 1..{MAX_R}, p 1..{MAX_P})"
            )

    @property
    def maxmem(self) -> int:
        """Memory scrypt needs (128 * r * N, plus room for p blocks), for hashlib's limit."""
        return 128 * self.r * (1 << self.ln) + 128 * self.r * self.p + 1024 * 1024


DEFAULT_PARAMS = ScryptParams()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, params: ScryptParams, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**params.ln,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=length,
    )


def hash_password(
    password: str, *, params: ScryptParams = DEFAULT_PARAMS, salt: bytes | None = None
) -> str:
    """The storable hash of ``password`` with a fresh random salt (unless given)."""
    if not password:
        raise ValueError("an empty password cannot be stored")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = _derive(password, salt, params, HASH_BYTES)
    return f"$scrypt$ln={params.ln},r={params.r},p={params.p}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> tuple[ScryptParams, bytes, bytes]:
    """Parameters, salt and digest of a stored hash; ``ValueError`` if it is not one.

    The message never repeats the hash: it names the format that was expected.
    """
    match = _FORMAT.match(encoded or "")
    if match is None:
        raise ValueError("not a $scrypt$ln=..,r=..,p=..$salt$hash password hash")
    params = ScryptParams(int(match["ln"]), int(match["r"]), int(match["p"]))
    try:
        return params, _unb64(match["salt"]), _unb64(match["hash"])
    except ValueError:
        raise ValueError("the salt or hash of a $scrypt$ password hash is not base64") from None


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; constant time in the digest compare.

    ``ValueError`` for a malformed hash (an operator's mistake, not a wrong password).
    """
    params, salt, digest = parse_hash(encoded)
    candidate = _derive(password, salt, params, len(digest))
    return hmac.compare_digest(candidate, digest)


def needs_rehash(encoded: str, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    """True when ``encoded`` was made with parameters other than ``params``."""
    try:
        return parse_hash(encoded)[0] != params
    except ValueError:
        return True


@functools.lru_cache(maxsize=8)
def dummy_hash(params: ScryptParams = DEFAULT_PARAMS) -> str:
    """A hash of a random password, to spend the same time on unknown users."""
    return hash_password(secrets.token_urlsafe(24), params=params)
