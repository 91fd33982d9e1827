"""The client half of TGT over HTTPS: token out, AS-REP back, ticket into a ccache.

HAS's ``HasClient.requestTgt``: for each ``https_host`` of has-client.conf in order,
``PUT https://<host>:<port>/has/v1?type=<auth_type>&authToken=<JWT>``; the first node
that answers 200 wins; the ``krbMessage`` of the answer is an AS-REP whose encrypted
part the client decrypts with ``string2Key(principal, passPhrase, etype)``; the TGT
goes to the credential cache named by ``KRB5CCNAME``, else ``/tmp/krb5cc_<uid>``.

Here the same, with these choices:

- failover: a node that cannot be reached (refused, timeout, TLS failure) or answers
  5xx is skipped for the next; any other answer (401 wrong password, 429 rate
  limited, 400) is the realm's answer and ends the attempt — asking the next node
  would only double the failure count;
- the token goes in a JSON body, not the URL, with a random ``nonce`` that the
  encrypted part must repeat; the reply key follows the reply's PA-ETYPE-INFO2
  (enctype, salt), defaulting to the principal's salt, as kinit does;
- TLS 1.2+, verified against the cluster CA (has-client.conf ``ssl_ca_file``,
  ``$CA_ROOT``, ``/etc/has/ca-root.pem``), host names checked;
- connections are kept alive between requests of one `HasTgtClient`.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import os
import secrets
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from has_kdc.asn1.codec import encode
from has_kdc.asn1.constants import KRB_AS_REP, NT_PRINCIPAL
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import ETypeInfo2Entry
from has_kdc.client.has_client import (
    DEFAULT_TIMEOUT,
    client_ssl_context,
    failure_reason,
    https_connection,
)
from has_kdc.client.kdc_client import (
    Credentials,
    KdcReplyError,
    credentials_from,
    decrypt_as_rep,
    etype_info2_of,
    parse_reply,
    string_to_key,
)
from has_kdc.conf import HasClientConfig
from has_kdc.crypto import CryptoError
from has_kdc.formats import Credential, FormatPrincipal, KeyBlock, new_ccache, write_ccache
from has_kdc.plugins import ClientPlugin, load_plugin
from has_kdc.plugins.token import encode_token
from has_kdc.principal import default_salt

__all__ = [
    "DEFAULT_TIMEOUT",
    "HasTgtClient",
    "TgtLogin",
    "TgtRequestError",
    "ccache_credential",
    "decode_tgt_reply",
    "default_ccache_name",
    "request_tgt",
    "store_tgt",
]


class TgtRequestError(Exception):
    """No TGT: the message says why (and which nodes were tried). Never holds secrets."""

    def __init__(
        self, message: str, *, status: int | None = None, error: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class TgtLogin:
    """A TGT and where it came from."""

    credentials: Credentials
    url: str
    auth_type: str
    skipped: tuple[tuple[str, str], ...] = field(default=())


def decode_tgt_reply(
    answer: Mapping[str, Any], passphrase: bytes, *, nonce: int | None = None
) -> Credentials:
    """The TGT in a 200 answer of ``PUT /has/v1``, decrypted with ``passphrase``."""
    if str(answer.get("success", "true")).lower() != "true":
        raise TgtRequestError(f"the server refused: {answer.get('krbMessage', 'no reason')}")
    try:
        data = base64.b64decode(str(answer["krbMessage"]), validate=True)
    except (KeyError, binascii.Error, ValueError):
        raise TgtRequestError("the server's answer has no base64 krbMessage") from None
    try:
        rep = parse_reply(data, KRB_AS_REP)
    except KdcReplyError as err:
        raise TgtRequestError(f"the KDC refused: {err}") from None
    except (Asn1Error, ValueError) as exc:
        raise TgtRequestError(f"the server's krbMessage is not an AS-REP: {exc}") from None
    entries = etype_info2_of(rep.padata)
    entry = entries[0] if entries else ETypeInfo2Entry(rep.enc_part.etype)
    if entry.etype != rep.enc_part.etype:
        entry = ETypeInfo2Entry(rep.enc_part.etype, entry.salt, entry.s2kparams)
    key = string_to_key(passphrase, entry, default_salt(rep.cname.components, rep.crealm))
    try:
        enc = decrypt_as_rep(rep, key)
    except (CryptoError, Asn1Error):
        raise TgtRequestError(
            "cannot decrypt the TGT reply with the key of these credentials: the server "
            "derived another key (wrong principal or passphrase)"
        ) from None
    if nonce is not None and enc.nonce != nonce:
        raise TgtRequestError("the TGT reply does not answer this request (nonce differs)")
    if enc.sname.components != ("krbtgt", rep.crealm):
        raise TgtRequestError(f"the reply is not a TGT of realm {rep.crealm}")
    return credentials_from(rep, enc)


class HasTgtClient:
    """``PUT /has/v1`` over the nodes of a has-client.conf, with keep-alive and failover."""

    def __init__(
        self,
        urls: Sequence[str],
        ssl_context: ssl.SSLContext,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not urls:
            raise ValueError("no HAS node to ask: https_host is empty")
        self.urls = list(urls)
        self.ssl_context = ssl_context
        self.timeout = timeout
        self._connections: dict[str, http.client.HTTPSConnection] = {}

    @classmethod
    def from_config(
        cls,
        config: HasClientConfig,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> HasTgtClient:
        """The nodes of ``config`` in order, trusting its CA (``trust_anchor()``)."""
        return cls(
            config.base_urls(),
            client_ssl_context(config.trust_anchor(environ)),
            timeout=timeout,
        )

    def __enter__(self) -> HasTgtClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def _connection(self, url: str) -> http.client.HTTPSConnection:
        conn = self._connections.get(url)
        if conn is None:
            conn = self._connections[url] = https_connection(url, self.ssl_context, self.timeout)
        return conn

    def _put(self, url: str, body: bytes) -> tuple[int, bytes]:
        path = urlsplit(url).path or "/has/v1"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for attempt in (1, 2):
            conn = self._connection(url)
            reused = conn.sock is not None
            try:
                conn.request("PUT", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed meanwhile: one fresh try.
                conn.close()
                self._connections.pop(url, None)
                if attempt == 1 and reused:
                    continue
                raise
            except BaseException:
                conn.close()
                self._connections.pop(url, None)
                raise
            if response.will_close:
                conn.close()
                self._connections.pop(url, None)
            return response.status, data
        raise AssertionError("unreachable")

    def request_tgt(
        self, auth_type: str, claims: Mapping[str, Any], *, passphrase: bytes
    ) -> TgtLogin:
        """A TGT for the user ``claims`` (a plugin's token) stand for."""
        nonce = secrets.randbits(31)
        body = json.dumps(
            {"type": auth_type, "authToken": encode_token(claims), "nonce": nonce}
        ).encode()
        skipped: list[tuple[str, str]] = []
        for url in self.urls:
            try:
                status, data = self._put(url, body)
            except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
                skipped.append((url, failure_reason(exc)))
                continue
            try:
                answer = json.loads(data) if data else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                answer = {}
            if not isinstance(answer, dict):
                answer = {}
            if status >= 500:
                skipped.append((url, f"HTTP {status} {answer.get('detail', '')}".rstrip()))
                continue
            if status != 200:
                detail = answer.get("detail") or f"HTTP {status}"
                raise TgtRequestError(
                    f"{url} refused the login ({status} {answer.get('error', '')}): {detail}",
                    status=status,
                    error=answer.get("error"),
                )
            credentials = decode_tgt_reply(answer, passphrase, nonce=nonce)
            return TgtLogin(credentials, url, auth_type, tuple(skipped))
        tried = "; ".join(f"{u}: {why}" for u, why in skipped)
        raise TgtRequestError(f"no HAS node gave a TGT ({tried})")


def request_tgt(
    client_conf: HasClientConfig,
    auth_type: str,
    token: Mapping[str, Any],
    *,
    plugin: ClientPlugin | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Credentials:
    """A TGT for the user of ``token`` (claims made by ``auth_type``'s client plugin)."""
    client_plugin = plugin or load_plugin(auth_type).client_plugin()
    passphrase = client_plugin.reply_passphrase(token)
    with HasTgtClient.from_config(client_conf, environ=environ, timeout=timeout) as client:
        return client.request_tgt(auth_type, token, passphrase=passphrase).credentials


# ------------------------------------------------------------------ credential cache


def default_ccache_name(environ: Mapping[str, str] | None = None) -> str:
    """``KRB5CCNAME`` if set (FILE: caches only), else MIT's ``FILE:/tmp/krb5cc_<uid>``."""
    env = os.environ if environ is None else environ
    name = env.get("KRB5CCNAME")
    if not name:
        return f"FILE:/tmp/krb5cc_{os.getuid()}"  # MIT's default location
    kind, sep, rest = name.partition(":")
    if not sep or "/" in kind:
        return f"FILE:{name}"
    if kind.upper() != "FILE":
        raise TgtRequestError(
            f"KRB5CCNAME={name}: only FILE: credential caches can be written; "
            "set KRB5CCNAME=FILE:/path"
        )
    return f"FILE:{rest}"


def ccache_credential(creds: Credentials) -> Credential:
    """``creds`` as an MIT ccache entry (start time = auth time when absent, as MIT stores it)."""
    return Credential(
        client=FormatPrincipal(
            creds.cname.name_type or NT_PRINCIPAL, creds.crealm, creds.cname.components
        ),
        server=FormatPrincipal(creds.sname.name_type, creds.srealm, creds.sname.components),
        keyblock=KeyBlock(creds.session_key.keytype, creds.session_key.keyvalue),
        authtime=creds.authtime,
        starttime=creds.starttime or creds.authtime,
        endtime=creds.endtime,
        renew_till=creds.renew_till or 0,
        ticket_flags=creds.flags,
        ticket=encode(creds.ticket),
    )


def store_tgt(creds: Credentials, ccache: str | None = None) -> str:
    """Write a new cache holding only ``creds`` (as kinit does); returns its FILE: name."""
    name = ccache or default_ccache_name()
    if not name.upper().startswith("FILE:"):
        name = f"FILE:{name}"
    entry = ccache_credential(creds)
    write_ccache(name[len("FILE:") :], new_ccache(entry.client, [entry]))
    return name
