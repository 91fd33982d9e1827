"""Sending a request to a realm's KDCs, the way MIT's client library does.

A client that knows several KDCs (one `kdc =` line per HAS node) must keep working
when one is down: each KDC is tried in order with a short timeout, UDP first for
small requests, and TCP when the request is large or the KDC answers
KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 §7.2.1). ``KdcTransport`` is a
``send(request) -> reply`` callable, so it plugs into ``KdcClient``.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from has_kdc.asn1.constants import KRB_ERR_RESPONSE_TOO_BIG

__all__ = ["KdcAddress", "KdcTransport", "KdcUnreachable", "kdcs_from_krb5_conf"]

#: MIT's default: requests over this many bytes go straight to TCP.
UDP_PREFERENCE_LIMIT = 1465
_MAX_REPLY = 1 << 20


class KdcUnreachable(OSError):
    """No KDC of the list answered."""


@dataclass(frozen=True)
class KdcAddress:
    host: str
    port: int = 88

    @classmethod
    def parse(cls, text: str) -> KdcAddress:
        """``host``, ``host:port`` or ``[v6]:port``, as krb5.conf writes a kdc line."""
        text = text.strip()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            return cls(host, int(rest[1:]) if rest.startswith(":") else 88)
        host, sep, port = text.rpartition(":")
        if sep and port.isdigit() and ":" not in host:
            return cls(host, int(port))
        return cls(text)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def _is_too_big_error(reply: bytes) -> bool:
    # A KRB-ERROR ([APPLICATION 30]) whose error-code is 52; checked by decoding.
    if not reply or reply[0] != 0x7E:
        return False
    from has_kdc.asn1 import Asn1Error, decode_krb_error

    try:
        return decode_krb_error(reply).error_code == KRB_ERR_RESPONSE_TOO_BIG
    except Asn1Error:
        return False


class KdcTransport:
    """Try each KDC in order; UDP then TCP as MIT does; raise when none answers."""

    def __init__(
        self,
        kdcs: Sequence[KdcAddress | str],
        *,
        timeout: float = 1.0,
        udp_preference_limit: int = UDP_PREFERENCE_LIMIT,
    ) -> None:
        self.kdcs = [k if isinstance(k, KdcAddress) else KdcAddress.parse(k) for k in kdcs]
        if not self.kdcs:
            raise ValueError("no KDC to send to: give at least one host[:port]")
        self.timeout = timeout
        self.udp_preference_limit = udp_preference_limit
        self.last_kdc: KdcAddress | None = None

    def __call__(self, request: bytes) -> bytes:
        failures = []
        for kdc in self.kdcs:
            try:
                reply = self._exchange(kdc, request)
            except OSError as exc:
                failures.append(f"{kdc}: {exc.strerror or exc}")
                continue
            self.last_kdc = kdc
            return reply
        raise KdcUnreachable("no KDC answered (" + "; ".join(failures) + ")")

    def _exchange(self, kdc: KdcAddress, request: bytes) -> bytes:
        if len(request) <= self.udp_preference_limit:
            try:
                reply = self._udp(kdc, request)
            except OSError:
                reply = None
            if reply is not None and not _is_too_big_error(reply):
                return reply
        return self._tcp(kdc, request)

    def _udp(self, kdc: KdcAddress, request: bytes) -> bytes:
        family = socket.AF_INET6 if ":" in kdc.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect((kdc.host, kdc.port))
            sock.send(request)
            return sock.recv(65536)

    def _tcp(self, kdc: KdcAddress, request: bytes) -> bytes:
        with socket.create_connection((kdc.host, kdc.port), timeout=self.timeout) as sock:
            sock.sendall(struct.pack(">I", len(request)) + request)
            (length,) = struct.unpack(">I", _recv_exact(sock, 4))
            if length > _MAX_REPLY:
                raise OSError(f"reply length {length} over {_MAX_REPLY} bytes")
            return _recv_exact(sock, length)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, remaining = [], n
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise OSError("connection closed mid-reply")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def kdcs_from_krb5_conf(path: str | os.PathLike[str], realm: str | None = None) -> list[str]:
    """The ``kdc =`` lines of ``realm`` (default_realm when None) in a krb5.conf."""
    from has_kdc.conf.profile import read_profile

    profile = read_profile(path)
    realm = realm or profile.get("libdefaults", "default_realm")
    realms = profile.section("realms")
    entry = realms.subsection(realm) if realms is not None and realm else None
    if entry is None:
        raise ValueError(f"{os.fspath(path)}: no [realms] entry for {realm}")
    return entry.get_all("kdc")
