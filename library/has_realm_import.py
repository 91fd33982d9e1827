#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: import an existing HAS/Kerby or MIT realm into has-kdc, keys kept."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_realm_import
short_description: Import a Kerby/HAS or MIT realm into has-kdc with its keys
description:
  - Runs C(hadmin-local <conf_dir> import) on the identity store a HAS node's conf_dir
    names, that is principals with their keys, kvnos and attributes, and the users of HAS's
    MySQL plugin (their plain-text passwords hashed), from a Kerby/HAS MySQL
    database, Kerby's JSON backend file, or an MIT C(kdb5_util dump).
  - Into a realm that is not initialized yet, the source's C(krbtgt) and C(kadmin)
    keys are carried (tickets the old KDC issued stay valid, the old admin.keytab
    keeps working) and the realm is initialized, all in one database transaction.
    Run it before the C(has_realm) role's init (see docs/migration.md).
  - Into an initialized realm it merges; the realm's own C(krbtgt), C(kadmin) and
    C(kadmin/changepw) are kept as they are.
  - Idempotent; principals are compared by keys, kvnos and attributes. One that
    differs is reported and replaced only with I(update=true).
  - What cannot be carried (DES, 3DES, RC4 keys; attributes has-kdc lacks;
    principals of another realm) is returned with the reason.
  - The import is one record of the realm's audit trail (C(hadmin-local CONF audit)),
    naming this module and the remote user; imported plugin users are not linked to
    principals of the same name (see docs/logins-and-audit.md).
version_added: "0.1.0"
author: has-kdc contributors
options:
  source:
    description:
      - A Kerby/HAS MySQL URL (C(jdbc:mysql://host:3306/db?user=has),
        C(mysql://has@host/db)) without a password, or the path on the target of
        Kerby's JSON backend file or of an MIT dump.
      - A password inside the URL is refused; give it as I(source_password).
    type: str
    required: true
  format:
    description: The source's format; C(auto) recognises it from the source itself.
    type: str
    choices: [auto, kerby-mysql, kerby-json, mit-dump]
    default: auto
  source_user:
    description: The MySQL user, when the URL does not name one.
    type: str
  source_password:
    description: The MySQL password of the source.
    type: str
  stash:
    description: The MIT master key stash of the dumped realm (kdc.conf C(key_stash_file)).
    type: path
  master_password:
    description: The MIT master password, instead of I(stash).
    type: str
  update:
    description: Replace principals and plugin users that differ from the source.
    type: bool
    default: false
notes:
  - Check mode is the import's dry run; C(--diff) shows its report (names, enctypes,
    kvnos, reasons; never keys or passwords).
  - I(source_password) and I(master_password) are C(no_log).
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
"""

EXAMPLES = r"""
- name: Bring the HAS realm over, keys kept (once, before the realm's init)
  has_realm_import:
    conf_dir: /etc/has
    source: jdbc:mysql://old-db.example.com:3306/has?user=has
    source_password: "{{ vault_old_has_db_password }}"
  run_once: true
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python

- name: Import an MIT realm from its dump and stash
  has_realm_import:
    conf_dir: /etc/has
    source: /root/migration/realm.dump
    stash: /root/migration/.k5.HADOOP.COM
  run_once: true
"""

RETURN = r"""
realm:
  description: The realm (kdc.conf's kdc_realm).
  returned: success
  type: str
  sample: HADOOP.COM
source_format:
  description: The format read (kerby-mysql, kerby-json or mit-dump).
  returned: success
  type: str
source:
  description: The source, a URL never with its password.
  returned: success
  type: str
initializes_realm:
  description: Whether this import initializes (or in check mode would initialize) the realm.
  returned: success
  type: bool
source_principals:
  description: Principals in the source.
  returned: success
  type: int
source_keys:
  description: Keys in the source, of every enctype.
  returned: success
  type: int
keys_carried:
  description: Keys written (or, in check mode, to be written).
  returned: success
  type: int
added:
  description: Principals added (or to be added).
  returned: success
  type: list
  elements: str
unchanged:
  description: How many principals were already as in the source.
  returned: success
  type: int
changed_principals:
  description: Principals that differ from the source, and in which fields.
  returned: success
  type: list
  elements: dict
kept:
  description: The realm's own principals kept as they are, with the reason.
  returned: success
  type: list
  elements: dict
refused:
  description: Principals (and plugin users) not carried at all, with the reason.
  returned: success
  type: list
  elements: dict
not_carried:
  description: Parts not carried (keys of weak enctypes, attributes), grouped, with the reason.
  returned: success
  type: list
  elements: dict
plugin_users_added:
  description: Plugin users added.
  returned: success
  type: list
  elements: str
plugin_users_changed:
  description: Plugin users that differ from the source (password, disabled).
  returned: success
  type: list
  elements: dict
plugin_users_unchanged:
  description: How many plugin users were already as in the source.
  returned: success
  type: int
not_written:
  description: Principals or users the import could not write, with the reason (then it fails).
  returned: when the import ran
  type: list
  elements: dict
created_builtins:
  description: Built-in principals the realm init added because the source lacked them.
  returned: when the import initialized the realm
  type: list
  elements: str
"""

import re

from ansible.module_utils.has_kdc_module import CONF_DIR_OPTION, HasKdcModule, summary_diff

FORMATS = ["auto", "kerby-mysql", "kerby-json", "mit-dump"]


ARGUMENT_SPEC = {
    "conf_dir": CONF_DIR_OPTION,
    "source": {"type": "str", "required": True},
    "format": {"type": "str", "choices": FORMATS, "default": "auto"},
    "source_user": {"type": "str"},
    "source_password": {"type": "str", "no_log": True},
    "stash": {"type": "path"},
    "master_password": {"type": "str", "no_log": True},
    "update": {"type": "bool", "default": False},
}


def checked_source(module):
    """The source option, refused when a URL carries its password or is no MySQL URL."""
    from has_kdc.admin.importing.kerby_mysql import looks_like_mysql_url, url_password

    source = module.params["source"].strip()
    if looks_like_mysql_url(source) and url_password(source):
        module.fail_json(
            msg="source: the URL holds a password; give it as source_password (no_log) instead"
        )
    if re.match(r"^[a-z][a-z0-9+.:-]*://", source, re.I) and not looks_like_mysql_url(source):
        module.fail_json(msg="source: %s is not a mysql:// or jdbc:mysql:// URL" % source)
    return source


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("stash", "master_password")],
        supports_check_mode=True,
        prediction={"changed": True},
    )
    from has_kdc.admin.importing import (
        PasswordScheme,
        apply_import,
        plan_data,
        plan_import,
        read_source,
        report_lines,
    )
    from has_kdc.plugins.mysql import check_user_name
    from has_kdc.plugins.passwords import hash_password, verify_password

    p = module.params
    source = checked_source(module)
    scheme = PasswordScheme(hash_password, verify_password, check_user_name)

    with module.session(p["conf_dir"]) as (conf, backend, _admin):
        realm_data = read_source(
            source,
            None if p["format"] == "auto" else p["format"],
            user=p["source_user"],
            password=p["source_password"],
            stash=p["stash"],
            master_password=p["master_password"],
        )
        plan = plan_import(backend, conf.kdc, realm_data, update=p["update"], scheme=scheme)
        changed = plan.changes_anything
        before = "realm %s initialized: %s\n" % (plan.realm, str(not plan.initialize).lower())
        diff = summary_diff("realm %s (import)" % plan.realm, before, "\n".join(report_lines(plan)))
        if module.check_mode:
            module.exit_json(changed=changed, diff=diff if changed else [], **plan_data(plan))
        result = apply_import(backend, conf.kdc, plan, actor=module.actor(), scheme=scheme)
        data = plan_data(plan, result)
        if result.failed:
            module.fail_json(
                msg="import into %s: %d principal(s) or user(s) could not be written: %s"
                % (plan.realm, len(result.failed), ", ".join(n for n, _ in result.failed[:20])),
                **data,
            )
        module.exit_json(changed=changed, diff=diff if changed else [], **data)


if __name__ == "__main__":
    main()
