"""The certificate a HAS node serves on its HTTPS port and the one on its disk, as JSON.

Run on the node with the has-kdc venv's Python (ansible.builtin.script):
    served_cert.py HOST PORT SERVER_PEM CA_ROOT_PEM
The handshake verifies the served certificate against CA_ROOT_PEM for HOST, as a client
does. Only public facts are printed: serial, SHA-256 of the public key, seconds left.
"""

import datetime
import json
import socket
import ssl
import sys

from cryptography import x509

from has_kdc.pki import key_sha256


def facts(cert: x509.Certificate, now: datetime.datetime) -> dict[str, object]:
    return {
        "serial": f"{cert.serial_number:x}",
        "key_sha256": key_sha256(cert.public_key()),
        "seconds_left": int((cert.not_valid_after_utc - now).total_seconds()),
    }


def main() -> None:
    host, port, cert_file, ca_file = sys.argv[1:5]
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    served = x509.load_der_x509_certificate(der)
    with open(cert_file, "rb") as fh:
        disk = x509.load_pem_x509_certificate(fh.read())
    now = datetime.datetime.now(datetime.UTC)
    print(json.dumps({"served": facts(served, now), "disk": facts(disk, now)}))


if __name__ == "__main__":
    main()
