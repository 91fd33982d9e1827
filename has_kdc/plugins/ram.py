"""The ``RAM`` plugin: Alibaba Cloud RAM AccessKey pairs as login credentials.

E-MapReduce's HAS has a RAM plugin (its "RAM authentication" documentation): a
user exports ``AccessKeyId`` and ``AccessKeySecret`` (in ~/.bashrc), sets
``auth_type = RAM`` in /etc/has/has-client.conf, and HasClient logs in with them; no
principal has to be added to the KDC first, the RAM sub-account name is the user.
That plugin is not public, so the token here follows HAS's MySQL plugin: subject
and ``accessKeyId``/``accessKeySecret`` attributes, passphrase = AccessKeyId +
AccessKeySecret.

Who owns a key pair is a `RamVerifier`'s answer. The one shipped,
`FileRamVerifier`, reads a credential store in the node's conf_dir,
``ram-credentials.json`` (mode 0600; refused when group or others may read it)::

    {"LTAI5tExampleKeyId": {"user": "alice", "secret_hash": "$scrypt$ln=15,...",
                            "disabled": false, "linked": false}}

written by `add_ram_credential`. ``linked`` (default false) lets the pair log in as
``alice@REALM`` even when that principal has keys of its own (the rule is
`has_kdc.plugins.mapping`); a user name that is not one name component (``HTTP/host``)
is refused at login. A verifier that asks the cloud (for instance by
calling STS GetCallerIdentity signed with the pair) fits the same protocol: give
``RamServerPlugin(verifier=...)``. The client reads ``AccessKeyId`` /
``AccessKeySecret`` (E-MapReduce's names) or the Alibaba Cloud SDK's
``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from has_kdc.conf import HasClientConfig
from has_kdc.fileio import SECRET_MODE, write_atomic
from has_kdc.plugins import (
    AuthenticatedUser,
    AuthenticationFailed,
    BadToken,
    PluginContext,
    PluginUnavailable,
    Prompt,
)
from has_kdc.plugins.claims import from_env_or_prompt, new_claims, string_claim, token_expired
from has_kdc.plugins.mapping import PrincipalNotAllowed
from has_kdc.plugins.mysql import check_user_name
from has_kdc.plugins.passwords import (
    DEFAULT_PARAMS,
    ScryptParams,
    dummy_hash,
    hash_password,
    verify_password,
)
from has_kdc.principal import format_principal

__all__ = [
    "CREDENTIALS_FILE",
    "PLUGIN",
    "FileRamVerifier",
    "RamClientPlugin",
    "RamCredential",
    "RamPlugin",
    "RamServerPlugin",
    "RamVerifier",
    "add_ram_credential",
]

NAME = "RAM"
CREDENTIALS_FILE = "ram-credentials.json"
KEY_ID_ENV = ("AccessKeyId", "ALIBABA_CLOUD_ACCESS_KEY_ID")
KEY_SECRET_ENV = ("AccessKeySecret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
_MAX_KEY_ID = 128


class RamVerifier(Protocol):
    """Decides whether an AccessKey pair is valid and whose it is."""

    def verify(self, access_key_id: str, access_key_secret: str) -> str | None:
        """The RAM user name owning the pair, or None when it is not valid (or disabled).

        Raise `PluginUnavailable` when the answer cannot be had right now.
        """
        ...


@dataclass(frozen=True)
class RamCredential:
    user: str
    secret_hash: str = field(repr=False)
    disabled: bool = False
    linked: bool = False


class FileRamVerifier:
    """Key pairs from ``ram-credentials.json``, re-read when the file changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: dict[str, RamCredential] = {}

    def _load(self) -> dict[str, RamCredential]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise PluginUnavailable(
                f"the RAM credential store {self.path} does not exist"
            ) from None
        except OSError as exc:
            raise PluginUnavailable(f"cannot read {self.path}: {exc.strerror}") from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise PluginUnavailable(
                f"{self.path} has mode {stat.S_IMODE(st.st_mode):04o}: it holds credential "
                "hashes and must be 0600 (chmod 600)"
            )
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._entries = _parse_store(self.path)
                self._stamp = stamp
            return self._entries

    def verify(self, access_key_id: str, access_key_secret: str) -> str | None:
        entry = self.credential(access_key_id, access_key_secret)
        return None if entry is None else entry.user

    def credential(
        self,
        access_key_id: str,
        access_key_secret: str,
        check: Callable[[str, str], bool] = verify_password,
    ) -> RamCredential | None:
        """The entry of a valid, enabled pair (None otherwise): the user and its link.
        ``check`` compares the secret with its hash (`PluginContext.check_password`)."""
        entry = self._load().get(access_key_id)
        try:
            matched = check(
                access_key_secret, entry.secret_hash if entry is not None else dummy_hash()
            )
        except ValueError:
            raise PluginUnavailable(
                f"{self.path}: the secret_hash of one AccessKeyId is damaged"
            ) from None
        if entry is None or not matched or entry.disabled:
            return None
        return entry


def _parse_store(path: Path) -> dict[str, RamCredential]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PluginUnavailable(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PluginUnavailable(f"{path}: expected a JSON object of AccessKeyId entries")
    out: dict[str, RamCredential] = {}
    for key_id, entry in data.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("user"), str)
            or not isinstance(entry.get("secret_hash"), str)
        ):
            raise PluginUnavailable(
                f'{path}: entry {key_id!r} needs "user" and "secret_hash" strings'
            )
        out[key_id] = RamCredential(
            entry["user"],
            entry["secret_hash"],
            bool(entry.get("disabled", False)),
            entry.get("linked", False) is True,
        )
    return out


def add_ram_credential(
    path: str | os.PathLike[str],
    access_key_id: str,
    access_key_secret: str,
    user: str,
    *,
    disabled: bool = False,
    linked: bool = False,
    params: ScryptParams | None = None,
) -> None:
    """Add (or replace) one key pair in the credential store, written 0600 atomically."""
    check_user_name(user)
    if not access_key_id or len(access_key_id) > _MAX_KEY_ID:
        raise ValueError(f"an AccessKeyId is 1 to {_MAX_KEY_ID} characters")
    target = Path(path)
    data: dict[str, Any] = {}
    if target.exists():
        data = json.loads(target.read_text(encoding="utf-8"))
    data[access_key_id] = {
        "user": user,
        "secret_hash": hash_password(
            access_key_secret, params=DEFAULT_PARAMS if params is None else params
        ),
        "disabled": disabled,
        "linked": linked,
    }
    write_atomic(target, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=SECRET_MODE)


class RamServerPlugin:
    """Checks ``accessKeyId``/``accessKeySecret`` with a `RamVerifier`.

    Without one, the `FileRamVerifier` of ``<conf_dir>/ram-credentials.json``.
    """

    name = NAME

    def __init__(self, verifier: RamVerifier | None = None) -> None:
        self._verifier = verifier
        self._file_verifiers: dict[Path, FileRamVerifier] = {}

    def verifier(self, context: PluginContext) -> RamVerifier:
        if self._verifier is not None:
            return self._verifier
        path = context.conf_dir / CREDENTIALS_FILE
        if path not in self._file_verifiers:
            self._file_verifiers[path] = FileRamVerifier(path)
        return self._file_verifiers[path]

    def subject(self, token: Mapping[str, Any]) -> str:
        key_id = string_claim(token, "accessKeyId")
        if len(key_id) > _MAX_KEY_ID:
            raise BadToken(f"the accessKeyId is longer than {_MAX_KEY_ID} characters")
        return key_id

    def authenticate(self, token: Mapping[str, Any], context: PluginContext) -> AuthenticatedUser:
        key_id = self.subject(token)
        secret = string_claim(token, "accessKeySecret")
        if token_expired(token, context.clock()):
            raise AuthenticationFailed("the auth token has expired; log in again")
        verifier = self.verifier(context)
        linked = False
        if isinstance(verifier, FileRamVerifier):
            entry = verifier.credential(key_id, secret, context.check_password)
            user = None if entry is None else entry.user
            linked = entry is not None and entry.linked
        else:
            user = verifier.verify(key_id, secret)
        if user is None:
            raise AuthenticationFailed("the AccessKey pair is not valid")
        try:
            check_user_name(user)
        except ValueError as exc:
            raise PrincipalNotAllowed(
                f"the RAM user of AccessKeyId {key_id} cannot log in: {exc}"
            ) from None
        return AuthenticatedUser(
            principal=format_principal((user,), context.realm),
            user=key_id,
            reply_key_material=(key_id + secret).encode("utf-8"),
            linked=linked,
        )


class RamClientPlugin:
    """The AccessKey pair from the environment (or a prompt)."""

    name = NAME

    def make_token(
        self,
        config: HasClientConfig | None,
        environ: Mapping[str, str],
        prompt: Prompt | None = None,
    ) -> dict[str, Any]:
        key_id = from_env_or_prompt(
            environ,
            KEY_ID_ENV,
            prompt,
            "AccessKeyId: ",
            secret=False,
            missing="no AccessKeyId: set AccessKeyId (or ALIBABA_CLOUD_ACCESS_KEY_ID) "
            "for the RAM plugin",
        )
        secret = from_env_or_prompt(
            environ,
            KEY_SECRET_ENV,
            prompt,
            f"AccessKeySecret for {key_id}: ",
            secret=True,
            missing="no AccessKeySecret: set AccessKeySecret (or ALIBABA_CLOUD_ACCESS_KEY_SECRET) "
            "for the RAM plugin",
        )
        return new_claims(key_id, accessKeyId=key_id, accessKeySecret=secret)

    def reply_passphrase(self, token: Mapping[str, Any]) -> bytes:
        return (
            string_claim(token, "accessKeyId") + string_claim(token, "accessKeySecret")
        ).encode()


class RamPlugin:
    """The entry point object (``has_kdc.plugins`` group, name ``RAM``)."""

    name = NAME

    def __init__(self, verifier: RamVerifier | None = None) -> None:
        self.verifier = verifier

    def server_plugin(self) -> RamServerPlugin:
        return RamServerPlugin(self.verifier)

    def client_plugin(self) -> RamClientPlugin:
        return RamClientPlugin()


PLUGIN = RamPlugin()
