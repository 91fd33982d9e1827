"""Authentication plugins for TGT over HTTPS (HAS's HasClientPlugin / HasServerPlugin).

HAS lets a user obtain a Kerberos TGT with other credentials: the client plugin of
the configured ``auth_type`` makes an auth token (``HasClientPlugin.login``), the
client sends it to ``PUT /has/v1?type=<auth_type>``, the server plugin of that name
checks it (``HasServerPlugin.authenticate``) and the KDC issues a TGT whose reply
part is encrypted with a key derived from what the user knows
(``HasUtil.getClientKey(principal, passPhrase, enctype)``).

Plugins here are Python entry points in the group ``has_kdc.plugins``; the name is
HAS's ``auth_type`` (``MySQL``, ``RAM``) and the object a `PluginFactory`, which makes
the two halves:

- `ServerPlugin`: ``subject(token)`` names who the token claims to be (for the
  per-user rate limit, before any expensive check); ``authenticate(token, context)``
  verifies it and returns an `AuthenticatedUser`: the principal to issue the TGT
  to and the passphrase both sides turn into the reply key;
- `ClientPlugin`: ``make_token(config, environ, prompt)`` gathers the credentials
  (environment variables as HAS reads them, else a prompt) into token claims, and
  ``reply_passphrase(claims)`` gives the client the same passphrase.

Failures are `BadToken` (400: the token is malformed), `AuthenticationFailed` (401)
and `PluginUnavailable` (503: the credential store cannot be read). None of their
messages contains a secret.

Whatever a plugin vouches for, the principal it names must pass
`mapping.check_principal_mapping` (no administrator, no service principal, no
principal with keys of its own unless explicitly linked) before a TGT is issued.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from has_kdc.backend import IdentityBackend
from has_kdc.backend.model import PluginUser
from has_kdc.conf import HasClientConfig
from has_kdc.plugins.passwords import verify_password
from has_kdc.plugins.user_memo import PluginUserMemo

__all__ = [
    "ENTRY_POINT_GROUP",
    "AuthenticatedUser",
    "AuthenticationFailed",
    "BadToken",
    "ClientPlugin",
    "PluginContext",
    "PluginError",
    "PluginFactory",
    "PluginUnavailable",
    "Prompt",
    "ServerPlugin",
    "UnknownPlugin",
    "available_plugins",
    "load_plugin",
]

ENTRY_POINT_GROUP = "has_kdc.plugins"

#: Asks the user for a value: (prompt text, secret?) -> answer.
Prompt = Callable[[str, bool], str]


class PluginError(Exception):
    """A plugin refused or could not check a token. ``status`` is the HTTP answer."""

    status = 400
    error = "bad_token"


class BadToken(PluginError):
    """The token lacks what the plugin needs, or has it in the wrong form."""


class AuthenticationFailed(PluginError):
    """Wrong credentials, unknown or disabled user, or an expired token."""

    status = 401
    error = "authentication_failed"


class PluginUnavailable(PluginError):
    """The plugin's credential store cannot be used right now (database down, bad file)."""

    status = 503
    error = "plugin_unavailable"


class UnknownPlugin(LookupError):
    """No plugin of that name is installed."""


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who the plugin vouches for, and the material of the reply key.

    ``principal`` is the client of the TGT (``alice@HADOOP.COM``); ``user`` the
    identity the plugin checked (user name, AccessKeyId) for logs and limits;
    ``reply_key_material`` the passphrase given to string-to-key with the
    principal's default salt. It never appears in a repr. ``linked``: an
    administrator linked this user to a principal of the same name that has keys
    of its own (`has_kdc.plugins.mapping`, the rule every login is checked against).
    """

    principal: str
    user: str
    reply_key_material: bytes = field(repr=False)
    linked: bool = False


@dataclass(frozen=True)
class PluginContext:
    """What server plugins may use: the realm, the shared store, the node's conf_dir."""

    realm: str
    conf_dir: Path
    backend: Callable[[], IdentityBackend]
    clock: Callable[[], float]
    #: plugin users as last read, to serve logins through a database outage
    plugin_users: PluginUserMemo | None = None
    #: how a password is checked against its stored hash: the node's worker processes
    #: (`hash_pool.HashPool.verify_password`) on has-server, else in this thread
    password_check: Callable[[str, str], bool] | None = None

    def check_password(self, password: str, encoded: str) -> bool:
        """`passwords.verify_password`, where this context says it runs."""
        return (self.password_check or verify_password)(password, encoded)

    def plugin_user(self, name: str) -> PluginUser | None:
        """The store's plugin user ``name``; while the store is unavailable, as last read
        within the memo's bound (``BackendUnavailable`` otherwise)."""
        if self.plugin_users is None:
            return self.backend().get_plugin_user(name)
        return self.plugin_users.lookup(name, lambda: self.backend().get_plugin_user(name))


@runtime_checkable
class ServerPlugin(Protocol):
    name: str

    def subject(self, token: Mapping[str, Any]) -> str:
        """Who the token claims to be (checked cheaply; raise `BadToken` if absent)."""
        ...

    def authenticate(self, token: Mapping[str, Any], context: PluginContext) -> AuthenticatedUser:
        """Verify the token; raise `AuthenticationFailed`, `BadToken` or `PluginUnavailable`."""
        ...


@runtime_checkable
class ClientPlugin(Protocol):
    name: str

    def make_token(
        self,
        config: HasClientConfig | None,
        environ: Mapping[str, str],
        prompt: Prompt | None = None,
    ) -> dict[str, Any]:
        """The token claims for this user; raise `BadToken` naming what is missing."""
        ...

    def reply_passphrase(self, token: Mapping[str, Any]) -> bytes:
        """The passphrase whose string-to-key decrypts the reply (as the server derives it)."""
        ...


class PluginFactory(Protocol):
    """What an entry point of group ``has_kdc.plugins`` refers to."""

    name: str

    def server_plugin(self) -> ServerPlugin: ...

    def client_plugin(self) -> ClientPlugin: ...


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_plugins() -> list[str]:
    """Names of the installed plugins, sorted."""
    return sorted(_entry_points())


def load_plugin(name: str) -> PluginFactory:
    """The plugin called ``name`` (HAS's auth_type; exact, else case-insensitive)."""
    points = _entry_points()
    point = points.get(name)
    if point is None:
        folded = {n.lower(): ep for n, ep in points.items()}
        point = folded.get(name.lower())
    if point is None:
        known = ", ".join(sorted(points)) or "none"
        raise UnknownPlugin(f"no authentication plugin {name!r} is installed (installed: {known})")
    factory = point.load()
    plugin: PluginFactory = factory() if isinstance(factory, type) else factory
    return plugin
