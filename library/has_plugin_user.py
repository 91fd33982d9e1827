#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a user of the MySQL authentication plugin, present or absent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_plugin_user
short_description: Manage a user of the has-kdc MySQL plugin (TGT over HTTPS)
description:
  - Adds, changes or deletes one user of the C(MySQL) plugin in the identity store that
    a HAS node's conf_dir names, as C(hadmin-local addpluginuser/resetpluginuser/
    modpluginuser/delpluginuser) would. These users log in with C(login-test tgt) or
    HAS's client plugin and get a TGT for C(<name>@REALM) over HTTPS.
  - The store keeps an scrypt hash of the password, never the password. An existing
    user keeps its hash unless I(update_password=always) and I(password) does not
    match it (checked by verifying against the stored hash, so nothing is rewritten
    to find out).
  - Every change is one record of the realm's audit trail (C(hadmin-local CONF audit)),
    naming this module and the remote user.
version_added: "0.1.0"
author: has-kdc contributors
options:
  name:
    description:
      - The user name, one Kerberos name component (letters, digits, C(.), C(_), C(-)).
    type: str
    required: true
  state:
    description: Whether the user should exist.
    type: str
    choices: [present, absent]
    default: present
  password:
    description: The user's password; required to create a user.
    type: str
  update_password:
    description:
      - C(on_create) sets the password only when the user is created; C(always) also
        sets it on an existing user whose stored hash does not match it.
    type: str
    choices: [on_create, always]
    default: on_create
  disabled:
    description:
      - Refuse (true) or allow (false) the user's logins; unset leaves an existing
        user as it is and creates a new one enabled.
    type: bool
  linked:
    description:
      - Link (true) the user to the principal C(<name>@REALM) so that a plugin login
        gets that principal's TGT even though the principal has keys of its own; a
        user that is not linked (false) is refused for such a principal. Unset leaves
        an existing user as it is and creates a new one unlinked.
      - Whatever this says, a plugin login never gets a ticket for an administrator of
        the realm or a service principal.
    type: bool
notes:
  - The password is never returned or shown in C(--diff); the diff shows only the
    user's name and state and whether its password changed.
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
"""

EXAMPLES = r"""
- name: A user login-test can log in as
  has_plugin_user:
    conf_dir: /etc/has
    name: hdfs
    password: "{{ vault_hdfs_plugin_password }}"
  no_log: true
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python

- name: Let the plugin user log in as the principal alice@REALM, which has keys
  has_plugin_user:
    conf_dir: /etc/has
    name: alice
    password: "{{ vault_alice_plugin_password }}"
    linked: true
  no_log: true

- name: Remove a user
  has_plugin_user:
    conf_dir: /etc/has
    name: olduser
    state: absent
"""

RETURN = r"""
name:
  description: The user name.
  returned: always
  type: str
created:
  description: Whether the user was (or would be) created.
  returned: always
  type: bool
password_changed:
  description: Whether the stored password was (or would be) replaced.
  returned: always
  type: bool
disabled:
  description: Whether the user is (or would be) disabled; null when absent.
  returned: always
  type: bool
linked:
  description: Whether the user is (or would be) linked to its principal; null when absent.
  returned: always
  type: bool
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet (a
      first C(--check) on a fresh host); the result is then the prediction for a new
      installation, and nothing was read or written.
  returned: in check mode before the first install
  type: bool
"""

from ansible.module_utils.has_kdc_module import (
    ABSENT,
    CONF_DIR_OPTION,
    STATE_OPTION,
    UPDATE_PASSWORD_OPTION,
    HasKdcModule,
    summary_diff,
)


def describe(user):
    if user is None:
        return ABSENT
    return "plugin user: %s\nstate: %s\nlinked: %s\n" % (
        user.name,
        "disabled" if user.disabled else "enabled",
        "yes" if user.linked else "no",
    )


ARGUMENT_SPEC = {
    "conf_dir": CONF_DIR_OPTION,
    "name": {"type": "str", "required": True},
    "state": STATE_OPTION,
    "password": {"type": "str", "no_log": True},
    "update_password": UPDATE_PASSWORD_OPTION,
    "disabled": {"type": "bool"},
    "linked": {"type": "bool"},
}


def prediction(p):
    """Check mode before has_kdc is installed: a new realm, where the user is created and
    none is there to delete."""
    present = p["state"] == "present"
    return {
        "changed": present,
        "name": p["name"],
        "created": present,
        "password_changed": present,
        "disabled": bool(p["disabled"]) if present else None,
        "linked": bool(p["linked"]) if present else None,
    }


def create(module, users, name, result):
    """A new user with the password's hash (check mode: only the prediction)."""
    from has_kdc.backend import PluginUser
    from has_kdc.plugins.passwords import hash_password

    p = module.params
    wanted = PluginUser(name, "", disabled=bool(p["disabled"]), linked=bool(p["linked"]))
    result.update(
        created=True, password_changed=True, disabled=wanted.disabled, linked=wanted.linked
    )
    if not module.check_mode:
        users.add(
            name, hash_password(p["password"]), disabled=wanted.disabled, linked=wanted.linked
        )
    diff = summary_diff(name, ABSENT, describe(wanted) + "password: set\n")
    module.exit_json(changed=True, diff=diff, **result)


def password_differs(password, current):
    """Whether ``password`` must replace the stored hash of ``current``."""
    from has_kdc.plugins.passwords import verify_password

    try:
        return not verify_password(password, current.password_hash)
    except ValueError:
        return True  # a damaged hash: only a new password repairs it


def update(module, users, current, result):
    """An existing user: its password (``update_password: always``), disabled, linked."""
    from has_kdc.backend import PluginUser
    from has_kdc.plugins.passwords import hash_password

    p = module.params
    always = p["update_password"] == "always"  # noqa: S105 (a choice, not a password)
    rehash = always and password_differs(p["password"], current)
    disabled = current.disabled if p["disabled"] is None else p["disabled"]
    linked = current.linked if p["linked"] is None else p["linked"]
    changed = rehash or disabled != current.disabled or linked != current.linked
    result.update(password_changed=rehash, disabled=disabled, linked=linked)
    if changed and not module.check_mode:
        users.modify(
            current.name,
            password_hash=hash_password(p["password"]) if rehash else None,
            disabled=disabled,
            linked=linked,
        )
    diff = []
    if changed:
        after = describe(PluginUser(current.name, "", disabled=disabled, linked=linked))
        after += "password: changed\n" if rehash else ""
        diff = summary_diff(current.name, describe(current), after)
    module.exit_json(changed=changed, diff=diff, **result)


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("state", "present", ("password",))],
        supports_check_mode=True,
        prediction=prediction,
    )
    from has_kdc.plugins.mysql import check_user_name

    p = module.params
    try:
        name = check_user_name(p["name"])
    except ValueError as exc:
        module.fail_json(msg="plugin user %r: %s" % (p["name"], exc))
    result = {"name": name, "created": False, "password_changed": False}
    with module.session(p["conf_dir"]) as (_conf, _backend, admin):
        users = admin.plugin_users
        current = users.get(name)
        if p["state"] == "absent":
            result.update(disabled=None, linked=None)
            module.exit_absent(name, current, describe, users.delete, result)
        if current is None:
            create(module, users, name, result)
        update(module, users, current, result)


if __name__ == "__main__":
    main()
