"""A small HTTPS client for the HAS REST API, with failover over the ``https_host`` list.

HAS clients (kdcinit, hadmin-remote, login-test, Hadoop's HAS login) know the nodes
from has-client.conf's ``https_host = node1,node2`` and try them in order. This
client does the same: a request goes to the first node; when that node cannot be
reached (connection refused, timeout, TLS failure) the next one is tried, and only
when all fail does the call fail, naming every node and why. An answer with an HTTP
error status is not a reason to ask another node: it is the realm's answer.

Trust is the cluster CA (``ssl_ca_file``, ``$CA_ROOT`` or ``/etc/has/ca-root.pem``);
host names are checked against the node certificates. TLS 1.2 or newer only. The
stdlib's http.client does the work, so the client needs no event loop and no extra
dependency; one connection per request keeps it simple (these are admin calls).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from has_kdc.conf import ConfigError, HasClientConfig, HasServerConfig

__all__ = [
    "CONNECT_TIMEOUT",
    "HasClientError",
    "HasHttpsClient",
    "HasResponse",
    "client_ssl_context",
    "failure_reason",
    "https_connection",
    "local_server_url",
]

API_PREFIX = "/has/v1"
DEFAULT_TIMEOUT = 15.0
# Reaching a node (TCP connect and TLS handshake) gets far less than an answer does:
# a node that is down or cut off must cost a login a few seconds, not the whole read
# timeout, before the next node of https_host is tried.
CONNECT_TIMEOUT = 4.0
_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)


class HasClientError(Exception):
    """A HAS request that failed: no node reachable, or an error answer (status, error)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.url = url


@dataclass(frozen=True)
class HasResponse:
    """A successful answer: status, headers (lower-case names) and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)
    url: str

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HasClientError(f"{self.url}: the answer is not JSON: {exc}") from None


def client_ssl_context(ca_file: str | os.PathLike[str] | None) -> ssl.SSLContext:
    """Verify servers against ``ca_file`` (the cluster CA), TLS 1.2 or newer."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(_CIPHERS)
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=os.fspath(ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"cannot load the CA bundle {ca_file}: {reason}") from None
    return ctx


def _url_host(host: str) -> str:
    try:
        if ipaddress.ip_address(host.strip("[]")).version == 6:
            return f"[{host.strip('[]')}]"
    except ValueError:
        pass
    return host


def local_server_url(conf: HasServerConfig) -> str:
    """The URL of the node a has-server.conf describes, for tools on that node.

    A wildcard bind address (HAS's default 0.0.0.0) is reached on the loopback.
    """
    host = conf.https_host
    if host in ("0.0.0.0", ""):  # noqa: S104 (a bind address, compared)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"https://{_url_host(host)}:{conf.https_port}{API_PREFIX}"


class HasHttpsClient:
    """Requests to the HAS nodes at ``base_urls`` (``https://host:port/has/v1``), in order."""

    def __init__(
        self,
        base_urls: Sequence[str],
        ssl_context: ssl.SSLContext,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not base_urls:
            raise ValueError("no HAS server URL given")
        self.base_urls = list(base_urls)
        for url in self.base_urls:
            if urlsplit(url).scheme != "https":
                raise ValueError(f"{url}: HAS servers are reached over https only")
        self.ssl_context = ssl_context
        self.timeout = timeout

    @classmethod
    def from_has_client_conf(
        cls,
        conf: HasClientConfig,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> HasHttpsClient:
        """A client for the nodes of has-client.conf, trusting its CA bundle."""
        anchor = conf.trust_anchor(environ)
        if not Path(anchor).is_file():
            raise ConfigError(
                f"the CA certificate {anchor} does not exist: set ssl_ca_file in "
                "has-client.conf or CA_ROOT to the cluster's ca-root.pem",
                conf.source,
            )
        return cls(conf.base_urls(), client_ssl_context(anchor), timeout=timeout)

    # -- requests --------------------------------------------------------------------

    def get(self, path: str, **params: object) -> HasResponse:
        return self.request("GET", path, params=params)

    def put(self, path: str, *, json_body: object = None, **params: object) -> HasResponse:
        return self.request("PUT", path, params=params, json_body=json_body)

    def post(self, path: str, *, json_body: object = None, **params: object) -> HasResponse:
        return self.request("POST", path, params=params, json_body=json_body)

    def delete(self, path: str, **params: object) -> HasResponse:
        return self.request("DELETE", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> HasResponse:
        """Send to each node in turn until one answers; error answers raise HasClientError."""
        failures: list[str] = []
        for base in self.base_urls:
            url = self._url(base, path, params)
            try:
                status, answer_headers, body = self._send(method, url, json_body, headers)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(f"{url.split('?', 1)[0]}: {failure_reason(exc)}")
                continue
            if status >= 400:
                raise _error_answer(method, url, status, answer_headers, body)
            return HasResponse(status, answer_headers, body, url.split("?", 1)[0])
        raise HasClientError("no HAS server could be reached: " + "; ".join(failures))

    def _url(self, base: str, path: str, params: Mapping[str, object] | None) -> str:
        parts = urlsplit(base)
        if path.startswith("/"):
            full = f"{parts.scheme}://{parts.netloc}{path}"
        else:
            full = f"{base.rstrip('/')}/{path}" if path else base
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        return f"{full}?{urlencode(query)}" if query else full

    def _send(
        self,
        method: str,
        url: str,
        json_body: object,
        headers: Mapping[str, str] | None,
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        conn = https_connection(url, self.ssl_context, self.timeout)
        send_headers = {"Accept": "application/json, */*", **(headers or {})}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            send_headers["Content-Type"] = "application/json"
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, target, body=body, headers=send_headers)
            response = conn.getresponse()
            data = response.read()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
            return response.status, answer_headers, data
        finally:
            conn.close()


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _NodeConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose connect and TLS handshake have their own, shorter limit."""

    connect_timeout: float = CONNECT_TIMEOUT

    def connect(self) -> None:
        read_timeout = self.timeout
        limit = self.connect_timeout
        self.timeout = limit if read_timeout is None else min(limit, read_timeout)
        try:
            super().connect()
        finally:
            self.timeout = read_timeout
        self.sock.settimeout(read_timeout)


def https_connection(
    url: str,
    ssl_context: ssl.SSLContext,
    timeout: float,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> http.client.HTTPSConnection:
    """A (not yet opened) connection to the node of ``url``, verified by ``ssl_context``.

    ``connect_timeout`` bounds the TCP connect and the TLS handshake, ``timeout`` every
    read after that.
    """
    parts = urlsplit(url)
    conn = _NodeConnection(
        parts.hostname or "", parts.port or 443, timeout=timeout, context=ssl_context
    )
    conn.connect_timeout = connect_timeout
    return conn


def failure_reason(exc: BaseException) -> str:
    """Why a node could not be reached, in a few words for a failover message."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({exc.reason or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _error_answer(
    method: str, url: str, status: int, headers: Mapping[str, str], body: bytes
) -> HasClientError:
    where = url.split("?", 1)[0]
    error = detail = None
    if headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                error, detail = parsed.get("error"), parsed.get("detail")
        except ValueError:
            pass
    if detail is None:
        detail = body.decode("utf-8", "replace").strip()[:200] or "no details"
    return HasClientError(
        f"{method} {where}: {status} {detail}", status=status, error=error, url=where
    )
