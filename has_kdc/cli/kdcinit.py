"""``kdcinit <conf_dir> [--local] [command ...]``: set up the realm, as HAS's ``KdcInitTool``.

Like HAS's kdcinit, it talks to the HAS server of its conf_dir over HTTPS: the URL is
``https://<https_host>:<https_port>/has/v1`` from conf_dir/has-server.conf (a
wildcard https_host means this machine), and the server is trusted through the
cluster CA: has-server.conf's ``ssl_ca_file``, else
``$CA_ROOT``, else ``<conf_dir>/ca-root.pem``, else ``/etc/has/ca-root.pem``.

Until the realm is initialized the server takes ``init`` and the ``config_*`` and
``set_plugin`` commands only with its one-time setup token (has_kdc.web.setup_window):
kdcinit reads it from ``<conf_dir>/setup-token`` (else ``<data_dir>/setup-token``)
before each request, so it works when run on the node by root or the service's
account. Once the realm is initialized those commands need an administrator:
``init -p DIR`` then authenticates with the admin keys already in ``DIR/admin.keytab``
(Kerberos SPNEGO through this node's KDC); without them it says where to get them.

A conf_dir holding only hadmin.conf (or has-project's admin.conf), as on an admin
host set up by HAS's has-start.md, reaches the nodes that file names
(`admin_conf_ops`).

``--local`` does the same work on the identity store directly (conf_dir's
kdc.conf and backend.conf), without a running server: for bootstrapping, recovery,
or a node whose HTTPS is down. Its changes are audited as the local OS user via
``kdcinit``; over HTTPS the server records them, as the authenticated principal (or
``anonymous``) from this host's address. A conf_dir without has-server.conf (a KDC-only node,
where has-server serves no HTTPS) is always worked on locally. ``certs`` is always
local: it makes the certificates the HTTPS server needs before it can start.

Commands (HAS's names and its long forms — ``get_krb5conf``, ``get_hasConf``,
``setplugin``, ``confbackend``, ``confkdc``, ``start_kdc``, ``init_kdc`` —; ``help``,
``?`` or ``cmd`` lists them). ``-p DIR`` may be left out where HAS allowed it: the
files then go to the conf_dir, as with HAS, and a DIR that does not exist is created.

- ``getkrb5 [-p DIR]``, ``gethas [-p DIR]``, ``getcoresite [-p DIR]``: write the client
  configs of the realm (every registered node) to DIR/krb5.conf, DIR/has-client.conf,
  DIR/core-site-has.xml (the ``<property>`` elements to merge into core-site.xml),
  mode 0644, only when the content changed; ``gethas`` also writes the cluster CA
  certificate to DIR/ca-root.pem, where clients of DIR/has-client.conf look for it
  (``login-test tgt DIR MySQL`` then works as it is);
- ``config_kdcBackend mysql URL USER [PASSWORD]`` / ``config_kdcBackend sqlite [DIR]``,
  ``config_kdc HOST PORT REALM``, ``set_plugin NAME``: edit the node's backend.conf,
  kdc.conf, has-server.conf (the server must have ``enable_conf = true``); a MySQL
  password not given is read from the terminal or stdin, and is sent in the request
  body, never in the URL;
- ``start``: report the node's KDC state (the KDC starts with has-server);
- ``init [-p DIR]``: initialize the realm once and write DIR/admin.keytab (mode 0600);
  on an initialized realm it changes nothing and writes the existing admin keys, so
  every node gets the same file;
- ``certs [--ca-dir DIR] [--host NAME]... [--ip ADDR]...``: create (or keep) the
  cluster CA in DIR (default ``<conf_dir>/ca``) and this node's ``server.pem``,
  ``server.key`` (0600) and ``ca-root.pem`` in conf_dir, for https_host and kdc_host
  unless names are given. A second node passes the first node's ``--ca-dir``.
- ``nodes [--json]``: every registered HAS node (state, last heartbeat, KDC requests
  per second, errors, schema version) and every database host (reachable, schema
  version, Galera cluster size and state), read directly from the store; it works
  when no database host answers too, and then says why for each.

Without a command it opens the ``KdcInitTool:`` prompt.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import urlsplit

from has_kdc.admin import ADMIN_KEYTAB, Actor, admin_principal_name, os_actor
from has_kdc.admin.cluster import cluster_report, render_text
from has_kdc.admin.errors import AdminError
from has_kdc.cli.shell import USER_ERRORS, Command, Console
from has_kdc.client.admin_client import HasAdminClient, hadmin_trust_anchor
from has_kdc.client.has_client import (
    HasClientError,
    HasHttpsClient,
    HasResponse,
    client_ssl_context,
    local_server_url,
)
from has_kdc.client.kdc_client import KdcClient
from has_kdc.client.transport import KdcAddress, KdcTransport
from has_kdc.conf import (
    HAS_SERVER_CONF,
    ConfigError,
    HasServerConfig,
    load_conf_dir,
    read_hadmin_conf,
    read_has_server_conf,
)
from has_kdc.conf.has_client import CA_ROOT_DEFAULT, CA_ROOT_ENV, find_admin_conf
from has_kdc.fileio import PUBLIC_MODE, SECRET_MODE, write_if_changed
from has_kdc.formats import read_keytab
from has_kdc.formats.keytab import parse_keytab
from has_kdc.node.backend_startup import open_backend_deferred
from has_kdc.node.errors import NodeError
from has_kdc.node.service import HasService, InitOutcome
from has_kdc.pki import CA_CERT_FILE, PkiError, create_ca, issue_server_cert
from has_kdc.web.setup_window import SETUP_TOKEN_HEADER, read_setup_token

__all__ = ["KdcInitTool", "LocalOps", "RemoteOps", "main"]

PROMPT = "KdcInitTool:"
DEFAULT_CA_DIR = "ca"
KRB5_CONF = "krb5.conf"
HAS_CLIENT_CONF = "has-client.conf"
CA_ROOT_FILE = CA_ROOT_DEFAULT.name
CORE_SITE_FRAGMENT = "core-site-has.xml"
_FAILURES = (HasClientError, NodeError, PkiError)


class KdcInitOps(Protocol):
    """What kdcinit asks of a HAS node, over HTTPS (`RemoteOps`) or directly (`LocalOps`)."""

    def krb5_conf(self) -> str: ...
    def has_client_conf(self) -> str: ...
    def ca_certificate(self) -> bytes | None: ...
    def core_site(self) -> str: ...
    def kdc_start(self) -> str: ...
    def init(self, admin_keytab: Path | None = None) -> InitOutcome: ...
    def config_kdc(self, host: str, port: int, realm: str) -> str: ...
    def config_backend(self, backend_type: str, **values: str | None) -> str: ...
    def set_plugin(self, plugin: str) -> str: ...


class RemoteOps:
    """The HAS server's REST API (/has/v1), as HAS's kdcinit uses it.

    ``setup_token`` reads the node's current setup token (None once the realm is
    initialized); ``admin_client`` makes a SPNEGO client from an admin keytab.
    """

    def __init__(
        self,
        client: HasHttpsClient,
        *,
        setup_token: Callable[[], str | None] = lambda: None,
        admin_client: Callable[[Path], HasAdminClient] | None = None,
        admin_keytab: Path | None = None,
    ) -> None:
        self.client = client
        self._setup_token = setup_token
        self._admin_client = admin_client
        #: the admin keytab to use when init is given none (hadmin.conf's)
        self._admin_keytab = admin_keytab

    def _setup_headers(self) -> dict[str, str]:
        token = self._setup_token()
        return {SETUP_TOKEN_HEADER: token} if token else {}

    def _put(self, path: str, json_body: object = None) -> HasResponse:
        """A request of the setup window: with the setup token while there is one."""
        return self.client.request("PUT", path, json_body=json_body, headers=self._setup_headers())

    def krb5_conf(self) -> str:
        return self.client.get("getkrb5conf").text()

    def has_client_conf(self) -> str:
        return self.client.get("gethasconf").text()

    def ca_certificate(self) -> bytes | None:
        try:
            return self.client.get("getcert").body
        except HasClientError as exc:
            if exc.status == 404:  # the node has no CA certificate to hand out
                return None
            raise

    def core_site(self) -> str:
        return self.client.get("getcoresite").text()

    def kdc_start(self) -> str:
        return str(self.client.get("kdcstart").json().get("msg", ""))

    def init(self, admin_keytab: Path | None = None) -> InitOutcome:
        headers = self._setup_headers()
        admin_keytab = admin_keytab or self._admin_keytab
        if not headers and admin_keytab is not None and self._admin_client is not None:
            answer = self._admin_client(admin_keytab).put("kdcinit")
        else:
            try:
                answer = self.client.request("PUT", "kdcinit", headers=headers)
            except HasClientError as exc:
                if exc.status == 401 and exc.error == "unauthorized":
                    raise HasClientError(
                        f"{exc}. kdcinit authenticates as kadmin with DIR/{ADMIN_KEYTAB} when "
                        "it is there: copy admin.keytab from a node that has it, or run "
                        "'kdcinit <conf_dir> --local init -p DIR' on a node that can read "
                        "the store",
                        status=exc.status,
                        error=exc.error,
                        url=exc.url,
                    ) from None
                raise
        try:
            parse_keytab(answer.body)
        except ValueError as exc:
            raise HasClientError(f"{answer.url}: the answer is not a keytab: {exc}") from None
        created = answer.headers.get("x-has-created-principals", "")
        return InitOutcome(
            realm=answer.headers.get("x-has-realm", "?"),
            created=answer.headers.get("x-has-realm-created") == "true",
            created_principals=tuple(n for n in created.split(",") if n),
            initialized_at=None,
            admin_principal="",
            keytab=answer.body,
        )

    def config_kdc(self, host: str, port: int, realm: str) -> str:
        body = {"host": host, "port": port, "realm": realm}
        return str(self._put("conf/configkdc", body).json().get("msg", ""))

    def config_backend(self, backend_type: str, **values: str | None) -> str:
        body = {"backendType": backend_type, **{k: v for k, v in values.items() if v}}
        return str(self._put("conf/configkdcbackend", body).json().get("msg", ""))

    def set_plugin(self, plugin: str) -> str:
        return str(self._put("conf/setplugin", {"plugin": plugin}).json().get("msg", ""))


class LocalOps:
    """The same operations on the identity store of the conf_dir, no server involved,
    on behalf of ``actor`` (by default the local user, via ``kdcinit``)."""

    def __init__(self, service: HasService, actor: Actor | None = None) -> None:
        self.service = service
        self.actor = actor if actor is not None else os_actor("kdcinit")

    def krb5_conf(self) -> str:
        return self.service.krb5_conf()

    def has_client_conf(self) -> str:
        return self.service.has_client_conf()

    def ca_certificate(self) -> bytes | None:
        return self.service.ca_certificate()

    def core_site(self) -> str:
        return self.service.core_site()

    def kdc_start(self) -> str:
        state = "initialized" if self.service.is_initialized() else "not initialized yet"
        return (
            f"the KDC runs with has-server (has-server {self.service.conf_dir}); "
            f"realm {self.service.conf.kdc.kdc_realm} is {state}"
        )

    def init(self, admin_keytab: Path | None = None) -> InitOutcome:
        return self.service.init_realm(self.actor)

    def config_kdc(self, host: str, port: int, realm: str) -> str:
        return self.service.config_kdc(host, port, realm, actor=self.actor)

    def config_backend(self, backend_type: str, **values: str | None) -> str:
        return self.service.config_backend(
            backend_type,
            url=values.get("url"),
            user=values.get("user"),
            password=values.get("password"),
            directory=values.get("dir"),
            actor=self.actor,
        )

    def set_plugin(self, plugin: str) -> str:
        return self.service.set_plugin(plugin, actor=self.actor)

    def close(self) -> None:
        self.service.close()


def trust_anchor(
    server: HasServerConfig, conf_dir: Path, environ: dict[str, str] | None = None
) -> Path:
    """The CA bundle kdcinit verifies its server with (see the module docstring)."""
    env = os.environ if environ is None else environ
    if server.ssl_ca_file is not None:
        return server.ssl_ca_file
    if env.get(CA_ROOT_ENV):
        return Path(env[CA_ROOT_ENV])
    local = conf_dir / CA_CERT_FILE
    return local if local.is_file() else CA_ROOT_DEFAULT


def remote_ops(conf_dir: str | os.PathLike[str]) -> RemoteOps:
    """RemoteOps for the HAS server of ``conf_dir`` (its has-server.conf)."""
    base = Path(conf_dir)
    path = base / HAS_SERVER_CONF
    if not path.is_file():
        raise ConfigError(
            "not found: kdcinit reaches its HAS server through https_host/https_port of "
            "has-server.conf; write it, or use --local to work on the database directly",
            str(path),
        )
    server = read_has_server_conf(path)
    anchor = trust_anchor(server, base)
    if not anchor.is_file():
        raise ConfigError(
            f"the cluster CA certificate {anchor} does not exist: run 'kdcinit {base} certs', "
            f"set ssl_ca_file in has-server.conf or {CA_ROOT_ENV}",
            str(path),
        )
    url = local_server_url(server)
    ssl_context = client_ssl_context(anchor)
    try:
        kdc = load_conf_dir(base).kdc
    except ConfigError:
        kdc = None
    data_dir = kdc.data_dir if kdc is not None else None

    def admin_client(keytab_path: Path) -> HasAdminClient:
        """SPNEGO as kadmin/REALM with ``keytab_path``, through this node's own KDC."""
        if kdc is None:
            raise ConfigError("kdc.conf is needed to authenticate as kadmin", str(base))
        try:
            keytab = read_keytab(keytab_path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the admin keytab: {exc}", str(keytab_path)) from None
        host = urlsplit(url).hostname or server.https_host
        realm = kdc.kdc_realm
        port = kdc.kdc_udp_port or kdc.kdc_tcp_port or 88
        transport = KdcTransport([KdcAddress(_kdc_host(kdc.kdc_host), port)])
        return HasAdminClient(
            [host],
            server.https_port,
            ssl_context,
            realm=realm,
            principal=admin_principal_name(realm),
            keytab=keytab,
            kdc=KdcClient(transport, realm),
        )

    return RemoteOps(
        HasHttpsClient([url], ssl_context),
        setup_token=lambda: read_setup_token(base, data_dir),
        admin_client=admin_client,
    )


def admin_conf_ops(conf_dir: str | os.PathLike[str]) -> RemoteOps:
    """RemoteOps for an admin host set up as HAS's has-start.md does: a conf_dir with
    hadmin.conf (or admin.conf) only. The nodes, port and CA come from it; a realm
    already initialized is worked on as its admin (hadmin.conf's ``admin_keytab``,
    the conf_dir's krb5.conf), a fresh one only from a node (its setup token)."""
    base = Path(conf_dir)
    admin_path = find_admin_conf(base)
    if admin_path is None:
        raise ConfigError("no hadmin.conf or admin.conf here", str(base))
    conf = read_hadmin_conf(admin_path)
    anchor = hadmin_trust_anchor(conf, base, os.environ)
    if not anchor.is_file():
        raise ConfigError(
            f"the cluster CA certificate {anchor} does not exist: set ssl_ca_file in "
            f"{admin_path.name}, {CA_ROOT_ENV}, or put ca-root.pem in {base}",
            str(admin_path),
        )
    return RemoteOps(
        HasHttpsClient(conf.base_urls(), client_ssl_context(anchor)),
        setup_token=lambda: read_setup_token(base, None),
        admin_client=lambda _keytab: HasAdminClient.from_conf_dir(base),
        admin_keytab=conf.admin_keytab,
    )


def _kdc_host(host: str) -> str:
    """Where this node's KDC is reached from the node itself (a wildcard is local)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def _same_keys(path: Path, keytab: bytes) -> bool:
    """Whether the keytab at ``path`` holds exactly the keys of ``keytab`` (times aside).

    Keytab entries carry the time they were written, so the bytes of a re-export
    differ; comparing keys keeps a repeated ``init`` from rewriting the file.
    """

    def keys(entries: object) -> set[tuple[object, ...]]:
        return {
            (e.principal.components, e.principal.realm, e.kvno, e.enctype, e.key)
            for e in entries  # type: ignore[attr-defined]
        }

    try:
        existing = parse_keytab(path.read_bytes())
    except (OSError, ValueError):
        return False
    return keys(existing.entries) == keys(parse_keytab(keytab).entries)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port from 1 to 65535")
    return int(text)


class KdcInitTool(Console):
    """The kdcinit commands over one HAS node (see the module docstring)."""

    def __init__(
        self,
        conf_dir: str | os.PathLike[str],
        make_ops: Callable[[], KdcInitOps],
        **streams: TextIO,
    ) -> None:
        super().__init__("kdcinit", PROMPT, **streams)
        self.conf_dir = Path(conf_dir)
        self._make_ops = make_ops
        self._ops: KdcInitOps | None = None
        conf_note = "(default: the conf_dir)"
        for name, aliases, summary, target in (
            (
                "getkrb5",
                ("get_krb5conf",),
                f"write DIR/{KRB5_CONF} listing every HAS node",
                self.getkrb5,
            ),
            (
                "gethas",
                ("get_hasConf",),
                f"write DIR/{HAS_CLIENT_CONF} listing every HAS node, and DIR/{CA_ROOT_FILE}",
                self.gethas,
            ),
            (
                "getcoresite",
                (),
                f"write DIR/{CORE_SITE_FRAGMENT} (Hadoop properties)",
                self.getcoresite,
            ),
        ):
            p = self.parser(name, summary)
            p.add_argument("-p", dest="directory", metavar="DIR", help=conf_note)
            self.add(Command(name, p, self._guarded(target), aliases))
        p = self.parser("init", "initialize the realm once and write DIR/admin.keytab")
        p.add_argument(
            "-p", dest="directory", metavar="DIR", help=f"where admin.keytab goes {conf_note}"
        )
        self.add(Command("init", p, self._guarded(self.init), ("init_kdc",)))
        p = self.parser("start", "show whether this node's KDC serves the realm")
        self.add(Command("start", p, self._guarded(self.start), ("start_kdc",)))
        p = self.parser("config_kdc", "set the node's KDC host, port and realm (kdc.conf)")
        p.add_argument("host")
        p.add_argument("port", type=_port)
        p.add_argument("realm")
        self.add(Command("config_kdc", p, self._guarded(self.config_kdc), ("confkdc",)))
        p = self.parser(
            "config_kdcBackend",
            "set the node's identity store: mysql URL USER [PASSWORD] | sqlite [DIR]",
        )
        p.add_argument("backend_type", choices=("mysql", "sqlite", "json"))
        p.add_argument("values", nargs="*", metavar="ARG")
        self.add(
            Command("config_kdcBackend", p, self._guarded(self.config_backend), ("confbackend",))
        )
        p = self.parser("set_plugin", "set [PLUGIN] auth_type in the node's has-server.conf")
        p.add_argument("plugin")
        self.add(Command("set_plugin", p, self._guarded(self.set_plugin), ("setplugin",)))
        p = self.parser("certs", "create the cluster CA and this node's TLS certificate")
        p.add_argument(
            "--ca-dir", metavar="DIR", help=f"CA directory (default CONF/{DEFAULT_CA_DIR})"
        )
        p.add_argument("--ca-name", default="HAS cluster CA", help="the CA's common name")
        p.add_argument("--host", action="append", default=[], metavar="NAME")
        p.add_argument("--ip", action="append", default=[], metavar="ADDR")
        self.add(Command("certs", p, self._guarded(self.certs)))
        p = self.parser(
            "nodes", "every HAS node and database host: state, heartbeat, KDC load, Galera"
        )
        p.add_argument("--json", action="store_true", help="the report as JSON")
        self.add(Command("nodes", p, self._guarded(self.nodes)))

    # -- plumbing ---------------------------------------------------------------------

    @property
    def ops(self) -> KdcInitOps:
        if self._ops is None:
            self._ops = self._make_ops()
        return self._ops

    def close(self) -> None:
        close = getattr(self._ops, "close", None)
        if close is not None:
            close()

    def _guarded(
        self, fn: Callable[[argparse.Namespace], int]
    ) -> Callable[[argparse.Namespace], int]:
        """HTTP and PKI failures end the command with one line, like the console's errors."""

        def run(options: argparse.Namespace) -> int:
            try:
                return fn(options)
            except _FAILURES as exc:
                self.err(f"kdcinit: {exc}")
                return 1

        return run

    def _target_dir(self, directory: str | None, name: str, mode: int = 0o755) -> Path:
        """``-p DIR``, else the conf_dir (HAS's default); created when missing, as HAS does."""
        target_dir = Path(directory) if directory else self.conf_dir
        if not target_dir.exists():
            try:
                target_dir.mkdir(mode=mode, parents=True)
            except OSError as exc:
                raise AdminError(f"cannot create {target_dir} for {name}: {exc.strerror}") from None
            self.out(f"Created {target_dir}")
        if not target_dir.is_dir():
            raise AdminError(f"cannot write {name}: {target_dir} is not a directory")
        return target_dir

    def _write(self, directory: str | None, name: str, data: str | bytes, mode: int) -> None:
        path = self._target_dir(directory, name) / name
        changed = write_if_changed(path, data, mode)
        self.out(f"{'Wrote' if changed else 'Unchanged:'} {path}")

    # -- commands -----------------------------------------------------------------------

    def getkrb5(self, options: argparse.Namespace) -> int:
        self._write(options.directory, KRB5_CONF, self.ops.krb5_conf(), PUBLIC_MODE)
        return 0

    def gethas(self, options: argparse.Namespace) -> int:
        self._write(options.directory, HAS_CLIENT_CONF, self.ops.has_client_conf(), PUBLIC_MODE)
        ca = self.ops.ca_certificate()
        if ca is None:
            self.err(
                f"kdcinit: this node has no CA certificate to export; clients of "
                f"{HAS_CLIENT_CONF} need one in ${CA_ROOT_ENV} or {CA_ROOT_DEFAULT}"
            )
            return 0
        self._write(options.directory, CA_ROOT_FILE, ca, PUBLIC_MODE)
        return 0

    def getcoresite(self, options: argparse.Namespace) -> int:
        self._write(options.directory, CORE_SITE_FRAGMENT, self.ops.core_site(), PUBLIC_MODE)
        return 0

    def start(self, options: argparse.Namespace) -> int:
        self.out(self.ops.kdc_start())
        return 0

    def init(self, options: argparse.Namespace) -> int:
        directory = self._target_dir(options.directory, ADMIN_KEYTAB, mode=0o700)
        keytab = directory / ADMIN_KEYTAB
        outcome = self.ops.init(keytab if keytab.is_file() else None)
        if outcome.created:
            self.out(f"Realm {outcome.realm} initialized; created:")
            for name in outcome.created_principals:
                self.out(f"  {name}")
        else:
            self.out(f"Realm {outcome.realm} is already initialized; nothing changed.")
        path = directory / ADMIN_KEYTAB
        if _same_keys(path, outcome.keytab) and stat.S_IMODE(path.stat().st_mode) == SECRET_MODE:
            self.out(f"Unchanged: {path} already holds the admin keys of {outcome.realm}.")
            return 0
        write_if_changed(path, outcome.keytab, SECRET_MODE)
        self.out(f"Wrote the admin keys of {outcome.realm} to {path} (mode 0600).")
        return 0

    def config_kdc(self, options: argparse.Namespace) -> int:
        self.out(self.ops.config_kdc(options.host, options.port, options.realm))
        return 0

    def _password(self) -> str | None:
        if self.stdin_is_tty():
            return getpass.getpass("MySQL password: ") or None
        line = self.stdin.readline()
        return line.rstrip("\r\n") or None

    def config_backend(self, options: argparse.Namespace) -> int:
        kind, values = options.backend_type, list(options.values)
        if kind == "mysql":
            if len(values) not in (2, 3):
                raise AdminError("usage: config_kdcBackend mysql URL USER [PASSWORD]")
            password = values[2] if len(values) == 3 else self._password()
            msg = self.ops.config_backend("mysql", url=values[0], user=values[1], password=password)
        elif kind == "sqlite":
            if len(values) > 1:
                raise AdminError("usage: config_kdcBackend sqlite [DIR]")
            msg = self.ops.config_backend("sqlite", dir=values[0] if values else None)
        else:
            raise AdminError(
                "HAS's json backend is not served: use mysql (shared by every node) or sqlite, "
                "and bring an existing json-backend.json over, keys kept, with "
                "'hadmin-local CONF_DIR import DIR/json-backend.json'"
            )
        self.out(msg)
        return 0

    def set_plugin(self, options: argparse.Namespace) -> int:
        self.out(self.ops.set_plugin(options.plugin))
        return 0

    def certs(self, options: argparse.Namespace) -> int:
        server_path = self.conf_dir / HAS_SERVER_CONF
        server = read_has_server_conf(server_path) if server_path.exists() else None
        names = list(options.host)
        ips = list(options.ip)
        if not names and not ips:
            candidates = []
            if server is not None and server.https_host not in ("0.0.0.0", "::"):  # noqa: S104
                candidates.append(server.https_host)
            kdc_path = self.conf_dir / "kdc.conf"
            if kdc_path.exists():
                candidates.append(load_conf_dir(self.conf_dir).kdc.kdc_host)
            for candidate in dict.fromkeys(candidates):
                try:
                    ipaddress.ip_address(candidate.strip("[]"))
                    ips.append(candidate)
                except ValueError:
                    names.append(candidate)
        if not names and not ips:
            raise AdminError("no host name to certify: give --host NAME or --ip ADDR")
        ca_dir = Path(options.ca_dir) if options.ca_dir else self.conf_dir / DEFAULT_CA_DIR
        ca = create_ca(ca_dir, options.ca_name)
        self.out(f"{'Created' if ca.changed else 'Using'} the CA {ca.name} in {ca_dir}")
        cert = issue_server_cert(ca, names, ips, self.conf_dir)
        state = "Issued" if cert.changed else "Kept"
        self.out(
            f"{state} {cert.cert_path} for {', '.join((*cert.dns_names, *cert.ip_addresses))} "
            f"(until {cert.not_valid_after:%Y-%m-%d}); key {cert.key_path} (0600); "
            f"clients trust {cert.trust_bundle_path}"
        )
        return 0

    def nodes(self, options: argparse.Namespace) -> int:
        """Always local, and without creating the schema: it must work, and say which
        database host is down, when none answers."""
        conf = load_conf_dir(self.conf_dir)
        backend = open_backend_deferred(conf.backend)
        try:
            report = cluster_report(backend)
        finally:
            backend.close()
        if options.json:
            self.out(json.dumps(report, indent=2, sort_keys=True))
        else:
            for line in render_text(report):
                self.out(line)
        return 0


def _main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdcinit",
        description="Set up the HAS realm through this node's HAS server (HTTPS).",
        epilog="Without a command, opens the interactive prompt. Type 'help' there.",
    )
    parser.add_argument("conf_dir", help="HAS conf_dir holding has-server.conf (and kdc.conf)")
    parser.add_argument(
        "--local",
        action="store_true",
        help="work on the identity store directly instead of through the HAS server",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command and its arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _main_parser().parse_args(argv)
    command = list(options.command)
    if command[:1] == ["--local"]:  # kdcinit CONF --local init -p DIR
        options.local = True
        command = command[1:]
    conf_dir = options.conf_dir

    def make_ops() -> KdcInitOps:
        # A conf_dir without has-server.conf runs no HTTPS server: nothing to talk to,
        # unless it is an admin host's, whose hadmin.conf names the nodes (HAS's way).
        if not options.local and (Path(conf_dir) / HAS_SERVER_CONF).exists():
            return remote_ops(conf_dir)
        if not options.local and find_admin_conf(conf_dir) is not None:
            return admin_conf_ops(conf_dir)
        return LocalOps(HasService(conf_dir, migrate=True))

    console = KdcInitTool(conf_dir, make_ops)
    try:
        if command[:1] in (["-h"], ["--help"]):  # kdcinit CONF --help
            _main_parser().print_help()
            print()
            return console.run_command(["help"])
        if command:
            return console.run_command(command)
        return console.interact()
    except USER_ERRORS as exc:
        print(f"kdcinit: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kdcinit: interrupted", file=sys.stderr)
        return 130
    finally:
        console.close()


if __name__ == "__main__":
    sys.exit(main())
