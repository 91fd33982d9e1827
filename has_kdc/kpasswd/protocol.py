"""The framing of RFC 3244 and its result codes: bytes in, parts out, and back.

A request is ``message length (2) | version (2) | AP-REQ length (2) | AP-REQ |
KRB-PRIV``, lengths big-endian, the first counting the whole message. Version 1
is the old change-password form (the KRB-PRIV's user-data is the new password);
version 0xff80 the set-password form (user-data is a ChangePasswdData). A reply
has the same header, always version 1 (as MIT's kadmind sends it), then an AP-REP
and a KRB-PRIV whose user-data is ``result code (2) | result string``; or an
AP-REP length of 0 and a KRB-ERROR whose e-data is that same result.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "HEADER",
    "KPASSWD_ACCESSDENIED",
    "KPASSWD_AUTHERROR",
    "KPASSWD_BAD_VERSION",
    "KPASSWD_HARDERROR",
    "KPASSWD_INITIAL_FLAG_NEEDED",
    "KPASSWD_MALFORMED",
    "KPASSWD_SOFTERROR",
    "KPASSWD_SUCCESS",
    "MAX_REQUEST",
    "MAX_RESULT_STRING",
    "VERSION_CHANGEPW",
    "VERSION_SETPW",
    "BadVersion",
    "KpasswdRequest",
    "Unframed",
    "build_reply",
    "parse_request",
    "result_data",
]

VERSION_CHANGEPW = 1
VERSION_SETPW = 0xFF80

KPASSWD_SUCCESS = 0
KPASSWD_MALFORMED = 1
KPASSWD_HARDERROR = 2
KPASSWD_AUTHERROR = 3
KPASSWD_SOFTERROR = 4
KPASSWD_ACCESSDENIED = 5
KPASSWD_BAD_VERSION = 6
KPASSWD_INITIAL_FLAG_NEEDED = 7

HEADER = struct.Struct(">HHH")
#: the longest request answered (a password, a ticket and their wrapping fit many times)
MAX_REQUEST = 16 * 1024
#: the longest result string sent back, in bytes (MIT's buffer is 1024)
MAX_RESULT_STRING = 1024


class Unframed(ValueError):
    """Bytes that are not a kpasswd message at all: they get no answer (as MIT)."""


class BadVersion(ValueError):
    """A framed message of a protocol version this service does not speak."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"Request contained unknown protocol version number {version}")


@dataclass(frozen=True)
class KpasswdRequest:
    version: int
    ap_req: bytes
    krb_priv: bytes


def parse_request(data: bytes) -> KpasswdRequest:
    """Split a request; `Unframed` for bytes whose length field does not hold,
    `BadVersion` for a version other than 1 and 0xff80, ``ValueError`` (MALFORMED)
    for a message whose AP-REQ does not fit in it."""
    if len(data) < HEADER.size or len(data) > MAX_REQUEST:
        raise Unframed(f"{len(data)} bytes is no kpasswd request")
    length, version, ap_req_length = HEADER.unpack_from(data)
    if length != len(data):
        raise Unframed("Request length was inconsistent")
    if version not in (VERSION_CHANGEPW, VERSION_SETPW):
        raise BadVersion(version)
    end = HEADER.size + ap_req_length
    if ap_req_length == 0 or end >= len(data):
        raise ValueError("Request was truncated in AP-REQ")
    return KpasswdRequest(version, bytes(data[HEADER.size : end]), bytes(data[end:]))


def result_data(code: int, text: str) -> bytes:
    """``result code | result string``, the string cut to `MAX_RESULT_STRING` bytes."""
    raw = text.encode("utf-8")[:MAX_RESULT_STRING]
    return struct.pack(">H", code) + raw.decode("utf-8", "ignore").encode("utf-8")


def build_reply(ap_rep: bytes, body: bytes) -> bytes:
    """The reply message: header (version 1), the AP-REP (or nothing), KRB-PRIV/KRB-ERROR."""
    total = HEADER.size + len(ap_rep) + len(body)
    return HEADER.pack(total, VERSION_CHANGEPW, len(ap_rep)) + ap_rep + body
