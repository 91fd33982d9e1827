#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: export principals' kept keys to a keytab; rotate and purge on request."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_keytab
short_description: Export principals' keys from a has-kdc realm to a keytab
description:
  - Makes sure the keytab at I(path) holds the keys of every kvno the database keeps
    for every principal in I(principals), as C(hadmin-local ktadd -norandkey) writes
    them.
  - A keytab that already holds those keys (same kvno, enctype and key bytes) is left
    alone, byte for byte. Without I(rotate) keys are never re-randomized and no kvno
    is bumped, so services already using the keytab, and tickets already issued, keep
    working.
  - When a principal's keys changed in the database (for example after C(cpw)), its
    new keys are added; older kvnos stay in the keytab, as with C(ktadd).
  - I(rotate) and I(purge) are the two steps of a key rotation without downtime
    (docs/key-rotation.md). Each is recorded in the audit trail as C(cpw) and
    C(purgekeys), the export as C(ktadd).
  - Writes atomically, mode I(mode) (default 0600) from the first byte.
version_added: "0.1.0"
author: has-kdc contributors
options:
  path:
    description: The keytab file.
    type: path
    required: true
  principals:
    description: Principals whose keys the keytab must hold (without C(@) the realm's).
    type: list
    elements: str
    required: true
  mode:
    description: Mode of the keytab.
    type: raw
    default: "0600"
  rotate:
    description:
      - Give each principal new random keys at a new kvno first, keeping the older
        kvnos (C(cpw -randkey -keepold)); the keytab then holds the old and the new
        kvno, so tickets issued before keep working and new ones use the new kvno.
      - A principal that still keeps an older kvno (a rotation not yet purged) is not
        rotated again, so a second run changes nothing, and several nodes running the
        task rotate a principal once (the check and the rotation are one transaction).
    type: bool
    default: false
  purge:
    description:
      - Drop every kvno older than the current one from the database (C(purgekeys)),
        and from this keytab every entry of I(principals) whose kvno the database no
        longer keeps. Run it once the tickets issued under the old kvno have expired
        (the realm's C(max_life) after the rotation).
    type: bool
    default: false
notes:
  - Check mode reports whether the keytab would change.
  - C(--diff) lists principal, kvno and enctype of each entry; never key bytes. In
    check mode a rotation shows the kvno it would add.
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
  - has_kdc.keytab_file
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

- name: Rotate a service's keys; the keytab holds the old and the new kvno
  has_keytab:
    conf_dir: /etc/has
    path: /etc/has/app.keytab
    principals: [app/emr-header-1]
    rotate: true

- name: Later (after max_life), drop the old kvno from the realm and the keytab
  has_keytab:
    conf_dir: /etc/has
    path: /etc/has/app.keytab
    principals: [app/emr-header-1]
    purge: true
"""

RETURN = r"""
added:
  description: Entries added (principal, kvno, enctype); empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["HTTP/emr-header-1@HADOOP.COM kvno 1 aes256-cts-hmac-sha1-96"]
removed:
  description: Entries removed by I(purge) (principal, kvno, enctype).
  returned: always
  type: list
  elements: str
  sample: ["HTTP/emr-header-1@HADOOP.COM kvno 1 aes256-cts-hmac-sha1-96"]
rotated:
  description: Principals given a new kvno, with it (C(name kvno N)).
  returned: always
  type: list
  elements: str
  sample: ["HTTP/emr-header-1@HADOOP.COM kvno 2"]
purged:
  description: Principals whose older kvnos were purged from the database (C(name kvno N)).
  returned: always
  type: list
  elements: str
  sample: ["HTTP/emr-header-1@HADOOP.COM kvno 1"]
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


def rotate(module, admin, name):
    """``name`` rotated (cpw -randkey -keepold) unless it keeps an older kvno already:
    (principal as it is or would be, new kvno or None). The check and the change are
    one transaction, so nodes running the task at once rotate it once."""
    from dataclasses import replace

    from has_kdc.backend import KeyData

    def work():
        current = admin.get_principal(name)
        if {k.kvno for k in current.keys} - {current.kvno}:
            return current, None
        if not module.check_mode:
            rotated = admin.randomize_keys(name, keepold=True)
            return rotated, rotated.kvno
        kvno = max([current.kvno, *(k.kvno for k in current.keys)]) + 1
        # what --diff shows of the rotation: kvno and enctypes; no key is made or written
        planned = [KeyData(enctype, kvno, b"") for enctype in admin.enctypes]
        return replace(current, kvno=kvno, keys=planned + current.keys), kvno

    return admin.backend.run_transaction(work)


def purge(module, admin, name):
    """``name`` with its older kvnos purged (or, in check mode, as it would be); the
    kvnos purged."""
    from dataclasses import replace

    current = admin.get_principal(name)
    old = sorted({k.kvno for k in current.keys if k.kvno < current.kvno})
    if not old:
        return current, old
    if module.check_mode:
        return replace(current, keys=[k for k in current.keys if k.kvno >= current.kvno]), old
    return admin.purge_keys(name), old


ARGUMENT_SPEC = {
    "conf_dir": CONF_DIR_OPTION,
    "path": {"type": "path", "required": True},
    "principals": {"type": "list", "elements": "str", "required": True},
    "mode": {"type": "raw", "default": "0600"},
    "rotate": {"type": "bool", "default": False},
    "purge": {"type": "bool", "default": False},
    **OWNER_OPTIONS,
}


def principals_after_step(module, admin, names, keytab):
    """Each principal as this run leaves it (rotated, purged or as it is), one cpw or
    purgekeys record each; purged kvnos leave ``keytab`` too.

    Returns (principals by name, rotated, purged, keytab entries removed)."""
    p = module.params
    principals, rotated, purged, removed = {}, [], [], []
    for name in names:
        if p["rotate"]:
            principals[name], kvno = rotate(module, admin, name)
            if kvno is not None:
                rotated.append("%s kvno %d" % (name, kvno))
        elif p["purge"]:
            principals[name], old = purge(module, admin, name)
            purged.extend("%s kvno %d" % (name, kvno) for kvno in old)
            kept = {k.kvno for k in principals[name].keys}
            for entry in keytab.entries_for(name):
                if entry.kvno not in kept:
                    removed.append(entry)
                    keytab.remove(name, entry.kvno)
        else:
            principals[name] = admin.get_principal(name)
    return principals, rotated, purged, removed


def add_missing_keys(module, admin, names, principals, keytab, removed, write):
    """The kept keys ``keytab`` lacks, added to it, and ``write(keytab)`` when it changed
    (not in check mode), within one ktadd record when any keys are added: a write that
    fails is a failed record.

    Returns the entries added."""
    from has_kdc.admin import keytab_entries, keytab_has

    added, exported = [], []
    path = module.params["path"]
    with admin.audit.change("ktadd", ", ".join(names), to=path, norandkey=True) as change:
        for name in names:
            principal = principals[name]
            if keytab_holds(keytab, principal):
                continue
            entries = keytab_entries(principal)
            if not entries:
                module.fail_json(msg="principal %s has no keys to export" % name)
            entries = [e for e in entries if not keytab_has(keytab, e)]
            keytab.add(entries)
            added.extend(entries)
            exported.append(name)
        change.note(principals=exported)
        if not added:
            change.unchanged()
        if (added or removed) and not module.check_mode:
            write(keytab)
        if module.check_mode:
            change.unchanged()
    return added


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        prediction={"added": [], "removed": [], "rotated": [], "purged": [], "sha256": None},
    )
    from has_kdc.formats import Keytab, keytab_to_bytes

    p = module.params
    path = p["path"]
    if not p["principals"]:
        module.fail_json(msg="principals is empty: name at least one principal")
    if p["rotate"] and p["purge"]:
        module.fail_json(msg="rotate and purge are two steps: set one of them, not both")
    uid, gid, mode = module.secret_file_target("path", path, p["owner"], p["group"], p["mode"])

    with module.session(p["conf_dir"]) as (_conf, _backend, admin):
        existing = read_keytab_or_none(module, path)
        keytab = Keytab(list(existing.entries)) if existing is not None else Keytab()
        names = admin.resolve_names(p["principals"])
        principals, rotated, purged, removed = principals_after_step(module, admin, names, keytab)
        added = add_missing_keys(
            module,
            admin,
            names,
            principals,
            keytab,
            removed,
            lambda kt: write_atomic(path, keytab_to_bytes(kt), mode, uid=uid, gid=gid),
        )
        changed = bool(added or removed)
        changed = module.secret_file_attributes(path, p["owner"], p["group"], p["mode"], changed)
        diff = []
        if added or removed:
            diff = summary_diff(path, keytab_summary(existing), keytab_summary(keytab))
        module.exit_json(
            changed=changed or bool(rotated or purged),
            added=keytab_summary(Keytab(added)).splitlines(),
            removed=keytab_summary(Keytab(removed)).splitlines(),
            rotated=rotated,
            purged=purged,
            sha256=file_sha256(path),
            diff=diff,
        )


if __name__ == "__main__":
    main()
