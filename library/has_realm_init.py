#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: initialize a HAS realm once and write admin.keytab."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_realm_init
short_description: Initialize a has-kdc realm once and write its admin.keytab
description:
  - Runs HAS's C(kdcinit <conf_dir> init) on the identity store that the node's
    C(backend.conf) names, creating C(krbtgt/REALM), C(kadmin/REALM) and
    C(HTTP/<node>) for every registered node, and marking the realm initialized.
  - The check-and-create runs in one exclusive database transaction, so running it on
    every node at once, or twice, creates the realm exactly once. A realm that is
    already initialized is left as it is; nothing is re-keyed.
  - Writes the C(kadmin/REALM@REALM) keys to I(admin_keytab), mode 0600. A keytab that
    already holds the current kadmin keys is left untouched, so its bytes (and its
    SHA-256) stay the same across runs.
  - Returns the SHA-256 of admin.keytab, never its bytes.
  - Initializing the realm and every write of admin.keytab are records of the realm's
    audit trail (C(hadmin-local CONF audit)), naming this module and the remote user.
version_added: "0.1.0"
author: has-kdc contributors
options:
  admin_keytab:
    description: Where to write admin.keytab (a file path).
    type: path
    required: true
notes:
  - Check mode reports whether the realm would be initialized and whether
    admin.keytab would be written, and changes nothing.
  - With C(--diff) the realm state and a summary of admin.keytab (principal, kvno,
    enctypes, SHA-256) are shown; key bytes never are.
  - Safe with C(run_once); it is also safe on every node at the same time.
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
  - has_kdc.keytab_file
"""

EXAMPLES = r"""
- name: Initialize the realm once, on the first HAS node
  has_realm_init:
    conf_dir: /etc/has
    admin_keytab: /etc/has/admin.keytab
    owner: has
    group: has
  run_once: true
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
  register: has_init
"""

RETURN = r"""
created:
  description: Whether this run initialized the realm (false when it was already).
  returned: always
  type: bool
realm:
  description: The realm name from kdc.conf.
  returned: always
  type: str
  sample: HADOOP.COM
created_principals:
  description: Principals this run created (empty when the realm existed).
  returned: always
  type: list
  elements: str
  sample: [krbtgt/HADOOP.COM@HADOOP.COM, kadmin/HADOOP.COM@HADOOP.COM]
initialized_at:
  description: When the realm was initialized (UTC), if it is.
  returned: always
  type: str
admin_principal:
  description: The principal whose keys admin.keytab holds.
  returned: always
  type: str
  sample: kadmin/HADOOP.COM@HADOOP.COM
admin_keytab:
  description: Path of admin.keytab.
  returned: always
  type: str
admin_keytab_sha256:
  description: SHA-256 (hex) of admin.keytab's bytes; null in check mode before init.
  returned: always
  type: str
admin_kvno:
  description: Key version number of the kadmin keys.
  returned: when the realm is initialized
  type: int
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet (a
      first C(--check) on a fresh host); the result is then the prediction for a new
      installation, and nothing was read or written.
  returned: in check mode before the first install
  type: bool
"""

from ansible.module_utils.has_fileio import write_atomic
from ansible.module_utils.has_kdc_module import (
    CONF_DIR_OPTION,
    OWNER_OPTIONS,
    HasKdcModule,
    file_sha256,
    keytab_holds,
    keytab_summary,
    read_keytab_or_none,
    summary_diff,
)

ADMIN_KEYTAB_MODE = "0600"


ARGUMENT_SPEC = {
    "conf_dir": CONF_DIR_OPTION,
    "admin_keytab": {"type": "path", "required": True},
    **OWNER_OPTIONS,
}


def prediction(p):
    """Check mode before has_kdc is installed: a new installation, where the realm is
    initialized and admin.keytab written."""
    return {
        "created": True,
        "created_principals": [],
        "admin_keytab": p["admin_keytab"],
        "admin_keytab_sha256": None,
    }


def exit_predicting_init(module, realm, admin_name, path, before_keytab, result):
    """Check mode on a realm not initialized yet: it would be, and admin.keytab written."""
    result.update(
        changed=True,
        created=True,
        admin_keytab_sha256=file_sha256(path),
        diff=[
            summary_diff("realm %s" % realm, "initialized: false", "initialized: true"),
            summary_diff(path, before_keytab, "keys of %s (new)" % admin_name),
        ],
    )
    module.exit_json(**result)


def kadmin_principal(module, conf, backend, admin, existing, result):
    """The kadmin principal after this run: the realm initialized when it was not (its
    keys handed out); keys exported when the keytab no longer holds them (audited)."""
    from has_kdc.admin import admin_principal_name, init_realm, is_initialized

    admin_name = admin_principal_name(conf.kdc.kdc_realm)
    if module.check_mode:
        return admin.get_principal(admin_name)
    if is_initialized(backend):
        principal = admin.get_principal(admin_name)
        if not keytab_holds(existing, principal):  # the keys go to the file: audited
            principal = admin.export_keys(admin_name, to=module.params["admin_keytab"])
        return principal
    init = init_realm(backend, conf.kdc, admin.audit.actor, hand_out=True)
    result["created"] = init.created
    result["created_principals"] = list(init.created_principals)
    result["initialized_at"] = init.initialized_at
    return init.admin_principal


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, prediction=prediction
    )
    from has_kdc.admin import admin_principal_name, is_initialized, keytab_entries
    from has_kdc.backend import INITIALIZED_KEY
    from has_kdc.formats import Keytab, keytab_to_bytes

    p = module.params
    path = p["admin_keytab"]
    uid, gid, mode = module.secret_file_target(
        "admin_keytab", path, p["owner"], p["group"], ADMIN_KEYTAB_MODE
    )
    with module.session(p["conf_dir"]) as (conf, backend, admin):
        realm = conf.kdc.kdc_realm
        existing = read_keytab_or_none(module, path)
        before_keytab = keytab_summary(existing)
        result = {
            "realm": realm,
            "admin_principal": admin_principal_name(realm),
            "admin_keytab": path,
            "created": False,
            "created_principals": [],
            "initialized_at": backend.get_config(INITIALIZED_KEY),
        }
        if module.check_mode and not is_initialized(backend):
            exit_predicting_init(
                module, realm, result["admin_principal"], path, before_keytab, result
            )
        principal = kadmin_principal(module, conf, backend, admin, existing, result)
        result["admin_kvno"] = principal.kvno

        keytab_changed = not keytab_holds(existing, principal)
        if keytab_changed and not module.check_mode:
            data = keytab_to_bytes(keytab_entries(principal))
            write_atomic(path, data, mode, uid=uid, gid=gid)
        after = Keytab(keytab_entries(principal)) if keytab_changed else existing
        attrs_changed = module.secret_file_attributes(
            path, p["owner"], p["group"], ADMIN_KEYTAB_MODE, False
        )
        result["admin_keytab_sha256"] = file_sha256(path)
        diffs = []
        if result["created"]:
            created = ", ".join(result["created_principals"])
            before, after_init = "initialized: false", "initialized: true\ncreated: %s" % created
            diffs.append(summary_diff("realm %s" % realm, before, after_init))
        if keytab_changed:
            diffs.append(summary_diff(path, before_keytab, keytab_summary(after)))
        changed = result["created"] or keytab_changed or attrs_changed
        module.exit_json(changed=changed, diff=diffs, **result)


if __name__ == "__main__":
    main()
