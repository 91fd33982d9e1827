"""Listening sockets: resolve ``kdc_host``, create and bind one socket per address.

The sockets are made here rather than by asyncio so that the options are ours:

- TCP gets SO_REUSEADDR, so a restarted KDC binds while old connections sit in
  TIME_WAIT (MIT does the same).
- UDP does not: on Linux SO_REUSEADDR lets a second process bind the same UDP
  address and silently take its traffic, which would hide a second KDC started by
  mistake behind an apparently successful start.
- With ``reuse_port`` both get SO_REUSEPORT, so worker processes each bind the same
  port and the kernel spreads datagrams and connections over them (by 4-tuple hash;
  one client socket keeps talking to one worker).
- IPv6 sockets get IPV6_V6ONLY, so "::" and "0.0.0.0" are two sockets on one port.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import Literal

SocketKind = Literal["udp", "tcp"]
#: Listen backlog for TCP (MIT's default kdc_tcp_listen_backlog is 5, which drops
#: connections under load; the kernel caps this at net.core.somaxconn anyway).
TCP_BACKLOG = 1024


class NetBindError(OSError):
    """A listener could not be created; the message says which address and why."""


@dataclass(frozen=True, slots=True)
class BindAddress:
    """One resolved local address to listen on."""

    family: socket.AddressFamily
    host: str

    def sockaddr(self, port: int) -> tuple[str, int]:
        return (self.host, port)

    def __str__(self) -> str:
        return f"[{self.host}]" if self.family == socket.AF_INET6 else self.host


def resolve_bind_addresses(host: str | None) -> list[BindAddress]:
    """The local addresses ``host`` names: an IP literal, a name, or None/""/"*" for all.

    A name that resolves to several addresses (IPv4 and IPv6, or two interfaces)
    gives one listener each, in the resolver's order, without duplicates.
    """
    if host in (None, "", "*"):
        # Listening on every address is what an empty kdc_host asks for.
        wildcard = [BindAddress(socket.AF_INET, "0.0.0.0")]  # noqa: S104
        if socket.has_ipv6:
            wildcard.append(BindAddress(socket.AF_INET6, "::"))
        return wildcard
    try:
        infos = socket.getaddrinfo(
            host, None, socket.AF_UNSPEC, socket.SOCK_DGRAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise NetBindError(
            errno.EADDRNOTAVAIL,
            f"cannot resolve KDC host {host!r} to listen on: {exc.strerror}; "
            "set kdc_host to an IP address or a name in /etc/hosts or DNS",
        ) from exc
    addresses: list[BindAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = BindAddress(socket.AddressFamily(family), str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise NetBindError(
            errno.EADDRNOTAVAIL, f"KDC host {host!r} has no IPv4 or IPv6 address to listen on"
        )
    return addresses


def bind_socket(
    address: BindAddress, port: int, kind: SocketKind, *, reuse_port: bool = False
) -> socket.socket:
    """A non-blocking socket bound to ``address``:``port`` (listening, for TCP)."""
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    sock = socket.socket(address.family, sock_type)
    try:
        if kind == "tcp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if address.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address.sockaddr(port))
        if kind == "tcp":
            sock.listen(TCP_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise NetBindError(
            exc.errno, f"cannot listen on {kind.upper()} {address} port {port}: {_why(exc, port)}"
        ) from exc
    return sock


def _why(exc: OSError, port: int) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return f"{reason} (another KDC, perhaps MIT krb5kdc, already listens there)"
    if exc.errno == errno.EACCES and 0 < port < 1024:
        return f"{reason} (port {port} needs root or CAP_NET_BIND_SERVICE)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{reason} (the address is not configured on this host)"
    return reason
