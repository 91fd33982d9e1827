# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Documentation the modules in library/ share, so each states it once.

A module names what applies to it, e.g. ``extends_documentation_fragment: [has_kdc,
has_kdc.conf_dir, has_kdc.keytab_file]``; ansible.cfg's ``doc_fragment_plugins`` finds
this file (``ansible-doc -M library <module>`` shows the merged text). A module's own
entry of the same name wins over the fragment's.
"""


class ModuleDocFragment:
    # Every module: check mode and --diff (secrets never shown).
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description:
      - Can run in check mode and return the changed status the real run would report,
        changing nothing.
    support: full
  diff_mode:
    description:
      - Shows what changed (or would change in check mode) with C(--diff); secrets are
        summarised, never shown.
    support: full
"""

    # Modules that work on a HAS node's realm: the conf_dir option and the first --check.
    CONF_DIR = r"""
options:
  conf_dir:
    description: The node's HAS conf_dir, holding kdc.conf and backend.conf.
    type: path
    required: true
notes:
  - Runs on a HAS node with the interpreter of the has-kdc venv
    (C(ansible_python_interpreter) set to C(has_module_python)).
  - In check mode on a host where has_kdc is not installed yet (a first C(--check)
    on a fresh host), the module reads and writes nothing and returns its prediction
    for a new installation, with C(has_kdc_missing=true).
"""

    # Modules that write a keytab: who owns it.
    KEYTAB_FILE = r"""
options:
  owner:
    description: Owner of the file.
    type: str
  group:
    description: Group of the file.
    type: str
notes:
  - The file is written atomically (a temp file made with its final mode and owner in
    the same directory, then renamed), so no reader ever sees it half-written or
    readable by others.
"""

    # Modules that only report (the Galera facts and plan): check mode runs them as a
    # real run does, and they have nothing to show with --diff.
    READ_ONLY = r"""
options: {}
notes:
  - Changes nothing and reports C(changed=false) always.
attributes:
  check_mode:
    description:
      - Can run in check mode; it reads and returns what a real run would.
    support: full
  diff_mode:
    description:
      - Changes nothing, so there is no diff to show.
    support: none
"""
