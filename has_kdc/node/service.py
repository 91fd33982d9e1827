"""What a HAS node does for its REST API and for ``kdcinit --local``, as plain functions.

`HasService` holds one node's conf_dir and a connection to the shared identity store
and answers in plain Python: the client configs of the realm, realm initialization
(and the admin keytab it yields), the node's KDC state, and the configuration edits
HAS's ``conf/*`` endpoints make. The aiohttp handlers in `api` call it on worker
threads; ``kdcinit --local`` calls it directly. Nothing here knows HTTP: a refusal is
`InvalidRequest` or `NodeConflict` (`has_kdc.node.errors`), which the REST API answers
with 400 or 409 and the CLI prints as it is.

has-server.conf is re-read when its modification time changes, so ``enable_conf``
and ``auth_type`` edits (HAS flips enable_conf in the file) apply without a restart.
Edits of kdc.conf and backend.conf apply at the next start of has-server.

Every change here (realm init and its admin keytab, each configuration edit) is made
on behalf of an `Actor` the caller names, and is one record of the audit trail
(`has_kdc.admin.audit`); an edit that changes nothing is not recorded.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from has_kdc.admin import Actor, AuditTrail, init_realm, is_initialized
from has_kdc.backend import REALM_KEY, BackendError, IdentityBackend, open_backend
from has_kdc.conf import (
    HAS_SERVER_CONF,
    ConfDir,
    ConfigError,
    HasServerConfig,
    load_conf_dir,
    parse_has_server_conf,
    parse_profile,
    read_has_server_conf,
    set_enable_conf,
)
from has_kdc.conf.backend import backend_config_from_profile
from has_kdc.conf.client_exports import (
    RealmView,
    render_core_site_properties,
    render_has_client_conf,
    render_krb5_conf,
)
from has_kdc.conf.confdir import BACKEND_CONF, KDC_CONF
from has_kdc.conf.edit import set_relations
from has_kdc.conf.kdc import kdc_config_from_profile
from has_kdc.fileio import PUBLIC_MODE, SECRET_MODE, write_if_changed
from has_kdc.formats.keytab import keytab_to_bytes
from has_kdc.node.errors import InvalidRequest, NodeConflict
from has_kdc.node.realm_view import build_realm_view
from has_kdc.pki import CA_CERT_FILE

__all__ = [
    "BACKEND_TYPES",
    "HasService",
    "InitOutcome",
    "check_host",
    "check_port",
    "check_realm",
]

log = logging.getLogger("has_kdc.web")

BACKEND_TYPES = ("mysql", "sqlite")
_REALM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_PLUGIN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class InitOutcome:
    """What a ``kdcinit`` did; ``keytab`` holds the admin keys (never in a repr)."""

    realm: str
    created: bool
    created_principals: tuple[str, ...]
    initialized_at: str | None
    admin_principal: str
    keytab: bytes = field(repr=False)


def check_host(value: str, what: str = "host") -> str:
    text = value.strip()
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if text and len(text) <= 253 and all(_HOST_LABEL.match(label) for label in labels):
        return text
    raise InvalidRequest(f"{what} {value!r} is not a host name or IP address")


def check_port(value: int, what: str = "port") -> int:
    if not 1 <= value <= 65535:
        raise InvalidRequest(f"{what} {value} is not a port from 1 to 65535")
    return value


def check_realm(value: str) -> str:
    if not _REALM.match(value):
        raise InvalidRequest(
            f"realm {value!r} is not a realm name (letters, digits, '.', '-', '_'; e.g. HADOOP.COM)"
        )
    return value


class HasService:
    """One node's view of the realm, over its conf_dir and the shared store."""

    def __init__(
        self,
        conf_dir: str | os.PathLike[str],
        conf: ConfDir | None = None,
        *,
        backend: IdentityBackend | None = None,
        migrate: bool = False,
    ) -> None:
        self.conf_dir = Path(conf_dir)
        self.conf = conf if conf is not None else load_conf_dir(self.conf_dir)
        self.server_conf_path = self.conf_dir / HAS_SERVER_CONF
        self._server_conf: HasServerConfig | None = None
        self._server_conf_stamp: tuple[int, int] | None = None
        self._backend = backend
        self._migrate = migrate
        self._lock = threading.Lock()

    # -- configuration -------------------------------------------------------------

    def server_conf(self) -> HasServerConfig:
        """has-server.conf as it is now (HAS's defaults when the file does not exist)."""
        try:
            st = self.server_conf_path.stat()
        except FileNotFoundError:
            return HasServerConfig()
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._server_conf is None or stamp != self._server_conf_stamp:
                try:
                    self._server_conf = read_has_server_conf(self.server_conf_path)
                except ConfigError as exc:
                    if self._server_conf is None:
                        raise
                    log.warning("keeping the previous has-server.conf: %s", exc)
                self._server_conf_stamp = stamp
            return self._server_conf

    @property
    def host(self) -> str:
        """The name this node registers under (kdc.conf's kdc_host)."""
        return self.conf.kdc.kdc_host

    # -- the shared store ------------------------------------------------------------

    def backend(self) -> IdentityBackend:
        """The store, opened at first use; a failed open is retried at the next call."""
        with self._lock:
            if self._backend is None:
                self._backend = open_backend(self.conf.backend, migrate=self._migrate)
            return self._backend

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None

    def audit(self, actor: Actor) -> AuditTrail:
        """The audit trail of ``actor``'s changes on this node (store opened when needed)."""
        return AuditTrail.for_realm(self.backend, self.conf.kdc, actor)

    # -- client configurations -----------------------------------------------------------

    def realm_view(self) -> RealmView:
        try:
            return build_realm_view(self.backend(), self.conf.kdc, self.server_conf(), self.host)
        except ValueError as exc:  # nodes registered with ports that cannot be exported
            raise NodeConflict(str(exc)) from None

    def krb5_conf(self) -> str:
        return render_krb5_conf(self.realm_view())

    def has_client_conf(self) -> str:
        return render_has_client_conf(self.realm_view())

    def core_site(self) -> str:
        return render_core_site_properties(self.realm_view())

    def ca_certificate(self) -> bytes | None:
        """The CA bundle clients should trust (PEM), if this node has one."""
        conf = self.server_conf()
        for path in (conf.ssl_ca_file, self.conf_dir / CA_CERT_FILE, conf.ssl_client_cert):
            if path is not None and path.is_file():
                return path.read_bytes()
        return None

    # -- realm state -------------------------------------------------------------------

    def is_initialized(self) -> bool:
        return is_initialized(self.backend())

    def init_realm(self, actor: Actor) -> InitOutcome:
        """Initialize the realm once (a no-op later); the admin keytab either way, so
        the audit trail records every call, as the hand-out of the admin keys it is."""
        result = init_realm(self.backend(), self.conf.kdc, actor, hand_out=True)
        return InitOutcome(
            realm=result.realm,
            created=result.created,
            created_principals=tuple(result.created_principals),
            initialized_at=result.initialized_at,
            admin_principal=result.admin_principal.name,
            keytab=keytab_to_bytes(result.admin_keytab_entries()),
        )

    def probe(self) -> tuple[bool, bool | None, str | None]:
        """(database reachable, realm initialized or None, error text) for health checks."""
        try:
            return True, self.is_initialized(), None
        except BackendError as exc:
            return False, None, str(exc)

    # -- configuration edits (HAS's conf/* endpoints) ------------------------------------

    def config_kdc(self, host: str, port: int, realm: str, *, actor: Actor) -> str:
        """Set kdc_host, the KDC ports and kdc_realm in kdc.conf (HAS's configkdc)."""
        path = self.conf_dir / KDC_CONF
        detail = {"host": host, "port": port, "realm": realm}
        with self.audit(actor).change("configkdc", str(path), atomic=False, **detail) as change:
            host, port, realm = check_host(host), check_port(port), check_realm(realm)
            try:
                stored = self.backend().get_config(REALM_KEY)
            except BackendError:
                stored = None  # no database yet: HAS configures the KDC before the backend
            if stored is not None and stored != realm:
                raise NodeConflict(
                    f"the database already belongs to realm {stored}; configuring {realm} "
                    "would split the cluster",
                )
            text = path.read_text(encoding="utf-8") if path.exists() else "[kdcdefaults]\n"
            new = set_relations(
                text,
                "kdcdefaults",
                {
                    "kdc_host": host,
                    "kdc_udp_port": str(port),
                    "kdc_tcp_port": str(port),
                    "kdc_realm": realm,
                },
            )
            try:
                kdc_config_from_profile(parse_profile(new, str(path)))
            except ConfigError as exc:
                raise InvalidRequest(f"the new kdc.conf would not load: {exc}") from None
            changed = write_if_changed(path, new, _mode_of(path, PUBLIC_MODE))
            if not changed:
                change.unchanged()
        what = "set" if changed else "already set"
        return f"HAS server KDC {what}: {host}:{port}, realm {realm}; restart has-server to apply"

    def config_backend(
        self,
        backend_type: str,
        *,
        url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        directory: str | None = None,
        actor: Actor,
    ) -> str:
        """Write backend.conf (HAS's configkdcbackend); mode 0600, it may hold a password.

        The audit record names the backend type, the URL's host and database, the user
        and directory, and only whether a password was given.
        """
        path = self.conf_dir / BACKEND_CONF
        kind = backend_type.strip().lower()
        with self.audit(actor).change(
            "configkdcbackend",
            str(path),
            atomic=False,
            backend=kind,
            url=_url_for_record(url),
            user=user,
            dir=directory,
            password_given=password is not None,
        ) as change:
            if kind not in BACKEND_TYPES:
                raise InvalidRequest(
                    f"backendType {backend_type!r} is not supported; use "
                    f"{' or '.join(BACKEND_TYPES)} (HAS's json backend has no HA story)"
                )
            lines = ["# backend.conf, written by has-kdc (conf/configkdcbackend)"]
            if kind == "mysql":
                if not url or not user:
                    raise InvalidRequest("the mysql backend needs url and user")
                for name, value in (("url", url), ("user", user), ("password", password)):
                    if value is not None and (
                        any(c in value for c in "\r\n") or value != value.strip()
                    ):
                        raise InvalidRequest(f"{name} must be one line without outer spaces")
                if password is not None and password.startswith('"'):
                    raise InvalidRequest(
                        "a password starting with a double quote cannot be written to "
                        "backend.conf; set mysql_password_file there instead"
                    )
                lines += [
                    "kdc_identity_backend = mysql",
                    f"mysql_url = {url}",
                    f"mysql_user = {user}",
                ]
                if password:
                    lines.append(f"mysql_password = {password}")
            else:
                lines.append("kdc_identity_backend = sqlite")
                if directory:
                    if any(c in directory for c in "\r\n"):
                        raise InvalidRequest("dir must be one line")
                    lines.append(f"sqlite_path = {Path(directory) / 'has.sqlite'}")
            text = "\n".join(lines) + "\n"
            try:
                backend_config_from_profile(
                    parse_profile(text, str(path), allow_sectionless=True),
                    self.conf.kdc.data_dir,
                    environ={},
                )
            except ConfigError as exc:
                # The message names url/user problems; the password never appears in it.
                raise InvalidRequest(f"the new backend.conf would not load: {exc}") from None
            changed = write_if_changed(path, text, SECRET_MODE)
            if not changed:
                change.unchanged()
        what = "set" if changed else "already set"
        return f"{kind} backend {what}; restart has-server to apply"

    def set_plugin(self, plugin: str, *, actor: Actor) -> str:
        """Set ``[PLUGIN] auth_type`` in has-server.conf (HAS's setplugin)."""
        path = self.server_conf_path
        with self.audit(actor).change(
            "setplugin", str(path), atomic=False, plugin=plugin
        ) as change:
            if not _PLUGIN.match(plugin):
                raise InvalidRequest(
                    f"plugin {plugin!r} is not a plugin name (a word such as MySQL or RAM)"
                )
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            new = set_relations(text, "PLUGIN", {"auth_type": plugin})
            try:
                parse_has_server_conf(new, str(path))
            except ConfigError as exc:
                raise InvalidRequest(f"the new has-server.conf would not load: {exc}") from None
            changed = write_if_changed(path, new, _mode_of(path, PUBLIC_MODE))
            if not changed:
                change.unchanged()
        return f"HAS plugin {'set' if changed else 'already set'} to {plugin}"

    def set_enable_conf(self, enabled: bool, *, actor: Actor) -> bool:
        """Open (True) or close (False) this node's configuration endpoints: ``enable_conf``
        in has-server.conf (HAS's setconf). Returns whether the file changed."""
        path = self.server_conf_path
        with self.audit(actor).change(
            "setconf", str(path), atomic=False, enable_conf=enabled
        ) as change:
            changed = set_enable_conf(path, enabled)
            if not changed:
                change.unchanged()
        return changed


def _url_for_record(url: str | None) -> str | None:
    """A database URL without what may hold a secret: credentials before ``@`` in the
    authority, and the query (JDBC URLs may carry ``password=``)."""
    if url is None:
        return None
    base = url.split("?", 1)[0]
    scheme, sep, rest = base.rpartition("//")
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}"


def _mode_of(path: Path, default: int) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return default
