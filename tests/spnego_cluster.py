"""Two real HAS nodes with SPNEGO-protected admin endpoints, over the session MariaDB.

``SpnegoCluster(tmp, mariadb, database)`` lays out what inventory/local does on one
machine: node ``emr-header-1`` on 127.0.1.1 and ``emr-worker-1`` on 127.0.1.2, same
KDC and HTTPS ports, one MySQL database, one CA. Each node binds its address
(https_host = kdc_host = the address) but is reached by its name as well, so its
has-server.conf lists ``kerberos_principal = HTTP/<name>@HADOOP.COM`` and its
certificate names both. The servers start first and the realm is initialized after
(HAS's order), so ``init`` has to create the recorded HTTP principals of both nodes.

- ``start()`` / ``stop()``; ``nodes``; ``admin_keytab`` (from ``kdcinit init``);
- ``mit(tmp)``: an MIT client whose krb5.conf lists both KDCs;
- ``curl(mit, node, *args, path=...)``: curl against ``https://<name>:<port>`` with
  ``--resolve name:port:address`` and ``--cacert``, returning (status, headers, body).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.hacluster import mysql_config, port_free_on_all
from tests.hasnode import HasNode
from tests.mitkrb import MitClient

REALM = "HADOOP.COM"
ADDRESSES = ("127.0.1.1", "127.0.1.2")
NAMES = ("emr-header-1", "emr-worker-1")
ADMIN = f"kadmin/{REALM}@{REALM}"


class SpnegoCluster:
    def __init__(
        self,
        tmp: Path,
        mariadb: object,
        database: str,
        *,
        kdc_extra: dict[str, str] | None = None,
    ) -> None:
        self.tmp = Path(tmp)
        config = mysql_config(mariadb, database)
        kdc_port = port_free_on_all(ADDRESSES)
        self.https_port = port_free_on_all(ADDRESSES)
        self.ca_dir = self.tmp / "ca"
        self.nodes: list[HasNode] = []
        for i, (address, name) in enumerate(zip(ADDRESSES, NAMES, strict=True)):
            node = HasNode(
                self.tmp / f"node{i + 1}",
                REALM,
                address,
                kdc_port,
                backend=config,
                kdc_extra=kdc_extra,
                https_port=self.https_port,
                ca_dir=self.ca_dir,
                server_conf={"kerberos_principal": f"HTTP/{name}@{REALM}"},
            )
            # the node's certificate names its address and its host name
            node.kdcinit("certs", "--ca-dir", str(self.ca_dir), "--host", name, "--ip", address)
            node.name = name  # type: ignore[attr-defined]
            self.nodes.append(node)
        self.started: list[HasNode] = []

    @property
    def ca_file(self) -> Path:
        return self.nodes[0].ca_file

    @property
    def admin_keytab(self) -> Path:
        return self.nodes[0].admin_keytab

    def start(self) -> None:
        for node in self.nodes:  # servers first, then init (HAS's order)
            node.start()
            self.started.append(node)
        self.nodes[0].init()

    def stop(self) -> None:
        for node in self.started:
            node.stop()

    def mit(self, tmp: Path) -> MitClient:
        return MitClient(tmp, REALM, [n.kdc_address() for n in self.nodes])

    def url(self, node: HasNode, path: str) -> str:
        return f"https://{node.name}:{self.https_port}{path}"  # type: ignore[attr-defined]

    def curl(
        self, mit: MitClient, node: HasNode, *args: str, path: str = "/has/v1/admin/getprincipals"
    ) -> tuple[int, dict[str, str], str]:
        """curl → (status, headers with lower-case names, body)."""
        proc = subprocess.run(
            [
                "curl",
                "-sS",
                "-D",
                "-",
                "--cacert",
                str(self.ca_file),
                "--resolve",
                f"{node.name}:{self.https_port}:{node.host}",  # type: ignore[attr-defined]
                *args,
                self.url(node, path),
            ],
            env=dict(os.environ, **mit.env),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        head, _, body = proc.stdout.replace("\r\n", "\n").partition("\n\n")
        while body.startswith("HTTP/"):  # curl answered a 401 challenge: the last answer counts
            head, _, body = body.partition("\n\n")
        lines = head.splitlines()
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, body
