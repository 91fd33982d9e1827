"""Users of the MySQL authentication plugin (TGT over HTTPS): add, re-password, disable,
link, delete — each one audited change.

The users live in the realm's store (``has_users``); hadmin-local's ``*pluginuser``
commands and the ``has_plugin_user`` Ansible module change them only through
`PluginUserAdmin`, so every change is one audit record. The caller hashes the password
(`has_kdc.plugins.passwords`) and checks the name against the plugin's rule
(`has_kdc.plugins.mysql.check_user_name`); what is refused here is what no plugin user
may ever be: a name with ``/`` or ``@`` would be a service or another realm's principal.

``linked`` is the administrator's explicit statement that the plugin user may log in
as the principal of the same name although that principal has keys of its own (see
`has_kdc.plugins.mapping` for the whole rule). It is off unless set.
"""

from __future__ import annotations

from has_kdc.admin.audit import AuditTrail
from has_kdc.admin.errors import AdminError
from has_kdc.backend import IdentityBackend, PluginUser

__all__ = ["PluginUserAdmin"]


def _check_name(name: str) -> str:
    if not name or any(c in name for c in "/@") or any(c.isspace() for c in name):
        raise AdminError(
            f"{name!r} cannot be a plugin user: one principal name component, no '/', '@' or spaces"
        )
    return name


class PluginUserAdmin:
    """The plugin users of one store, changed on behalf of ``audit``'s actor."""

    def __init__(self, backend: IdentityBackend, audit: AuditTrail) -> None:
        self.backend = backend
        self.audit = audit

    def get(self, name: str) -> PluginUser | None:
        return self.backend.get_plugin_user(name)

    def list(self) -> list[PluginUser]:
        return self.backend.list_plugin_users()

    def _existing(self, name: str) -> PluginUser:
        user = self.backend.get_plugin_user(name)
        if user is None:
            raise AdminError(f"plugin user {name} does not exist")
        return user

    def add(
        self, name: str, password_hash: str, *, disabled: bool = False, linked: bool = False
    ) -> PluginUser:
        """A new user with this hash; `AdminError` if the name is taken."""
        with self.audit.change("addpluginuser", name, disabled=disabled, linked=linked):
            _check_name(name)
            if self.backend.get_plugin_user(name) is not None:
                raise AdminError(f"plugin user {name} already exists (resetpluginuser changes it)")
            return self.backend.put_plugin_user(
                PluginUser(name, password_hash, disabled=disabled, linked=linked)
            )

    def set_password(self, name: str, password_hash: str) -> PluginUser:
        """A new password hash for an existing user; its other settings stay."""
        with self.audit.change("resetpluginuser", name):
            user = self._existing(name)
            return self.backend.put_plugin_user(
                PluginUser(name, password_hash, disabled=user.disabled, linked=user.linked)
            )

    def modify(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        disabled: bool | None = None,
        linked: bool | None = None,
    ) -> PluginUser:
        """Change an existing user's hash, disabled and linked (``None``: leave it).

        Changing nothing writes nothing and records nothing.
        """
        with self.audit.change("modpluginuser", name) as change:
            user = self._existing(name)
            wanted = PluginUser(
                name,
                user.password_hash if password_hash is None else password_hash,
                disabled=user.disabled if disabled is None else disabled,
                linked=user.linked if linked is None else linked,
            )
            change.note(
                disabled=wanted.disabled,
                linked=wanted.linked,
                password_changed=password_hash is not None,
            )
            if password_hash is None and (wanted.disabled, wanted.linked) == (
                user.disabled,
                user.linked,
            ):
                change.unchanged()
                return user
            return self.backend.put_plugin_user(wanted)

    def delete(self, name: str) -> None:
        with self.audit.change("delpluginuser", name):
            if not self.backend.delete_plugin_user(name):
                raise AdminError(f"plugin user {name} does not exist")
