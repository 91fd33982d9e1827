"""The hosts file as HAS's org.json parser reads it (has-start.md writes ``{ HOSTS: [...] }``)."""

from __future__ import annotations

import json
import re

import pytest

from has_kdc.admin import org_json
from has_kdc.admin.hostroles import parse_hostroles


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # has-start.md's hosts file, as its echo writes it (key without quotes)
        (
            '{ HOSTS: [ {"name":"node1","hostRoles":"HDFS,YARN"}, '
            "{name: node2, hostRoles: 'HDFS'}, ] }",
            {
                "HOSTS": [
                    {"name": "node1", "hostRoles": "HDFS,YARN"},
                    {"name": "node2", "hostRoles": "HDFS"},
                ]
            },
        ),
        ("{a=1; b=>[,2]}", {"a": 1, "b": [None, 2]}),
        ("[1,,2]", [1, None, 2]),
        ("{n: -2.5, t: TRUE, z: null}", {"n": -2.5, "t": True, "z": None}),
        ("{}", {}),
    ],
)
def test_what_org_json_takes(text, value):
    assert org_json.loads(text) == value


def test_standard_json_reads_as_with_json_loads():
    text = '{"a": {"b": [1, "2", null, false, 1e3]}, "c": "\\n\\u00e9\\/"}'
    assert org_json.loads(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{a:}", "missing value at line 1, character 4"),
        ('{"a":1} x', "unexpected text after the value"),
        ('{"a":"b', "unterminated string"),
        ("{a:1", "expected ',' or '}'"),
        ("{a:1,", "an object must end with '}'"),
        ("[1", "expected ',' or ']'"),
        ("[" * 100, "nested too deeply"),
        ('{"a": "\\q"}', "bad escape \\q"),
    ],
)
def test_what_org_json_refuses_too(text, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        org_json.loads(text)


def test_hostroles_in_has_start_md_form():
    hosts = parse_hostroles('{ HOSTS: [ {name: "h1.example", hostRoles: "HDFS,yarn"} ] }')
    assert [(h.host, h.roles) for h in hosts] == [("h1.example", ("HDFS", "YARN"))]
