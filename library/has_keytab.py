#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: export principals' current keys to a keytab, without re-keying."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_keytab
short_description: Export principals' keys from a has-kdc realm to a keytab
description:
  - Makes sure the keytab at I(path) holds the current keys of every principal in
    I(principals), as C(hadmin-local ktadd -norandkey) writes them.
  - A keytab that already holds those keys (same kvno, enctype and key bytes) is left
    alone, byte for byte. Keys are never re-randomized and no kvno is bumped, so
    services already using the keytab, and tickets already issued, keep working.
  - When a principal's keys changed in the database (for example after C(cpw)), its
    new keys are added; older kvnos stay in the keytab, as with C(ktadd).
  - Writes atomically, mode I(mode) (default 0600) from the first byte.
  - Runs on a HAS node with the interpreter of the has-kdc venv.
version_added: "0.1.0"
author: has-kdc contributors
options:
  conf_dir:
    description: The node's HAS conf_dir, holding kdc.conf and backend.conf.
    type: path
    required: true
  path:
    description: The keytab file.
    type: path
    required: true
  principals:
    description: Principals whose keys the keytab must hold (without C(@) the realm's).
    type: list
    elements: str
    required: true
  owner:
    description: Owner of the keytab.
    type: str
  group:
    description: Group of the keytab.
    type: str
  mode:
    description: Mode of the keytab.
    type: raw
    default: "0600"
notes:
  - Check mode reports whether the keytab would change.
  - C(--diff) lists principal, kvno and enctype of each entry; never key bytes.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: The node's SPNEGO keytab
  has_keytab:
    conf_dir: /etc/has
    path: /etc/has/http.keytab
    principals:
      - HTTP/emr-header-1@HADOOP.COM
    owner: has
    group: has
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
"""

RETURN = r"""
added:
  description: Entries added (principal, kvno, enctype); empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["HTTP/emr-header-1@HADOOP.COM kvno 1 aes256-cts-hmac-sha1-96"]
sha256:
  description: SHA-256 of the keytab's bytes after the run (null if it does not exist).
  returned: always
  type: str
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet (a
      first C(--check) on a fresh host); the result is then the prediction for a new
      installation, and nothing was read or written.
  returned: in check mode before the first install
  type: bool
"""

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


def main():
    module = HasKdcModule(
        argument_spec={
            "conf_dir": CONF_DIR_OPTION,
            "path": {"type": "path", "required": True},
            "principals": {"type": "list", "elements": "str", "required": True},
            "mode": {"type": "raw", "default": "0600"},
            **OWNER_OPTIONS,
        },
        supports_check_mode=True,
        prediction={"added": [], "sha256": None},
    )
    from has_kdc.admin import keytab_entries
    from has_kdc.fileio import write_atomic
    from has_kdc.formats import Keytab, keytab_to_bytes

    p = module.params
    path = p["path"]
    if not p["principals"]:
        module.fail_json(msg="principals is empty: name at least one principal")
    uid, gid, mode = module.secret_file_target("path", path, p["owner"], p["group"], p["mode"])

    with module.session(p["conf_dir"]) as (_conf, _backend, admin):
        existing = read_keytab_or_none(module, path)
        keytab = Keytab(list(existing.entries)) if existing is not None else Keytab()
        added = []
        names = admin.resolve_names(p["principals"])
        # Keys leaving the store for a file: one ktadd record, when any do.
        with admin.audit.change("ktadd", ", ".join(names), to=path, norandkey=True) as change:
            exported = []
            for name in names:
                principal = admin.get_principal(name)
                if keytab_holds(keytab, principal):
                    continue
                entries = keytab_entries(principal)
                if not entries:
                    module.fail_json(msg="principal %s has no keys to export" % name)
                keytab.add(entries)
                added.extend(entries)
                exported.append(name)
            change.note(principals=exported)
            changed = bool(added)
            if changed and not module.check_mode:
                write_atomic(path, keytab_to_bytes(keytab), mode, uid=uid, gid=gid)
            else:
                change.unchanged()
        changed = module.secret_file_attributes(path, p["owner"], p["group"], p["mode"], changed)
        summary = keytab_summary(Keytab(added)).splitlines()
        diff = []
        if added:
            diff = summary_diff(path, keytab_summary(existing), keytab_summary(keytab))
        module.exit_json(changed=changed, added=summary, sha256=file_sha256(path), diff=diff)


if __name__ == "__main__":
    main()
