"""Bytes-in functions for coverage-guided fuzzing (atheris), and their invariants.

Each target takes one input and raises ``Finding`` when an invariant breaks (any
other exception escaping is a finding too). They need no atheris: the corpus replay
test (tests/test_fuzz_corpus.py) calls them directly; ``tests.fuzz.atheris_run`` runs
them under atheris with coverage from has_kdc and pyasn1.

- ``der``: the first byte picks one of the public decoders, the rest is its input.
  It is decoded on the fast path and on the pyasn1 model alone: both must give the
  same value or both an ``Asn1Error`` (anything else escaping is a finding), and a
  value must encode again without anything but ``Asn1Error``.
- ``kdc``: the input is one KDC request for ``Kdc.handle`` over an in-memory realm at
  a fixed time (so a seed's PA-ENC-TIMESTAMP and TGT stay valid). The reply must be
  nothing or a KRB-ERROR, AS-REP or TGS-REP that decodes, never the "internal error"
  a handler exception becomes, at most ``MAX_AMPLIFICATION`` times the request (plus
  a fixed allowance); every log record must be one line of printable UTF-8 of
  bounded length, and none ERROR or worse.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from has_kdc.asn1 import codec
from has_kdc.asn1.errors import Asn1Error

__all__ = ["DECODERS", "TARGETS", "Finding", "der", "kdc", "kdc_seeds"]


class Finding(AssertionError):
    """An invariant of a fuzz target broke on the current input."""


# --- der -------------------------------------------------------------------------------

#: Every public decoder; an input's first byte picks one.
DECODERS = tuple(sorted(n for n in codec.__all__ if n.startswith("decode_")))
_ENCODE_AGAIN: dict[str, Callable[[Any], bytes]] = {
    "decode_method_data": codec.encode_method_data,
    "decode_etype_info2": codec.encode_etype_info2,
    "decode_etype_info": codec.encode_etype_info,
    "decode_typed_data": codec.encode_typed_data,
    "decode_authorization_data": codec.encode_authorization_data,
}


def _outcome(decoder: Callable[[bytes], Any], data: bytes) -> tuple[str, Any]:
    try:
        return "value", decoder(data)
    except Asn1Error as exc:
        return "error", str(exc)


def der(data: bytes) -> None:
    if not data:
        return
    name = DECODERS[data[0] % len(DECODERS)]
    payload = data[1:]
    decoder = getattr(codec, name)
    previous = codec.use_der_path("pyasn1")
    try:
        model = _outcome(decoder, payload)
    finally:
        codec.use_der_path("fast")
    try:
        fast = _outcome(decoder, payload)
    finally:
        codec.use_der_path(previous)
    if fast != model:
        raise Finding(f"{name}: fast path {fast!r:.300} but model {model!r:.300}")
    if model[0] == "value":
        encode = _ENCODE_AGAIN.get(name, codec.encode)
        # not every decoded value has an encoding (TypeError), or a valid one
        with contextlib.suppress(Asn1Error, TypeError):
            encode(model[1])


# --- kdc -------------------------------------------------------------------------------

#: A reply may be this many times its request, plus ``REPLY_ALLOWANCE`` bytes (an
#: AS-REP for a 150-byte AS-REQ is 700 bytes; the request's addresses appear twice).
MAX_AMPLIFICATION = 3
REPLY_ALLOWANCE = 4096
#: Longest log record a request may cause (names and etype lists are cut).
MAX_LOG_RECORD = 1200


class _LogChecker(logging.Handler):
    """Fails the input on a record of ERROR or worse, or one that is not a single
    line of printable UTF-8 of bounded length."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.problems: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            self.problems.append(f"{record.levelname} record: {message[:300]}")
        if not message.isprintable():
            self.problems.append(f"log record not one printable line: {message[:300]!r}")
        if len(message) > MAX_LOG_RECORD:
            self.problems.append(f"log record of {len(message)} characters")
        try:
            message.encode("utf-8")
        except UnicodeEncodeError:
            self.problems.append(f"log record not UTF-8: {message[:300]!r}")


class _Realm:
    """The KDC, its store and the seed requests, made once per process."""

    def __init__(self) -> None:
        from bench.packets import as_req
        from has_kdc.client.kdc_client import KdcClient
        from has_kdc.conf.kdc import KdcConfig
        from has_kdc.kdc.handler import Kdc
        from tests.kdc_fakes import REALM, FakeClock, MemoryBackend, standard_realm

        backend = MemoryBackend()
        standard_realm(backend)
        self.clock = FakeClock()
        self.kdc = Kdc(KdcConfig(kdc_realm=REALM), backend, clock=self.clock)
        self.log = _LogChecker()
        logger = logging.getLogger("has_kdc")
        logger.addHandler(self.log)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        # Seeds: what a client sends first, with PA-ENC-TIMESTAMP, and TGS-REQs with a
        # TGT the KDC itself issued (plus the MIT captures, from another realm).
        sent: list[bytes] = []

        def send(request: bytes) -> bytes:
            sent.append(request)
            reply = self.kdc.handle(request, "udp", peer="127.0.0.1")
            assert reply is not None
            return reply

        client = KdcClient(send, REALM, clock=self.clock)
        tgt = client.get_tgt(f"alice@{REALM}", "alice-pw")
        client.get_service_ticket(tgt, f"host/server.example.com@{REALM}")
        client.get_service_ticket(tgt, f"host/server.example.com@{REALM}", use_subkey=True)
        client.renew(client.get_tgt(f"bob@{REALM}", "bob-pw", renewable_life=86400))
        self.seeds = [*sent, as_req(f"bob@{REALM}", REALM)]
        self.log.problems.clear()


_realm: _Realm | None = None


def _the_realm() -> _Realm:
    global _realm
    if _realm is None:
        _realm = _Realm()
    return _realm


def kdc_seeds() -> list[bytes]:
    """Requests the ``kdc`` target's realm answers with tickets (and errors)."""
    from tests.fuzz.kdc_inputs import captured_requests

    return [*_the_realm().seeds, *captured_requests()]


def kdc(data: bytes) -> None:
    from has_kdc.asn1.codec import decode_kdc_rep, decode_krb_error

    realm = _the_realm()
    realm.log.problems.clear()
    reply = realm.kdc.handle(data, "udp", peer="127.0.0.1")
    problems = realm.log.problems
    if reply is not None:
        if len(reply) > MAX_AMPLIFICATION * len(data) + REPLY_ALLOWANCE:
            problems.append(f"a {len(data)}-byte request got a {len(reply)}-byte reply")
        try:
            if reply[:1] == b"\x7e":
                if decode_krb_error(reply).e_text == "internal error":
                    problems.append("answered 'internal error': the handler raised")
            else:
                decode_kdc_rep(reply)
        except Asn1Error as exc:
            problems.append(f"reply does not decode: {exc}")
    if problems:
        raise Finding("; ".join(problems))


TARGETS: dict[str, Callable[[bytes], None]] = {"der": der, "kdc": kdc}
