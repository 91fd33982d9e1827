"""Password policies as MIT names them, and the one check every new password passes.

A policy (``addpol``/``modpol``) holds MIT's ``kadm5_policy_ent`` numbers: minimum
length, minimum number of character classes, how many passwords are remembered
(``history_num``, the current one included), minimum and maximum password life. A
principal names its policy (``-policy``); a principal that names none, or one that
no longer exists, has no policy, as in MIT. ``addprinc`` without ``-policy`` takes
the policy called ``default`` when there is one (MIT's kadmin does the same).

`check_new_password` is what ``addprinc``, ``cpw`` and the password change service
(kpasswd, port 464) all call through `PrincipalAdmin`, so hadmin-local,
hadmin-remote, the REST API, the Ansible modules and kpasswd refuse the same
passwords with the same words. The words are MIT's (``kadm5_chpass_principal_util``),
because MIT's ``kpasswd`` shows them to the user as the server sent them.

The history keeps, per earlier password, one key derived from it (enctype, key, salt
and string-to-key parameters), packed into the principal's ``pw_history``; a new
password is refused when it derives to the current key or to one of those. The
minimum life binds only a principal changing its own password (kpasswd), as MIT's
``check_min_life``: an administrator may always reset a password.
"""

from __future__ import annotations

import hmac
import struct
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from has_kdc.admin.audit import AuditTrail
from has_kdc.admin.errors import AdminError
from has_kdc.admin.timespec import format_duration
from has_kdc.backend import IdentityBackend, KeyData, PasswordPolicy, Principal
from has_kdc.backend.rows import MAX_PW_HISTORY
from has_kdc.crypto import CryptoError, enctype_by_id
from has_kdc.principal import default_salt, parse_principal

__all__ = [
    "DEFAULT_POLICY",
    "MAX_HISTORY",
    "MAX_PASSWORD_LENGTH",
    "POLICY_FIELDS",
    "PasswordRejected",
    "PolicyAdmin",
    "character_classes",
    "check_new_password",
    "describe_policy",
    "password_state",
]

#: the policy ``addprinc`` gives a principal when none is named (MIT's kadmin rule)
DEFAULT_POLICY = "default"
#: most passwords a policy may remember (bounds the history kept per principal)
MAX_HISTORY = 24
#: the longest password any path accepts, in bytes of UTF-8
MAX_PASSWORD_LENGTH = 1024
#: the numbers of a policy, as ``addpol``/``modpol`` and the REST/Ansible inputs name them
POLICY_FIELDS = ("min_length", "min_classes", "history_num", "min_life", "max_life")

# MIT's texts (chpass_util_strings.et), sent to kpasswd users as the result string.
_TOO_SHORT = (
    "New password is too short.\nPlease choose a password which is at least {} characters long."
)
_TOO_FEW_CLASSES = (
    "New password does not have enough character classes.\n"
    "The character classes are:\n"
    "\t- lower-case letters,\n"
    "\t- upper-case letters,\n"
    "\t- digits,\n"
    "\t- punctuation, and\n"
    "\t- all other characters (e.g., control characters).\n"
    "Please choose a password with at least {} character classes."
)
_REUSED = "New password was used previously. Please choose a different password."
_TOO_SOON = (
    "Password cannot be changed because it was changed too recently.\n"
    "Please wait until {} before you change it.\n"
    "If you need to change your password before then, contact your system\n"
    "security administrator."
)


class PasswordRejected(AdminError):
    """A password the principal's policy refuses. ``reason`` is MIT's kadm5 error
    name (``TOOSHORT``, ``CLASS``, ``REUSE``, ``TOOSOON``); the message is MIT's
    text for it, fit to show the user (never the password)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def character_classes(password: str) -> int:
    """How many of MIT's five classes ``password`` uses: lower, upper, digit,
    punctuation, anything else (``passwd_check`` in MIT's server_misc.c)."""
    found: set[str] = set()
    for ch in password:
        if ch.isascii() and ch.isdigit():
            found.add("digit")
        elif ch.isascii() and ch.islower():
            found.add("lower")
        elif ch.isascii() and ch.isupper():
            found.add("upper")
        elif ch.isascii() and ch.isprintable() and not ch.isalnum() and not ch.isspace():
            found.add("punct")
        else:
            found.add("other")
    return len(found)


# -- the history ------------------------------------------------------------------------

_ENTRY = struct.Struct(">HIH")  # enctype, kvno, key length; then key, salt, s2kparams


def _pack(keys: Iterable[KeyData]) -> bytes:
    out = bytearray()
    for key in keys:
        salt = key.salt or b""
        params = key.s2kparams or b""
        out += _ENTRY.pack(key.enctype, key.kvno, len(key.key)) + bytes(key.key)
        out += struct.pack(">H", len(salt)) + salt + struct.pack(">B", len(params)) + params
    return bytes(out)


def _unpack(data: bytes | None) -> list[KeyData]:
    """The packed history; what does not parse (a damaged row) is left out, not fatal."""
    keys: list[KeyData] = []
    view = memoryview(data or b"")
    at = 0
    try:
        while at < len(view):
            enctype, kvno, length = _ENTRY.unpack_from(view, at)
            at += _ENTRY.size
            key = bytes(view[at : at + length])
            at += length
            (salt_len,) = struct.unpack_from(">H", view, at)
            salt = bytes(view[at + 2 : at + 2 + salt_len])
            at += 2 + salt_len
            params_len = view[at]
            params = bytes(view[at + 1 : at + 1 + params_len])
            at += 1 + params_len
            if len(key) != length or at > len(view):
                break
            keys.append(KeyData(enctype, kvno, key, salt or None, params or None))
    except (struct.error, IndexError):
        pass
    return keys


def _one_key_per_kvno(keys: Iterable[KeyData]) -> list[KeyData]:
    """The first key of each kvno: one derived key is enough to recognize a password."""
    seen: dict[int, KeyData] = {}
    for key in keys:
        seen.setdefault(key.kvno, key)
    return list(seen.values())


def _derives_to(password: bytes, key: KeyData, name: str) -> bool:
    try:
        enctype = enctype_by_id(key.enctype)
        salt = key.salt if key.salt is not None else default_salt(*parse_principal(name))
        params = key.s2kparams if key.s2kparams is not None else enctype.default_params
        return hmac.compare_digest(enctype.string_to_key(password, salt, params), bytes(key.key))
    except (CryptoError, ValueError):
        return False


# -- the check ----------------------------------------------------------------------


def check_new_password(
    policy: PasswordPolicy | None,
    principal: Principal | None,
    password: str,
    *,
    own_change: bool = False,
    now: float | None = None,
) -> None:
    """Refuse ``password`` for ``principal`` (None: being created) under ``policy``
    (None: no policy) with `PasswordRejected`, in MIT's order: minimum life (only for
    ``own_change``), length, classes, history. Every path refuses an empty password
    or one over `MAX_PASSWORD_LENGTH` bytes, policy or not.
    """
    if not password:
        raise AdminError("the password is empty")
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_LENGTH:
        raise AdminError(f"the password is longer than {MAX_PASSWORD_LENGTH} bytes")
    if policy is None:
        return
    current = time.time() if now is None else now
    if (
        own_change
        and principal is not None
        and policy.min_life
        and principal.last_pwd_change is not None
        and current - principal.last_pwd_change < policy.min_life
    ):
        until = time.ctime(principal.last_pwd_change + policy.min_life)
        raise PasswordRejected("TOOSOON", _TOO_SOON.format(until))
    if len(password) < policy.min_length:
        raise PasswordRejected("TOOSHORT", _TOO_SHORT.format(policy.min_length))
    if character_classes(password) < policy.min_classes:
        raise PasswordRejected("CLASS", _TOO_FEW_CLASSES.format(policy.min_classes))
    if principal is not None and policy.history_num > 1:
        secret = password.encode("utf-8")
        remembered = _one_key_per_kvno(principal.keys_for_kvno())
        remembered += _unpack(principal.pw_history)[-(policy.history_num - 1) :]
        if any(_derives_to(secret, key, principal.name) for key in remembered):
            raise PasswordRejected("REUSE", _REUSED)


def password_state(
    policy: PasswordPolicy | None,
    current: Principal | None,
    now: int,
) -> dict[str, object]:
    """What a new password sets beside the keys: when it was set, when it expires
    (``max_life`` after, or never: MIT clears the expiry on a change), and the history
    with the outgoing password's key added (kept only under a policy that asks)."""
    state: dict[str, object] = {
        "last_pwd_change": now,
        "pw_expiration": now + policy.max_life if policy is not None and policy.max_life else None,
    }
    if current is not None:
        keep = policy.history_num - 1 if policy is not None else 0
        if keep > 0:
            history = _unpack(current.pw_history)
            history += _one_key_per_kvno(current.keys_for_kvno())[:1]
            packed = _pack(history[-keep:])
            while len(packed) > MAX_PW_HISTORY and history:
                history = history[1:]
                packed = _pack(history[-keep:])
            state["pw_history"] = packed or None
        else:
            state["pw_history"] = None
    return state


def describe_policy(policy: PasswordPolicy) -> str:
    """``getpol`` text, in MIT's words and order."""
    return "\n".join(
        [
            f"Policy: {policy.name}",
            f"Maximum password life: {_days(policy.max_life)}",
            f"Minimum password life: {_days(policy.min_life)}",
            f"Minimum password length: {policy.min_length}",
            f"Minimum number of password character classes: {policy.min_classes}",
            f"Number of old keys kept: {policy.history_num}",
        ]
    )


def _days(seconds: int) -> str:
    text = format_duration(seconds)
    return text if "day" in text else f"0 days {text}"


# -- administration -----------------------------------------------------------------


def _checked(name: str, numbers: Mapping[str, object]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in numbers.items():
        if key not in POLICY_FIELDS:
            raise AdminError(
                f"unknown password policy setting {key!r}; expected one of "
                + ", ".join(POLICY_FIELDS)
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise AdminError(f"password policy {name}: {key} must be a whole number >= 0")
        if value >= 2**31:
            raise AdminError(f"password policy {name}: {key} is too large")
        out[key] = value
    return out


def _validate(policy: PasswordPolicy) -> None:
    """MIT's refusals (kadm5_create_policy/modify_policy), in its words."""
    if not policy.name or "\n" in policy.name or len(policy.name.encode("utf-8")) > 255:
        raise AdminError("a password policy name must be 1 to 255 bytes on one line")
    if not 1 <= policy.min_length <= MAX_PASSWORD_LENGTH:
        raise AdminError(
            f"password policy {policy.name}: invalid password length "
            f"(min_length 1 to {MAX_PASSWORD_LENGTH})"
        )
    if not 1 <= policy.min_classes <= 5:
        raise AdminError(
            f"password policy {policy.name}: invalid number of character classes (1 to 5)"
        )
    if not 1 <= policy.history_num <= MAX_HISTORY:
        raise AdminError(
            f"password policy {policy.name}: invalid password history count "
            f"(history_num 1 to {MAX_HISTORY})"
        )
    if policy.max_life and policy.min_life > policy.max_life:
        raise AdminError(
            f"password policy {policy.name}: password minimum life is greater than "
            "password maximum life"
        )


@dataclass
class PolicyAdmin:
    """``addpol``, ``modpol``, ``delpol``, ``getpol``, ``listpols`` over one store; each
    change is one audit record (numbers only)."""

    backend: IdentityBackend
    audit: AuditTrail

    def get(self, name: str) -> PasswordPolicy:
        found = self.backend.get_policy(name)
        if found is None:
            raise AdminError(f"password policy {name} does not exist")
        return found

    def find(self, name: str | None) -> PasswordPolicy | None:
        """The policy called ``name``; None for no name or one that no longer exists."""
        return self.backend.get_policy(name) if name else None

    def list(self) -> list[PasswordPolicy]:
        return self.backend.list_policies()

    def add(self, name: str, **numbers: object) -> PasswordPolicy:
        with self.audit.change("addpol", name) as change:
            settings = _checked(name, numbers)
            change.note(**settings)
            if self.backend.get_policy(name) is not None:
                raise AdminError(f"password policy {name} already exists")
            policy = PasswordPolicy(name, **settings)
            _validate(policy)
            return self.backend.put_policy(policy)

    def modify(self, name: str, **numbers: object) -> PasswordPolicy:
        with self.audit.change("modpol", name) as change:
            settings = _checked(name, numbers)
            change.note(**settings)
            if not settings:
                raise AdminError(f"nothing to change in password policy {name}")
            changes: dict[str, Any] = settings  # only numeric fields, checked above
            policy = replace(self.get(name), **changes)
            _validate(policy)
            return self.backend.put_policy(policy)

    def delete(self, name: str) -> None:
        with self.audit.change("delpol", name):
            if not self.backend.delete_policy(name):
                raise AdminError(f"password policy {name} does not exist")
