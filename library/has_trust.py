#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a cross-realm trust of the has-kdc realm (its krbtgt principals)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_trust
short_description: Declare a cross-realm trust between the has-kdc realm and another realm
description:
  - Keeps the cross-realm TGS principals of one trust in the realm's store, keyed from
    the password shared with the other realm's administrators exactly as MIT
    C(kadmin addprinc -e ENCTYPES -pw PASSWORD) derives them (the RFC 4120 default
    salt of each principal, the chosen enctypes), so that both KDCs hold the same keys.
  - C(incoming) is C(krbtgt/OURS@OTHER) (users of OTHER reach our services),
    C(outgoing) is C(krbtgt/OTHER@OURS) (our users reach OTHER's services).
  - Idempotent - a principal whose current keys already derive from I(password) in
    exactly I(enctypes) is left alone; otherwise it is re-keyed at a new kvno, as
    C(cpw -e -pw) does (the other realm's admin changes theirs to the same password).
  - The KDC addresses, domains and paths of the other realm belong in kdc.conf
    (C([realms]), C([domain_realm]), C([capaths])); see docs/cross-realm.md.
version_added: "0.1.0"
author: has-kdc contributors
options:
  conf_dir:
    description: The node's HAS conf_dir, holding kdc.conf and backend.conf.
    type: path
    required: true
  realm:
    description: The other realm.
    type: str
    required: true
  direction:
    description: Which way the trust goes, seen from the has-kdc realm.
    type: str
    choices: [both, incoming, outgoing]
    default: both
  password:
    description:
      - The password shared with the other realm's administrators. Required unless
        I(state=absent); never logged, never in a diff.
    type: str
  enctypes:
    description: Enctypes of the trust keys, as MIT names them (both realms must agree).
    type: list
    elements: str
    default: [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96]
  state:
    description: Whether the trust exists (C(absent) deletes the principals of I(direction)).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode reports what would change and changes nothing.
  - C(--diff) shows principals, kvnos and enctypes; passwords and keys never.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Users of CORP.EXAMPLE (Active Directory) may use the cluster's services
  has_trust:
    conf_dir: /etc/has
    realm: CORP.EXAMPLE
    direction: incoming
    password: "{{ vault_corp_trust_password }}"
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
"""

RETURN = r"""
principals:
  description: The trust's principals this run looked after.
  returned: always
  type: list
  elements: str
  sample: [krbtgt/HADOOP.COM@CORP.EXAMPLE]
changed_principals:
  description: Those that were (or in check mode would be) created, re-keyed or deleted.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.has_kdc_module import ABSENT, CONF_DIR_OPTION, HasKdcModule, summary_diff


def trust_principals(ours, other, direction):
    names = []
    if direction in ("both", "incoming"):
        names.append("krbtgt/%s@%s" % (ours, other))
    if direction in ("both", "outgoing"):
        names.append("krbtgt/%s@%s" % (other, ours))
    return names


def wanted_enctypes(module, names):
    from has_kdc.conf.errors import ConfigError
    from has_kdc.conf.profile import Relation
    from has_kdc.conf.values import parse_enctypes

    try:
        found = parse_enctypes(Relation("enctypes", " ".join(names), 0, "the task"))
    except ConfigError as exc:
        module.fail_json(msg="enctypes: %s" % exc)
    if not found:
        module.fail_json(msg="enctypes: none of %s is implemented by has-kdc" % ", ".join(names))
    return found


def keyed_from(principal, password, enctypes):
    """Whether ``principal``'s current keys are exactly ``enctypes`` from ``password``."""
    from has_kdc.admin import salt_for
    from has_kdc.crypto import enctype_by_id

    keys = principal.keys_for_kvno()
    if sorted(k.enctype for k in keys) != sorted(enctypes):
        return False
    for key in keys:
        if key.salt is None:
            return False
        enctype = enctype_by_id(key.enctype)
        derived = enctype.string_to_key(
            password.encode("utf-8"),
            key.salt or salt_for(principal.name),
            key.s2kparams or enctype.default_params,
        )
        if derived != key.key:
            return False
    return True


def describe(principal):
    if principal is None:
        return ABSENT
    from has_kdc.crypto import enctype_name

    names = sorted(enctype_name(k.enctype) or str(k.enctype) for k in principal.keys_for_kvno())
    return "%s kvno %d (%s)\n" % (principal.name, principal.kvno, ", ".join(names))


def main():
    module = HasKdcModule(
        argument_spec={
            "conf_dir": CONF_DIR_OPTION,
            "realm": {"type": "str", "required": True},
            "direction": {
                "type": "str",
                "choices": ["both", "incoming", "outgoing"],
                "default": "both",
            },
            "password": {"type": "str", "no_log": True},
            "enctypes": {
                "type": "list",
                "elements": "str",
                "default": ["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"],
            },
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        required_if=[("state", "present", ("password",))],
        supports_check_mode=True,
        prediction=lambda p: {"changed": p["state"] == "present", "principals": []},
    )
    p = module.params
    other = p["realm"].strip()
    with module.session(p["conf_dir"]) as (conf, backend, admin):
        ours = conf.kdc.kdc_realm
        if not other or other == ours or any(c in other for c in "@/\\ "):
            module.fail_json(msg="realm: %r is not another realm's name" % p["realm"])
        names = trust_principals(ours, other, p["direction"])
        enctypes = wanted_enctypes(module, p["enctypes"]) if p["state"] == "present" else ()
        changed, before, after = [], [], []
        for name in names:
            current = backend.get_principal(name)
            if p["state"] == "absent":
                if current is None:
                    continue
                changed.append(name)
                before.append(describe(current))
                if not module.check_mode:
                    admin.delete_principal(name)
                continue
            if current is not None and keyed_from(current, p["password"], enctypes):
                continue
            changed.append(name)
            before.append(describe(current) if current is not None else "%s absent\n" % name)
            if module.check_mode:
                after.append("%s (new keys from the shared password)\n" % name)
            elif current is None:
                created = admin.add_principal(
                    name, password=p["password"], attributes={}, enctypes=enctypes
                )
                after.append(describe(created))
            else:
                after.append(
                    describe(admin.change_password(name, p["password"], enctypes=enctypes))
                )
        diff = summary_diff("trust %s <-> %s" % (ours, other), "".join(before), "".join(after))
        module.exit_json(
            changed=bool(changed),
            diff=diff if changed else [],
            principals=names,
            changed_principals=changed,
        )


if __name__ == "__main__":
    main()
