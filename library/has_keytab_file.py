#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: install a keytab given as base64 bytes (a copy of another node's)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_keytab_file
short_description: Install a keytab from base64 bytes, atomically and 0600
description:
  - Writes the keytab bytes in I(content) (base64) to I(path), atomically, with mode
    I(mode) and owner I(owner) from the first byte. This is how admin.keytab made on
    the init node reaches the other HAS nodes with the very same bytes.
  - Changes nothing when the file already holds the same bytes (compared by SHA-256).
  - I(content) is a secret (C(no_log)); the module returns and diffs only the SHA-256
    and the size. Needs only the Python standard library (no has_kdc), so it can also
    write the optional backup on the controller.
version_added: "0.1.0"
author: has-kdc contributors
options:
  path:
    description: Where the keytab goes.
    type: path
    required: true
  content:
    description: The keytab's bytes, base64-encoded (as C(slurp) returns them).
    type: str
    required: true
  sha256:
    description: Expected SHA-256 (hex) of the decoded bytes; the module fails if not.
    type: str
  mode:
    description: Mode of the file.
    type: raw
    default: "0600"
notes:
  - Use C(no_log) on the task that reads the bytes (C(slurp)) and on this one.
extends_documentation_fragment:
  - has_kdc
  - has_kdc.keytab_file
"""

EXAMPLES = r"""
- name: Read admin.keytab on the init node (kept in memory only)
  ansible.builtin.slurp:
    src: /etc/has/admin.keytab
  register: has_admin_keytab
  run_once: true
  no_log: true

- name: Same admin.keytab on every node
  has_keytab_file:
    path: /etc/has/admin.keytab
    content: "{{ has_admin_keytab.content }}"
    owner: has
    group: has
  no_log: true
  diff: false
"""

RETURN = r"""
sha256:
  description: SHA-256 (hex) of the file's bytes after the run.
  returned: always
  type: str
size:
  description: Size of the keytab in bytes.
  returned: always
  type: int
"""

import base64
import binascii

from ansible.module_utils.has_fileio import write_atomic
from ansible.module_utils.has_kdc_module import (
    ABSENT,
    OWNER_OPTIONS,
    HasKdcModule,
    file_sha256,
    sha256_hex,
    summary_diff,
)

KEYTAB_MAGIC = (b"\x05\x01", b"\x05\x02")


def main():
    module = HasKdcModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "content": {"type": "str", "required": True, "no_log": True},
            "sha256": {"type": "str"},
            "mode": {"type": "raw", "default": "0600"},
            **OWNER_OPTIONS,
        },
        supports_check_mode=True,
        needs_has_kdc=False,
    )
    p = module.params
    path = p["path"]
    try:
        data = base64.b64decode(p["content"], validate=True)
    except (binascii.Error, ValueError):
        module.fail_json(msg="content is not base64 (pass the content that slurp returned)")
    if data[:2] not in KEYTAB_MAGIC:
        module.fail_json(
            msg="content is not a keytab (no 0x0502 header); refusing to write %s" % path
        )
    digest = sha256_hex(data)
    if p["sha256"] and p["sha256"].lower() != digest:
        module.fail_json(msg="content does not match the expected sha256 %s" % p["sha256"])
    uid, gid, mode = module.secret_file_target("path", path, p["owner"], p["group"], p["mode"])

    before = file_sha256(path)
    changed = before != digest
    if changed and not module.check_mode:
        write_atomic(path, data, mode, uid=uid, gid=gid)
    changed = module.secret_file_attributes(path, p["owner"], p["group"], p["mode"], changed)
    diff = []
    if before != digest:
        diff = summary_diff(
            path,
            ABSENT if before is None else "keytab sha256 %s" % before,
            "keytab sha256 %s (%d bytes)" % (digest, len(data)),
        )
    module.exit_json(changed=changed, sha256=digest, size=len(data), diff=diff)


if __name__ == "__main__":
    main()
