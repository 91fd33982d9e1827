"""The /has/v1 REST API served for real over HTTPS (one node, SQLite), in this process.

The web server runs on its thread as in has-server; requests go through TLS with the
cluster CA, by the project's HTTPS client or raw http.client where a test needs to
send something malformed.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.backend import Principal, open_backend
from has_kdc.client.has_client import HasClientError, HasResponse, client_ssl_context
from has_kdc.conf import load_conf_dir, read_backend_conf, read_has_server_conf, set_enable_conf
from has_kdc.pki import CA_CERT_FILE
from has_kdc.web import admin_api, default_routes
from tests.webnode import ADMIN, REALM, Node, keytab_keys, keytab_principals, make_node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = make_node(tmp_path)
    try:
        yield n
    finally:
        n.thread.stop()


# ------------------------------------------------------------------ errors are JSON


def test_unknown_path_is_404_json(node):
    status, body = node.error("GET", "/has/v1/nosuchthing")
    assert status == 404 and body["error"] == "not_found"
    status, body = node.error("GET", "/")
    assert status == 404


def test_wrong_verb_is_405_json_with_allow(node):
    status, headers, data = node.raw("DELETE", "/has/v1/getkrb5conf")
    assert status == 405
    assert headers["allow"] == "GET"
    assert json.loads(data)["error"] == "method_not_allowed"
    status, body = node.error("POST", "/has/v1/conf/configkdc")
    assert status == 405 and "PUT" in body["detail"]


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("port=abc&realm=HADOOP.COM&host=h", "integer"),
        ("port=0&realm=HADOOP.COM&host=h", "at least 1"),
        ("port=88&host=h", "missing parameter(s): realm"),
        ("port=88&realm=HADOOP.COM&host=h&colour=red", "unknown parameter 'colour'"),
        ("port=88&port=89&realm=HADOOP.COM&host=h", "given 2 times"),
        ("port=88&realm=BAD%20REALM&host=h", "not a realm name"),
        ("port=88&realm=HADOOP.COM&host=bad_host!", "not a host name"),
    ],
)
def test_bad_parameters_are_400(node, query, word):
    before = (node.conf_dir / "kdc.conf").read_text()
    status, body = node.error(
        "PUT", f"/has/v1/conf/configkdc?{query}", headers=node.setup_headers()
    )
    assert status == 400, body
    assert word in body["detail"]
    assert (node.conf_dir / "kdc.conf").read_text() == before


def test_invalid_json_bodies_are_4xx(node):
    def put(body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
        headers = {"Content-Type": content_type, **node.setup_headers()}
        return node.error("PUT", "/has/v1/conf/configkdc", body, headers=headers)

    status, body = put(b'{"port": 88,')
    assert (status, body["error"]) == (400, "invalid_json")
    status, body = put(b"[1, 2]")
    assert (status, body["error"]) == (400, "invalid_json")
    status, body = put(b'{"port": "x", "realm": "R", "host": "h"}')
    assert status == 400 and "integer" in body["detail"]
    status, body = put(b"port=88", "text/plain")
    assert status == 415
    status, body = put(b"x" * 200_000)
    assert status == 413
    # json.loads recurses: nesting deeper than the interpreter's limit is a client error
    for deep in (b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        status, body = put(deep)
        assert (status, body["error"]) == (400, "invalid_json"), body


@pytest.mark.parametrize("number", ["1" * 5000, "--5", "\u00b2", "\u0661", "+"])
def test_integers_that_int_refuses_are_400_not_500(node, number):
    body = f'{{"host": "h", "port": "{number}", "realm": "HADOOP.COM"}}'.encode()
    headers = {"Content-Type": "application/json", **node.setup_headers()}
    status, answer = node.error("PUT", "/has/v1/conf/configkdc", body, headers=headers)
    assert status == 400 and "integer" in answer["detail"], answer


# ------------------------------------------------------------------ realm and configs


def test_kdcinit_returns_the_admin_keytab_once_created(node):
    first = node.client.request("PUT", "kdcinit", headers=node.setup_headers())
    assert first.headers["x-has-realm-created"] == "true"
    assert first.headers["cache-control"] == "no-store"
    principals = keytab_principals(first.body)
    assert principals == {ADMIN}
    assert node.setup_token() is None  # the window closed with the init
    again = node.client.request("GET", "kdcinit", headers={"X-Test-Principal": ADMIN})
    assert again.headers["x-has-realm-created"] == "false"
    assert keytab_keys(again.body) == keytab_keys(first.body)  # init never re-keys
    assert node.client.get("kdcstart").json()["initialized"] is True


def test_client_configs_name_this_node(node):
    node.init_realm()
    krb5 = node.client.get("getkrb5conf")
    assert krb5.headers["content-disposition"] == "attachment; filename=krb5.conf"
    conf = load_conf_dir(node.conf_dir).kdc
    assert f"kdc = 127.0.0.1:{conf.kdc_udp_port}" in krb5.text()
    has = node.client.get("gethasconf").text()
    assert "https_host = 127.0.0.1" in has and f"https_port = {node.port}" in has
    assert "auth_type = MySQL" in has
    core = node.client.get("getcoresite").text()
    assert f"https://127.0.0.1:{node.port}/has/v1?auth_type=MySQL" in core
    roles = node.client.get("hostroles").json()
    assert {"HostRole": "HDFS", "PrincipalNames": ["HTTP", "hdfs"]} in roles
    pem = node.client.get("getcert").body
    assert pem == node.ca_file.read_bytes()


def test_conf_endpoints_edit_files_and_are_closed_without_enable_conf(node, caplog):
    def setup_put(path: str, json_body: dict) -> HasResponse:
        return node.client.request("PUT", path, json_body=json_body, headers=node.setup_headers())

    msg = setup_put("conf/setplugin", {"plugin": "RAM"}).json()["msg"]
    assert "RAM" in msg
    assert read_has_server_conf(node.conf_dir / "has-server.conf").auth_type == "RAM"
    assert "auth_type = RAM" in node.client.get("gethasconf").text()

    setup_put("conf/configkdc", {"host": "emr-header-1", "port": 88, "realm": REALM})
    kdc = load_conf_dir(node.conf_dir).kdc
    assert (kdc.kdc_host, kdc.kdc_tcp_port, kdc.kdc_realm) == ("emr-header-1", 88, REALM)

    secret = "db-Secret-77"
    with caplog.at_level(logging.DEBUG):
        answer = setup_put(
            "conf/configkdcbackend",
            {
                "backendType": "mysql",
                "url": "jdbc:mysql://127.0.0.1:3306/has",
                "user": "has",
                "password": secret,
            },
        )
    assert secret not in answer.text() and secret not in caplog.text
    path = node.conf_dir / "backend.conf"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    backend = read_backend_conf(path, environ={})
    assert (backend.kind, backend.mysql_database, backend.mysql_password) == (
        "mysql",
        "has",
        secret,
    )

    status, body = node.error(
        "PUT", "/has/v1/conf/configkdcbackend?backendType=json", headers=node.setup_headers()
    )
    assert status == 400 and "json" in body["detail"]
    # a password in the URL is refused, with the way to send it
    status, body = node.error(
        "PUT",
        "/has/v1/conf/configkdcbackend?backendType=mysql&url=mysql://h/has&user=has&password=pw1",
        headers=node.setup_headers(),
    )
    assert status == 400 and "JSON body" in body["detail"] and "pw1" not in body["detail"]

    set_enable_conf(node.conf_dir / "has-server.conf", False)
    status, body = node.error(
        "PUT", "/has/v1/conf/setplugin?plugin=MySQL", headers=node.setup_headers()
    )
    assert (status, body["error"]) == (403, "configuration_disabled")
    status, body = node.error("GET", "/has/v1/kdcinit", headers=node.setup_headers())
    assert status == 403
    # an administrator may still use them
    status, _, _ = node.raw(
        "PUT", "/has/v1/conf/setplugin?plugin=MySQL", headers={"X-Test-Principal": ADMIN}
    )
    assert status == 200


def test_configkdc_refuses_another_realm_once_initialized(node):
    node.init_realm()
    status, body = node.error(
        "PUT",
        "/has/v1/conf/configkdc?host=h&port=88&realm=OTHER.COM",
        headers={"X-Test-Principal": ADMIN},
    )
    assert status == 409 and "HADOOP.COM" in body["detail"]


# ------------------------------------------------------------------ health, metrics, OpenAPI


def test_health_reports_init_and_kdc_state(node):
    status, _, data = node.raw("GET", "/has/v1/health")
    body = json.loads(data)
    assert status == 503
    assert body["database"]["reachable"] is True and body["realm"]["initialized"] is False
    node.init_realm()
    assert node.client.get("health").json()["status"] == "ok"
    node.listening[0] = False
    status, _, data = node.raw("GET", "/has/v1/health")
    assert status == 503 and json.loads(data)["kdc"]["listening"] is False
    with pytest.raises(HasClientError) as info:
        node.client.get("kdcstart")
    assert info.value.status == 503


def test_metrics_count_requests_by_route_template(node):
    node.raw("GET", "/has/v1/nosuchthing")
    node.raw("GET", "/has/v1/getkrb5conf")
    node.raw("PUT", "/has/v1/conf/configkdc?port=x&host=h&realm=R")
    text = node.client.get("/metrics").text()
    assert 'has_http_requests_total{path="unmatched",method="GET",status="404"} 1' in text
    assert 'has_http_requests_total{path="/has/v1/getkrb5conf",method="GET",status="200"} 1' in text
    assert (
        'has_http_requests_total{path="/has/v1/conf/configkdc",method="PUT",status="401"} 1' in text
    )
    assert (
        'has_http_request_duration_seconds_count{path="/has/v1/getkrb5conf",method="GET"} 1' in text
    )
    assert "has_database_up 1" in text and "has_realm_initialized 0" in text


def test_openapi_document_lists_the_served_routes(node):
    doc = node.client.get("openapi.json").json()
    served = {(r.method.lower(), r.full_path) for r in default_routes()}
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == described


# ------------------------------------------------------------------ admin endpoints


def test_admin_endpoints_deny_by_default_and_serve_admins(node):
    node.init_realm()
    status, headers, data = node.raw("GET", "/has/v1/admin/getprincipals")
    assert status == 401 and headers["www-authenticate"] == "Negotiate"
    assert json.loads(data)["error"] == "unauthorized"
    status, body = node.error(
        "GET", "/has/v1/admin/getprincipals", headers={"X-Test-Principal": f"alice@{REALM}"}
    )
    assert status == 403
    admin = {"X-Test-Principal": ADMIN, "Content-Type": "application/json"}
    status, headers, data = node.raw(
        "POST", "/has/v1/admin/addprincipal", json.dumps({"principal": "alice"}).encode(), admin
    )
    assert status == 200 and headers["x-authenticated"] == ADMIN
    status, body = node.error("POST", "/has/v1/admin/addprincipal?principal=alice", headers=admin)
    assert (status, body["error"]) == (409, "principal_exists")
    hosts = {"HOSTS": [{"name": "host1", "hostRoles": "HDFS,YARN"}]}
    status, _, data = node.raw(
        "PUT", "/has/v1/admin/createprincipals", json.dumps(hosts).encode(), admin
    )
    assert status == 200 and set(json.loads(data)["created"]) == {
        f"HTTP/host1@{REALM}",
        f"hdfs/host1@{REALM}",
        f"yarn/host1@{REALM}",
    }
    status, _, data = node.raw(
        "GET", "/has/v1/admin/exportkeytabs?host=host1&role=hdfs", None, admin
    )
    assert status == 200
    assert keytab_principals(data) == {
        f"HTTP/host1@{REALM}",
        f"hdfs/host1@{REALM}",
    }
    status, _, data = node.raw("GET", "/has/v1/admin/getprincipals?exp=*host1", None, admin)
    listed = [f"HTTP/host1@{REALM}", f"hdfs/host1@{REALM}", f"yarn/host1@{REALM}"]
    answer = json.loads(data)
    assert (answer["principals"], answer["count"]) == (listed, 3)
    # HAS's Java admin client: JSONObject(body).getString("msg"), then new JSONArray(msg)
    assert answer["result"] == "success"
    assert isinstance(answer["msg"], str) and json.loads(answer["msg"]) == listed
    # Kerby has-project's admin client: the body itself is the array
    status, _, data = node.raw("GET", "/has/v1/kadmin/listprincipals?exp=*host1", None, admin)
    assert (status, json.loads(data)) == (200, listed)
    status, _, data = node.raw("GET", "/has/v1/kadmin/listprincipals")
    assert status == 401
    status, body = node.error(
        "DELETE", "/has/v1/admin/deleteprincipal?principal=bob", headers=admin
    )
    assert (status, body["error"]) == (404, "no_such_principal")


def test_getprincipals_streams_every_name_and_pages_on_request(node, monkeypatch):
    """The whole list goes out a page at a time with HAS's shape; limit/after page it."""
    monkeypatch.setattr(admin_api, "PRINCIPALS_PAGE", 3)  # so 10 names cross pages
    node.init_realm()
    admin = {"X-Test-Principal": ADMIN}
    with open_backend(load_conf_dir(node.conf_dir).backend) as store:
        for i in range(10):
            store.add_principal(Principal(f"u{i:02d}@{REALM}"))
    everyone = json.loads(node.raw("GET", "/has/v1/admin/getprincipals", None, admin)[2])
    status, headers, data = node.raw("GET", "/has/v1/admin/getprincipals?exp=u*", None, admin)
    assert status == 200 and headers["x-authenticated"] == ADMIN  # sent before the body
    assert headers["content-type"].startswith("application/json")
    listed = [f"u{i:02d}@{REALM}" for i in range(10)]
    answer = json.loads(data)
    assert answer == {
        "result": "success",
        "msg": json.dumps(listed),
        "principals": listed,
        "count": 10,
    }
    assert everyone["count"] == len(everyone["principals"]) > 10
    assert json.loads(everyone["msg"]) == everyone["principals"]
    assert everyone["principals"] == sorted(everyone["principals"], key=str.encode)
    # pages: each "next" is the following page's "after"; the pages make the whole list
    paged, after = [], None
    while True:
        query = "exp=u*&limit=4" + (f"&after={after}" if after else "")
        page = json.loads(node.raw("GET", f"/has/v1/admin/getprincipals?{query}", None, admin)[2])
        assert json.loads(page["msg"]) == page["principals"] and page["count"] <= 4
        paged += page["principals"]
        if page["next"] is None:
            break
        after = page["next"]
    assert paged == listed
    page = json.loads(
        node.raw("GET", f"/has/v1/admin/getprincipals?after=u07@{REALM}&exp=u*", None, admin)[2]
    )
    assert (page["principals"], page["next"]) == ([f"u08@{REALM}", f"u09@{REALM}"], None)
    status, body = node.error("GET", "/has/v1/admin/getprincipals?limit=0", headers=admin)
    assert status == 400 and "at least 1" in body["detail"]
    status, body = node.error("GET", "/has/v1/admin/getprincipals?limit=10001", headers=admin)
    assert status == 400


def test_deletenode_drops_a_node_from_the_client_files(node):
    with open_backend(load_conf_dir(node.conf_dir).backend) as backend:
        backend.register_node("emr-worker-2")
    assert "emr-worker-2" in node.raw("GET", "/has/v1/gethasconf")[2].decode()
    path = "/has/v1/admin/deletenode?host=emr-worker-2"
    status, body = node.error("DELETE", path, headers={"X-Test-Principal": f"alice@{REALM}"})
    assert status == 403
    status, _, data = node.raw("DELETE", path, None, {"X-Test-Principal": ADMIN})
    assert status == 200 and json.loads(data)["host"] == "emr-worker-2"
    assert "emr-worker-2" not in node.raw("GET", "/has/v1/gethasconf")[2].decode()
    status, body = node.error("DELETE", path, headers={"X-Test-Principal": ADMIN})
    assert (status, body["error"]) == (404, "not_found")


# ------------------------------------------------------------------ plain HTTP


def test_plain_http_serves_only_public_endpoints(tmp_path):
    n = make_node(tmp_path, http=True)
    try:
        status, _, data = n.raw("GET", "/has/v1/health", plain=True)
        assert status == 503 and json.loads(data)["realm"]["initialized"] is False
        status, body = n.error("GET", "/has/v1/getkrb5conf", plain=True)
        assert (status, body["error"]) == (403, "https_required")
        status, body = n.error("GET", "/has/v1/kdcinit", plain=True)
        assert status == 403
    finally:
        n.thread.stop()


def test_plain_http_getcert_where_has_client_fetches_it_and_only_the_certificate(tmp_path):
    """HasClient builds its trust store from http://HOST:http_port/has/v1/conf/getcert.
    A CA bundle that holds a private key too (a slip of ssl_ca_file) still gives out
    only the certificate."""
    n = make_node(tmp_path, http=True)
    try:
        ca_pem = (tmp_path / "ca" / CA_CERT_FILE).read_bytes()
        leaky = n.conf_dir / "ca-bundle-with-key.pem"
        key = (n.conf_dir / "server.key").read_bytes()
        leaky.write_bytes(ca_pem + key)
        set_conf = (n.conf_dir / "has-server.conf").read_text()
        (n.conf_dir / "has-server.conf").write_text(
            set_conf.replace("[PLUGIN]", f"  ssl_ca_file = {leaky}\n[PLUGIN]")
        )
        for path in ("/has/v1/conf/getcert", "/has/v1/getcert"):
            status, _, data = n.raw("GET", path, plain=True)
            assert status == 200, data
            assert data == ca_pem
            assert b"PRIVATE KEY" not in data
        status, body = n.error("GET", "/has/v1/gethasconf", plain=True)
        assert (status, body["error"]) == (403, "https_required")
    finally:
        n.thread.stop()


def test_no_plain_http_unless_configured(node):
    conf = read_has_server_conf(node.conf_dir / "has-server.conf")
    assert not conf.http_enabled
    assert [scheme for scheme, _, _ in node.thread.server.addresses] == ["https"]


# ------------------------------------------------------------------ secrets and logs


def test_no_query_string_reaches_any_log(node, caplog):
    """aiohttp logs a request line it cannot parse with its bytes; has-kdc's filter
    cuts the query string out of that and of every other web log line."""
    secret = "pw-Secret-4242"
    lines = [
        # over aiohttp's 8 KiB request-line limit
        f"GET /has/v1/health?password={secret}{'a' * 9000} HTTP/1.1\r\n\r\n".encode(),
        # a method aiohttp does not accept
        f"G\x01T /has/v1/health?password={secret} HTTP/1.1\r\n\r\n".encode(),
        # an HTTP version it does not speak
        f"GET /has/v1/health?password={secret} HTTP/9.1\r\n\r\n".encode(),
        # a well-formed request (the access log)
        f"GET /has/v1/getcert?password={secret} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    ]
    with caplog.at_level(logging.DEBUG):
        for line in lines:
            raw = socket.create_connection(("127.0.0.1", node.port), timeout=10)
            with client_ssl_context(node.ca_file).wrap_socket(
                raw, server_hostname="127.0.0.1"
            ) as sock:
                sock.sendall(line)
                sock.recv(65536)
        node.thread.stop()  # flush: every line of those requests is logged by now
    assert caplog.records
    assert secret not in caplog.text
    assert "Traceback" not in caplog.text  # a bad request is one line, not a screen
    assert any("LineTooLong" in r.getMessage() for r in caplog.records)


def test_a_password_in_the_url_is_refused_where_the_body_takes_it(node):
    node.init_realm()
    admin = {"X-Test-Principal": ADMIN}
    for path in (
        "/has/v1/admin/addprincipal?principal=bob&password=bob-pw",
        "/has/v1/admin/changepassword?principal=kadmin/changepw&password=x-pw",
    ):
        status, body = node.error("POST", path, headers=admin)
        assert status == 400, body
        assert "JSON body" in body["detail"] and "-pw" not in body["detail"]
    status, _ = node.error("GET", "/has/v1/admin/getprincipal?principal=bob", headers=admin)
    assert status == 404  # nothing was created


def test_text_that_is_not_unicode_is_400(node):
    """JSON may escape a lone surrogate; no file can hold it (UnicodeEncodeError: a 500)."""
    body = b'{"backendType": "mysql", "url": "mysql://h/has", "user": "\\ud800"}'
    headers = {"Content-Type": "application/json", **node.setup_headers()}
    status, answer = node.error("PUT", "/has/v1/conf/configkdcbackend", body, headers=headers)
    assert status == 400, answer
    assert not (node.conf_dir / "backend.conf").exists()


def test_a_config_file_the_node_cannot_write_is_409(node):
    kdc_conf = node.conf_dir / "kdc.conf"
    kdc_conf.unlink()
    kdc_conf.mkdir()  # whatever the reason, the file cannot be replaced
    status, body = node.error(
        "PUT",
        "/has/v1/conf/configkdc?host=h&port=88&realm=HADOOP.COM",
        headers=node.setup_headers(),
    )
    assert (status, body["error"]) == (409, "not_writable")
