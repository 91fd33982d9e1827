"""Client configs from realm state: krb5.conf (MIT kinit uses it), has-client.conf, core-site."""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from has_kdc.conf import parse_profile
from has_kdc.conf.client_exports import (
    Node,
    RealmView,
    core_site_properties,
    export_core_site,
    export_has_client_conf,
    export_krb5_conf,
    merge_core_site,
    render_core_site_properties,
    render_has_client_conf,
    render_krb5_conf,
)
from has_kdc.conf.has_client import parse_has_client_conf, read_has_client_conf
from tests.mitkrb import MitClient, free_port


def xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 (test data written here or copied from HAS docs)


DOCS = Path(__file__).parent / "data" / "conf" / "has-docs"
HA_NODES = (Node("emr-header-1", 88, 8092), Node("emr-worker-1", 88, 8092))


def ha_view(**kwargs) -> RealmView:
    values = {"realm": "HADOOP.COM", "nodes": HA_NODES, "auth_type": "RAM", "enable_conf": True}
    values.update(kwargs)
    return RealmView(**values)


# ------------------------------------------------------------------ krb5.conf


def test_krb5_conf_has_one_kdc_line_per_node_and_has_libdefaults():
    view = ha_view(
        ticket_lifetime=36000,
        renew_lifetime=7 * 86400,
        admin_server="emr-header-1",
        domain_realm={".hadoop.com": "HADOOP.COM", "hadoop.com": "HADOOP.COM"},
    )
    profile = parse_profile(render_krb5_conf(view))
    libdefaults = profile.section("libdefaults")
    assert libdefaults is not None
    assert libdefaults.to_mapping() == {
        "kdc_realm": "HADOOP.COM",
        "default_realm": "HADOOP.COM",
        "udp_preference_limit": "4096",
        "kdc_tcp_port": "88",
        "kdc_udp_port": "88",
        "dns_lookup_kdc": "false",
        "dns_lookup_realm": "false",
        "ticket_lifetime": "10h",
        "renew_lifetime": "7d",
        "forwardable": "true",
    }
    realm = profile.section("realms").subsection("HADOOP.COM")
    assert realm.get_all("kdc") == ["emr-header-1:88", "emr-worker-1:88"]
    assert realm.get_all("kpasswd_server") == ["emr-header-1:464", "emr-worker-1:464"]
    assert realm.get("admin_server") == "emr-header-1"
    assert profile.section("domain_realm").to_mapping() == {
        ".hadoop.com": "HADOOP.COM",
        "hadoop.com": "HADOOP.COM",
    }


def test_krb5_conf_keeps_every_key_has_writes():
    ours = parse_profile(render_krb5_conf(ha_view())).section("libdefaults").to_mapping()
    theirs = parse_profile((DOCS / "has-ha.krb5.conf").read_text()).section("libdefaults")
    assert {k: ours[k] for k in theirs.names()} == theirs.to_mapping()


def test_krb5_conf_with_nodes_on_different_kdc_ports_and_ipv6():
    view = RealmView("R.TEST", (Node("127.0.0.2", 88), Node("::1", 1088), Node("kdc3", 88)))
    profile = parse_profile(render_krb5_conf(view))
    assert "kdc_tcp_port" not in profile.section("libdefaults").names()
    kdcs = profile.section("realms").subsection("R.TEST").get_all("kdc")
    assert kdcs == ["127.0.0.2:88", "[::1]:1088", "kdc3:88"]
    assert profile.section("domain_realm") is None


@pytest.mark.mit
def test_mit_kinit_fails_over_to_the_second_kdc_line(mit_realm, tmp_path):
    dead = free_port()  # nothing listens here: the first kdc line must be skipped
    view = RealmView(
        "MIT.TEST",
        (Node("127.0.0.1", dead), Node(mit_realm.host, mit_realm.port)),
        ticket_lifetime=3600,
        renew_lifetime=86400,
    )
    client = MitClient(tmp_path / "client", "MIT.TEST", [])
    assert export_krb5_conf(client.krb5_conf, view) is True
    text = client.krb5_conf.read_text()
    assert f"kdc = 127.0.0.1:{dead}\n        kdc = 127.0.0.1:{mit_realm.port}" in text
    trace = tmp_path / "trace.log"
    client.run("kinit", "-r", "1d", "user", input="user-pw\n", env={"KRB5_TRACE": str(trace)})
    log = trace.read_text()
    assert log.index(f"127.0.0.1:{dead}") < log.index(f"127.0.0.1:{mit_realm.port}")
    listing = client.klist().stdout
    assert "krbtgt/MIT.TEST@MIT.TEST" in listing
    assert "renew until" in listing
    # the file alone sets the default realm: a bare name resolves to MIT.TEST
    assert "Default principal: user@MIT.TEST" in listing


def test_export_writes_0644_and_reports_change(tmp_path):
    path = tmp_path / "krb5.conf"
    assert export_krb5_conf(path, ha_view()) is True
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert export_krb5_conf(path, ha_view()) is False
    assert export_krb5_conf(path, ha_view(nodes=HA_NODES[:1])) is True


# ------------------------------------------------------------------ has-client.conf


def test_has_client_conf_matches_has_documentation():
    ours = parse_has_client_conf(render_has_client_conf(ha_view()))
    assert ours == read_has_client_conf(DOCS / "has-ha.has-client.conf")


def test_has_client_conf_names_the_ca_bundle(tmp_path):
    view = ha_view(ca_bundle=Path("/etc/has/ca-root.pem"))
    path = tmp_path / "has-client.conf"
    assert export_has_client_conf(path, view) is True
    conf = read_has_client_conf(path)
    assert conf.ssl_ca_file == Path("/etc/has/ca-root.pem")
    assert conf.https_hosts == ("emr-header-1", "emr-worker-1")
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_uneven_https_ports_cannot_be_written_for_has_clients():
    view = ha_view(nodes=(Node("a", 88, 8092), Node("b", 88, 8093)))
    with pytest.raises(ValueError, match=r"different ports \(8092, 8093\)"):
        render_has_client_conf(view)
    with pytest.raises(ValueError, match="different ports"):
        core_site_properties(view)
    assert "kdc = b:88" in render_krb5_conf(view)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": ()}, "has no registered node"),
        ({"nodes": (Node("a"), Node("a"))}, "listed twice"),
        ({"realm": "HADOOP COM"}, "not a realm name"),
        ({"auth_type": "RAM;x"}, "not a plugin name"),
        ({"filter_auth_type": "ldap"}, "filter_auth_type must be"),
    ],
)
def test_realm_view_rejects_what_cannot_be_exported(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ha_view(**kwargs)


def test_two_nodes_on_one_host_are_told_apart_by_kdc_port():
    view = ha_view(nodes=(Node("127.0.0.1", 88, 8092), Node("127.0.0.1", 1088, 8092)))
    assert "kdc = 127.0.0.1:88\n        kdc = 127.0.0.1:1088\n" in render_krb5_conf(view)
    assert parse_has_client_conf(render_has_client_conf(view)).https_hosts == ("127.0.0.1",)


def test_node_rejects_bad_ports_and_hosts():
    with pytest.raises(ValueError, match="kdc_port 0 of a"):
        Node("a", 0)
    with pytest.raises(ValueError, match="not a host"):
        Node("a b")


# ------------------------------------------------------------------ core-site.xml


def test_core_site_properties_match_has_documentation():
    fragment = xml((DOCS / "has-ha.core-site-fragment.xml").read_text())
    props = core_site_properties(ha_view())
    assert props == {
        "hadoop.security.authentication": "kerberos",
        "hadoop.security.authentication.use.has": "true",
        "hadoop.security.has": fragment.findtext("value"),
    }
    rendered = xml(f"<configuration>{render_core_site_properties(ha_view())}</configuration>")
    assert {p.findtext("name"): p.findtext("value") for p in rendered} == props


EXISTING = """<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- site-specific settings -->
<configuration>

  <property>
    <name>fs.defaultFS</name>
    <value>hdfs://emr-header-1:8020</value>
  </property>

  <!-- security -->
  <property>
    <name>hadoop.security.authentication</name>
    <value>simple</value>
    <final>true</final>
  </property>

  <property>
    <name>io.file.buffer.size</name>
    <value>a &amp; b &lt; c</value>
  </property>

</configuration>
"""


def properties(xml_text: str) -> dict[str, str]:
    root = xml(xml_text)
    return {p.findtext("name"): p.findtext("value") for p in root.findall("property")}


def test_merge_core_site_sets_ours_and_keeps_the_rest():
    merged = merge_core_site(EXISTING, ha_view())
    props = properties(merged)
    assert props == {
        "fs.defaultFS": "hdfs://emr-header-1:8020",
        "hadoop.security.authentication": "kerberos",
        "io.file.buffer.size": "a & b < c",
        "hadoop.security.authentication.use.has": "true",
        "hadoop.security.has": core_site_properties(ha_view())["hadoop.security.has"],
    }
    assert merged.startswith(EXISTING.split("<configuration>")[0] + "<configuration>")
    assert "<!-- security -->" in merged and "<final>true</final>" in merged
    # new properties in the file's own layout: blank line between, two-space indent
    assert (
        "  </property>\n\n  <property>\n    <name>hadoop.security.authentication.use.has</name>\n"
        "    <value>true</value>\n  </property>\n\n  <property>\n    <name>hadoop.security.has"
    ) in merged
    assert merged.endswith("  </property>\n\n</configuration>\n")
    assert merge_core_site(merged, ha_view()) == merged


def test_merge_core_site_into_nothing_gives_a_whole_file():
    merged = merge_core_site("", ha_view())
    assert merged.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n')
    assert properties(merged) == core_site_properties(ha_view())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<configuration><property>", "not well-formed"),
        ("<beans/>", "expected a <configuration> root element, found <beans>"),
        (
            '<!DOCTYPE c [<!ENTITY a "aaaa">]><configuration>&a;</configuration>',
            "entity declarations are not supported",
        ),
    ],
)
def test_merge_core_site_refuses_what_it_cannot_keep(text, message):
    with pytest.raises(ValueError, match=message):
        merge_core_site(text, ha_view())


def test_export_core_site_creates_then_merges(tmp_path):
    path = tmp_path / "core-site.xml"
    assert export_core_site(path, ha_view()) is True
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert export_core_site(path, ha_view()) is False
    path.write_text(EXISTING)
    assert export_core_site(path, ha_view()) is True
    assert properties(path.read_text())["fs.defaultFS"] == "hdfs://emr-header-1:8020"


# -- trusted realms (docs/cross-realm.md) ----------------------------------------------


def test_krb5_conf_lists_trusted_realms_and_capaths():
    view = ha_view(
        trusted_realms={"CORP.EXAMPLE": ("dc1.corp.example:88", "dc2.corp.example")},
        domain_realm={".corp.example": "CORP.EXAMPLE"},
        capaths={"CORP.EXAMPLE": {"HADOOP.COM": (".",)}, "HADOOP.COM": {"CORP.EXAMPLE": (".",)}},
    )
    profile = parse_profile(render_krb5_conf(view))
    corp = profile.section("realms").subsection("CORP.EXAMPLE")
    assert corp.get_all("kdc") == ["dc1.corp.example:88", "dc2.corp.example"]
    assert profile.section("realms").subsection("HADOOP.COM").get_all("kdc") == [
        "emr-header-1:88",
        "emr-worker-1:88",
    ]
    assert profile.section("domain_realm").to_mapping() == {".corp.example": "CORP.EXAMPLE"}
    capaths = profile.section("capaths")
    assert capaths.subsection("CORP.EXAMPLE").get_all("HADOOP.COM") == ["."]
    assert capaths.subsection("HADOOP.COM").get_all("CORP.EXAMPLE") == ["."]


def test_core_site_maps_trusted_realm_users_to_short_names():
    view = ha_view(trusted_realms={"CORP.EXAMPLE": ("dc1.corp.example",)})
    rules = core_site_properties(view)["hadoop.security.auth_to_local"].split("\n")
    assert rules == ["RULE:[1:$1@$0](.*@CORP\\.EXAMPLE)s/@.*//", "DEFAULT"]
    # without a trust the property is not written: Hadoop's DEFAULT stands
    assert "hadoop.security.auth_to_local" not in core_site_properties(ha_view())
