"""A forward HTTP proxy for apt on the bridge address: Debian's package hosts, nothing else.

The hosts have no route out, as an air-gapped cluster behind its own mirror. Every
package the roles install is already in the rootfs, so what goes through here is
``apt-get update`` (the ``apt`` module's ``update_cache``) and whatever a role might
add later. Only GET and HEAD of ``http://`` URLs on ``ALLOWED_HOSTS`` are forwarded;
anything else gets 403. Bodies are read whole before they are sent on (index files
are a few MB), so the reply carries a Content-Length whatever the upstream sent.

    python -m tests.hosts.aptproxy 10.213.0.1 3142
"""

from __future__ import annotations

import http.client
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["ALLOWED_HOSTS", "serve"]

ALLOWED_HOSTS = frozenset({"deb.debian.org", "security.debian.org"})
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
     "upgrade", "proxy-authorization", "proxy-authenticate", "content-length"}
)  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _refuse(self, code: int, why: str) -> None:
        body = (why + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, send_body: bool) -> None:
        url = urlsplit(self.path)
        if url.scheme != "http" or url.hostname not in ALLOWED_HOSTS:
            self._refuse(403, f"not a Debian package URL: {self.path}")
            return
        target = url.path + (f"?{url.query}" if url.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
        upstream = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        try:
            upstream.request(self.command, target, headers=headers)
            reply = upstream.getresponse()
            body = reply.read()
        except OSError as exc:
            self._refuse(502, f"{url.hostname}: {exc}")
            return
        finally:
            upstream.close()
        self.send_response(reply.status, reply.reason)
        for name, value in reply.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._forward(send_body=True)

    def do_HEAD(self) -> None:
        self._forward(send_body=False)

    def do_CONNECT(self) -> None:
        self._refuse(403, "CONNECT is not forwarded")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve(address: str, port: int) -> None:
    server = ThreadingHTTPServer((address, port), _Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
