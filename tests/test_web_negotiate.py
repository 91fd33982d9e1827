"""SPNEGO on the real has-server: curl --negotiate and requests-gssapi against both nodes.

Two has-server nodes (tests/spnego_cluster.py) with filter_auth_type = kerberos; the
MIT client tools log in from admin.keytab (kadmin/HADOOP.COM) or with a password, and
the admin API at https://emr-header-1:PORT and https://emr-worker-1:PORT (names
mapped to 127.0.1.1 / 127.0.1.2 by curl's --resolve and by a requests adapter, so
nothing depends on /etc/hosts) answers 200 to the admin, 403 to a user, 401 with
``WWW-Authenticate: Negotiate`` to no, garbage, expired or misdirected tickets.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from has_kdc.client.kdc_client import KdcClient
from has_kdc.client.negotiate import keytab_key
from has_kdc.client.transport import KdcTransport
from has_kdc.gss import KRB5_OID, NegotiateInitiator, NegTokenResp, decode_negotiation_token
from tests.spnego_cluster import ADMIN, REALM, SpnegoCluster

pytestmark = pytest.mark.mit

SKEW = 2  # kdc.conf clock_skew of the nodes: lets a ticket expire within the test


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, mariadb) -> Iterator[SpnegoCluster]:
    tmp = tmp_path_factory.mktemp("negotiate")
    c = SpnegoCluster(
        tmp, mariadb, f"t_negotiate_{os.getpid()}", kdc_extra={"clock_skew": str(SKEW)}
    )
    try:
        c.start()
        c.nodes[0].hadmin("addprinc", "-pw", "bob-pw", "bob")
        yield c
    finally:
        c.stop()
        mariadb.drop_database(f"t_negotiate_{os.getpid()}")


def test_init_created_every_name_the_nodes_are_reached_by(cluster):
    out = cluster.nodes[1].hadmin("listprincs", "HTTP/*").stdout.split()
    assert out == sorted(
        f"HTTP/{name}@{REALM}"
        for name in ("127.0.1.1", "127.0.1.2", "emr-header-1", "emr-worker-1")
    )


def test_curl_negotiate_admin_on_both_nodes(cluster, tmp_path):
    mit = cluster.mit(tmp_path / "admin")
    mit.kinit_keytab("kadmin/HADOOP.COM", cluster.admin_keytab)
    for node in cluster.nodes:
        status, headers, body = cluster.curl(mit, node, "--negotiate", "-u", ":")
        assert status == 200, body
        answer = json.loads(body)
        assert ADMIN in answer["principals"] and f"bob@{REALM}" in answer["principals"]
        # the mutual-authentication reply: SPNEGO accept-completed naming Kerberos
        scheme, token = headers["www-authenticate"].split()
        assert scheme == "Negotiate"
        resp = decode_negotiation_token(base64.b64decode(token))
        assert isinstance(resp, NegTokenResp) and resp.neg_state == 0
        assert resp.supported_mech == KRB5_OID and resp.response_token
    # curl asked for the names in the URLs, not the addresses
    tickets = mit.klist().stdout
    assert f"HTTP/emr-header-1@{REALM}" in tickets and f"HTTP/emr-worker-1@{REALM}" in tickets
    # an admin can change things through the same door
    status, _, body = cluster.curl(
        mit,
        cluster.nodes[1],
        "--negotiate",
        "-u",
        ":",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data",
        json.dumps({"principal": "carol", "password": "carol-pw"}),
        path="/has/v1/admin/addprincipal",
    )
    assert status == 200 and json.loads(body)["principal"] == f"carol@{REALM}", body
    cluster.mit(tmp_path / "carol").kinit("carol", "carol-pw")


def test_curl_user_is_forbidden_until_listed_in_admin_principals(cluster, tmp_path):
    mit = cluster.mit(tmp_path / "bob")
    mit.kinit("bob", "bob-pw")
    node1, node2 = cluster.nodes
    for node in cluster.nodes:
        status, _, body = cluster.curl(mit, node, "--negotiate", "-u", ":")
        assert status == 403, body
        assert json.loads(body)["error"] == "forbidden" and f"bob@{REALM}" in body
    # has-server.conf's admin_principals, read again without a restart, on node2 only
    conf = node2.conf_dir / "has-server.conf"
    original = conf.read_text()
    try:
        conf.write_text(
            original.replace("[PLUGIN]", f"  admin_principals = bob@{REALM}\n\n[PLUGIN]")
        )
        assert cluster.curl(mit, node2, "--negotiate", "-u", ":")[0] == 200
        assert cluster.curl(mit, node1, "--negotiate", "-u", ":")[0] == 403
    finally:
        conf.write_text(original)
    assert cluster.curl(mit, node2, "--negotiate", "-u", ":")[0] == 403


def test_missing_garbage_expired_and_misdirected_tickets_get_401(cluster, tmp_path):
    mit = cluster.mit(tmp_path / "none")
    node1, node2 = cluster.nodes
    status, headers, body = cluster.curl(mit, node1)  # no credentials at all
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert json.loads(body)["error"] == "unauthorized"
    # --negotiate without a ticket: curl cannot make a token, the server says 401
    status, headers, _ = cluster.curl(mit, node1, "--negotiate", "-u", ":")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    status, headers, body = cluster.curl(mit, node2, "-H", "Authorization: Negotiate Z2FyYmFnZQ==")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert "Kerberos authentication failed" in json.loads(body)["detail"]

    # tickets from our own client, as the admin: one for the wrong node, one expiring
    kdc = KdcClient(KdcTransport([n.kdc_address() for n in cluster.nodes]), REALM)
    key = keytab_key(str(cluster.admin_keytab), ADMIN, kdc.etypes)
    tgt = kdc.get_tgt(ADMIN, key=key)
    worker = kdc.get_service_ticket(tgt, f"HTTP/emr-worker-1@{REALM}")
    token = NegotiateInitiator(worker).authorization()
    status, headers, body = cluster.curl(mit, node1, "-H", f"Authorization: {token}")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert f"ticket is for HTTP/emr-worker-1@{REALM}" in json.loads(body)["detail"]

    short = kdc.get_service_ticket(tgt, f"HTTP/emr-header-1@{REALM}", lifetime=1)
    fresh = NegotiateInitiator(short).authorization()
    assert cluster.curl(mit, node1, "-H", f"Authorization: {fresh}")[0] == 200
    # replaying the same token is refused (the replay cache)
    status, _, body = cluster.curl(mit, node1, "-H", f"Authorization: {fresh}")
    assert status == 401 and "replay" in json.loads(body)["detail"]
    time.sleep(max(0.0, short.endtime + SKEW + 1 - time.time()))
    late = NegotiateInitiator(short).authorization()
    status, headers, body = cluster.curl(mit, node1, "-H", f"Authorization: {late}")
    assert (status, headers["www-authenticate"]) == (401, "Negotiate")
    assert "expired" in json.loads(body)["detail"]


# requests-gssapi over MIT's libgssapi; an HTTPAdapter sends https://<name>:PORT to
# the node's address while TLS checks the name, so no /etc/hosts entry is needed.
REQUESTS_GSSAPI = """
import json, sys, gssapi, requests, requests_gssapi
from urllib.parse import urlsplit
from requests.adapters import HTTPAdapter

class Resolve(HTTPAdapter):
    def __init__(self, addresses):
        self.addresses = addresses
        super().__init__()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        url = urlsplit(request.url)
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs.update(server_hostname=url.hostname, assert_hostname=url.hostname)
        return self.poolmanager.connection_from_host(
            self.addresses[url.hostname], url.port, scheme="https", pool_kwargs=pool_kwargs
        )

ca, addresses, urls = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
session = requests.Session()
session.mount("https://", Resolve(addresses))
out = []
for url in urls:
    auth = requests_gssapi.HTTPSPNEGOAuth(mutual_authentication=requests_gssapi.REQUIRED)
    r = session.get(url, auth=auth, verify=ca, timeout=20)
    ctx = auth.context[urlsplit(url).hostname]
    out.append({
        "status": r.status_code,
        "body": r.text,
        "complete": ctx.complete,
        "mutual": gssapi.RequirementFlag.mutual_authentication in ctx.actual_flags,
        "target": str(ctx.target_name),
    })
print(json.dumps(out))
"""


def test_requests_gssapi_with_mutual_authentication_required(cluster, tmp_path):
    mit = cluster.mit(tmp_path / "admin")
    mit.kinit_keytab("kadmin/HADOOP.COM", cluster.admin_keytab)
    addresses = {node.name: node.host for node in cluster.nodes}
    urls = [cluster.url(node, "/has/v1/admin/getprincipals?exp=kadmin*") for node in cluster.nodes]
    proc = subprocess.run(
        [sys.executable, "-c", REQUESTS_GSSAPI, str(cluster.ca_file), json.dumps(addresses), *urls],
        env=dict(os.environ, **mit.env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout)
    assert [a["status"] for a in answers] == [200, 200], answers
    for answer, name in zip(answers, ("emr-header-1", "emr-worker-1"), strict=True):
        assert ADMIN in json.loads(answer["body"])["principals"]
        assert answer["complete"] is True and answer["mutual"] is True
        assert answer["target"].startswith(f"HTTP/{name}") or answer["target"] == f"HTTP@{name}"
