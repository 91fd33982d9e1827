"""The ``MySQL`` plugin: users and password hashes in the shared database.

HAS (has-plugins ``MySQLHasClientPlugin`` / ``MySQLHasServerPlugin``):

- the client reads ``userName`` and ``password`` from the environment and makes a
  token with subject = user name and the attributes ``user`` and ``secret`` (and
  ``passPhrase`` = user name + password), valid for 60 minutes;
- the server looks the pair up in a ``has_user(user_name, pass_word)`` table (plain
  text) of a database named by ``mysqlUrl``/``mysqlUser``/``mysqlPasswd`` environment
  variables, and on success vouches for the token's user with
  ``passPhrase = user + secret``; the reply key is string-to-key of that passphrase
  with the principal ``<user>@REALM``'s salt.

Here the users live in the ``has_users`` table of the realm's own store (schema
version 3, `IdentityBackend.get_plugin_user`) — the same MySQL database every node
already shares, or the SQLite file of a single node — with scrypt hashes instead of
plain text, managed with ``hadmin-local <conf_dir> addpluginuser`` and friends. The
token and passphrase are HAS's. The client also takes ``HAS_USER`` /
``HAS_PASSWORD``, and prompts on a terminal when neither is set.

User names are one Kerberos name component: letters, digits and ``._-`` (no ``/``
or ``@``), so a plugin user can never be issued a ticket as a service or another
realm's principal; `has_kdc.plugins.mapping` has the rest of the rule (no
administrator; a principal with keys only for a user ``linked`` to it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from has_kdc.backend import BackendError
from has_kdc.conf import HasClientConfig
from has_kdc.plugins import (
    AuthenticatedUser,
    AuthenticationFailed,
    BadToken,
    PluginContext,
    PluginUnavailable,
    Prompt,
)
from has_kdc.plugins.claims import (
    TOKEN_LIFETIME,
    from_env_or_prompt,
    new_claims,
    string_claim,
    token_expired,
)
from has_kdc.plugins.passwords import dummy_hash
from has_kdc.principal import format_principal

__all__ = [
    "PLUGIN",
    "TOKEN_LIFETIME",
    "MySqlClientPlugin",
    "MySqlPlugin",
    "MySqlServerPlugin",
    "check_user_name",
]

NAME = "MySQL"
#: Environment variables, HAS's first (MySQLHasClientPlugin), then has-kdc's.
USER_ENV = ("userName", "HAS_USER")
PASSWORD_ENV = ("password", "HAS_PASSWORD")
_USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")


def check_user_name(name: str) -> str:
    """``name`` if it can be a plugin user (one principal component), else ``ValueError``."""
    if not isinstance(name, str) or not _USER_NAME.match(name):
        shown = repr(name[:64] + "..." if isinstance(name, str) and len(name) > 64 else name)
        raise ValueError(
            f"{shown} is not a plugin user name: 1 to 64 letters, digits, '.', '_' or '-', "
            "not starting with '.' or '-'"
        )
    return name


class MySqlServerPlugin:
    """Checks ``user``/``secret`` against the ``has_users`` table of the shared store."""

    name = NAME

    def subject(self, token: Mapping[str, Any]) -> str:
        user = string_claim(token, "user", "sub")
        try:
            return check_user_name(user)
        except ValueError as exc:
            raise BadToken(str(exc)) from None

    def authenticate(self, token: Mapping[str, Any], context: PluginContext) -> AuthenticatedUser:
        user = self.subject(token)
        secret = string_claim(token, "secret")
        if token_expired(token, context.clock()):
            raise AuthenticationFailed("the auth token has expired; log in again")
        try:
            stored = context.plugin_user(user)
        except BackendError as exc:
            raise PluginUnavailable(f"cannot read the plugin users: {exc}") from None
        try:
            matched = context.check_password(
                secret, stored.password_hash if stored is not None else dummy_hash()
            )
        except ValueError:
            raise PluginUnavailable(
                f"the stored password hash of plugin user {user} is damaged; reset it with "
                f"'hadmin-local <conf_dir> resetpluginuser {user}'"
            ) from None
        if stored is None or not matched:
            raise AuthenticationFailed("wrong user name or password")
        if stored.disabled:
            raise AuthenticationFailed(f"plugin user {user} is disabled")
        return AuthenticatedUser(
            principal=format_principal((user,), context.realm),
            user=user,
            reply_key_material=(user + secret).encode("utf-8"),
            linked=stored.linked,
        )


class MySqlClientPlugin:
    """User name and password from the environment (HAS's names first) or a prompt."""

    name = NAME

    def make_token(
        self,
        config: HasClientConfig | None,
        environ: Mapping[str, str],
        prompt: Prompt | None = None,
    ) -> dict[str, Any]:
        user = from_env_or_prompt(
            environ,
            USER_ENV,
            prompt,
            "User name: ",
            secret=False,
            missing="no user name: set userName (or HAS_USER) for the MySQL plugin",
        )
        password = from_env_or_prompt(
            environ,
            PASSWORD_ENV,
            prompt,
            f"Password for {user}: ",
            secret=True,
            missing="no password: set password (or HAS_PASSWORD) for the MySQL plugin",
        )
        return new_claims(user, user=user, secret=password)

    def reply_passphrase(self, token: Mapping[str, Any]) -> bytes:
        return (string_claim(token, "user", "sub") + string_claim(token, "secret")).encode()


class MySqlPlugin:
    """The entry point object (``has_kdc.plugins`` group, name ``MySQL``)."""

    name = NAME

    def server_plugin(self) -> MySqlServerPlugin:
        return MySqlServerPlugin()

    def client_plugin(self) -> MySqlClientPlugin:
        return MySqlClientPlugin()


PLUGIN = MySqlPlugin()
