#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: a HAS node's TLS key and certificate, the key made on the node itself."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_node_cert
short_description: Make a HAS node's TLS key and CSR on the node, then install its certificate
description:
  - Runs on the HAS node, in two steps around M(has_pki) on the CA node; the private
    key is made here and never leaves this host, only the CSR and the certificate
    (public) cross the network.
  - Without I(certificate) (the first step) it writes the CA certificate I(ca_cert) as
    the node's trust bundle C(ca-root.pem) and checks C(server.pem) and C(server.key).
    They are kept while the certificate is from this CA, matches the key, is for
    exactly I(dns_names) and I(ip_addresses), and ends more than
    I(renew_before_days) from now. Otherwise it makes a new key, C(server-next.key)
    (0600, owned by I(key_owner)), and returns a CSR for it in I(csr), with the
    reason in I(reason). The key being served stays in place meanwhile.
  - With I(certificate) (the second step, the CA's answer) it checks the certificate
    is from the CA, for these names and for the new key, then makes
    C(server-next.key) the node's C(server.key) and the certificate its C(server.pem).
  - A key whose SHA-256 (of the public key) is in I(retired_keys) is replaced although
    it matches (the keys earlier versions made on the CA node).
version_added: "0.1.0"
author: has-kdc contributors
options:
  tls_dir:
    description: Directory of server.pem, server.key and ca-root.pem.
    type: path
    required: true
  ca_cert:
    description:
      - The cluster CA certificate, PEM (what M(has_pki) returns as C(ca_cert)).
      - Empty only in check mode before the CA exists (everything is then predicted).
    type: str
    required: true
  dns_names:
    description: DNS subjectAltNames of the certificate.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP address subjectAltNames of the certificate.
    type: list
    elements: str
    default: []
  renew_before_days:
    description: Ask for a new certificate when the current one ends within this many days.
    type: int
    default: 30
  retired_keys:
    description: SHA-256 (hex) of public keys that must be replaced even while valid.
    type: list
    elements: str
    default: []
  certificate:
    description:
      - The certificate the CA signed for this node's CSR, PEM; given, the module installs it.
      - In check mode an empty string stands for the certificate the CA would sign.
    type: str
  key_owner:
    description: Owner of server.key (the service reads it); the other files stay root's.
    type: str
  group:
    description: Group of the three files.
    type: str
notes:
  - The private key is never returned, logged or shown in a diff; keys are named by the
    SHA-256 of their public half.
extends_documentation_fragment:
  - has_kdc
"""

EXAMPLES = r"""
- name: Check this node's certificate; make a key and a CSR here when it needs a new one
  has_node_cert:
    tls_dir: /etc/has/tls
    ca_cert: "{{ hostvars['emr-header-1'].has_ca.ca_cert }}"
    dns_names: [emr-worker-1]
    ip_addresses: [192.0.2.11]
    key_owner: has
    group: has
  register: has_request
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python

- name: Install the certificate the CA node signed
  has_node_cert:
    tls_dir: /etc/has/tls
    ca_cert: "{{ hostvars['emr-header-1'].has_ca.ca_cert }}"
    dns_names: [emr-worker-1]
    ip_addresses: [192.0.2.11]
    certificate: "{{ hostvars['emr-header-1'].has_signed.certificate }}"
    key_owner: has
    group: has
  when: has_request.requested
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
"""

RETURN = r"""
requested:
  description: Whether the node needs (first step) or got (second step) a new certificate.
  returned: always
  type: bool
reason:
  description: Why a new certificate is needed; empty when the current one stays.
  returned: always
  type: str
csr:
  description:
    - The certificate signing request, PEM (public).
    - Empty when no new certificate is needed, and in check mode.
  returned: always
  type: str
key_sha256:
  description: SHA-256 (hex) of the public key of the node's key (the new one when requested).
  returned: when the key exists
  type: str
not_valid_after:
  description: End of the validity of the node's certificate (ISO 8601).
  returned: when the certificate exists
  type: str
serial:
  description: Serial number of the node's certificate (hex).
  returned: when the certificate exists
  type: str
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet; the
      result is then the prediction for a new installation.
  returned: in check mode before the first install
  type: bool
"""

import datetime
import os

from ansible.module_utils.has_kdc_module import (
    ABSENT,
    HasKdcModule,
    resolve_ids,
    subject_names,
    summary_diff,
)


def served_cert(pki, cert_dir):
    """The node's certificate (server.pem), or None when it has none that loads."""
    try:
        return pki.load_certificate(os.path.join(cert_dir, pki.SERVER_CERT_FILE))
    except pki.PkiError:
        return None


def cert_line(pki, cert):
    """What --diff may say of a certificate (no key material); ABSENT for None."""
    if cert is None:
        return ABSENT
    return (
        "certificate for %(names)s, serial %(serial)s, until %(not_valid_after)s, "
        "key sha256 %(key_sha256)s\n" % pki.certificate_facts(cert)
    )


def describe(pki, cert_dir):
    return cert_line(pki, served_cert(pki, cert_dir))


def current_facts(pki, cert_dir):
    """not_valid_after, serial and key_sha256 of the node's certificate, if it has one."""
    cert = served_cert(pki, cert_dir)
    if cert is None:
        return {}
    facts = pki.certificate_facts(cert)
    del facts["names"]
    return facts


def bundle_step(module, pki, ca, tls_dir, gid):
    """The trust bundle: (changed, diff or None)."""
    from cryptography.hazmat.primitives import serialization

    path = os.path.join(tls_dir, pki.CA_CERT_FILE)
    want = ca.public_bytes(serialization.Encoding.PEM)
    try:
        with open(path, "rb") as fh:
            have = fh.read()
    except FileNotFoundError:
        have = None
    changed = have != want if module.check_mode else pki.write_trust_bundle(ca, path, gid=gid)
    changed = module.secret_file_attributes(path, None, module.params["group"], "0644", changed)
    diff = None
    if have != want:
        diff = {"before_header": path, "after_header": path}
        diff.update(before=have.decode("ascii", "replace") if have else "", after=want.decode())
    return changed, diff


def request_step(module, pki, ca, uid, gid):
    p = module.params
    tls_dir = p["tls_dir"]
    result = {"requested": False, "reason": "", "csr": ""}
    result.update(current_facts(pki, tls_dir))
    diffs = []
    changed, bundle_diff = bundle_step(module, pki, ca, tls_dir, gid)
    if bundle_diff:
        diffs.append(bundle_diff)
    problem = pki.certificate_problem(
        ca,
        tls_dir,
        p["dns_names"],
        p["ip_addresses"],
        renew_before=datetime.timedelta(days=p["renew_before_days"]),
        retired_keys=[k.lower() for k in p["retired_keys"]],
    )
    pending = os.path.join(tls_dir, pki.NEXT_KEY_FILE)
    if problem is None:
        if os.path.exists(pending):  # a request whose certificate never came
            if not module.check_mode:
                pki.discard_pending_key(tls_dir)
            diffs.append(summary_diff(pending, "pending key (not shown)\n", ABSENT))
            changed = True
        key_path = os.path.join(tls_dir, pki.SERVER_KEY_FILE)
        cert_path = os.path.join(tls_dir, pki.SERVER_CERT_FILE)
        group = p["group"]
        changed = module.secret_file_attributes(key_path, p["key_owner"], group, "0600", changed)
        changed = module.secret_file_attributes(cert_path, None, group, "0644", changed)
        return changed, diffs, result
    result.update(requested=True, reason=problem)
    if not module.check_mode:
        request = pki.request_certificate(
            tls_dir, p["dns_names"], p["ip_addresses"], uid=uid, gid=gid
        )
        result["csr"] = request.csr_pem.decode("ascii")
        result["key_sha256"] = request.key_sha256
    diffs.append(
        summary_diff(
            os.path.join(tls_dir, pki.SERVER_CERT_FILE),
            describe(pki, tls_dir),
            "a new key made on this node and a certificate for %s: %s\n"
            % (subject_names(p), problem),
        )
    )
    return True, diffs, result


def install_step(module, pki, ca, uid, gid):
    p = module.params
    tls_dir = p["tls_dir"]
    before = describe(pki, tls_dir)
    if not p["certificate"].strip() and not module.check_mode:
        module.fail_json(
            msg="certificate is empty: the CA node signed nothing for this node (see has_pki there)"
        )
    if module.check_mode and not p["certificate"].strip():
        after = "the certificate the CA signs for %s\n" % subject_names(p)
        diff = summary_diff(os.path.join(tls_dir, pki.SERVER_CERT_FILE), before, after)
        return True, [diff], {"requested": True, "reason": "", "csr": ""}
    after = cert_line(pki, pki.load_certificate_pem(p["certificate"], "certificate"))
    if module.check_mode:
        changed = before != after
    else:
        changed = pki.install_certificate(
            tls_dir, p["certificate"], ca, p["dns_names"], p["ip_addresses"], uid=uid, gid=gid
        )
    result = {"requested": True, "reason": "", "csr": ""}
    result.update(current_facts(pki, tls_dir))
    diffs = []
    if changed:
        diffs.append(summary_diff(os.path.join(tls_dir, pki.SERVER_CERT_FILE), before, after))
    return changed, diffs, result


def main():
    module = HasKdcModule(
        argument_spec={
            "tls_dir": {"type": "path", "required": True},
            "ca_cert": {"type": "str", "required": True},
            "dns_names": {"type": "list", "elements": "str", "default": []},
            "ip_addresses": {"type": "list", "elements": "str", "default": []},
            "renew_before_days": {"type": "int", "default": 30},
            "retired_keys": {"type": "list", "elements": "str", "default": []},
            "certificate": {"type": "str"},
            "key_owner": {"type": "str"},
            "group": {"type": "str"},
        },
        supports_check_mode=True,
        prediction={"requested": True, "reason": "there is no certificate yet", "csr": ""},
    )
    from has_kdc import pki

    p = module.params
    if p["renew_before_days"] < 0:
        module.fail_json(msg="renew_before_days must be 0 or more")
    if not p["ca_cert"].strip():
        if module.check_mode:  # the CA itself is still to be made
            diff = summary_diff(p["tls_dir"], describe(pki, p["tls_dir"]), "a new certificate\n")
            module.exit_json(changed=True, diff=[diff], requested=True, reason="no CA yet", csr="")
        module.fail_json(msg="ca_cert is empty: pass the ca_cert that has_pki returned")
    with module.failing_on_user_errors("ca_cert"):
        ca = pki.load_certificate_pem(p["ca_cert"], "ca_cert")
    # check mode writes nothing, and the service account may not exist yet
    uid, gid = (
        (None, None) if module.check_mode else resolve_ids(module, p["key_owner"], p["group"])
    )
    step = request_step if p["certificate"] is None else install_step
    with module.failing_on_user_errors("TLS certificate in %s" % p["tls_dir"], (ValueError,)):
        if not os.path.isdir(p["tls_dir"]) and not module.check_mode:
            os.makedirs(p["tls_dir"], mode=0o750, exist_ok=True)
        changed, diffs, result = step(module, pki, ca, uid, gid)
    module.exit_json(changed=changed, diff=diffs, **result)


if __name__ == "__main__":
    main()
