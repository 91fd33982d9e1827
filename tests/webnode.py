"""An in-process HAS web server for tests: one node (SQLite), real TLS, a test authenticator.

``make_node(tmp)`` writes a conf_dir (kdc.conf, has-server.conf), a CA and the node's
certificate, and starts the web server on its thread as has-server does; the KDC is
not started (``listening`` says what the server reports). ``header_authenticator``
stands in for SPNEGO and trusts the ``X-Test-Principal`` header. ``with_tgt`` adds
the TGT-over-HTTPS route, ``server_conf`` more has-server.conf lines under [HAS].
``Node.setup_headers()`` carries the node's current setup token, as kdcinit on the
node sends it.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from has_kdc.client.has_client import HasHttpsClient, client_ssl_context
from has_kdc.conf import load_conf_dir, read_has_server_conf
from has_kdc.formats.keytab import parse_keytab
from has_kdc.pki import create_ca, issue_server_cert
from has_kdc.web import (
    AuthResult,
    HasService,
    WebContext,
    WebServer,
    WebServerThread,
    server_ssl_context,
)
from has_kdc.web.setup_window import SETUP_TOKEN_HEADER, read_setup_token
from has_kdc.web.tgt_api import TgtService, tgt_routes
from tests.mitkrb import free_port

REALM = "HADOOP.COM"
ADMIN = f"kadmin/{REALM}@{REALM}"


def keytab_principals(data: bytes) -> set[str]:
    return {
        "/".join(e.principal.components) + "@" + e.principal.realm
        for e in parse_keytab(data).entries
    }


async def header_authenticator(request: web.Request) -> AuthResult | None:
    """A stand-in for SPNEGO: trusts X-Test-Principal (tests only)."""
    name = request.headers.get("X-Test-Principal")
    return AuthResult(name, {"X-Authenticated": name}) if name else None


def keytab_keys(data: bytes) -> set[tuple[str, int, int, bytes]]:
    """What a keytab holds, without the times it was written."""
    return {
        ("/".join(e.principal.components) + "@" + e.principal.realm, e.kvno, e.enctype, e.key)
        for e in parse_keytab(data).entries
    }


@dataclass
class Node:
    conf_dir: Path
    port: int
    http_port: int | None
    ca_file: Path
    listening: list[bool]
    thread: WebServerThread

    @property
    def service(self) -> HasService:
        return self.thread.server.context.service

    def setup_token(self) -> str | None:
        return read_setup_token(self.conf_dir)

    def setup_headers(self) -> dict[str, str]:
        """The header of the setup window, with the token as it is now (one use each)."""
        token = self.setup_token()
        assert token is not None, "no setup token: the realm is initialized or the server down"
        return {SETUP_TOKEN_HEADER: token}

    def init_realm(self) -> bytes:
        """Initialize the realm through the setup window, as kdcinit on the node does."""
        return self.client.request("PUT", "kdcinit", headers=self.setup_headers()).body

    @property
    def client(self) -> HasHttpsClient:
        return HasHttpsClient(
            [f"https://127.0.0.1:{self.port}/has/v1"], client_ssl_context(self.ca_file)
        )

    def raw(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        plain: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        if plain:
            assert self.http_port is not None
            conn: http.client.HTTPConnection = http.client.HTTPConnection(
                "127.0.0.1", self.http_port, timeout=10
            )
        else:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=10, context=client_ssl_context(self.ca_file)
            )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def error(self, method: str, path: str, body: bytes | None = None, **kw) -> tuple[int, dict]:
        status, headers, data = self.raw(method, path, body, **kw)
        assert headers["content-type"].startswith("application/json"), (status, data)
        parsed = json.loads(data)
        assert set(parsed) == {"error", "detail"}, parsed
        assert isinstance(parsed["detail"], str) and parsed["detail"]
        return status, parsed


def make_node(
    tmp: Path,
    *,
    enable_conf: bool = True,
    http: bool = False,
    with_tgt: bool = False,
    server_conf: dict[str, str] | None = None,
) -> Node:
    conf_dir = tmp / "conf"
    data_dir = tmp / "data"
    conf_dir.mkdir(parents=True)
    data_dir.mkdir()
    kdc_port, port = free_port(), free_port()
    (conf_dir / "kdc.conf").write_text(
        f"[kdcdefaults]\n  kdc_host = 127.0.0.1\n  kdc_udp_port = {kdc_port}\n"
        f"  kdc_tcp_port = {kdc_port}\n  kdc_realm = {REALM}\n  data_dir = {data_dir}\n"
    )
    http_port = free_port() if http else None
    lines = [
        "[HAS]",
        "  https_host = 127.0.0.1",
        f"  https_port = {port}",
        "  filter_auth_type = kerberos",
        f"  enable_conf = {'true' if enable_conf else 'false'}",
    ]
    if http_port:
        lines += ["  http_host = 127.0.0.1", f"  http_port = {http_port}"]
    lines += [f"  {key} = {value}" for key, value in (server_conf or {}).items()]
    lines += ["[PLUGIN]", "  auth_type = MySQL", ""]
    (conf_dir / "has-server.conf").write_text("\n".join(lines))
    ca = create_ca(tmp / "ca", "test CA")
    cert = issue_server_cert(ca, ["localhost"], ["127.0.0.1"], conf_dir)
    service = HasService(conf_dir, load_conf_dir(conf_dir), migrate=True)
    service.backend()  # creates the schema, as has-server's start-up does
    listening = [True]
    context = WebContext(
        service, kdc_listening=lambda: listening[0], authenticator=header_authenticator
    )
    routes = tgt_routes(TgtService.for_context(context)) if with_tgt else ()
    thread = WebServerThread(
        WebServer(
            context,
            read_has_server_conf(conf_dir / "has-server.conf"),
            server_ssl_context(cert.cert_path, cert.key_path),
            extra_routes=routes,
        )
    )
    thread.start()
    return Node(conf_dir, port, http_port, cert.trust_bundle_path, listening, thread)
