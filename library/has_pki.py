#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: the cluster CA and a node's TLS certificate, issued by that CA."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_pki
short_description: Keep the has-kdc cluster CA and issue node TLS certificates
description:
  - Creates the cluster CA in I(ca_dir) once (C(ca-root.pem) 0644 and C(ca-root.key)
    0600, ECDSA P-256) and loads it afterwards; an existing CA is never replaced.
  - With I(cert_dir), issues a TLS server certificate (C(server.pem), C(server.key),
    and a copy of C(ca-root.pem)) for I(dns_names) and I(ip_addresses). A certificate
    that is still valid for the same names, from this CA, with its key, and not
    within 30 days of its end, is kept; so re-runs rotate nothing.
  - Runs where the CA key lives (the first HAS node), with the has-kdc venv's
    interpreter; the role then copies each node's files to that node.
  - Returns the CA certificate (public) and never a private key.
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
  cert_dir:
    description: Where to issue a server certificate; no certificate when omitted.
    type: path
  dns_names:
    description: DNS subjectAltNames of the server certificate.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP address subjectAltNames of the server certificate.
    type: list
    elements: str
    default: []
notes:
  - Check mode reports whether the CA or the certificate would be made.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Cluster CA and this node's certificate, made on the CA node
  has_pki:
    ca_dir: /etc/has/ca
    cert_dir: /etc/has/ca/issued/emr-worker-1
    dns_names: [emr-worker-1]
    ip_addresses: [192.0.2.11]
  delegate_to: emr-header-1
  vars:
    ansible_python_interpreter: /opt/has/venv/bin/python
"""

RETURN = r"""
ca_created:
  description: Whether the CA was made by this run.
  returned: always
  type: bool
ca_cert:
  description: The CA certificate, PEM (public); empty in check mode before the CA exists.
  returned: always
  type: str
cert_issued:
  description: Whether a server certificate was (or would be) issued.
  returned: always
  type: bool
not_valid_after:
  description: End of the server certificate's validity (ISO 8601).
  returned: when cert_dir is given and not in check mode
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
import ipaddress
import os

from ansible.module_utils.has_kdc_module import HasKdcModule, summary_diff


def cert_current(pki, ca, cert_dir, dns, ips):
    """Whether issue_server_cert would keep the certificate in ``cert_dir`` (check mode)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_path = os.path.join(cert_dir, pki.SERVER_CERT_FILE)
    key_path = os.path.join(cert_dir, pki.SERVER_KEY_FILE)
    bundle = os.path.join(cert_dir, pki.CA_CERT_FILE)
    try:
        with open(cert_path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
        with open(key_path, "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), password=None)
        with open(bundle, "rb") as fh:
            bundle_ok = fh.read() == ca.cert_pem()
    except (OSError, ValueError, TypeError):
        return False
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except Exception:  # any failure means "not from this CA"
        return False
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*fmt) != cert.public_key().public_bytes(*fmt):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    if (have_dns, have_ips) != ({d.lower() for d in dns}, set(ips)):
        return False
    now = datetime.datetime.now(datetime.UTC)
    return cert.not_valid_after_utc - now >= pki.RENEW_BEFORE and bundle_ok


def main():
    module = HasKdcModule(
        argument_spec={
            "ca_dir": {"type": "path", "required": True},
            "ca_name": {"type": "str", "default": "has-kdc cluster CA"},
            "cert_dir": {"type": "path"},
            "dns_names": {"type": "list", "elements": "str", "default": []},
            "ip_addresses": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
        prediction=lambda p: {
            "ca_created": True,
            "cert_issued": bool(p["cert_dir"]),
            "ca_cert": "",
        },
    )
    from has_kdc import pki

    p = module.params
    ca_dir = p["ca_dir"]
    ca_exists = os.path.exists(os.path.join(ca_dir, pki.CA_CERT_FILE))
    result = {"ca_created": False, "cert_issued": False, "ca_cert": ""}
    diffs = []
    with module.failing_on_user_errors("cluster CA in %s" % ca_dir):
        try:
            if module.check_mode and not ca_exists:
                result["ca_created"] = True
                result["cert_issued"] = bool(p["cert_dir"])
                diffs.append(summary_diff(ca_dir, "(no CA)", "CA %s (new)" % p["ca_name"]))
                module.exit_json(changed=True, diff=diffs, **result)
            if not ca_exists:
                os.makedirs(ca_dir, mode=0o700, exist_ok=True)
            ca = pki.create_ca(ca_dir, p["ca_name"])
            result["ca_created"] = ca.changed
            result["ca_cert"] = ca.cert_pem().decode("ascii")
            if ca.changed:
                diffs.append(summary_diff(ca_dir, "(no CA)", "CA %s" % ca.name))
            if p["cert_dir"]:
                names = p["dns_names"] + p["ip_addresses"]
                if module.check_mode:
                    ips = [str(ipaddress.ip_address(i)) for i in p["ip_addresses"]]
                    result["cert_issued"] = not cert_current(
                        pki, ca, p["cert_dir"], p["dns_names"], ips
                    )
                else:
                    issued = pki.issue_server_cert(
                        ca, p["dns_names"], p["ip_addresses"], p["cert_dir"]
                    )
                    result["cert_issued"] = issued.changed
                    result["not_valid_after"] = issued.not_valid_after.isoformat()
                if result["cert_issued"]:
                    diffs.append(
                        summary_diff(
                            p["cert_dir"], "", "server certificate for %s" % ", ".join(names)
                        )
                    )
        except (pki.PkiError, ValueError) as exc:
            module.fail_json(msg=str(exc))
    changed = result["ca_created"] or result["cert_issued"]
    module.exit_json(changed=changed, diff=diffs, **result)


if __name__ == "__main__":
    main()
