#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a venv holding exactly one given wheel of has_kdc, and its dependencies."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_wheel_install
short_description: Install a has_kdc wheel into a virtualenv, once per distinct build
description:
  - Creates the virtualenv I(venv) with I(python) C(-m venv) if it does not exist, and
    installs I(wheel) with its dependencies into it.
  - Every build of the same version has the same name, so "already installed" cannot
    be read from the version; the module keeps the SHA-256 of the installed wheel in
    C(<venv>/has-kdc-wheel.sha256) and reinstalls (C(--force-reinstall --no-deps)) only
    when the wheel's bytes differ. An unchanged wheel changes nothing, in check mode too.
  - I(pip_args) pass through to C(pip install), e.g. C(--no-index --find-links DIR) for
    nodes without a package index (a wheelhouse built with C(pip wheel -w DIR)).
  - Needs only the Python standard library.
version_added: "0.1.0"
author: has-kdc contributors
options:
  venv:
    description: The virtualenv.
    type: path
    required: true
  wheel:
    description: The wheel file on the target.
    type: path
    required: true
  python:
    description: The interpreter that creates the venv.
    type: path
    default: /usr/bin/python3
  sha256:
    description:
      - SHA-256 of the wheel as built (on the controller). Check mode compares this
        with the installed one, so it predicts an install even before the new wheel
        is copied; a real run checks that the file on the target matches it.
    type: str
  pip_args:
    description: Extra C(pip install) arguments.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - has_kdc
"""

EXAMPLES = r"""
- name: has_kdc in /opt/has/venv
  has_wheel_install:
    venv: /opt/has/venv
    wheel: /opt/has/wheels/has_kdc-0.1.0-py3-none-any.whl
"""

RETURN = r"""
venv_created:
  description: Whether the venv was (or would be) created.
  returned: always
  type: bool
installed:
  description: Whether the wheel was (or would be) installed.
  returned: always
  type: bool
sha256:
  description: SHA-256 of the wheel.
  returned: always
  type: str
"""

import os

from ansible.module_utils.has_fileio import PUBLIC_MODE, write_atomic
from ansible.module_utils.has_kdc_module import HasKdcModule, file_sha256, summary_diff

MARKER = "has-kdc-wheel.sha256"


def main():
    module = HasKdcModule(
        argument_spec={
            "venv": {"type": "path", "required": True},
            "wheel": {"type": "path", "required": True},
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "pip_args": {"type": "list", "elements": "str", "default": []},
            "sha256": {"type": "str"},
        },
        supports_check_mode=True,
        needs_has_kdc=False,
    )
    p = module.params
    venv, wheel = p["venv"], p["wheel"]
    on_disk = file_sha256(wheel)
    digest = (p["sha256"] or on_disk or "").lower() or None
    if not module.check_mode:
        if on_disk is None:
            module.fail_json(msg="wheel %s does not exist on this host" % wheel)
        if digest != on_disk:
            module.fail_json(msg="wheel %s does not have the sha256 %s" % (wheel, digest))
    marker = os.path.join(venv, MARKER)
    venv_python = os.path.join(venv, "bin", "python")
    venv_created = not os.path.exists(venv_python)
    try:
        with open(marker) as fh:
            installed_digest = fh.read().strip()
    except OSError:
        installed_digest = None
    install = venv_created or installed_digest != digest
    result = {"venv_created": venv_created, "installed": install, "sha256": digest}
    if module.check_mode or not install:
        diff = summary_diff(venv, installed_digest or "(none)", digest or "(new wheel)")
        module.exit_json(changed=install, diff=diff if install else [], **result)

    if venv_created:
        module.run_command([p["python"], "-m", "venv", venv], check_rc=True)
    pip = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    module.run_command(pip + p["pip_args"] + [wheel], check_rc=True)
    if not venv_created:
        # same version, new build: pip would call it "already satisfied"
        module.run_command(
            pip + p["pip_args"] + ["--force-reinstall", "--no-deps", wheel], check_rc=True
        )
    write_atomic(marker, digest + "\n", PUBLIC_MODE)
    diff = summary_diff(venv, installed_digest or "(none)", digest)
    module.exit_json(changed=True, diff=diff, **result)


if __name__ == "__main__":
    main()
