"""Request packets for the KDC benchmark: built with has-kdc's own client, varied fast.

Every workload needs requests a KDC cannot answer from a cache. MIT krb5kdc keeps a
lookaside cache of recent replies keyed on the request bytes (src/kdc/replay.c); it
keeps no replay cache for PA-ENC-TIMESTAMP (kdc_preauth_encts.c only checks the
clock skew) nor for TGS authenticators (kdc_util.c: "Don't use a replay cache"). So
distinct bytes are what matters:

- AS-REQs without pre-authentication are one template; the load generator rewrites
  the nonce of every request it sends (``unique_nonce``).
- AS-REQs with PA-ENC-TIMESTAMP are a pool: each entry has its own timestamp
  (seconds and microseconds) and nonce, and the generator still rewrites the nonce.
- TGS-REQs cannot take a rewritten nonce (the authenticator's checksum covers the
  request body), so they are a pool of distinct requests, each with its own nonce,
  checksum and authenticator ``ctime``/``cusec``, as large as the run's count.

Encoding every request through the codec costs about half a millisecond, too slow for
pools of tens of thousands built just before each run. So one template is built with
``has_kdc.client.kdc_client`` and the varying fields are patched in place: the nonce
(always 4 content bytes), the timestamp or authenticator plaintext (fixed-length
fields), re-encrypted under the same key into ciphertext of the same length. Every
entry is a request the client code could have built; ``tests/test_bench_packets.py``
decodes entries with the codec and checks them field by field.
"""

from __future__ import annotations

import secrets
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.loadgen import kdc_req_nonce_offset
from has_kdc.asn1 import encode
from has_kdc.asn1.constants import (
    KU_PA_ENC_TIMESTAMP,
    KU_TGS_REQ_AUTH,
    KU_TGS_REQ_AUTH_CKSUM,
)
from has_kdc.asn1.der import CLASS_APPLICATION, context_field, read_header
from has_kdc.asn1.messages import EncryptionKey
from has_kdc.client.kdc_client import (
    DEFAULT_ETYPES,
    Credentials,
    KdcClient,
    build_as_req,
    build_tgs_req,
    pa_enc_timestamp,
    principal_name,
)
from has_kdc.crypto import checksum_by_type, enctype_by_id

__all__ = [
    "FIRST_ITEM",
    "AsEncTimestampPool",
    "TgsReqPool",
    "as_req",
    "field_element",
    "field_span",
    "get_tgt",
    "kdc_exchange",
]

#: In a ``field_span`` path: the first element of a SEQUENCE OF.
FIRST_ITEM = -1
#: Nonces 0x40000000..0x7FFFFFFF always encode on 4 content bytes, so they patch in place.
_NONCE_BASE = 0x4000_0000
#: Microseconds 32768..999999 always encode on 3 content bytes (a positive INTEGER).
_USEC_MIN = 0x8000
_USEC_SPAN = 1_000_000 - _USEC_MIN
_LENGTH = struct.Struct("!I")
_TIME = "%Y%m%d%H%M%SZ"


# --- locating fields in DER ---------------------------------------------------------


def field_element(data: bytes, path: Sequence[int], start: int = 0) -> tuple[int, int]:
    """Span (tag to end) of the element reached from the element at ``start`` along ``path``.

    Each step is an explicit context tag ``[n]`` of the SEQUENCE at hand (an
    ``[APPLICATION n]`` wrapper around it is looked through), or ``FIRST_ITEM`` for
    the first element of a SEQUENCE OF. Raises ``ValueError`` if a field is absent.
    """
    element = start
    for step in path:
        identifier, _, content, end = read_header(data, element, len(data))
        if identifier & 0xC0 == CLASS_APPLICATION:
            identifier, _, content, end = read_header(data, content, end)
        if step == FIRST_ITEM:
            if content >= end:
                raise ValueError(f"empty SEQUENCE OF at offset {element}")
            element = content
            continue
        span = context_field(data, content, end, step)
        if span is None:
            raise ValueError(f"field [{step}] absent from the element at offset {element}")
        element = span[0]
    _, _, _, end = read_header(data, element, len(data))
    return element, end


def field_span(data: bytes, path: Sequence[int], start: int = 0) -> tuple[int, int]:
    """Content span (after tag and length) of the element ``field_element`` finds."""
    element, end = field_element(data, path, start)
    _, _, content, _ = read_header(data, element, end)
    return content, end


def _nonce(index: int, base: int) -> int:
    return _NONCE_BASE | ((base + index) & 0x3FFF_FFFF)


def _kerberos_time(seconds: int) -> bytes:
    return time.strftime(_TIME, time.gmtime(seconds)).encode("ascii")


def _usec(index: int, base: int) -> bytes:
    return (_USEC_MIN + (base + index) % _USEC_SPAN).to_bytes(3, "big")


# --- fixed requests -----------------------------------------------------------------


def as_req(
    client: str,
    realm: str,
    *,
    etypes: Sequence[int] = DEFAULT_ETYPES,
    key: EncryptionKey | None = None,
) -> bytes:
    """An AS-REQ for a TGT, as kinit's first request (no padata) unless ``key`` is given,
    then with PA-ENC-TIMESTAMP under it. Its nonce is on 4 bytes (``unique_nonce``)."""
    cname, crealm = principal_name(client, realm)
    padata = [pa_enc_timestamp(key, time.time())] if key is not None else []
    return encode(build_as_req(cname, crealm, etypes=etypes, nonce=_NONCE_BASE, padata=padata))


# --- pools --------------------------------------------------------------------------


@dataclass
class AsEncTimestampPool:
    """AS-REQs with PA-ENC-TIMESTAMP for one client key, each with its own timestamp.

    ``make(n)`` returns ``n`` distinct requests timed now (each a microsecond apart,
    so all are within any clock skew for the few seconds of a run).
    """

    client: str
    realm: str
    key: EncryptionKey = field(repr=False)
    etypes: Sequence[int] = (18,)

    def __post_init__(self) -> None:
        et = enctype_by_id(self.key.keytype)
        now = int(time.time()) + 0.5  # pausec 500000: 3 content bytes, like every entry
        cname, crealm = principal_name(self.client, self.realm)
        template = encode(
            build_as_req(
                cname,
                crealm,
                etypes=self.etypes,
                nonce=_NONCE_BASE,
                padata=[pa_enc_timestamp(self.key, now)],
                now=now,
            )
        )
        # padata [3] -> PA-DATA -> padata-value [2] holds EncryptedData; its cipher [2].
        value_start, _ = field_span(template, (3, FIRST_ITEM, 2))
        cipher = field_span(template, (2,), value_start)
        plain = et.decrypt(self.key.keyvalue, KU_PA_ENC_TIMESTAMP, template[cipher[0] : cipher[1]])
        self._enctype = et
        self._template = template
        self._cipher = cipher
        self._plain = plain
        self._timestamp = field_span(plain, (0,))
        self._pausec = field_span(plain, (1,))
        self._nonce = _nonce_offset(template)

    def make(self, count: int) -> list[bytes]:
        base = secrets.randbits(30)
        seconds = _kerberos_time(int(time.time()))
        plain = bytearray(self._plain)
        plain[self._timestamp[0] : self._timestamp[1]] = seconds
        packets = []
        encrypt, key = self._enctype.encrypt, self.key.keyvalue
        for i in range(count):
            plain[self._pausec[0] : self._pausec[1]] = _usec(i, base)
            packet = bytearray(self._template)
            packet[self._nonce : self._nonce + 4] = _nonce(i, base).to_bytes(4, "big")
            packet[self._cipher[0] : self._cipher[1]] = encrypt(
                key, KU_PA_ENC_TIMESTAMP, bytes(plain)
            )
            packets.append(bytes(packet))
        return packets


@dataclass
class TgsReqPool:
    """TGS-REQs for ``service`` presenting ``tgt``, each distinct in nonce, checksum,
    authenticator ``ctime``/``cusec`` and ciphertext.

    ``make(n)`` returns ``n`` of them timed now. The template comes from
    ``build_tgs_req`` (a kvno-style request: FORWARDABLE, no subkey).
    """

    tgt: Credentials
    service: str
    etypes: Sequence[int] = DEFAULT_ETYPES

    def __post_init__(self) -> None:
        session = self.tgt.session_key
        et = enctype_by_id(session.keytype)
        sname, srealm = principal_name(self.service, self.tgt.crealm)
        now = int(time.time()) + 0.5
        template = encode(
            build_tgs_req(
                self.tgt, sname, realm=srealm, etypes=self.etypes, nonce=_NONCE_BASE, now=now
            )
        )
        # The checksum covers the whole KDC-REQ-BODY element, tag and length included.
        body = field_element(template, (4,))
        ap_req_start, _ = field_span(template, (3, FIRST_ITEM, 2))
        cipher = field_span(template, (4, 2), ap_req_start)
        plain = et.decrypt(session.keyvalue, KU_TGS_REQ_AUTH, template[cipher[0] : cipher[1]])
        self._enctype = et
        self._cksum = checksum_by_type(et.checksum_type)
        self._template = template
        self._body = body
        self._cipher = cipher
        self._plain = plain
        self._checksum = field_span(plain, (3, 1))
        self._cusec = field_span(plain, (4,))
        self._ctime = field_span(plain, (5,))
        self._nonce = _nonce_offset(template)

    def make(self, count: int) -> list[bytes]:
        base = secrets.randbits(30)
        key = self.tgt.session_key.keyvalue
        plain = bytearray(self._plain)
        plain[self._ctime[0] : self._ctime[1]] = _kerberos_time(int(time.time()))
        encrypt, checksum = self._enctype.encrypt, self._cksum.checksum
        body_start, body_end = self._body
        packets = []
        for i in range(count):
            packet = bytearray(self._template)
            packet[self._nonce : self._nonce + 4] = _nonce(i, base).to_bytes(4, "big")
            plain[self._checksum[0] : self._checksum[1]] = checksum(
                key, KU_TGS_REQ_AUTH_CKSUM, bytes(packet[body_start:body_end])
            )
            plain[self._cusec[0] : self._cusec[1]] = _usec(i, base)
            packet[self._cipher[0] : self._cipher[1]] = encrypt(key, KU_TGS_REQ_AUTH, bytes(plain))
            packets.append(bytes(packet))
        return packets


def _nonce_offset(request: bytes) -> int:
    offset = kdc_req_nonce_offset(request)
    if offset is None:
        raise ValueError("template KDC-REQ has no 4-byte nonce")
    return offset


# --- talking to a KDC once ----------------------------------------------------------


def kdc_exchange(host: str, port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send one request over TCP (RFC 4120 §7.2.2 framing) and return the reply."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(_LENGTH.pack(len(request)) + request)
        header = _read_exactly(sock, 4)
        (length,) = _LENGTH.unpack(header)
        return _read_exactly(sock, length)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionError(f"KDC closed the connection with {left} bytes still to read")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def get_tgt(
    host: str, port: int, realm: str, client: str, password: str, etypes: Sequence[int] = (18,)
) -> Credentials:
    """A TGT by the AS exchange over TCP, as kinit gets one (PREAUTH_REQUIRED, then
    PA-ENC-TIMESTAMP)."""
    kdc = KdcClient(lambda request: kdc_exchange(host, port, request), realm, etypes=etypes)
    return kdc.get_tgt(client, password)
