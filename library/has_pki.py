#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: the cluster CA, and its signature on a node's certificate request."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_pki
short_description: Keep the has-kdc cluster CA and sign node certificate requests
description:
  - Creates the cluster CA in I(ca_dir) once (C(ca-root.pem) 0644 and C(ca-root.key)
    0600, ECDSA P-256) and loads it afterwards; an existing CA is never replaced.
  - With I(csr), signs that certificate signing request (made on the node by
    M(has_node_cert), whose key never leaves the node) for exactly I(dns_names) and
    I(ip_addresses), valid I(validity_days); a CSR asking for other names, or not
    signed by its own key, is refused. Only the CSR's public key is used.
  - Runs where the CA key lives (the first HAS node), with the has-kdc venv's
    interpreter. Returns the CA certificate and the signed certificate (both public),
    never a private key.
  - Reports in I(node_keys) the node keys that earlier versions made on the CA node and left
    under C(ca_dir/issued/<node>), so that the role can retire them (see docs/tls.md).
version_added: "0.1.0"
author: has-kdc contributors
options:
  ca_dir:
    description: Directory of the CA (created 0700 if absent).
    type: path
    required: true
  ca_name:
    description: Common name of a new CA.
    type: str
    default: has-kdc cluster CA
  csr:
    description:
      - A node's certificate signing request, PEM (public). Omit to only keep the CA.
      - In check mode an empty string stands for a request the node would make.
    type: str
  dns_names:
    description: DNS subjectAltNames the certificate must have (the CSR's must match).
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP address subjectAltNames the certificate must have.
    type: list
    elements: str
    default: []
  validity_days:
    description: Lifetime of a signed certificate (never past the CA's own end).
    type: int
    default: 825
notes:
  - Signing is reported as C(changed); check mode signs nothing and says it would.
extends_documentation_fragment:
  - has_kdc
"""

EXAMPLES = r"""
- name: Keep the cluster CA
  has_pki:
    ca_dir: /etc/has/ca
    ca_name: has-kdc HADOOP.COM CA
  register: has_ca
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python

- name: Sign emr-worker-1's request on the CA node
  has_pki:
    ca_dir: /etc/has/ca
    csr: "{{ hostvars['emr-worker-1'].has_request.csr }}"
    dns_names: [emr-worker-1]
    ip_addresses: [192.0.2.11]
  delegate_to: emr-header-1
  register: has_signed
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
"""

RETURN = r"""
ca_created:
  description: Whether the CA was (or, in check mode, would be) made by this run.
  returned: always
  type: bool
ca_cert:
  description: The CA certificate, PEM (public); empty in check mode before the CA exists.
  returned: always
  type: str
ca_not_valid_after:
  description: End of the CA's validity (ISO 8601); empty before the CA exists.
  returned: always
  type: str
node_keys:
  description:
    - SHA-256 of the public key of every node key found under C(ca_dir/issued/<node>)
      (left there by earlier versions), by node name; empty when there are none.
  returned: always
  type: dict
signed:
  description: Whether a certificate was (or would be) signed.
  returned: always
  type: bool
certificate:
  description: The signed certificate, PEM (public); empty when nothing was signed.
  returned: always
  type: str
serial:
  description: Serial number of the signed certificate (hex).
  returned: when a certificate was signed
  type: str
not_valid_after:
  description: End of the signed certificate's validity (ISO 8601).
  returned: when a certificate was signed
  type: str
has_kdc_missing:
  description:
    - True when, in check mode, has_kdc was not installed for the interpreter yet (a
      first C(--check) on a fresh host); the result is then the prediction for a new
      installation, and nothing was read or written.
  returned: in check mode before the first install
  type: bool
"""

import datetime
import os

from ansible.module_utils.has_kdc_module import HasKdcModule, subject_names, summary_diff

ARGUMENT_SPEC = {
    "ca_dir": {"type": "path", "required": True},
    "ca_name": {"type": "str", "default": "has-kdc cluster CA"},
    "csr": {"type": "str"},
    "dns_names": {"type": "list", "elements": "str", "default": []},
    "ip_addresses": {"type": "list", "elements": "str", "default": []},
    "validity_days": {"type": "int", "default": 825},
}

NOTHING_DONE = {
    "ca_created": False,
    "ca_cert": "",
    "ca_not_valid_after": "",
    "node_keys": {},
    "signed": False,
    "certificate": "",
}


def prediction(p):
    """Check mode before the CA exists (or has_kdc is installed): a new CA, and the CSR,
    if any, signed by it; no PEM can be shown before the CA's key is made."""
    return {**NOTHING_DONE, "ca_created": True, "signed": p["csr"] is not None}


def check_params(module):
    p = module.params
    if p["validity_days"] < 1:
        module.fail_json(msg="validity_days must be 1 or more, not %d" % p["validity_days"])
    if p["csr"] is not None and not p["csr"].strip() and not module.check_mode:
        module.fail_json(msg="csr is empty: the node made no certificate request to sign")


def exit_with_new_ca_predicted(module):
    p = module.params
    diffs = [summary_diff(p["ca_dir"], "(no CA)\n", "CA %s (new)\n" % p["ca_name"])]
    if p["csr"] is not None:
        diffs.append(sign_diff(p, "(check mode: not signed)"))
    module.exit_json(changed=True, diff=diffs, **prediction(p))


def keep_ca(pki, p, ca_exists):
    """The CA, made unless it exists; its facts for the result, and its diff when new."""
    if not ca_exists:
        os.makedirs(p["ca_dir"], mode=0o700, exist_ok=True)
    ca = pki.create_ca(p["ca_dir"], p["ca_name"])
    result = {
        **NOTHING_DONE,
        "ca_created": ca.changed,
        "ca_cert": ca.cert_pem().decode("ascii"),
        "ca_not_valid_after": ca.certificate.not_valid_after_utc.isoformat(),
        "node_keys": pki.node_keys_on_ca(p["ca_dir"]),
    }
    diffs = [summary_diff(p["ca_dir"], "(no CA)\n", "CA %s\n" % ca.name)] if ca.changed else []
    return ca, result, diffs


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, prediction=prediction
    )
    from has_kdc import pki

    p = module.params
    check_params(module)
    ca_exists = os.path.exists(os.path.join(p["ca_dir"], pki.CA_CERT_FILE))
    with module.failing_on_user_errors("cluster CA in %s" % p["ca_dir"], (ValueError,)):
        if module.check_mode and not ca_exists:
            exit_with_new_ca_predicted(module)
        ca, result, diffs = keep_ca(pki, p, ca_exists)
        if p["csr"] is not None:
            result.update(sign(module, pki, ca, p))
            diffs.append(sign_diff(p, result.get("serial", "(check mode: not signed)")))
    module.exit_json(changed=result["ca_created"] or result["signed"], diff=diffs, **result)


def sign(module, pki, ca, p):
    """Sign the CSR (check mode: only validate it, when there is one)."""
    validity = datetime.timedelta(days=p["validity_days"])
    if module.check_mode:
        if p["csr"].strip():
            pki.sign_request(ca, p["csr"], p["dns_names"], p["ip_addresses"], validity=validity)
        return {"signed": True}
    cert = pki.sign_request(ca, p["csr"], p["dns_names"], p["ip_addresses"], validity=validity)
    end = cert.not_valid_after_utc
    if end >= ca.certificate.not_valid_after_utc:
        module.warn(
            "the cluster CA ends on %s, and so does this certificate: plan a new CA "
            "(docs/tls.md) before then" % end.date().isoformat()
        )
    from cryptography.hazmat.primitives import serialization

    facts = pki.certificate_facts(cert)
    return {
        "signed": True,
        "certificate": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "serial": facts["serial"],
        "not_valid_after": facts["not_valid_after"],
    }


def sign_diff(p, serial):
    return summary_diff(
        "certificate for %s" % subject_names(p),
        "",
        "signed by the cluster CA, valid %d days, serial %s\n" % (p["validity_days"], serial),
    )


if __name__ == "__main__":
    main()
