# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""What every has-kdc module needs, once, so each module in library/ states only its own.

As ansible-freeipa's ``ansible_freeipa_module`` does for IPA, this base:

- imports ``has_kdc`` on the target, from the interpreter the task names (the venv the
  ``has_package`` role made, ``ansible_python_interpreter: "{{ has_module_python }}"``);
  when it is missing, the module fails saying which interpreter lacks it and what to set,
  instead of a bare ImportError traceback;
- in check mode on a host where the venv does not exist yet (a first ``--check`` on a
  fresh system: the roles then run these modules with the host's own Python), answers
  with its ``prediction`` instead: ``changed`` as the real run would report it, the
  return values later tasks read, and ``has_kdc_missing: true``; nothing is imported,
  read or written;
- opens a node's conf_dir (kdc.conf + backend.conf) and its identity store for the length
  of one ``with`` block, and turns the package's user-facing errors into ``fail_json``
  messages (they name the file and what is wrong, never a secret); the admin object it
  gives acts for ``ansible:<module>`` and the remote user (``SUDO_USER`` under become),
  so every change a module makes is one record of the audit trail;
- builds ``--diff`` entries: text files show before and after; secret files (keytabs)
  show only a summary (size and SHA-256 of the bytes, principals, kvnos, enctypes);
- reads keytabs for the rule behind "a keytab that still matches the database is left
  alone" (the rule itself is ``has_kdc.admin.keytab_holds``).

Nothing here logs or returns key bytes or passwords.
"""

from __future__ import annotations

import dataclasses
import grp
import hashlib
import os
import pwd
import sys
import tempfile
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

HAS_KDC_IMPORT_ERROR = None
try:  # only on the target, from the venv's interpreter
    import has_kdc  # noqa: F401
except ImportError:  # pragma: no cover - reported by HasKdcModule
    HAS_KDC_IMPORT_ERROR = traceback.format_exc()

#: What a ``--diff`` side says of a thing that does not exist.
ABSENT = "(absent)\n"

#: The option every module that works on a HAS node's configuration takes.
CONF_DIR_OPTION = {"type": "path", "required": True}
#: ``state`` and ``update_password`` of the modules that keep an identity (principal, user).
STATE_OPTION = {"type": "str", "choices": ["present", "absent"], "default": "present"}
UPDATE_PASSWORD_OPTION = {"type": "str", "choices": ["on_create", "always"], "default": "on_create"}
OWNER_OPTIONS = {
    "owner": {"type": "str"},
    "group": {"type": "str"},
}


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def file_sha256(path):
    """SHA-256 of a file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            return sha256_hex(fh.read())
    except FileNotFoundError:
        return None


def read_text(path):
    """A text file's content, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def text_diff(path, before, after):
    """A ``--diff`` entry for a text file (``before`` None: the file is new)."""
    return {
        "before_header": path if before is not None else "%s (absent)" % path,
        "after_header": path,
        "before": before if before is not None else "",
        "after": after,
    }


def summary_diff(label, before, after):
    """A ``--diff`` entry of summaries, for things whose content must not be shown."""
    return {
        "before_header": label,
        "after_header": label,
        "before": before if before.endswith("\n") or not before else before + "\n",
        "after": after if after.endswith("\n") or not after else after + "\n",
    }


def resolve_ids(module, owner, group):
    """uid and gid for owner/group names (None when not given); fails on unknown names."""
    uid = gid = None
    try:
        if owner is not None:
            uid = pwd.getpwnam(owner).pw_uid
        if group is not None:
            gid = grp.getgrnam(group).gr_gid
    except KeyError as exc:
        module.fail_json(msg="unknown user or group %s on this host" % exc)
    return uid, gid


class HasKdcModule(AnsibleModule):
    """AnsibleModule that needs ``has_kdc`` (set ``needs_has_kdc=False`` for stdlib modules).

    ``prediction``: what the module returns in check mode when ``has_kdc`` is not
    installed yet — a dict, or a function of the module's params returning one; its
    ``changed`` defaults to True (a first run installs and configures everything).
    """

    def __init__(self, *args, **kwargs):
        needs = kwargs.pop("needs_has_kdc", True)
        prediction = kwargs.pop("prediction", None)
        super().__init__(*args, **kwargs)
        if needs and HAS_KDC_IMPORT_ERROR is not None and self.check_mode:
            self.exit_without_has_kdc(prediction)
        if needs and HAS_KDC_IMPORT_ERROR is not None:
            self.fail_json(
                msg=(
                    "the has_kdc package is not importable by %s; run this task with the "
                    "interpreter of the venv the has_package role installed, e.g. "
                    "vars: {ansible_python_interpreter: '{{ has_venv }}/bin/python'}"
                )
                % sys.executable,
                exception=HAS_KDC_IMPORT_ERROR,
            )

    def exit_without_has_kdc(self, prediction):
        """Check mode before the venv exists: report what the real run would do, and stop.

        The real run installs the package first (has_package), so this task would then
        run against a new installation: the prediction says what it would change there.
        """
        result = prediction(self.params) if callable(prediction) else dict(prediction or {})
        result.setdefault("changed", True)
        result["has_kdc_missing"] = True
        if result["changed"] and "diff" not in result:
            result["diff"] = summary_diff(
                "%s (check mode, before the first install)" % self._name,
                "has_kdc: not installed yet (no venv)\n",
                "has_kdc: installed by has_package, then this task makes its changes\n",
            )
        result["msg"] = (
            "check mode: has_kdc is not installed for %s yet (the venv is made by the "
            "has_package role on a real run); %s"
            % (
                sys.executable,
                "this task would then make its changes"
                if result["changed"]
                else "this task would then read the realm",
            )
        )
        self.exit_json(**result)

    # ------------------------------------------------------------------ errors

    def user_errors(self):
        """The exception types whose message is meant for the operator."""
        from has_kdc.admin import AdminError
        from has_kdc.backend import BackendError
        from has_kdc.conf import ConfigError
        from has_kdc.formats import FormatError
        from has_kdc.pki import PkiError
        from has_kdc.principal import PrincipalNameError

        return (
            AdminError,
            BackendError,
            ConfigError,
            FormatError,
            PkiError,
            PrincipalNameError,
            OSError,
        )

    @contextmanager
    def failing_on_user_errors(self, doing, also=()):
        """Run a block; a has_kdc error (or one of ``also``, e.g. ValueError from parsing
        an option) becomes ``fail_json(msg="<doing>: <message>")``."""
        errors = self.user_errors() + tuple(also)
        try:
            yield
        except errors as exc:
            self.fail_json(msg="%s: %s" % (doing, exc))

    # ------------------------------------------------------------------ store

    @contextmanager
    def session(self, conf_dir):
        """(ConfDir, backend, PrincipalAdmin) for ``conf_dir``, closed when the block ends.

        The PrincipalAdmin acts for this module and the remote user (see ``actor``).
        """
        from has_kdc.admin import PrincipalAdmin
        from has_kdc.backend import open_backend
        from has_kdc.conf import load_conf_dir

        with ExitStack() as stack:
            with self.failing_on_user_errors("cannot open the realm of %s" % conf_dir):
                conf = load_conf_dir(conf_dir)
                backend = open_backend(self._store_to_open(conf.backend, stack))
            stack.callback(backend.close)
            with self.failing_on_user_errors(conf.kdc.kdc_realm):
                yield conf, backend, PrincipalAdmin(backend, conf.kdc, self.actor())

    def _store_to_open(self, config, stack):
        """The store as configured; in check mode, an SQLite file that does not exist yet
        is read as an empty store in a scratch directory, so that predicting a first run
        leaves no file behind."""
        path = config.sqlite_path
        if not self.check_mode or config.kind != "sqlite" or path is None or path.exists():
            return config
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="has-check-"))
        return dataclasses.replace(config, sqlite_path=Path(scratch) / path.name)

    def actor(self):
        """Who the audit trail records for this module's changes: the user the module runs
        as (``root (sudo from <remote user>)`` under become), via ``ansible:<module>``,
        from the SSH client when the connection says so."""
        from has_kdc.admin import os_actor

        return os_actor("ansible:%s" % self._name)

    # ------------------------------------------------------------------ files

    def secret_file_target(self, option, path, owner, group, mode):
        """(uid, gid, mode as a number) for writing a keytab at ``path``; fails early on
        a directory or an unknown owner or group, before anything is read or written.
        """
        if os.path.isdir(path):
            self.fail_json(msg="%s %s is a directory; give the keytab file" % (option, path))
        uid, gid = resolve_ids(self, owner, group)
        return uid, gid, int(str(mode), 8) if not isinstance(mode, int) else mode

    def secret_file_attributes(self, path, owner, group, mode, changed):
        """Owner, group and mode of a file already written; honours check mode.

        A file that is not there (check mode, before its first write) has nothing to
        fix: ``changed`` is returned as it came.
        """
        if not os.path.exists(path):
            return changed
        file_args = self.load_file_common_arguments(
            {"path": path, "owner": owner, "group": group, "mode": mode}
        )
        return self.set_fs_attributes_if_different(file_args, changed)

    # ------------------------------------------------------------------ results

    def exit_absent(self, name, current, describe, delete, result):
        """``state: absent``: delete ``current`` (not in check mode) and exit with ``result``.

        ``describe`` turns the object into the ``--diff`` text (no secrets);
        ``delete(name)`` removes it. Unchanged when there is nothing to delete.
        """
        if current is None:
            self.exit_json(changed=False, **result)
        if not self.check_mode:
            delete(name)
        self.exit_json(changed=True, diff=summary_diff(name, describe(current), ABSENT), **result)


# ---------------------------------------------------------------------- keytabs


def keytab_summary(keytab):
    """``principal kvno N enctype`` lines for a Keytab object (None: no file yet): what
    --diff may show."""
    from has_kdc.crypto import enctype_name

    if keytab is None:
        return ABSENT
    lines = []
    for entry in keytab.entries:
        name = "/".join(entry.components) + "@" + entry.realm
        etype = enctype_name(entry.enctype) or str(entry.enctype)
        lines.append("%s kvno %d %s" % (name, entry.kvno, etype))
    return "\n".join(lines) + ("\n" if lines else "")


def read_keytab_or_none(module, path):
    """The Keytab at ``path``; None if absent; fails if it is not a keytab."""
    from has_kdc.formats import FormatError, read_keytab

    if not os.path.exists(path):
        return None
    try:
        return read_keytab(path)
    except (FormatError, ValueError) as exc:
        module.fail_json(msg="%s is not a keytab this module can extend: %s" % (path, exc))
    return None


def keytab_holds(keytab, principal):
    """Whether ``keytab`` holds every kept key of ``principal`` (``has_kdc.admin``'s rule)."""
    from has_kdc.admin import keytab_holds as holds

    return holds(keytab, principal)


def subject_names(params):
    """The names a node's certificate is for, as results and diffs say them."""
    return ", ".join(params["dns_names"] + params["ip_addresses"]) or "no names"


def fail_unless(module, condition, msg):
    if not condition:
        module.fail_json(msg=msg)
