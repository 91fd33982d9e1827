#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a principal in the has-kdc realm, present or absent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_principal
short_description: Manage a principal of a has-kdc realm
description:
  - Adds, changes or deletes one principal in the identity store that a HAS node's
    conf_dir names, as C(hadmin-local addprinc/modprinc/cpw/delprinc) would.
  - A new principal gets keys from I(password), or random keys when no password is
    given (C(-randkey)).
  - An existing principal keeps its keys unless I(update_password=always) and the
    password differs from the one its current keys were made from (checked by deriving
    the keys again with the stored salt and string-to-key parameters, so nothing is
    re-keyed to find out). Attributes are changed only where they differ.
version_added: "0.1.0"
author: has-kdc contributors
options:
  name:
    description:
      - The principal; without C(@REALM) the realm of kdc.conf is used.
    type: str
    required: true
  state:
    description: Whether the principal should exist.
    type: str
    choices: [present, absent]
    default: present
  password:
    description:
      - Password for the principal's keys. Without it a new principal gets random keys.
    type: str
  update_password:
    description:
      - C(on_create) sets the password only when the principal is created;
        C(always) also changes the keys of an existing principal whose keys were not
        made from I(password) (new kvno, as C(cpw)).
    type: str
    choices: [on_create, always]
    default: on_create
  attributes:
    description:
      - Principal attributes to enforce; unlisted ones are left as they are.
      - Flags C(requires_preauth), C(disabled), C(allow_forwardable),
        C(allow_proxiable), C(allow_renewable), C(allow_tix), C(allow_svr) (bool).
      - Lifetimes C(max_life), C(max_renewable_life) as seconds or a duration such as
        C(10h) or C(7d); C(expiration), C(pw_expiration) as POSIX seconds, a date such
        as C(2027-01-01) or C(never).
      - C(policy), the name of a password policy (C(hadmin-local addpol)), or null for
        none; a password is checked against it, as on every other path.
    type: dict
    default: {}
notes:
  - Check mode reports what would change and changes nothing.
  - C(--diff) shows attributes and the key version; passwords and keys never.
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
"""

EXAMPLES = r"""
- name: A user principal with a password
  has_principal:
    conf_dir: /etc/has
    name: alice
    password: "{{ vault_alice_password }}"
    attributes:
      max_life: 10h
  no_log: true
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python

- name: A service principal with random keys
  has_principal:
    conf_dir: /etc/has
    name: hdfs/emr-worker-1@HADOOP.COM

- name: Remove a principal
  has_principal:
    conf_dir: /etc/has
    name: bob
    state: absent
"""

RETURN = r"""
principal:
  description: The canonical principal name.
  returned: always
  type: str
  sample: alice@HADOOP.COM
created:
  description: Whether the principal was created by this run.
  returned: always
  type: bool
kvno:
  description: Key version number after the run (absent when the principal is absent).
  returned: when state is present
  type: int
changed_attributes:
  description: Names of the attributes that were (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
password_changed:
  description: Whether the keys were (or would be) replaced from I(password).
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

_FLAGS = (
    "requires_preauth",
    "disabled",
    "allow_forwardable",
    "allow_proxiable",
    "allow_renewable",
    "allow_tix",
    "allow_svr",
)
_DURATIONS = ("max_life", "max_renewable_life")
_TIMES = ("expiration", "pw_expiration")


def wanted_attributes(module, given):
    """The attributes dict typed as PrincipalAdmin takes it; unknown keys fail."""
    from has_kdc.admin import AdminError, parse_duration, parse_time

    out = {}
    for key, value in given.items():
        try:
            if key in _FLAGS:
                out[key] = module.boolean(value)
            elif key in _DURATIONS:
                out[key] = (
                    None
                    if value is None
                    else (value if isinstance(value, int) else parse_duration(str(value)))
                )
            elif key in _TIMES:
                if value is None or isinstance(value, int):
                    out[key] = value
                else:
                    out[key] = parse_time(str(value))
            elif key == "policy":
                out[key] = None if value is None else str(value)
            else:
                module.fail_json(
                    msg="unknown attribute %r; expected one of %s"
                    % (key, ", ".join(_FLAGS + _DURATIONS + _TIMES + ("policy",)))
                )
        except (AdminError, TypeError, ValueError) as exc:
            module.fail_json(msg="attribute %s: %s" % (key, exc))
    return out


def describe(principal):
    if principal is None:
        return ABSENT
    lines = ["principal: %s" % principal.name, "kvno: %d" % principal.kvno]
    for key in _FLAGS + _DURATIONS + _TIMES:
        lines.append("%s: %s" % (key, getattr(principal, key)))
    return "\n".join(lines) + "\n"


ARGUMENT_SPEC = {
    "conf_dir": CONF_DIR_OPTION,
    "name": {"type": "str", "required": True},
    "state": STATE_OPTION,
    "password": {"type": "str", "no_log": True},
    "update_password": UPDATE_PASSWORD_OPTION,
    "attributes": {"type": "dict", "default": {}},
}


def prediction(p):
    """Check mode before has_kdc is installed: a new realm, where every listed principal is
    created and none is there to delete."""
    present = p["state"] == "present"
    return {
        "changed": present,
        "principal": p["name"],
        "created": present,
        "changed_attributes": sorted(p["attributes"]),
        "password_changed": present and p["password"] is not None,
    }


def create(module, admin, name, attributes, result):
    """A new principal: keys from the password, or random ones without it."""
    password = module.params["password"]
    result.update(
        created=True, changed_attributes=sorted(attributes), password_changed=password is not None
    )
    if module.check_mode:
        diff = summary_diff(name, ABSENT, "principal: %s (new)\n" % name)
        module.exit_json(changed=True, diff=diff, **result)
    created = admin.add_principal(
        name, password=password, randkey=password is None, attributes=attributes
    )
    result["kvno"] = created.kvno
    module.exit_json(changed=True, diff=summary_diff(name, ABSENT, describe(created)), **result)


def update(module, admin, current, attributes, result):
    """An existing principal: the attributes that differ, and new keys when
    ``update_password: always`` names a password its keys were not made from."""
    from dataclasses import replace

    from has_kdc.admin import keys_made_from

    p = module.params
    name = current.name
    differing = {k: v for k, v in attributes.items() if getattr(current, k) != v}
    rekey = (
        p["update_password"] == "always"  # noqa: S105 (a choice, not a password)
        and p["password"] is not None
        and not keys_made_from(current, p["password"])
    )
    result.update(changed_attributes=sorted(differing), password_changed=rekey)
    after = current
    if module.check_mode:
        after = replace(current, **differing)
        if rekey:
            after = replace(after, kvno=current.kvno + 1)
    elif differing or rekey:
        # one task, one audit record: the attribute change and the re-key together
        with admin.audit.change(
            "modprinc", name, attributes=sorted(differing), password_changed=rekey
        ):
            if differing:
                after = admin.modify_principal(name, differing)
            if rekey:
                after = admin.change_password(name, p["password"])
    result["kvno"] = after.kvno
    changed = bool(differing) or rekey
    diff = summary_diff(name, describe(current), describe(after)) if changed else []
    module.exit_json(changed=changed, diff=diff, **result)


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, prediction=prediction
    )
    p = module.params
    with module.session(p["conf_dir"]) as (_conf, backend, admin):
        name = admin.canonical(p["name"])
        current = backend.get_principal(name)
        result = {
            "principal": name,
            "created": False,
            "changed_attributes": [],
            "password_changed": False,
        }
        if p["state"] == "absent":
            module.exit_absent(name, current, describe, admin.delete_principal, result)
        attributes = wanted_attributes(module, p["attributes"])
        if current is None:
            create(module, admin, name, attributes, result)
        update(module, admin, current, attributes, result)


if __name__ == "__main__":
    main()
