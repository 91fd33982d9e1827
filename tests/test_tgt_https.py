"""``PUT /has/v1`` over real TLS, in process: the aiohttp app with the TGT route, the
client with failover (stub nodes that refuse, fail, or say 401), login-test, MIT klist.

The node is has-server's web half on a thread (the KDC is not started); the full
has-server end to end, with kvno and two nodes on MariaDB, is tests/test_tgt_e2e.py.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import io
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from has_kdc.admin import Actor
from has_kdc.backend import PluginUser
from has_kdc.cli import login_test
from has_kdc.client.has_client import client_ssl_context
from has_kdc.client.tgt_client import HasTgtClient, TgtRequestError, request_tgt
from has_kdc.conf import load_conf_dir, read_has_server_conf
from has_kdc.conf.has_client import parse_has_client_conf
from has_kdc.formats import read_ccache
from has_kdc.pki import create_ca, issue_server_cert, load_ca
from has_kdc.plugins.mysql import MySqlClientPlugin
from has_kdc.plugins.passwords import ScryptParams, hash_password
from has_kdc.plugins.ram import add_ram_credential
from has_kdc.plugins.token import encode_token
from has_kdc.web import HasService, WebContext, WebServer, WebServerThread, server_ssl_context
from has_kdc.web.ratelimit import Backoff, Limit, TgtLimits
from has_kdc.web.tgt_api import TgtService, tgt_routes
from tests.mitkrb import MitClient, free_port

REALM = "HADOOP.COM"
ACTOR = Actor("pytest", "test")
FAST = ScryptParams(ln=4, r=8, p=1)
LIMITS = TgtLimits(
    pair=Backoff(free=3, base=60, cap=60, forget_after=3600),
    user_failures=Limit(20, 1 / 60),
    address_failures=Limit(10, 1 / 60),
    address_requests=Limit(50, 50),
)


@dataclass
class TgtNode:
    tmp: Path
    conf_dir: Path
    port: int
    ca_file: Path
    service: HasService
    tgt: TgtService
    thread: WebServerThread

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/has/v1"

    def client_conf_dir(self, *urls_hosts: str, auth_type: str = "MySQL") -> Path:
        """A conf_dir holding has-client.conf for this node (plus ``urls_hosts`` first)."""
        out = self.tmp / f"client-{len(list(self.tmp.glob('client-*')))}"
        out.mkdir()
        hosts = ",".join([*urls_hosts, "127.0.0.1"])
        (out / "has-client.conf").write_text(
            f"[HAS]\n  https_host = {hosts}\n  https_port = {self.port}\n"
            f"  ssl_ca_file = {self.ca_file}\n[PLUGIN]\n  auth_type = {auth_type}\n"
        )
        return out

    def put(
        self,
        path: str,
        body: bytes | None,
        headers: dict[str, str] | None = None,
        *,
        source: str = "127.0.0.1",
    ):
        """One PUT; ``source``: the client address the node sees (any 127.x is local)."""
        import http.client

        conn = http.client.HTTPSConnection(
            "127.0.0.1",
            self.port,
            timeout=10,
            context=client_ssl_context(self.ca_file),
            source_address=(source, 0),
        )
        try:
            conn.request("PUT", path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), json.loads(resp.read() or b"{}")
        finally:
            conn.close()


def start_node(tmp: Path, *, auth_type: str = "MySQL", limits: TgtLimits = LIMITS) -> TgtNode:
    conf_dir = tmp / "conf"
    data_dir = tmp / "data"
    conf_dir.mkdir(parents=True)
    data_dir.mkdir()
    kdc_port, port = free_port(), free_port()
    (conf_dir / "kdc.conf").write_text(
        f"[kdcdefaults]\n  kdc_host = 127.0.0.1\n  kdc_udp_port = {kdc_port}\n"
        f"  kdc_tcp_port = {kdc_port}\n  kdc_realm = {REALM}\n  data_dir = {data_dir}\n"
    )
    (conf_dir / "has-server.conf").write_text(
        f"[HAS]\n  https_host = 127.0.0.1\n  https_port = {port}\n"
        f"[PLUGIN]\n  auth_type = {auth_type}\n"
    )
    ca = create_ca(tmp / "ca", "test CA")
    cert = issue_server_cert(ca, ["localhost"], ["127.0.0.1"], conf_dir)
    service = HasService(conf_dir, load_conf_dir(conf_dir), migrate=True)
    service.init_realm(ACTOR)
    context = WebContext(service)
    tgt = TgtService.for_context(context, limits=limits)
    server_conf = read_has_server_conf(conf_dir / "has-server.conf")
    thread = WebServerThread(
        WebServer(
            context,
            server_conf,
            server_ssl_context(cert.cert_path, cert.key_path),
            extra_routes=tgt_routes(tgt),
        )
    )
    thread.start()
    return TgtNode(tmp, conf_dir, port, cert.trust_bundle_path, service, tgt, thread)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[TgtNode]:
    n = start_node(tmp_path)
    n.service.backend().put_plugin_user(PluginUser("hdfs", hash_password("test", params=FAST)))
    try:
        yield n
    finally:
        n.thread.stop()


def _claims(user: str = "hdfs", secret: str = "test") -> dict:  # noqa: S107
    return MySqlClientPlugin().make_token(None, {"userName": user, "password": secret})


def _body(claims: dict, **extra: object) -> bytes:
    return json.dumps({"type": "MySQL", "authToken": encode_token(claims), **extra}).encode()


JSON = {"Content-Type": "application/json"}


# ---------------------------------------------------------------------- the endpoint


def test_tgt_json_body_and_has_query_form(node, tmp_path):
    client_conf = parse_has_client_conf((node.client_conf_dir() / "has-client.conf").read_text())
    creds = request_tgt(client_conf, "MySQL", _claims())
    assert creds.client == f"hdfs@{REALM}"
    assert creds.server == f"krbtgt/{REALM}@{REALM}"

    # HAS's HasClient: PUT /has/v1?type=MySQL&authToken=<JWT>, empty JSON body.
    token = encode_token(_claims())
    status, _headers, answer = node.put(f"/has/v1?type=MySQL&authToken={token}", b"", JSON)
    assert status == 200
    assert (answer["type"], answer["success"]) == ("MySQL", "true")
    assert base64.b64decode(answer["krbMessage"])[:1] == b"\x6b"  # [APPLICATION 11] AS-REP


def test_wrong_password_is_401_and_says_so(node):
    status, _h, answer = node.put("/has/v1", _body(_claims(secret="guess")), JSON)
    assert status == 401
    assert answer == {"error": "authentication_failed", "detail": "wrong user name or password"}


def test_a_full_password_check_queue_is_503_with_retry_after(node):
    pool = node.tgt.hash_pool
    assert pool is not None
    with contextlib.ExitStack() as held:
        for _ in range(pool.capacity):
            held.enter_context(pool.slot())
        status, headers, answer = node.put("/has/v1", _body(_claims()), JSON)
        assert (status, answer["error"]) == (503, "busy")
        assert int(headers["Retry-After"]) >= 1 and "try again in" in answer["detail"]
    status, _h, answer = node.put("/has/v1", _body(_claims()), JSON)
    assert status == 200 and answer["success"] == "true"


def test_rate_limit_engages_with_retry_after_for_that_address_only(node):
    for _ in range(3):
        assert (
            node.put("/has/v1", _body(_claims(secret="guess")), JSON, source="127.0.0.9")[0] == 401
        )
    status, headers, answer = node.put("/has/v1", _body(_claims()), JSON, source="127.0.0.9")
    assert status == 429  # the guessing address waits, even with the right password
    assert answer["error"] == "rate_limited"
    assert int(headers["Retry-After"]) == 60
    # hdfs from an address that has not failed is not locked out
    assert node.put("/has/v1", _body(_claims()), JSON, source="127.0.0.10")[0] == 200
    # another user from the guessing address is not blocked by hdfs's failures
    node.service.backend().put_plugin_user(PluginUser("yarn", hash_password("y", params=FAST)))
    assert node.put("/has/v1", _body(_claims("yarn", "y")), JSON, source="127.0.0.9")[0] == 200


def test_rate_limit_recovers(tmp_path):
    limits = TgtLimits(
        pair=Backoff(free=1, base=1, cap=1, forget_after=60),
        address_failures=Limit(10, 20),
        address_requests=Limit(50, 50),
    )
    n = start_node(tmp_path, limits=limits)
    try:
        n.service.backend().put_plugin_user(PluginUser("hdfs", hash_password("test", params=FAST)))
        assert n.put("/has/v1", _body(_claims(secret="x")), JSON)[0] == 401
        assert n.put("/has/v1", _body(_claims()), JSON)[0] == 429
        import time

        time.sleep(1.1)  # one try a second after a failure
        assert n.put("/has/v1", _body(_claims()), JSON)[0] == 200
    finally:
        n.thread.stop()


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"type": "MySQL", "authToken": "not-a-jwt"}', 400, "bad_token"),
        (b'{"type": "MySQL", "authToken": "e30.e30.sig"}', 400, "bad_token"),
        (b'{"type": "MySQL"}', 400, "bad_request"),
        (b'{"type": "LDAP", "authToken": "e30.e30."}', 400, "plugin_not_enabled"),
        (b'{"type": "MySQL", "authToken": "e30.e30.", "nonce": -1}', 400, "bad_request"),
    ],
)
def test_bad_requests(node, body, status, error):
    got, _h, answer = node.put("/has/v1", body, JSON)
    assert (got, answer["error"]) == (status, error), answer


def test_token_without_user_fields_is_bad_token(node):
    status, _h, answer = node.put("/has/v1", _body({"iss": "has"}), JSON)
    assert (status, answer["error"]) == (400, "bad_token")
    assert "user or sub" in answer["detail"]


def test_disabled_user_and_locked_principal(node):
    backend = node.service.backend()
    backend.put_plugin_user(PluginUser("hdfs", hash_password("test", params=FAST), disabled=True))
    status, _h, answer = node.put("/has/v1", _body(_claims()), JSON)
    assert (status, answer["detail"]) == (401, "plugin user hdfs is disabled")
    backend.put_plugin_user(PluginUser("hdfs", hash_password("test", params=FAST)))
    from has_kdc.admin import PrincipalAdmin

    admin = PrincipalAdmin(backend, node.service.conf.kdc, ACTOR)
    admin.add_principal("hdfs", randkey=True, attributes={"allow_tix": False})
    import time

    time.sleep(1.1)  # the principal cache sees changes within a second
    status, _h, answer = node.put("/has/v1", _body(_claims()), JSON)
    # hdfs@REALM has keys of its own: the plugin user must be linked to it first
    assert (status, answer["error"]) == (403, "principal_not_allowed")
    admin.plugin_users.modify("hdfs", linked=True)
    status, _h, answer = node.put("/has/v1", _body(_claims()), JSON)
    assert (status, answer["error"]) == (403, "kdc_refused")
    assert "CLIENT_REVOKED" in answer["detail"]


def test_database_down_is_503(node):
    class Down:
        def get_plugin_user(self, name):
            from has_kdc.backend import BackendUnavailable

            raise BackendUnavailable("cannot reach the database")

    node.tgt.plugin_context = type(node.tgt.plugin_context)(
        REALM, node.conf_dir, lambda: Down(), node.tgt.plugin_context.clock
    )
    status, _h, answer = node.put("/has/v1", _body(_claims()), JSON)
    assert (status, answer["error"]) == (503, "plugin_unavailable")


def test_audit_log_names_user_never_secret(node, caplog):
    with caplog.at_level("INFO", logger="has_kdc.web.audit"):
        node.put("/has/v1", _body(_claims(secret="wrong-Secret-1")), JSON)
        node.put("/has/v1", _body(_claims()), JSON)
    text = caplog.text
    assert "user hdfs from 127.0.0.1: FAILED" in text
    assert f"user hdfs from 127.0.0.1: ISSUE: hdfs@{REALM}" in text
    assert "wrong-Secret-1" not in text and "test" not in text.replace("tests", "")


def test_ram_plugin_end_to_end(tmp_path):
    n = start_node(tmp_path, auth_type="RAM")
    try:
        store = n.conf_dir / "ram-credentials.json"
        add_ram_credential(store, "LTAIkey", "SK-secret", "alice", params=FAST)
        conf_dir = n.client_conf_dir(auth_type="RAM")
        cache = tmp_path / "ram.ccache"
        env = {"AccessKeyId": "LTAIkey", "AccessKeySecret": "SK-secret", "KRB5CCNAME": str(cache)}
        out, err = io.StringIO(), io.StringIO()
        code = login_test.main(["tgt", str(conf_dir)], environ=env, stdout=out, stderr=err)
        assert code == 0, err.getvalue()
        assert f"Login successful for alice@{REALM}" in out.getvalue()
        assert "(RAM)" in out.getvalue()
        assert str(read_ccache(cache).default_principal) == f"alice@{REALM}"
        env["AccessKeySecret"] = "not-it"
        out, err = io.StringIO(), io.StringIO()
        assert login_test.main(["tgt", str(conf_dir)], environ=env, stdout=out, stderr=err) == 1
        assert "AccessKey pair is not valid" in err.getvalue()
        # a MySQL token at a RAM node: not enabled there
        status, _h, answer = n.put("/has/v1", _body(_claims()), JSON)
        assert (status, answer["error"]) == (400, "plugin_not_enabled")
    finally:
        n.thread.stop()


# ---------------------------------------------------------------------- login-test


def test_login_test_tgt_writes_a_ccache_mit_klist_lists(node, tmp_path):
    conf_dir = node.client_conf_dir()
    cache = tmp_path / "cc"
    out, err = io.StringIO(), io.StringIO()
    env = {"userName": "hdfs", "password": "test", "KRB5CCNAME": f"FILE:{cache}"}
    code = login_test.main(
        ["tgt", str(conf_dir), "MySQL"], environ=env, stdout=out, stderr=err, stdin=io.StringIO()
    )
    assert code == 0, err.getvalue()
    line = out.getvalue()
    assert line.startswith(f"Login successful for hdfs@{REALM} via {node.url} (MySQL); ")
    assert f"ticket cache FILE:{cache}, valid until " in line
    cc = read_ccache(cache)
    assert str(cc.default_principal) == f"hdfs@{REALM}"
    mit = MitClient(tmp_path / "mit", REALM, ["127.0.0.1:1"])
    listing = mit.run("klist", "-f", env={"KRB5CCNAME": f"FILE:{cache}"}).stdout
    assert f"Default principal: hdfs@{REALM}" in listing
    assert f"krbtgt/{REALM}@{REALM}" in listing
    assert "Flags: FPIA" in listing or "Flags: FPRIA" in listing


def test_login_test_order_variants_and_failures(node, tmp_path):
    conf_dir = node.client_conf_dir()
    env = {"HAS_USER": "hdfs", "HAS_PASSWORD": "test", "KRB5CCNAME": str(tmp_path / "c2")}
    out, err = io.StringIO(), io.StringIO()
    code = login_test.main([str(conf_dir), "tgt"], environ=env, stdout=out, stderr=err)
    assert code == 0, err.getvalue()  # type from has-client.conf's auth_type

    env["HAS_PASSWORD"] = "wrong"
    out, err = io.StringIO(), io.StringIO()
    code = login_test.main(
        [str(conf_dir), "tgt", "MySQL"], environ=env, stdout=out, stderr=err, stdin=io.StringIO()
    )
    assert code == 1
    assert "login failed" in err.getvalue() and "401" in err.getvalue()
    assert "wrong user name or password" in err.getvalue()
    assert "wrong" not in err.getvalue().replace("wrong user name", "")

    out, err = io.StringIO(), io.StringIO()
    code = login_test.main(["tgt", str(tmp_path / "nowhere")], environ={}, stdout=out, stderr=err)
    assert code == 1 and "has-client.conf does not exist" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    code = login_test.main(
        ["tgt", str(conf_dir)], environ={}, stdout=out, stderr=err, stdin=io.StringIO()
    )
    assert code == 1 and "set userName" in err.getvalue()
    with pytest.raises(SystemExit):
        login_test.main([], stdout=out, stderr=err)
    assert login_test.main(["frobnicate", "x"], stdout=out, stderr=err) == 2


# ---------------------------------------------------------------------- failover


class _Stub(http.server.BaseHTTPRequestHandler):
    """A node that answers every PUT with a fixed status (and counts requests)."""

    status = 503
    counts: dict[int, int]

    def do_PUT(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        body = json.dumps({"error": "x", "detail": f"stub {self.server.status}"}).encode()  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub_factory(node: TgtNode, tmp_path: Path):
    servers = []
    ca = load_ca(node.tmp / "ca")  # the node's CA: the client trusts the stubs too
    cert = issue_server_cert(ca, ["localhost"], ["127.0.0.2"], tmp_path / "stubcert")

    def make(status: int) -> tuple[str, http.server.HTTPServer]:
        server = http.server.ThreadingHTTPServer(("127.0.0.2", node.port), _Stub)
        server.status = status  # type: ignore[attr-defined]
        server.hits = 0  # type: ignore[attr-defined]
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return "127.0.0.2", server

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def _client(node: TgtNode, hosts: list[str]) -> HasTgtClient:
    urls = [f"https://{h}:{node.port}/has/v1" for h in hosts]
    return HasTgtClient(urls, client_ssl_context(node.ca_file), timeout=5)


def test_failover_skips_refused_and_5xx_nodes(node, stub_factory):
    stub_host, stub = stub_factory(503)
    # 127.0.0.3: nothing listens there (connection refused)
    with _client(node, ["127.0.0.3", stub_host, "127.0.0.1"]) as client:
        login = client.request_tgt("MySQL", _claims(), passphrase=b"hdfstest")
    assert login.url == node.url
    assert [why for _u, why in login.skipped] == ["connection refused", "HTTP 503 stub 503"]
    assert stub.hits == 1  # type: ignore[attr-defined]


def test_failover_stops_at_401(node, stub_factory):
    stub_host, _stub = stub_factory(401)
    with _client(node, [stub_host, "127.0.0.1"]) as client, pytest.raises(TgtRequestError) as info:
        client.request_tgt("MySQL", _claims(), passphrase=b"hdfstest")
    assert info.value.status == 401
    assert "stub 401" in str(info.value)
    # the real node was not asked: its audit would show it, and its limits are untouched
    assert node.tgt.address_requests.retry_after("127.0.0.1") == 0
    assert len(node.tgt.address_requests) == 0


def test_all_nodes_down_names_each(node):
    client = _client(node, ["127.0.0.3", "127.0.0.4"])
    with client, pytest.raises(TgtRequestError) as info:
        client.request_tgt("MySQL", _claims(), passphrase=b"hdfstest")
    text = str(info.value)
    assert "no HAS node gave a TGT" in text
    assert "127.0.0.3" in text and "127.0.0.4" in text and "connection refused" in text


def test_untrusted_certificate_is_skipped_not_trusted(node, tmp_path):
    other_ca = create_ca(tmp_path / "other-ca", "other CA")
    with (
        HasTgtClient([node.url], client_ssl_context(other_ca.cert_path), timeout=5) as client,
        pytest.raises(TgtRequestError, match="TLS certificate not trusted"),
    ):
        client.request_tgt("MySQL", _claims(), passphrase=b"hdfstest")


def test_keep_alive_reuses_one_connection(node):
    with _client(node, ["127.0.0.1"]) as client:
        for _ in range(3):
            client.request_tgt("MySQL", _claims(), passphrase=b"hdfstest")
        conn = client._connections[node.url]
        assert conn.sock is not None  # still open after three requests


def test_register_tgt_routes_on_an_app_refuses_plain_http(tmp_path):
    """register_tgt_routes: the route added to a built app keeps its own HTTPS rule."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from has_kdc.web import create_app
    from has_kdc.web.tgt_api import register_tgt_routes

    n = start_node(tmp_path)
    try:
        context = WebContext(n.service)
        app = create_app(context)
        service = register_tgt_routes(app, context)
        assert isinstance(service, TgtService)

        async def scenario() -> tuple[int, dict]:
            async with TestClient(TestServer(app)) as client:
                resp = await client.put("/has/v1", data=_body(_claims()), headers=JSON)
                return resp.status, await resp.json()

        status, answer = asyncio.run(scenario())
        assert (status, answer["error"]) == (403, "https_required")
        context.executor.shutdown(wait=False)
    finally:
        n.thread.stop()
