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


ARGUMENT_SPEC = {
    "venv": {"type": "path", "required": True},
    "wheel": {"type": "path", "required": True},
    "python": {"type": "path", "default": "/usr/bin/python3"},
    "pip_args": {"type": "list", "elements": "str", "default": []},
    "sha256": {"type": "str"},
}


def wheel_digest(module):
    """The wheel's SHA-256: the one given (check mode may run before the wheel is
    copied), which a real run requires the file on the target to have."""
    p = module.params
    on_disk = file_sha256(p["wheel"])
    digest = (p["sha256"] or on_disk or "").lower() or None
    if not module.check_mode:
        if on_disk is None:
            module.fail_json(msg="wheel %s does not exist on this host" % p["wheel"])
        if digest != on_disk:
            module.fail_json(msg="wheel %s does not have the sha256 %s" % (p["wheel"], digest))
    return digest


def installed_digest(venv):
    """The SHA-256 of the wheel the venv holds, or None before the first install."""
    try:
        with open(os.path.join(venv, MARKER)) as fh:
            return fh.read().strip()
    except OSError:
        return None


def install(module, venv_python, venv_created, digest):
    """The venv (when new) and the wheel in it; the marker last, so that a failed
    install is tried again."""
    p = module.params
    if venv_created:
        module.run_command([p["python"], "-m", "venv", p["venv"]], check_rc=True)
    pip = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    module.run_command(pip + p["pip_args"] + [p["wheel"]], check_rc=True)
    if not venv_created:
        # same version, new build: pip would call it "already satisfied"
        module.run_command(
            pip + p["pip_args"] + ["--force-reinstall", "--no-deps", p["wheel"]], check_rc=True
        )
    write_atomic(os.path.join(p["venv"], MARKER), digest + "\n", PUBLIC_MODE)


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, needs_has_kdc=False
    )
    venv = module.params["venv"]
    digest = wheel_digest(module)
    venv_python = os.path.join(venv, "bin", "python")
    venv_created = not os.path.exists(venv_python)
    before = installed_digest(venv)
    needed = venv_created or before != digest
    result = {"venv_created": venv_created, "installed": needed, "sha256": digest}
    if module.check_mode or not needed:
        diff = summary_diff(venv, before or "(none)", digest or "(new wheel)")
        module.exit_json(changed=needed, diff=diff if needed else [], **result)
    install(module, venv_python, venv_created, digest)
    module.exit_json(changed=True, diff=summary_diff(venv, before or "(none)", digest), **result)


if __name__ == "__main__":
    main()
