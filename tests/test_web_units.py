"""The pieces of has_kdc.web without a server: config edits, KDC counters, metrics text, OpenAPI."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from has_kdc.asn1.constants import KDC_ERR_PREAUTH_REQUIRED, KDC_ERR_SVC_UNAVAILABLE, NT_SRV_INST
from has_kdc.asn1.messages import PrincipalName
from has_kdc.conf import parse_has_server_conf, parse_profile
from has_kdc.conf.edit import set_relations
from has_kdc.conf.kdc import kdc_config_from_profile
from has_kdc.kdc.counters import KDC_BUCKETS, KdcCounters, kdc_reply_code
from has_kdc.kdc.errors import build_krb_error
from has_kdc.node.errors import InvalidRequest, NodeConflict, NodeError
from has_kdc.web import default_routes
from has_kdc.web.errors import map_exception
from has_kdc.web.metrics import MetricsText, render_kdc
from has_kdc.web.openapi import build_document

# ------------------------------------------------------------------ confedit

KDC_CONF = """\
# our KDC
[kdcdefaults]
  kdc_host = old-host
  kdc_realm = OLD.COM
  max_life = 10h

[realms]
  OLD.COM = {
    kdc_host = must-stay
  }
"""


def test_set_relations_replaces_in_place_and_adds_missing_keys():
    new = set_relations(KDC_CONF, "kdcdefaults", {"kdc_host": "emr-header-1", "kdc_tcp_port": "88"})
    assert "  kdc_host = emr-header-1\n" in new
    assert "kdc_host = must-stay" in new  # inside { }: untouched
    assert new.startswith("# our KDC\n")  # comments survive
    conf = kdc_config_from_profile(parse_profile(new, "kdc.conf"))
    assert conf.kdc_host == "emr-header-1"
    assert conf.kdc_tcp_port == 88
    assert conf.max_life == 36000  # the other settings survive
    assert new.index("kdc_tcp_port") < new.index("[realms]")


def test_set_relations_sectionless_and_new_section():
    sectionless = "https_host = emr-header-1\nhttps_port = 8092\nauth_type = RAM\n"
    new = set_relations(sectionless, "PLUGIN", {"auth_type": "MySQL"})
    assert new == "https_host = emr-header-1\nhttps_port = 8092\nauth_type = MySQL\n"
    assert parse_has_server_conf(new).auth_type == "MySQL"
    with_has_only = "[HAS]\n  https_host = h\n  https_port = 8092\n"
    new = set_relations(with_has_only, "PLUGIN", {"auth_type": "RAM"})
    assert new.endswith("\n[PLUGIN]\n  auth_type = RAM\n")
    assert parse_has_server_conf(new).auth_type == "RAM"


def test_set_relations_refuses_values_that_would_inject_lines():
    with pytest.raises(ValueError):
        set_relations("[PLUGIN]\n", "PLUGIN", {"auth_type": "RAM\nenable_conf = true"})


# ------------------------------------------------------------------ KDC counters

_AS_REQ = bytes([0x6A, 0x03, 0x02, 0x01, 0x05])
_TGS_REQ = bytes([0x6C, 0x03, 0x02, 0x01, 0x05])


def _krb_error(code: int) -> bytes:
    tgs = PrincipalName(NT_SRV_INST, ("krbtgt", "HADOOP.COM"))
    return build_krb_error(code, now=time.time(), realm="HADOOP.COM", sname=tgs, e_text="x")


def test_reply_code_reads_krb_error_codes_and_replies():
    assert kdc_reply_code(_krb_error(KDC_ERR_PREAUTH_REQUIRED)) == KDC_ERR_PREAUTH_REQUIRED
    assert kdc_reply_code(_krb_error(KDC_ERR_SVC_UNAVAILABLE)) == KDC_ERR_SVC_UNAVAILABLE
    assert kdc_reply_code(bytes([0x6B, 0x00])) == 0
    assert kdc_reply_code(None) is None
    assert kdc_reply_code(b"\x7e\x05garbage") == -1


def _attach_and_count(path: str, n: int) -> None:
    counters = KdcCounters.attach(path)
    for _ in range(n):
        counters.observe(_TGS_REQ, _krb_error(KDC_ERR_PREAUTH_REQUIRED), 0.002)
    counters.close()


def test_counters_sum_over_processes_and_survive_a_dead_worker(tmp_path):
    counters = KdcCounters.create(2, tmp_path)
    try:
        mine = KdcCounters.attach(counters.path)
        mine.observe(_AS_REQ, bytes([0x6B, 0x00]), 0.0004)
        mine.observe(_AS_REQ, None, 0.0004)
        mine.observe(b"\x30\x00", None, 0.1)  # not a KDC request: not counted
        mine.database_error()
        ctx = multiprocessing.get_context("fork")
        for _ in range(3):  # three short-lived workers: rows are reused, counts add up
            proc = ctx.Process(target=_attach_and_count, args=(str(counters.path), 5))
            proc.start()
            proc.join(30)
            assert proc.exitcode == 0
        out = MetricsText()
        render_kdc(counters.snapshot(), out)
        text = out.text()
        assert 'has_kdc_requests_total{kind="AS",result="ok"} 1' in text
        assert 'has_kdc_requests_total{kind="AS",result="dropped"} 1' in text
        assert 'has_kdc_requests_total{kind="TGS",result="KDC_ERR_PREAUTH_REQUIRED"} 15' in text
        assert 'has_kdc_request_duration_seconds_count{kind="TGS"} 15' in text
        assert 'has_kdc_request_duration_seconds_bucket{kind="AS",le="0.0005"} 2' in text
        assert 'has_kdc_request_duration_seconds_bucket{kind="TGS",le="0.001"} 0' in text
        assert 'has_kdc_request_duration_seconds_bucket{kind="TGS",le="0.0025"} 15' in text
        assert "has_kdc_database_errors_total 1" in text
        mine.close()
    finally:
        counters.close()
    assert not counters.path.exists()


def test_histogram_buckets_are_cumulative():
    out = MetricsText()
    counts = [1, 0, 2] + [0] * (len(KDC_BUCKETS) - 3) + [4]
    out.histogram("x_seconds", {"kind": "AS"}, KDC_BUCKETS, counts, 1.5)
    lines = out.text().splitlines()
    assert lines[0] == 'x_seconds_bucket{kind="AS",le="0.0005"} 1'
    assert lines[2] == 'x_seconds_bucket{kind="AS",le="0.0025"} 3'
    assert 'x_seconds_bucket{kind="AS",le="+Inf"} 7' in lines
    assert 'x_seconds_count{kind="AS"} 7' in lines
    assert 'x_seconds_sum{kind="AS"} 1.5' in lines


def test_label_values_are_escaped():
    out = MetricsText()
    out.sample("m", {"path": 'a"b\\c\nd'}, 1)
    assert out.text() == 'm{path="a\\"b\\\\c\\nd"} 1\n'


# ------------------------------------------------------------------ OpenAPI


def test_openapi_describes_every_route_with_its_parameters():
    routes = default_routes()
    doc = build_document(routes)
    assert doc["openapi"].startswith("3.")
    for route in routes:
        op = doc["paths"][route.full_path][route.method.lower()]
        assert op["summary"] == route.summary
        in_url = {p.name for p in route.params if not p.secret or p.query_allowed}
        assert {p["name"] for p in op.get("parameters", [])} == in_url
        if route.json_body:  # every parameter, secrets included, may come in the body
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert set(body["properties"]) == {p.name for p in route.params}
        assert "200" in op["responses"]
        assert op["x-has-access"] == route.access
    backend = doc["paths"]["/has/v1/conf/configkdcbackend"]["put"]
    assert "password" not in {p["name"] for p in backend["parameters"]}  # body only
    assert backend["security"] == [{"negotiate": []}, {"setupToken": []}]
    configkdc = doc["paths"]["/has/v1/conf/configkdc"]["put"]
    port = next(p for p in configkdc["parameters"] if p["name"] == "port")
    assert port["schema"] == {"type": "integer", "minimum": 1, "maximum": 65535}
    assert "requestBody" in configkdc
    assert "/metrics" in doc["paths"] and "/has/v1/health" in doc["paths"]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (InvalidRequest("port 0 is not a port from 1 to 65535"), 400, "bad_request"),
        (NodeConflict("the database already belongs to realm A.COM"), 409, "conflict"),
        (NodeError("any other refusal of the node"), 400, "bad_request"),
    ],
)
def test_node_refusals_map_to_http(exc, status, error):
    """A refusal is the client's to fix: 4xx with the node's message as the detail."""
    assert map_exception(exc) == (status, error, str(exc))
