"""Which principal a plugin login may get a TGT for: the rule that keeps plugins from
granting privilege.

A plugin vouches for a user name (a MySQL plugin user, the RAM user owning an
AccessKey pair); the TGT is issued to the principal ``<name>@REALM``. HAS gives such
a user a "virtual" client whether or not a principal of that name exists, so a plugin
user named like a principal would get that principal's tickets. Here a plugin login
yields a TGT for ``<name>@REALM`` only when all of these hold:

1. ``<name>`` is one name component of this realm: no ``/`` (never a service
   principal such as ``HTTP/host`` or ``krbtgt/REALM``), no ``@`` (never another
   realm's principal);
2. ``<name>`` is not ``krbtgt`` or ``kadmin``, the names of the realm's own services;
3. ``<name>@REALM`` is not an administrator of the realm (has-server.conf's
   ``admin_keytab_principal`` and ``admin_principals``, and ``kadmin/REALM@REALM``)
   — whatever else is set, a plugin never makes an administrator;
4. if a principal ``<name>@REALM`` exists *with keys of its own*, the plugin user is
   *linked* to it: an administrator said so explicitly (``hadmin-local CONF
   modpluginuser -link NAME``, the ``has_plugin_user`` Ansible module's
   ``linked: true``; for RAM, ``"linked": true`` on the AccessKeyId's entry in
   ram-credentials.json). An unlinked plugin user cannot borrow a keyed principal's
   identity. A principal without keys (account state only) needs no link: its
   disabled/expiry/lifetime settings then apply to the plugin login, as before.

A login that breaks the rule is refused with 403 ``principal_not_allowed`` after the
credentials were checked (so the refusal tells nothing to someone without them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from has_kdc.backend import BackendError, Principal
from has_kdc.plugins import AuthenticatedUser, PluginError, PluginUnavailable
from has_kdc.principal import PrincipalNameError, normalize_principal, parse_principal

__all__ = ["RESERVED_NAMES", "PrincipalNotAllowed", "check_principal_mapping"]

#: first components of the realm's own service principals: never a plugin user's name
RESERVED_NAMES = frozenset({"krbtgt", "kadmin"})


class PrincipalNotAllowed(PluginError):
    """The plugin vouched for the user, but the rule forbids its principal (see above)."""

    status = 403
    error = "principal_not_allowed"


def _canonical_admins(admins: Iterable[str], realm: str) -> set[str]:
    out = set()
    for name in admins:
        try:
            out.add(normalize_principal(name, realm))
        except PrincipalNameError:
            continue  # not a principal name: cannot match one
    return out


def check_principal_mapping(
    user: AuthenticatedUser,
    *,
    realm: str,
    admins: Iterable[str],
    lookup: Callable[[str], Principal | None],
) -> None:
    """Raise `PrincipalNotAllowed` unless ``user.principal`` may be issued (module rule).

    ``lookup`` finds a principal by name (the KDC's principal cache, which serves what
    it holds through a database outage); a store that cannot answer is
    `PluginUnavailable` (503), never a pass.
    """
    try:
        components, user_realm = parse_principal(user.principal, realm)
    except PrincipalNameError:
        raise PrincipalNotAllowed(
            f"plugin user {user.user}: {user.principal!r} is not a principal name"
        ) from None
    if user_realm != realm or len(components) != 1:
        raise PrincipalNotAllowed(
            f"plugin user {user.user}: a plugin login never gets a ticket for "
            f"{user.principal} (only one-component names of realm {realm})"
        )
    name = components[0]
    principal = f"{name}@{realm}"
    if name in RESERVED_NAMES:
        raise PrincipalNotAllowed(
            f"plugin user {user.user}: {name} is the name of one of the realm's own services"
        )
    if principal in _canonical_admins(admins, realm):
        raise PrincipalNotAllowed(
            f"plugin user {user.user}: {principal} is an administrator of the realm; "
            "administrators log in with their own keys, never through a plugin"
        )
    try:
        existing = lookup(principal)
    except BackendError as exc:
        raise PluginUnavailable(f"cannot look up principal {principal}: {exc}") from None
    if existing is not None and existing.keys and not user.linked:
        raise PrincipalNotAllowed(
            f"plugin user {user.user}: principal {principal} has keys of its own and the "
            "plugin user is not linked to it; an administrator links them (MySQL plugin: "
            f"'hadmin-local <conf_dir> modpluginuser -link {name}'; RAM: \"linked\": true "
            "in ram-credentials.json)"
        )
