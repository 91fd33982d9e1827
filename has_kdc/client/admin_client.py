"""The HAS admin REST API as an administrator reaches it: SPNEGO from a keytab, node failover.

``hadmin-remote`` (and anything else that administers a realm from afar) works with
hadmin.conf (HAS's ``[HAS] https_host = node1,node2``, ``https_port``,
``admin_keytab``, ``admin_keytab_principal``) and needs three things per call:

- a Kerberos ticket for the node it talks to. Each node has its own service
  principal, ``HTTP/<the https_host entry>@REALM`` (the name in the URL, as MIT's
  GSS library and curl pick it), so the client logs in once with the admin keytab
  (AS exchange with the keytab's key, no password) and asks the KDCs for one service
  ticket per node, kept until shortly before it expires. The KDCs are the realm's
  ``kdc =`` lines of ``<conf_dir>/krb5.conf`` (HAS reads krb5.conf from the conf_dir),
  else of ``$KRB5_CONFIG`` or ``/etc/krb5.conf``; `KdcTransport` fails over between them.
- a fresh SPNEGO token per request (``Authorization: Negotiate``: the server's replay
  cache refuses a token seen before), and a check of the server's mutual
  authentication reply, so an answer is only believed from a node that holds the key.
- failover: the nodes are tried in hadmin.conf's order; a node that cannot be
  reached (refused, timed out, TLS failure), or whose ticket cannot be had (its
  ``HTTP/`` principal missing), is skipped; an HTTP error answer is the realm's
  answer and is not retried elsewhere.

TLS trusts the cluster CA: hadmin.conf's ``ssl_ca_file``, else ``$CA_ROOT``, else
``<conf_dir>/ca-root.pem``, else HAS's ``/etc/has/ca-root.pem``.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from has_kdc.client.has_client import (
    DEFAULT_TIMEOUT,
    HasClientError,
    HasHttpsClient,
    HasResponse,
    client_ssl_context,
)
from has_kdc.client.kdc_client import Credentials, KdcClient, KdcReplyError
from has_kdc.client.negotiate import http_service, keytab_key
from has_kdc.client.transport import KdcTransport, KdcUnreachable, kdcs_from_krb5_conf
from has_kdc.conf import HADMIN_CONF, ConfigError, HadminConfig, read_hadmin_conf
from has_kdc.conf.has_client import CA_ROOT_DEFAULT, CA_ROOT_ENV, find_admin_conf
from has_kdc.conf.profile import read_profile
from has_kdc.formats import Keytab, read_keytab
from has_kdc.gss import GssError, NegotiateInitiator

__all__ = ["HasAdminClient", "NodeAnswer", "find_krb5_conf", "hadmin_trust_anchor"]

#: A service ticket is asked for again when it has less than this many seconds left.
TICKET_MARGIN = 120
_UNREACHABLE = "no HAS server could be reached: "


def find_krb5_conf(conf_dir: Path, environ: Mapping[str, str]) -> Path:
    """``<conf_dir>/krb5.conf``, else ``$KRB5_CONFIG`` (its first file), else /etc/krb5.conf."""
    candidates = [conf_dir / "krb5.conf"]
    if environ.get("KRB5_CONFIG"):
        candidates.append(Path(environ["KRB5_CONFIG"].split(":")[0]))
    candidates.append(Path("/etc/krb5.conf"))
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        "no krb5.conf to find the KDCs in: put the realm's krb5.conf in the conf_dir "
        f"({conf_dir / 'krb5.conf'}; 'kdcinit <conf_dir> getkrb5 -p DIR' writes one)"
    )


def hadmin_trust_anchor(conf: HadminConfig, conf_dir: Path, environ: Mapping[str, str]) -> Path:
    """The CA bundle: ssl_ca_file, else $CA_ROOT, else conf_dir/ca-root.pem, else HAS's."""
    if conf.ssl_ca_file is not None:
        return conf.ssl_ca_file
    if environ.get(CA_ROOT_ENV):
        return Path(environ[CA_ROOT_ENV])
    local = conf_dir / "ca-root.pem"
    return local if local.is_file() else CA_ROOT_DEFAULT


@dataclass(frozen=True)
class NodeAnswer:
    """What one node said to a request sent to every node: an answer or why not."""

    host: str
    response: HasResponse | None = None
    error: HasClientError | None = None


class HasAdminClient:
    """Admin requests to the HAS nodes ``hosts`` (in order), authenticated as ``principal``."""

    def __init__(
        self,
        hosts: Sequence[str],
        port: int,
        ssl_context: ssl.SSLContext,
        *,
        realm: str,
        principal: str,
        keytab: Keytab,
        kdc: KdcClient,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not hosts:
            raise ValueError("no HAS node given (https_host)")
        self.hosts = list(hosts)
        self.port = port
        self.ssl_context = ssl_context
        self.realm = realm
        self.principal = principal
        self._keytab = keytab
        self.kdc = kdc
        self.timeout = timeout
        self._clock = clock
        self._tgt: Credentials | None = None
        self._tickets: dict[str, Credentials] = {}
        #: the node that answered last (for messages and tests)
        self.last_host: str | None = None

    def __repr__(self) -> str:
        return f"HasAdminClient({self.hosts!r}, {self.port}, principal={self.principal!r})"

    @classmethod
    def from_conf_dir(
        cls,
        conf_dir: str | os.PathLike[str],
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        kdc_timeout: float = 1.0,
    ) -> HasAdminClient:
        """A client configured by ``conf_dir/hadmin.conf`` (and the conf_dir's krb5.conf)."""
        env = os.environ if environ is None else environ
        directory = Path(conf_dir)
        conf = read_hadmin_conf(find_admin_conf(directory) or directory / HADMIN_CONF)
        krb5_conf = find_krb5_conf(directory, env)
        realm = conf.realm or _realm_of(conf.admin_keytab_principal)
        if realm is None:
            realm = read_profile(krb5_conf).get("libdefaults", "default_realm")
        if not realm:
            raise ConfigError(
                "cannot tell the realm: set realm or admin_keytab_principal under [HAS], "
                f"or default_realm in {krb5_conf}",
                conf.source,
            )
        principal = conf.admin_keytab_principal or f"kadmin/{realm}@{realm}"
        try:
            kdcs = kdcs_from_krb5_conf(krb5_conf, realm)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not kdcs:
            raise ConfigError(f"no kdc line for realm {realm}", str(krb5_conf))
        if not os.access(conf.admin_keytab, os.R_OK):
            raise ConfigError(
                f"cannot read the admin keytab {conf.admin_keytab} (admin_keytab)", conf.source
            )
        try:
            keytab = read_keytab(conf.admin_keytab)
        except ValueError as exc:
            raise ConfigError(f"{conf.admin_keytab} is not a keytab: {exc}") from None
        anchor = hadmin_trust_anchor(conf, directory, env)
        if not anchor.is_file():
            raise ConfigError(
                f"the CA certificate {anchor} does not exist: set ssl_ca_file in hadmin.conf, "
                "CA_ROOT, or put the cluster's ca-root.pem in the conf_dir",
                conf.source,
            )
        kdc = KdcClient(KdcTransport(kdcs, timeout=kdc_timeout), realm)
        return cls(
            conf.https_hosts,
            conf.https_port,
            client_ssl_context(anchor),
            realm=realm,
            principal=principal,
            keytab=keytab,
            kdc=kdc,
            timeout=timeout,
        )

    # -- tickets ---------------------------------------------------------------------

    def _fresh(self, creds: Credentials | None) -> bool:
        return creds is not None and creds.endtime - TICKET_MARGIN > self._clock()

    def _service_ticket(self, host: str) -> Credentials:
        ticket = self._tickets.get(host)
        if self._fresh(ticket):
            assert ticket is not None
            return ticket
        if not self._fresh(self._tgt):
            key = keytab_key(self._keytab, self.principal, self.kdc.etypes)
            self._tgt = self.kdc.get_tgt(self.principal, key=key)
        assert self._tgt is not None
        ticket = self.kdc.get_service_ticket(self._tgt, http_service(host, self.realm))
        self._tickets[host] = ticket
        return ticket

    # -- requests ----------------------------------------------------------------------

    def _base_url(self, host: str) -> str:
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{self.port}/has/v1"

    def _send(
        self,
        host: str,
        method: str,
        path: str,
        params: Mapping[str, object] | None,
        json_body: object,
    ) -> HasResponse:
        """One authenticated request to one node. HasClientError with ``status`` None:
        the node was not usable (try another); with a status: the node's answer."""
        try:
            ticket = self._service_ticket(host)
        except KdcUnreachable as exc:
            raise HasClientError(f"cannot get a Kerberos ticket: {exc}", status=None) from None
        except KdcReplyError as exc:
            raise HasClientError(
                f"{host}: no ticket for {http_service(host, self.realm)} ({exc})", status=None
            ) from None
        initiator = NegotiateInitiator(ticket)
        client = HasHttpsClient([self._base_url(host)], self.ssl_context, timeout=self.timeout)
        try:
            response = client.request(
                method,
                path,
                params=params,
                json_body=json_body,
                headers={"Authorization": initiator.authorization()},
            )
        except HasClientError as exc:
            if exc.status is None:
                raise HasClientError(str(exc).removeprefix(_UNREACHABLE), status=None) from None
            if exc.status == 401:
                self._tickets.pop(host, None)  # re-keyed service? ask for a new ticket next time
            raise
        try:
            initiator.verify(response.headers.get("www-authenticate"))
        except GssError as exc:
            raise HasClientError(
                f"{response.url}: the server did not prove it holds the key of "
                f"{http_service(host, self.realm)} ({exc.message}); answer not trusted",
                url=response.url,
            ) from None
        self.last_host = host
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json_body: object = None,
    ) -> HasResponse:
        """Send to the first usable node; error answers raise ``HasClientError``."""
        failures = []
        for host in self.hosts:
            try:
                return self._send(host, method, path, params, json_body)
            except HasClientError as exc:
                if exc.status is not None or exc.url is not None:
                    raise
                failures.append(str(exc))
        raise HasClientError(_UNREACHABLE + "; ".join(failures))

    def request_each(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json_body: object = None,
    ) -> list[NodeAnswer]:
        """Send to every node (for per-node settings such as enable_conf), in order."""
        answers = []
        for host in self.hosts:
            try:
                answers.append(NodeAnswer(host, self._send(host, method, path, params, json_body)))
            except HasClientError as exc:
                answers.append(NodeAnswer(host, error=exc))
        return answers

    def get(self, path: str, **params: object) -> HasResponse:
        return self.request("GET", path, params=params)

    def post(self, path: str, json_body: object) -> HasResponse:
        return self.request("POST", path, json_body=json_body)

    def put(self, path: str, *, json_body: object = None, **params: object) -> HasResponse:
        return self.request("PUT", path, params=params, json_body=json_body)

    def delete(self, path: str, **params: object) -> HasResponse:
        return self.request("DELETE", path, params=params)


def _realm_of(principal: str | None) -> str | None:
    if principal and "@" in principal:
        return principal.rsplit("@", 1)[1] or None
    return None
