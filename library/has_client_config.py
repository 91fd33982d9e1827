#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: krb5.conf, has-client.conf and core-site.xml properties for clients."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_client_config
short_description: Export has-kdc client configuration (krb5.conf, has-client.conf, core-site)
description:
  - Renders what HAS's C(kdcinit getkrb5) and C(gethas) export, from one view of the
    realm, and writes it where asked; each file is written atomically (0644) and only
    when its content differs.
  - C(krb5.conf) has one C(kdc) line per HAS node; C(has-client.conf) lists every node
    in C(https_host); in C(core-site.xml) the Hadoop properties
    C(hadoop.security.authentication), C(hadoop.security.authentication.use.has) and
    C(hadoop.security.has) (one URL per node) are set, every other property kept.
  - The realm view comes from the shared realm state when I(conf_dir) is given (the
    realm of kdc.conf, the ports of kdc.conf and has-server.conf, and the nodes the
    database has registered), or from I(realm) and I(nodes).
  - With no destination path the module only reads and returns the realm view, which
    the client play uses to configure hosts that have no database access.
version_added: "0.1.0"
author: has-kdc contributors
options:
  conf_dir:
    description:
      - A HAS node's conf_dir; the realm view is read from it and its database.
      - Mutually exclusive with I(nodes).
    type: path
    required: false
  realm:
    description: The realm, when I(nodes) are given.
    type: str
  nodes:
    description:
      - The HAS nodes, each a dict with C(host) and optionally C(kdc_port) (88) and
        C(https_port) (8092).
    type: list
    elements: dict
  krb5_conf:
    description:
      - Where to write krb5.conf (not written when omitted). A missing parent
        directory is created (0755), for this and the other files.
    type: path
  has_client_conf:
    description: Where to write has-client.conf (not written when omitted).
    type: path
  core_site:
    description: A core-site.xml to set the HAS properties in (created if absent).
    type: path
  ca_bundle:
    description: CA certificate path written as C(ssl_ca_file) into has-client.conf.
    type: path
  auth_type:
    description: The HAS plugin clients use (C([PLUGIN] auth_type)); default from the node.
    type: str
  filter_auth_type:
    description: C(kerberos) or C(simple); default from the node's has-server.conf.
    type: str
    choices: [kerberos, simple]
  enable_conf:
    description: C(enable_conf) in has-client.conf; default from the node's has-server.conf.
    type: bool
  admin_server:
    description: C(admin_server) for the realm in krb5.conf.
    type: str
  ticket_lifetime:
    description:
      - C(ticket_lifetime) in krb5.conf, as a duration (C(10h)) or seconds; default
        the realm's C(max_life) when read from I(conf_dir).
    type: str
  renew_lifetime:
    description:
      - C(renew_lifetime) in krb5.conf, as a duration (C(7d)) or seconds; default the
        realm's C(max_renewable_life) when read from I(conf_dir).
    type: str
  domain_realm:
    description: C([domain_realm]) entries of krb5.conf.
    type: dict
    default: {}
notes:
  - Check mode reports which files would change; C(--diff) shows each file before and
    after (these files hold no secrets).
extends_documentation_fragment:
  - has_kdc
  - has_kdc.conf_dir
"""

EXAMPLES = r"""
- name: Read the realm view on a HAS node
  has_client_config:
    conf_dir: /etc/has
  register: has_view
  run_once: true
  delegate_to: emr-header-1
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python

- name: Client configuration on every client
  has_client_config:
    realm: "{{ has_view.realm }}"
    nodes: "{{ has_view.nodes }}"
    krb5_conf: /etc/krb5.conf
    has_client_conf: /etc/has/has-client.conf
    core_site: /etc/hadoop/conf/core-site.xml
    ca_bundle: /etc/has/ca-root.pem
"""

RETURN = r"""
realm:
  description: The realm.
  returned: always
  type: str
  sample: HADOOP.COM
nodes:
  description: The HAS nodes exported, in the order clients try them.
  returned: always
  type: list
  elements: dict
  sample: [{host: emr-header-1, kdc_port: 88, https_port: 8092}]
auth_type:
  description: The plugin clients use.
  returned: always
  type: str
filter_auth_type:
  description: How admin requests authenticate.
  returned: always
  type: str
enable_conf:
  description: C(enable_conf) of has-client.conf (null when not set).
  returned: always
  type: bool
ticket_lifetime:
  description: C(ticket_lifetime) of krb5.conf in seconds (null when not set).
  returned: always
  type: int
renew_lifetime:
  description: C(renew_lifetime) of krb5.conf in seconds (null when not set).
  returned: always
  type: int
ca_cert:
  description:
    - The CA certificate (PEM, public) that has-server.conf names in C(ssl_ca_file),
      when read from I(conf_dir); null otherwise.
  returned: always
  type: str
files:
  description: Each file written (or checked), with whether it changed.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/krb5.conf, changed: true}]
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet (a
      first C(--check) on a fresh host); the result is then the prediction for a new
      installation, and nothing was read or written.
  returned: in check mode before the first install
  type: bool
"""

from ansible.module_utils.has_fileio import PUBLIC_MODE, write_if_changed
from ansible.module_utils.has_kdc_module import (
    HasKdcModule,
    read_text,
    text_diff,
)


def view_from_conf_dir(module, conf_dir):
    """The realm view HAS's getkrb5/gethas export, from a node's conf_dir and database.

    Also returns the CA certificate (public) that has-server.conf names, so clients can
    be given it without knowing the node's paths.
    """
    import os

    from has_kdc.conf import HAS_SERVER_CONF, HasServerConfig, read_has_server_conf
    from has_kdc.node.realm_view import build_realm_view

    server_conf_path = os.path.join(conf_dir, HAS_SERVER_CONF)
    with module.session(conf_dir) as (conf, backend, _admin):
        if os.path.exists(server_conf_path):
            server = read_has_server_conf(server_conf_path)
        else:
            server = HasServerConfig()
        view = build_realm_view(backend, conf.kdc, server)
    ca_cert = read_text(str(server.ssl_ca_file)) if server.ssl_ca_file else None
    return view, ca_cert


def seconds(module, key, value):
    from has_kdc.admin import AdminError, parse_duration

    if value is None or value == "":
        return None
    try:
        return parse_duration(str(value))
    except AdminError as exc:
        module.fail_json(msg="%s: %s" % (key, exc))
    return None


FILE_OPTIONS = ("krb5_conf", "has_client_conf", "core_site")


def predict_first_install(params):
    """Check mode before has_kdc is installed: every file given would be written; a
    read of the realm view (conf_dir alone) changes nothing and has no view to return.
    """
    files = [{"path": params[o], "changed": True} for o in FILE_OPTIONS if params[o]]
    return {"changed": bool(files), "files": files}


ARGUMENT_SPEC = {
    "conf_dir": {"type": "path"},
    "realm": {"type": "str"},
    "nodes": {"type": "list", "elements": "dict"},
    "krb5_conf": {"type": "path"},
    "has_client_conf": {"type": "path"},
    "core_site": {"type": "path"},
    "ca_bundle": {"type": "path"},
    "auth_type": {"type": "str"},
    "filter_auth_type": {"type": "str", "choices": ["kerberos", "simple"]},
    "enable_conf": {"type": "bool"},
    "admin_server": {"type": "str"},
    "ticket_lifetime": {"type": "str"},
    "renew_lifetime": {"type": "str"},
    "domain_realm": {"type": "dict", "default": {}},
}


def realm_view(module):
    """(RealmView, CA certificate or None): from the conf_dir's realm, or from ``realm``
    and ``nodes``; the options that override the view applied."""
    from dataclasses import replace
    from pathlib import Path

    from has_kdc.conf.client_exports import Node, RealmView

    p = module.params
    ca_cert = None
    try:
        if p["conf_dir"]:
            view, ca_cert = view_from_conf_dir(module, p["conf_dir"])
        else:
            nodes = tuple(
                Node(
                    host=str(n["host"]),
                    kdc_port=int(n.get("kdc_port", 88)),
                    https_port=int(n.get("https_port", 8092)),
                )
                for n in p["nodes"]
            )
            view = RealmView(realm=p["realm"], nodes=nodes)
        overrides = {
            "auth_type": p["auth_type"],
            "filter_auth_type": p["filter_auth_type"],
            "enable_conf": p["enable_conf"],
            "admin_server": p["admin_server"],
            "ticket_lifetime": seconds(module, "ticket_lifetime", p["ticket_lifetime"]),
            "renew_lifetime": seconds(module, "renew_lifetime", p["renew_lifetime"]),
            "ca_bundle": Path(p["ca_bundle"]) if p["ca_bundle"] else None,
            "domain_realm": p["domain_realm"] or None,
        }
        view = replace(view, **{k: v for k, v in overrides.items() if v is not None})
    except (KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg="cannot export the client configuration: %s" % (exc,))
    return view, ca_cert


def write_files(module, view):
    """Each file option given, rendered from ``view`` and written when it differs (or its
    mode does): ([{path, changed}], diffs)."""
    import os
    import stat

    from has_kdc.conf.client_exports import (
        merge_core_site,
        render_has_client_conf,
        render_krb5_conf,
    )

    renderers = {
        "krb5_conf": lambda old: render_krb5_conf(view),
        "has_client_conf": lambda old: render_has_client_conf(view),
        "core_site": lambda old: merge_core_site(old or "", view),
    }
    files, diffs = [], []
    for option in FILE_OPTIONS:
        path = module.params[option]
        if not path:
            continue
        before = read_text(path)
        try:
            after = renderers[option](before)
        except ValueError as exc:
            module.fail_json(msg="%s: %s" % (path, exc))
        file_changed = before != after or (
            before is not None and stat.S_IMODE(os.stat(path).st_mode) != PUBLIC_MODE
        )
        if not module.check_mode:
            with module.failing_on_user_errors("cannot write %s" % path):
                os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
                file_changed = write_if_changed(path, after, PUBLIC_MODE) or file_changed
        files.append({"path": path, "changed": file_changed})
        if before != after:
            diffs.append(text_diff(path, before, after))
    return files, diffs


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("conf_dir", "nodes"), ("conf_dir", "realm")],
        required_one_of=[("conf_dir", "nodes")],
        required_together=[("realm", "nodes")],
        supports_check_mode=True,
        prediction=predict_first_install,
    )
    view, ca_cert = realm_view(module)
    files, diffs = write_files(module, view)
    module.exit_json(
        changed=any(f["changed"] for f in files),
        realm=view.realm,
        nodes=[
            {"host": n.host, "kdc_port": n.kdc_port, "https_port": n.https_port} for n in view.nodes
        ],
        auth_type=view.auth_type,
        filter_auth_type=view.filter_auth_type,
        enable_conf=view.enable_conf,
        ticket_lifetime=view.ticket_lifetime,
        renew_lifetime=view.renew_lifetime,
        ca_cert=ca_cert,
        files=files,
        diff=diffs,
    )


if __name__ == "__main__":
    main()
