"""The KDC as one object: request bytes in, reply bytes (or nothing) out.

``Kdc.handle`` is what the network layer calls for every datagram or TCP record. It
mirrors MIT's ``dispatch()`` (src/kdc/dispatch.c):

- a message that is not an AS-REQ or TGS-REQ ([APPLICATION 10] / [APPLICATION 12]),
  or that claims to be one and does not decode, or names no server, gets **no
  answer** — MIT returns an error code to its network loop, which sends nothing
  (and closes a TCP connection). Answering garbage would make the KDC a reflector;
- every decodable request gets exactly one reply: the AS-REP/TGS-REP, or a
  KRB-ERROR with the RFC 4120 code, MIT's status word as e-text, and for
  pre-authentication errors the METHOD-DATA hints;
- nothing raises out of ``handle``: a bug becomes KRB_ERR_GENERIC and a logged
  traceback (never with request bytes in it).

One INFO log line per answered request, in MIT krb5kdc's format (see ``context``).

The principal store is only read through ``PrincipalCache``: no database query per
request while nothing changes. Keys in the store are already derived, so no
string-to-key happens here, and the crypto layer caches the per-usage derived keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from has_kdc.asn1.codec import decode_kdc_req, decode_method_data, encode, encode_method_data
from has_kdc.asn1.constants import (
    KDC_ERR_NONE,
    KRB_ERR_FIELD_TOOLONG,
    KRB_ERR_GENERIC,
    KRB_ERR_RESPONSE_TOO_BIG,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import KdcReq, KrbError, PrincipalName
from has_kdc.conf.kdc import KdcConfig
from has_kdc.kdc.as_req import process_as_req
from has_kdc.kdc.context import RealmContext, RequestLog
from has_kdc.kdc.errors import KdcError, build_krb_error
from has_kdc.kdc.fast_armor import FastState, fast_error_e_data, visible_client
from has_kdc.kdc.principal_cache import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_REFRESH_INTERVAL,
    PrincipalCache,
    PrincipalStore,
)
from has_kdc.kdc.tgs_req import process_tgs_req

__all__ = ["Kdc"]

log = logging.getLogger("has_kdc.kdc")

# First byte of [APPLICATION 10] / [APPLICATION 12] constructed: AS-REQ, TGS-REQ.
_AS_REQ_TAG = 0x6A
_TGS_REQ_TAG = 0x6C


def _log_request(line: str) -> None:
    """The INFO record of one request, handed to the handlers as ``log.info`` would.

    ``log.info`` spends a few microseconds per record working out its caller from the
    stack (for %(pathname)s, %(lineno)d, %(funcName)s) and checking its arguments;
    at tens of thousands of requests a second that is a visible share of the KDC's
    time. The caller is always this function, so the record says so directly; the
    handlers, filters and the line itself are the same.
    """
    record = log.makeRecord(
        log.name, logging.INFO, __file__, _LOG_LINENO, line, (), None, "_log_request"
    )
    log.handle(record)


_LOG_LINENO = _log_request.__code__.co_firstlineno

#: where request lines go instead of `_log_request` (has-server's batched log handler:
#: the same line without a LogRecord, a Formatter or a write per request)
_request_sink: Callable[[str], None] | None = None


def send_request_lines_to(sink: Callable[[str], None] | None) -> None:
    """Have the KDC's INFO request lines (still only when INFO is enabled for
    ``has_kdc.kdc``) go to ``sink``; ``None``: through `logging` again."""
    global _request_sink
    _request_sink = sink


class _Undecodable:
    """Why a request was dropped, worded only if the debug log asks."""

    __slots__ = ("error", "kind")

    def __init__(self, kind: str, error: Asn1Error) -> None:
        self.kind = kind
        self.error = error

    def __str__(self) -> str:
        return f"undecodable {self.kind}: {self.error}"


class Kdc:
    """One realm's KDC over one principal store.

    ``clock`` returns the time in seconds since the epoch (a float, for susec); it
    also paces the principal cache's change polls, so a test's fake clock controls
    both. ``cache_refresh_interval`` bounds how stale a principal can be (seconds).
    """

    def __init__(
        self,
        config: KdcConfig,
        backend: PrincipalStore,
        clock: Callable[[], float] = time.time,
        *,
        cache_refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        cache_max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self._clock = clock
        self.principals = PrincipalCache(
            backend,
            refresh_interval=cache_refresh_interval,
            max_entries=cache_max_entries,
            clock=clock,
            stale_ok=config.stale_ok,
        )
        self.realm = RealmContext.create(
            realm=config.kdc_realm,
            max_life=config.max_life,
            max_renewable_life=config.max_renewable_life,
            clock_skew=config.clock_skew,
            supported_enctypes=config.supported_enctypes,
            principals=self.principals,
            capaths=config.capaths_map(),
            domain_realm=dict(config.domain_realm),
        )
        self.dropped = 0
        #: The result of the last ``handle``: 0 for AS-REP/TGS-REP, the KRB-ERROR
        #: code, None when dropped. The metrics read it instead of re-parsing the
        #: reply they were just handed; a KDC process answers one request at a time.
        self.last_result: int | None = None

    # -- the network layer's entry points ------------------------------------------

    def handle(self, request: bytes, transport: str, *, peer: str | None = None) -> bytes | None:
        """The reply to one request, or None to send nothing.

        ``transport`` is "udp" or "tcp" (for the log); ``peer`` the client's IP
        address when known (logged, and checked against addressed tickets).
        """
        try:
            # the whole request in this one frame: it runs for every datagram
            if type(request) is not bytes:
                request = bytes(request)
            if not request:
                self._drop(request, peer, "empty message")
                return None
            tag = request[0]
            if tag == _AS_REQ_TAG:
                kind = "AS_REQ"
            elif tag == _TGS_REQ_TAG:
                kind = "TGS_REQ"
            else:
                self._drop(request, peer, f"not a KDC request (first byte 0x{tag:02x})")
                return None
            try:
                req = decode_kdc_req(request)
            except Asn1Error as exc:
                self._drop(request, peer, _Undecodable(kind, exc))
                return None
            if req.req_body.sname is None:
                self._drop(request, peer, f"{kind} names no server")
                return None

            now = self._clock()
            rlog = RequestLog(kind, peer or "")
            try:
                if kind == "AS_REQ":
                    reply = process_as_req(self.realm, req, now, rlog, request)
                else:
                    reply = process_tgs_req(self.realm, req, now, rlog, peer)
            except KdcError as err:
                rlog.status, rlog.code = err.status, err.code
                reply = self._error_reply(req, kind, err, now, rlog.fast, rlog.tgt_client)
            else:
                rlog.code = KDC_ERR_NONE
            self.last_result = rlog.code
            if log.isEnabledFor(logging.INFO):
                (_request_sink or _log_request)(rlog.line())
            return reply
        except Exception:
            log.exception(
                "KDC failed on a %d-byte %s request from %s", len(request), transport, peer
            )
            self.last_result = None
            try:
                reply = self.generic_error(request)
            except Exception:
                return None
            self.last_result = KRB_ERR_GENERIC
            return reply

    def response_too_big(self, request: bytes) -> bytes:
        """KRB_ERR_RESPONSE_TOO_BIG for a reply that does not fit a UDP datagram.

        As MIT's ``make_too_big_error``: server krbtgt/REALM, no client, no text; the
        client retries over TCP.
        """
        return self._plain_error(KRB_ERR_RESPONSE_TOO_BIG)

    def field_toolong(self) -> bytes:
        """KRB_ERR_FIELD_TOOLONG for a TCP record longer than the KDC accepts."""
        return self._plain_error(KRB_ERR_FIELD_TOOLONG)

    def generic_error(self, request: bytes) -> bytes:
        """KRB_ERR_GENERIC, for a request the KDC could not process."""
        return self._plain_error(KRB_ERR_GENERIC, "internal error")

    # -- processing ----------------------------------------------------------------

    def _plain_error(self, code: int, e_text: str | None = None) -> bytes:
        return build_krb_error(
            code,
            now=self._clock(),
            realm=self.realm.realm,
            sname=self.realm.tgs_name,
            e_text=e_text,
        )

    def _drop(self, request: bytes, peer: str | None, reason: object) -> None:
        self.dropped += 1
        self.last_result = None
        # ``reason`` is worded only when the record is written, and cut short: a decode
        # error can quote what the client sent.
        if log.isEnabledFor(logging.DEBUG):
            text = str(reason)
            if len(text) > 200:
                text = text[:197] + "..."
            log.debug("DISPATCH: no answer to %d bytes from %s: %s", len(request), peer, text)

    def _error_reply(
        self,
        req: KdcReq,
        kind: str,
        err: KdcError,
        now: float,
        fast: FastState | None,
        tgt_client: tuple[str, PrincipalName] | None,
    ) -> bytes:
        """The KRB-ERROR for a refused request, addressed as MIT's prepare_error_as/tgs.

        The client named is the AS-REQ's, or for a TGS-REQ the client of its TGT once
        that decrypted (``tgt_client``), else none. To an armored request (``fast``),
        as MIT's ``kdc_fast_handle_error``: the same error outside, its e-data one
        PA-FX-FAST holding the hints and the error itself (PA-FX-ERROR), encrypted in
        the armor key; only the outer error hides the client when asked to.
        """
        if not err.echo:
            return self._plain_error(err.code, err.status)
        body = fast.body if fast is not None and fast.body is not None else req.req_body
        if kind == "AS_REQ":
            client = (body.realm, body.cname) if body.cname is not None else None
        else:
            client = tgt_client
        crealm, cname = client if client is not None else (None, None)
        e_data = err.e_data
        if fast is not None:
            seconds = int(now)
            inner = KrbError(
                stime=seconds,
                susec=min(int((now - seconds) * 1_000_000), 999_999),
                error_code=err.code,
                realm=body.realm,
                sname=body.sname or self.realm.tgs_name,
                crealm=crealm,
                cname=cname,
                e_text=err.status,
            )
            hints = decode_method_data(e_data) if e_data else ()
            e_data = encode_method_data(fast_error_e_data(fast, hints, encode(inner)))
            if client is not None:
                crealm, cname = visible_client(fast, *client)
        return build_krb_error(
            err.code,
            now=now,
            realm=body.realm,
            sname=body.sname or self.realm.tgs_name,
            crealm=crealm,
            cname=cname,
            e_text=err.status,
            e_data=e_data,
        )
