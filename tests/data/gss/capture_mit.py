"""Re-capture the MIT Negotiate token in this folder (see README.md).

    .venv/bin/python -m tests.data.gss.capture_mit

Starts a has-kdc node (HADOOP.COM), creates alice (password alice-pw) and
HTTP/localhost (password http-pw, so its keys can be re-derived), runs MIT kinit
and ``curl --negotiate`` against a throwaway aiohttp server, and writes the
Authorization token curl sent and the time it was accepted.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from has_kdc.gss import KeytabKeys
from tests.gss_server import NegotiateServer
from tests.hasnode import HasNode

HERE = Path(__file__).parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        node = HasNode(tmp / "has", "HADOOP.COM")
        node.init()
        node.start()
        try:
            node.hadmin("addprinc", "-pw", "alice-pw", "alice")
            node.hadmin("addprinc", "-pw", "http-pw", "HTTP/localhost")
            keytab = tmp / "http.keytab"
            node.hadmin("ktadd", "-k", str(keytab), "-norandkey", "HTTP/localhost")
            server = NegotiateServer(KeytabKeys(keytab), admins={"alice@HADOOP.COM"})
            try:
                mit = node.mit_client(tmp / "mit")
                mit.kinit("alice", "alice-pw")
                url = server.url("/admin/whoami")
                subprocess.run(
                    ["curl", "-sSf", "--negotiate", "-u", ":", url],
                    env=dict(os.environ, **mit.env),
                    check=True,
                    capture_output=True,
                )
                accepted_at = int(time.time())
            finally:
                server.stop()
        finally:
            node.stop()
    (HERE / "mit-curl-negotiate.der").write_bytes(server.accepted[-1])
    (HERE / "mit-curl-negotiate.time").write_text(f"{accepted_at}\n")


if __name__ == "__main__":
    main()
