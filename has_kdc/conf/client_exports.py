"""Client configurations rendered from the realm's shared state: one entry per HAS node.

HAS exports three things to clients (has-project/docs/has-ha.md, steps 6 and 7):

- ``krb5.conf`` (``kdcinit getkrb5``): HAS fills a template with ``kdc_realm``,
  ``default_realm``, ``udp_preference_limit = 4096``, ``kdc_tcp_port``/``kdc_udp_port``
  and one ``kdc = host:port`` line per server. has-kdc writes the same keys and adds
  what an MIT client needs to use the file alone: no DNS lookups, lifetimes,
  ``admin_server``, one ``kpasswd_server = host:464`` line per node (every node
  serves the password change protocol, so ``kpasswd`` works against any of them)
  and ``[domain_realm]``.
- ``has-client.conf`` (``kdcinit gethas``): ``https_host = node1,node2``.
- Hadoop ``core-site.xml`` properties (supports/hadoop/README.md and has-ha.md):
  ``hadoop.security.authentication = kerberos``,
  ``hadoop.security.authentication.use.has = true`` and ``hadoop.security.has``, one
  ``https://node:port/has/v1?auth_type=TYPE`` per node joined by ``;``.

Everything here is a pure function of a ``RealmView``; the ``export_*`` functions
write with ``write_atomic`` (0644) and say whether the file changed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.conf.has_client import HasClientConfig, format_has_client_conf, write_client_file
from has_kdc.conf.has_server import DEFAULT_AUTH_TYPE, DEFAULT_HTTPS_PORT, FILTER_AUTH_TYPES
from has_kdc.conf.profile import format_profile

__all__ = [
    "CORE_SITE_AUTHENTICATION",
    "CORE_SITE_AUTH_TO_LOCAL",
    "CORE_SITE_HAS",
    "CORE_SITE_USE_HAS",
    "Node",
    "RealmView",
    "auth_to_local_rules",
    "core_site_properties",
    "export_core_site",
    "export_has_client_conf",
    "export_krb5_conf",
    "merge_core_site",
    "render_core_site_properties",
    "render_has_client_conf",
    "render_krb5_conf",
]

CORE_SITE_AUTHENTICATION = "hadoop.security.authentication"
CORE_SITE_USE_HAS = "hadoop.security.authentication.use.has"
CORE_SITE_HAS = "hadoop.security.has"
CORE_SITE_AUTH_TO_LOCAL = "hadoop.security.auth_to_local"
HAS_UDP_PREFERENCE_LIMIT = 4096  # what HAS's getkrb5 writes
_REALM = re.compile(r"^[^\s@/\\{}=\[\]]+$")


@dataclass(frozen=True)
class Node:
    """One registered HAS node: where its KDC and its HTTPS service answer."""

    host: str
    kdc_port: int = 88
    https_port: int = DEFAULT_HTTPS_PORT

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() or c in ",;/{}" for c in self.host):
            raise ValueError(f"{self.host!r} is not a host name or address")
        for name in ("kdc_port", "https_port"):
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                raise ValueError(f"{name} {port} of {self.host} is not a port from 1 to 65535")

    def netloc(self, port: int) -> str:
        """``host:port`` with an IPv6 address in brackets, as krb5.conf and URLs want."""
        host = self.host.strip("[]")
        try:
            if ipaddress.ip_address(host).version == 6:
                return f"[{host}]:{port}"
        except ValueError:
            pass
        return f"{host}:{port}"


@dataclass(frozen=True)
class RealmView:
    """What clients need to know of a realm; built from the shared database state.

    Lifetimes are seconds (``None``: leave it to the client's default).
    ``ca_bundle`` is the PEM file clients verify the HAS nodes with.
    """

    realm: str
    nodes: tuple[Node, ...]
    udp_preference_limit: int = HAS_UDP_PREFERENCE_LIMIT
    ticket_lifetime: int | None = None
    renew_lifetime: int | None = None
    forwardable: bool = True
    admin_server: str | None = None
    domain_realm: Mapping[str, str] = field(default_factory=dict)
    auth_type: str = DEFAULT_AUTH_TYPE
    filter_auth_type: str = "kerberos"
    enable_conf: bool | None = None
    ca_bundle: Path | None = None
    #: realms whose users come in through a cross-realm trust: realm -> its KDCs
    trusted_realms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: MIT's [capaths] for clients: client realm -> server realm -> hops
    capaths: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not _REALM.match(self.realm):
            raise ValueError(f"{self.realm!r} is not a realm name")
        if not self.nodes:
            raise ValueError(f"realm {self.realm} has no registered node to export")
        if len({(n.host, n.kdc_port) for n in self.nodes}) != len(self.nodes):
            raise ValueError(f"realm {self.realm}: a node (host and KDC port) is listed twice")
        if self.filter_auth_type not in FILTER_AUTH_TYPES:
            raise ValueError(f"filter_auth_type must be one of {', '.join(FILTER_AUTH_TYPES)}")
        if not self.auth_type or any(c.isspace() or c in ";&=#" for c in self.auth_type):
            raise ValueError(f"{self.auth_type!r} is not a plugin name")

    @property
    def https_port(self) -> int:
        """The one HTTPS port of all nodes; HAS's clients take a single port for every host."""
        ports = {n.https_port for n in self.nodes}
        if len(ports) != 1:
            raise ValueError(
                f"the nodes of {self.realm} serve HTTPS on different ports "
                f"({', '.join(map(str, sorted(ports)))}); HAS clients need one https_port"
            )
        return ports.pop()


#: the port of the password change service (RFC 3244) on every node
KPASSWD_PORT = 464


def _deltat(seconds: int) -> str:
    """A duration as krb5.conf writes it: 1d, 10h, 90m or 45s."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_krb5_conf(view: RealmView) -> str:
    """krb5.conf for the realm, valid for MIT and for Kerby's Java client."""
    libdefaults: dict[str, object] = {
        "kdc_realm": view.realm,
        "default_realm": view.realm,
        "udp_preference_limit": view.udp_preference_limit,
    }
    kdc_ports = {n.kdc_port for n in view.nodes}
    if len(kdc_ports) == 1:  # HAS writes one port for the realm; only true if all agree
        port = next(iter(kdc_ports))
        libdefaults["kdc_tcp_port"] = port
        libdefaults["kdc_udp_port"] = port
    libdefaults["dns_lookup_kdc"] = False
    libdefaults["dns_lookup_realm"] = False
    if view.ticket_lifetime is not None:
        libdefaults["ticket_lifetime"] = _deltat(view.ticket_lifetime)
    if view.renew_lifetime is not None:
        libdefaults["renew_lifetime"] = _deltat(view.renew_lifetime)
    libdefaults["forwardable"] = view.forwardable

    realm: dict[str, object] = {
        "kdc": [n.netloc(n.kdc_port) for n in view.nodes],
        "kpasswd_server": list(dict.fromkeys(n.netloc(KPASSWD_PORT) for n in view.nodes)),
    }
    if view.admin_server:
        realm["admin_server"] = view.admin_server
    realms: dict[str, object] = {view.realm: realm}
    for other, kdcs in view.trusted_realms.items():
        realms[other] = {"kdc": list(kdcs)}
    sections: dict[str, dict[str, object]] = {"libdefaults": libdefaults, "realms": realms}
    if view.domain_realm:
        sections["domain_realm"] = dict(view.domain_realm)
    if view.capaths:
        sections["capaths"] = {
            client: {server: list(hops) for server, hops in paths.items()}
            for client, paths in view.capaths.items()
        }
    header = (
        f"krb5.conf for {view.realm}, written by has-kdc: one kdc line per HAS node "
        f"({len(view.nodes)})."
    )
    return format_profile(sections, header=header)


def has_client_config(view: RealmView) -> HasClientConfig:
    return HasClientConfig(
        https_hosts=tuple(dict.fromkeys(n.host for n in view.nodes)),
        https_port=view.https_port,
        filter_auth_type=view.filter_auth_type,
        enable_conf=view.enable_conf,
        auth_type=view.auth_type,
        ssl_ca_file=view.ca_bundle,
    )


def render_has_client_conf(view: RealmView) -> str:
    """has-client.conf listing every node in ``https_host``."""
    return format_has_client_conf(has_client_config(view))


# ------------------------------------------------------------------ core-site.xml


def core_site_properties(view: RealmView) -> dict[str, str]:
    """The Hadoop properties that make a cluster log in through HAS, in file order."""
    port = view.https_port  # HAS's client rejects a list whose ports differ
    netlocs = dict.fromkeys(n.netloc(port) for n in view.nodes)
    urls = ";".join(f"https://{netloc}/has/v1?auth_type={view.auth_type}" for netloc in netlocs)
    properties = {
        CORE_SITE_AUTHENTICATION: "kerberos",
        CORE_SITE_USE_HAS: "true",
        CORE_SITE_HAS: urls,
    }
    if view.trusted_realms:
        properties[CORE_SITE_AUTH_TO_LOCAL] = auth_to_local_rules(view)
    return properties


def auth_to_local_rules(view: RealmView) -> str:
    """``hadoop.security.auth_to_local``: users of a trusted realm map to their short
    name (``alice@CORP.EXAMPLE`` -> ``alice``), as Hadoop's DEFAULT does for the realm's
    own; service principals of a trusted realm (two components) are left unmapped, so
    another realm's ``hdfs/host`` never becomes the local ``hdfs``."""
    rules = [f"RULE:[1:$1@$0](.*@{re.escape(realm)})s/@.*//" for realm in view.trusted_realms]
    return "\n".join([*rules, "DEFAULT"])


def _property(name: str, value: str, inner: str, closing: str) -> ET.Element:
    prop = ET.Element("property")
    prop.text = inner
    name_el = ET.SubElement(prop, "name")
    name_el.text = name
    name_el.tail = inner
    value_el = ET.SubElement(prop, "value")
    value_el.text = value
    value_el.tail = closing
    return prop


def render_core_site_properties(view: RealmView) -> str:
    """The ``<property>`` elements to paste into core-site.xml's ``<configuration>``."""
    parts = [
        ET.tostring(_property(name, value, "\n  ", "\n"), encoding="unicode")
        for name, value in core_site_properties(view).items()
    ]
    return "\n".join(parts) + "\n"


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>", re.S)
_EMPTY_CORE_SITE = '<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n</configuration>\n'


def _split_document(text: str) -> tuple[str, str]:
    """The text before the root element (declaration, stylesheet, comments) and after it."""
    pos = 0
    while match := _PROLOG_ITEM.match(text, pos):
        pos = match.end()
    end = text.rstrip()
    epilogue = text[len(end) :] or "\n"
    return text[:pos], epilogue


def _indent_unit(root: ET.Element) -> str:
    text = root.text or ""
    unit = text.rsplit("\n", 1)[-1] if "\n" in text else ""
    return unit if unit and not unit.strip() else "  "


def merge_core_site(existing_xml: str, view: RealmView) -> str:
    """Set the HAS properties in an existing core-site.xml, keeping every other property.

    Properties already present get the new value in place; missing ones are appended
    in the file's own indentation. Comments, the XML declaration and the stylesheet
    line survive. An empty ``existing_xml`` gives a new file.
    """
    if not existing_xml.strip():
        existing_xml = _EMPTY_CORE_SITE
    if "<!ENTITY" in existing_xml:
        # Hadoop never uses DTD entities; refusing them rules out entity-expansion tricks,
        # which is what makes the stdlib parser safe for this local, operator-owned file.
        raise ValueError("core-site.xml: DTD entity declarations are not supported")
    builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
    parser = ET.XMLParser(target=builder)  # noqa: S314 (no entities: checked above)
    try:
        root = ET.fromstring(existing_xml, parser=parser)  # noqa: S314
    except ET.ParseError as exc:
        raise ValueError(f"core-site.xml is not well-formed XML: {exc}") from None
    if root.tag != "configuration":
        raise ValueError(
            f"core-site.xml: expected a <configuration> root element, found <{root.tag}>"
        )
    prolog, epilogue = _split_document(existing_xml)
    wanted = core_site_properties(view)
    seen: set[str] = set()
    for prop in root.findall("property"):
        name = (prop.findtext("name") or "").strip()
        if name not in wanted:
            continue
        value_el = prop.find("value")
        if value_el is None:
            value_el = ET.SubElement(prop, "value")
        value_el.text = wanted[name]
        seen.add(name)

    unit = _indent_unit(root)
    template = next((p for p in root.findall("property") if len(p) >= 2), None)
    inner = "\n" + unit * 2
    closing = "\n" + unit
    if template is not None and template.text is not None and not template.text.strip():
        inner = template.text
        last_tail = template[-1].tail
        if last_tail is not None and not last_tail.strip():
            closing = last_tail
    for name, value in wanted.items():
        if name in seen:
            continue
        children = list(root)
        prop = _property(name, value, inner, closing)
        if children:
            between = children[0].tail if len(children) >= 2 else None
            if between is None or between.strip() or "\n" not in between:
                between = "\n" + unit
            prop.tail = children[-1].tail if children[-1].tail is not None else "\n"
            children[-1].tail = between
        else:
            root.text = "\n" + unit
            prop.tail = "\n"
        root.append(prop)
    return prolog + ET.tostring(root, encoding="unicode") + epilogue


# ------------------------------------------------------------------ writing


def export_krb5_conf(path: str | os.PathLike[str], view: RealmView) -> bool:
    """Write krb5.conf (0644, atomic); True if the file changed."""
    return write_client_file(path, render_krb5_conf(view))


def export_has_client_conf(path: str | os.PathLike[str], view: RealmView) -> bool:
    """Write has-client.conf (0644, atomic); True if the file changed."""
    return write_client_file(path, render_has_client_conf(view))


def export_core_site(path: str | os.PathLike[str], view: RealmView) -> bool:
    """Merge the HAS properties into core-site.xml (created if absent); True if changed."""
    target = Path(path)
    try:
        existing = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = ""
    return write_client_file(target, merge_core_site(existing, view))
