"""Who may call what: every route of a node, walked with every kind of caller.

The walk takes each route's access rule from the node's own OpenAPI document
(``x-has-access``) and checks that the node behaves as the rule says, anonymously,
with the setup token, as a plain user and as an administrator; with enable_conf true
and false; before and after the realm is initialized. It also pins the rules that
guard secrets: kdcinit and conf/* are ``conf``, admin/* are ``admin``, and only the
routes named in ``OPEN_ROUTES`` are open to anyone.

The node is has-server's web half on a thread (tests/webnode.py), with the admin API
and the TGT-over-HTTPS route, over SQLite. ``X-Test-Principal`` stands in for SPNEGO.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.admin import os_actor
from has_kdc.web.app import ROUTES_KEY
from has_kdc.web.auth import peer_is_local
from has_kdc.web.setup_window import SETUP_TOKEN_FILE, SETUP_TOKEN_HEADER
from tests.webnode import ADMIN, REALM, Node, keytab_keys, make_node

USER = f"alice@{REALM}"
#: who initializes the realm without HTTPS (as Ansible or kdcinit --local do)
LOCAL = os_actor("kdcinit")
CALLERS = ("anonymous", "setup-token", "user", "admin")
#: The only routes anyone may call (rule public or tls); every other route is conf or admin.
OPEN_ROUTES = {
    ("GET", "/has/v1/getkrb5conf"),
    ("GET", "/has/v1/gethasconf"),
    ("GET", "/has/v1/getcoresite"),
    ("GET", "/has/v1/getcert"),
    ("GET", "/has/v1/conf/getcert"),  # where HAS's Java HasClient fetches it
    ("GET", "/has/v1/conf/getkrb5conf"),  # has-project's paths
    ("GET", "/has/v1/conf/gethasclientconf"),
    ("GET", "/has/v1/hostroles"),
    ("GET", "/has/v1/kdcstart"),
    ("PUT", "/has/v1/kdcstart"),
    ("GET", "/has/v1/health"),
    ("GET", "/has/v1/openapi.json"),
    ("GET", "/metrics"),
    ("PUT", "/has/v1"),  # TGT over HTTPS: the plugin checks the credentials
}
CONF_ROUTES = {
    ("GET", "/has/v1/kdcinit"),
    ("PUT", "/has/v1/kdcinit"),
    ("PUT", "/has/v1/conf/setplugin"),
    ("PUT", "/has/v1/conf/configkdcbackend"),
    ("PUT", "/has/v1/conf/configkdc"),
}
REFUSAL_WORDS = {"unauthorized", "forbidden", "setup_token_required", "configuration_disabled"}


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for node in started:
        node.thread.stop()


def start(nodes: list[Node], tmp: Path, **kwargs: object) -> Node:
    node = make_node(tmp, with_tgt=True, **kwargs)  # type: ignore[arg-type]
    nodes.append(node)
    return node


def conf_files(node: Node) -> dict[str, str]:
    """The node's configuration as it is on disk (setup-token aside)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(node.conf_dir.iterdir())
        if p.is_file() and p.name != SETUP_TOKEN_FILE
    }


class Walker:
    """Sends one request per (route, caller) and checks it against the route's rule."""

    def __init__(self, node: Node, enable_conf: bool) -> None:
        self.node = node
        self.enable_conf = enable_conf
        self.last_token = "never-issued"
        self.rows: list[tuple[str, str, str, bool, str, int]] = []
        doc = json.loads(node.raw("GET", "/has/v1/openapi.json")[2])
        self.rules = {
            (method.upper(), path): op["x-has-access"]
            for path, ops in doc["paths"].items()
            for method, op in ops.items()
        }

    def routes(self) -> list[tuple[str, str]]:
        served = self.node.thread.server.app[ROUTES_KEY]
        return [(r.method, r.full_path) for r in served]

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "setup-token":
            token = self.node.setup_token()
            if token is not None:
                self.last_token = token
            return {SETUP_TOKEN_HEADER: self.last_token}  # after init: the last one seen
        if caller == "user":
            return {"X-Test-Principal": USER}
        if caller == "admin":
            return {"X-Test-Principal": ADMIN}
        return {}

    def expected(self, rule: str, caller: str, initialized: bool) -> tuple[int, str] | None:
        """The refusal the rule calls for, or None when the request must get through."""
        if rule in ("public", "tls") or caller == "admin":
            return None
        if rule == "admin" or initialized:
            return (403, "forbidden") if caller == "user" else (401, "unauthorized")
        if not self.enable_conf:
            return 403, "configuration_disabled"
        return None if caller == "setup-token" else (401, "setup_token_required")

    def call(self, route: tuple[str, str], caller: str, initialized: bool) -> None:
        method, path = route
        rule = self.rules[route]
        before = conf_files(self.node)
        status, headers, body = self.node.raw(method, path, None, self.headers(caller))
        state = "after init" if initialized else "before init"
        self.rows.append((method, path, caller, self.enable_conf, state, status))
        where = f"{method} {path} as {caller}, enable_conf={self.enable_conf}, {state}"
        assert status < 500 or (status == 503 and path.endswith("/health")), (where, body)
        refusal = self.expected(rule, caller, initialized)
        if refusal is None:
            if headers["content-type"].startswith("application/json"):
                parsed = json.loads(body)
                word = parsed.get("error") if isinstance(parsed, dict) else None
                assert word not in REFUSAL_WORDS, (where, body)
            assert status not in (401, 403), (where, body)
            return
        assert headers["content-type"].startswith("application/json"), (where, body[:80])
        assert (status, json.loads(body)["error"]) == refusal, (where, body)
        assert conf_files(self.node) == before, where  # a refused request changed nothing


def walk_node(node: Node, enable_conf: bool) -> list[tuple[str, str, str, bool, str, int]]:
    walker = Walker(node, enable_conf)
    routes = walker.routes()
    assert set(routes) == set(walker.rules), "the OpenAPI document lists every route"
    for route in routes:
        rule = walker.rules[route]
        if route in OPEN_ROUTES:
            assert rule in ("public", "tls"), route
        elif route in CONF_ROUTES:
            assert rule == "conf", route
        else:
            assert rule == "admin", route
    kdcinit = {("GET", "/has/v1/kdcinit"), ("PUT", "/has/v1/kdcinit")}
    for route in routes:
        for caller in CALLERS:
            # a kdcinit that gets through initializes the realm: done below, once
            if route in kdcinit and walker.expected("conf", caller, False) is None:
                continue
            walker.call(route, caller, initialized=False)
    # initialize: through the setup window if it is open, else as an administrator
    caller = "setup-token" if enable_conf else "admin"
    status, headers, body = node.raw("PUT", "/has/v1/kdcinit", None, walker.headers(caller))
    assert status == 200 and headers["x-has-realm-created"] == "true", body
    walker.rows.append(("PUT", "/has/v1/kdcinit", caller, enable_conf, "before init", status))
    for route in routes:
        for caller in CALLERS:
            walker.call(route, caller, initialized=True)
    return walker.rows


@pytest.mark.parametrize("enable_conf", [True, False], ids=["enable_conf", "no_enable_conf"])
def test_every_route_with_every_caller_before_and_after_init(nodes, tmp_path, enable_conf):
    node = start(nodes, tmp_path, enable_conf=enable_conf)
    rows = walk_node(node, enable_conf)
    summary = Counter((caller, state, status) for _, _, caller, _, state, status in rows)
    print(f"\nroute walk, enable_conf={enable_conf}: {len(rows)} requests")
    for (caller, state, status), count in sorted(summary.items()):
        print(f"  {caller:12} {state:12} {status}: {count}")
    assert len({(m, p) for m, p, *_ in rows}) >= 27  # default, admin and TGT routes


@pytest.mark.parametrize(
    ("enable_conf", "caller", "method"),
    [
        (True, "setup-token", "GET"),
        (True, "setup-token", "PUT"),
        (True, "admin", "GET"),
        (False, "admin", "PUT"),
    ],
)
def test_kdcinit_creates_the_realm_for_the_token_holder_or_an_admin(
    nodes, tmp_path, enable_conf, caller, method
):
    node = start(nodes, tmp_path, enable_conf=enable_conf)
    headers = Walker(node, enable_conf).headers(caller)
    status, answer, body = node.raw(method, "/has/v1/kdcinit", None, headers)
    assert status == 200 and answer["x-has-realm-created"] == "true"
    assert {name for name, *_ in keytab_keys(body)} == {ADMIN}


# ------------------------------------------------------------------ after init


def test_anonymous_kdcinit_after_init_is_401_without_key_bytes(nodes, tmp_path):
    node = start(nodes, tmp_path, enable_conf=True)
    outcome = node.service.init_realm(LOCAL)  # as Ansible or kdcinit --local do: no HTTPS
    keys = [key for *_, key in keytab_keys(outcome.keytab)]
    for method in ("GET", "PUT"):
        status, headers, body = node.raw(method, "/has/v1/kdcinit")
        assert status == 401, body
        assert headers["content-type"].startswith("application/json")
        assert headers["www-authenticate"] == "Negotiate"
        assert json.loads(body)["error"] == "unauthorized"
        assert "enable_conf" in json.loads(body)["detail"]
        assert not any(key in body for key in keys)
    status, _, body = node.raw("GET", "/has/v1/kdcinit", headers={"X-Test-Principal": USER})
    assert status == 403 and not any(key in body for key in keys)
    status, _, body = node.raw("GET", "/has/v1/kdcinit", headers={"X-Test-Principal": ADMIN})
    assert status == 200 and keytab_keys(body) == keytab_keys(outcome.keytab)


def test_anonymous_conf_changes_after_init_are_refused_and_change_nothing(nodes, tmp_path):
    node = start(nodes, tmp_path, enable_conf=True)
    node.service.init_realm(LOCAL)
    before = conf_files(node)
    json_type = {"Content-Type": "application/json"}
    attempts = [
        ("/has/v1/conf/setplugin?plugin=RAM", None),
        ("/has/v1/conf/setplugin", b'{"plugin": "RAM"}'),
        (
            "/has/v1/conf/configkdcbackend",
            json.dumps(
                {
                    "backendType": "mysql",
                    "url": "mysql://evil.example:3306/has",
                    "user": "evil",
                    "password": "evil-pw",
                }
            ).encode(),
        ),
        ("/has/v1/conf/configkdcbackend?backendType=sqlite&dir=/tmp", None),
        ("/has/v1/conf/configkdc?host=evil.example&port=88&realm=HADOOP.COM", None),
    ]
    for path, body in attempts:
        status, answer = node.error("PUT", path, body, headers=json_type)
        assert (status, answer["error"]) == (401, "unauthorized"), (path, answer)
    assert conf_files(node) == before
    assert (
        not (node.conf_dir / "backend.conf").exists()
        or "evil" not in (node.conf_dir / "backend.conf").read_text()
    )


# ------------------------------------------------------------------ the setup window


def test_setup_token_is_0600_single_use_and_never_logged(nodes, tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        node = start(nodes, tmp_path, enable_conf=True)
        path = node.conf_dir / SETUP_TOKEN_FILE
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        first = node.setup_token()
        assert first is not None and len(first) >= 40
        ok = {SETUP_TOKEN_HEADER: first}
        status, _, _ = node.raw("PUT", "/has/v1/conf/setplugin?plugin=RAM", headers=ok)
        assert status == 200
        second = node.setup_token()
        assert second is not None and second != first  # spent and replaced
        status, body = node.error("PUT", "/has/v1/conf/setplugin?plugin=MySQL", headers=ok)
        assert (status, body["error"]) == (401, "setup_token_required")
        status, body = node.error(
            "PUT", "/has/v1/conf/setplugin?plugin=MySQL", headers={SETUP_TOKEN_HEADER: "x" * 43}
        )
        assert status == 401
        node.init_realm()
    assert not path.exists()
    assert str(path) in caplog.text  # the log names the file ...
    for token in (first, second):
        assert token not in caplog.text  # ... never its content
    assert "setup window closed" in caplog.text


def test_the_window_closes_when_the_realm_is_initialized_elsewhere(nodes, tmp_path, caplog):
    node = start(nodes, tmp_path, enable_conf=True)
    token = node.setup_token()
    assert token is not None
    with caplog.at_level(logging.INFO):
        node.service.init_realm(LOCAL)  # another node, Ansible, kdcinit --local: not this server
        deadline = time.monotonic() + 30
        closed = "setup window closed (the realm is initialized)"
        while closed not in caplog.text:  # the watcher notices
            assert time.monotonic() < deadline, "the setup window outlived the init"
            time.sleep(0.1)
    assert not (node.conf_dir / SETUP_TOKEN_FILE).exists()
    status, body = node.error("GET", "/has/v1/kdcinit", headers={SETUP_TOKEN_HEADER: token})
    assert (status, body["error"]) == (401, "unauthorized")


def test_no_window_when_the_realm_was_initialized_before_start(tmp_path):
    first = make_node(tmp_path, enable_conf=True)
    try:
        first.init_realm()
    finally:
        first.thread.stop()
    # a stale token file, as if a crashed run had left it
    (first.conf_dir / SETUP_TOKEN_FILE).write_text("stale\n")
    from has_kdc.conf import load_conf_dir, read_has_server_conf
    from has_kdc.web import HasService, WebContext, WebServer, WebServerThread
    from has_kdc.web.tls import server_ssl_context
    from tests.webnode import header_authenticator

    context = WebContext(
        HasService(first.conf_dir, load_conf_dir(first.conf_dir)),
        authenticator=header_authenticator,
    )
    server = WebServer(
        context,
        read_has_server_conf(first.conf_dir / "has-server.conf"),
        server_ssl_context(first.conf_dir / "server.pem", first.conf_dir / "server.key"),
    )
    thread = WebServerThread(server)
    thread.start()
    try:
        assert not (first.conf_dir / SETUP_TOKEN_FILE).exists()
        assert context.setup_window.state == "closed"
        status, _, _ = first.raw("PUT", "/has/v1/kdcinit", headers={SETUP_TOKEN_HEADER: "stale"})
        assert status == 401
    finally:
        thread.stop()


# ------------------------------------------------------------------ health


def test_health_says_up_or_down_to_strangers_and_more_to_the_node_and_admins(nodes, tmp_path):
    node = start(nodes, tmp_path)
    node.init_realm()
    context = node.thread.server.context
    context.is_local = lambda request: False  # as a client on another host
    status, _, body = node.raw("GET", "/has/v1/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    node.listening[0] = False
    status, _, body = node.raw("GET", "/has/v1/health")
    assert (status, json.loads(body)) == (503, {"status": "unavailable"})
    status, _, body = node.raw("GET", "/has/v1/health", headers={"X-Test-Principal": USER})
    assert json.loads(body) == {"status": "unavailable"}
    status, _, body = node.raw("GET", "/has/v1/health", headers={"X-Test-Principal": ADMIN})
    full = json.loads(body)
    assert full["database"]["backend"] == "sqlite" and full["kdc"]["listening"] is False
    context.is_local = lambda request: True
    status, _, body = node.raw("GET", "/has/v1/health")
    assert json.loads(body)["realm"] == {"name": REALM, "initialized": True}


def test_metrics_name_other_nodes_only_to_the_node_and_admins(nodes, tmp_path):
    node = start(nodes, tmp_path)
    node.init_realm()
    context = node.thread.server.context
    context.is_local = lambda request: False  # a scraper on another host
    _, _, body = node.raw("GET", "/metrics")
    text = body.decode()
    assert "has_kdc_listening 1" in text and "has_http_connections_open" in text
    assert "has_cluster_node" not in text and "has_database_host" not in text
    _, _, body = node.raw("GET", "/metrics", headers={"X-Test-Principal": USER})
    assert "has_cluster_node" not in body.decode()
    _, _, body = node.raw("GET", "/metrics", headers={"X-Test-Principal": ADMIN})
    assert "# TYPE has_cluster_node_up gauge" in body.decode()
    context.is_local = lambda request: True
    _, _, body = node.raw("GET", "/metrics")
    assert "# TYPE has_cluster_node_up gauge" in body.decode()


def test_which_peers_are_the_node_itself():
    assert peer_is_local("127.0.0.1", "127.0.1.1")
    assert peer_is_local("::1", "::1")
    assert peer_is_local("::ffff:127.0.0.1", "::ffff:10.0.0.5")
    assert peer_is_local("10.0.0.5", "10.0.0.5")  # the node calling its own address
    assert not peer_is_local("10.0.0.6", "10.0.0.5")
    assert not peer_is_local("not an address", "10.0.0.5")


def test_a_real_loopback_client_is_local(nodes, tmp_path):
    node = start(nodes, tmp_path)
    status, _, body = node.raw("GET", "/has/v1/health")
    assert status == 503 and json.loads(body)["database"]["reachable"] is True
