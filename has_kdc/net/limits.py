"""Transport limits of a KDC listener, with the defaults and where they come from."""

from __future__ import annotations

from dataclasses import dataclass

#: MIT krb5kdc's ``kdc_max_dgram_reply_size`` default in code (MAX_DGRAM_SIZE in
#: src/include/osconf.hin; the kdc.conf man page says 4096, the code says 65536).
MIT_MAX_DGRAM_REPLY_SIZE = 65536
#: Largest UDP payload IPv4 can carry (65535 - 20 IP - 8 UDP); anything larger
#: cannot be sent at all, so the effective limit is never above it.
MAX_UDP_PAYLOAD = 65507
#: RFC 4120 leaves the maximum to the KDC; MIT reads up to 1 MiB. Real requests are
#: a few KiB even with a PAC-laden TGT, so 128 KiB leaves room and bounds memory.
DEFAULT_MAX_TCP_REQUEST = 128 * 1024
#: MIT krb5kdc has no idle timer; it only evicts the oldest connection when full.
#: A client that holds a connection this long without completing a request is gone
#: or hostile.
DEFAULT_TCP_IDLE_TIMEOUT = 30.0
#: MIT's cap is 45 (max_stream_data_connections, from select() days); it drops the
#: oldest connection to admit a new one, and so do we, with a larger default.
DEFAULT_MAX_TCP_CONNECTIONS = 256


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """Sizes and timers that bound what one client can make a listener hold.

    - ``max_dgram_reply_size``: a UDP reply longer than this is replaced by
      KRB_ERR_RESPONSE_TOO_BIG so the client retries over TCP (MIT's rule and
      kdc.conf name).
    - ``max_tcp_request``: a TCP length prefix above this gets KRB_ERR_FIELD_TOOLONG
      and the connection is closed.
    - ``tcp_idle_timeout``: seconds a connection has to deliver each complete request
      (counted from accept and from each reply), so slow senders cannot pin it.
    - ``max_tcp_connections``: connections open at once per process; the oldest is
      closed to admit a new one.
    """

    max_dgram_reply_size: int = MIT_MAX_DGRAM_REPLY_SIZE
    max_tcp_request: int = DEFAULT_MAX_TCP_REQUEST
    tcp_idle_timeout: float = DEFAULT_TCP_IDLE_TIMEOUT
    max_tcp_connections: int = DEFAULT_MAX_TCP_CONNECTIONS

    def __post_init__(self) -> None:
        if self.max_dgram_reply_size < 1:
            raise ValueError(
                f"max_dgram_reply_size must be positive, not {self.max_dgram_reply_size}"
            )
        if not 1 <= self.max_tcp_request < 0x8000_0000:
            raise ValueError(f"max_tcp_request must be 1..2147483647, not {self.max_tcp_request}")
        if self.tcp_idle_timeout <= 0:
            raise ValueError(f"tcp_idle_timeout must be positive, not {self.tcp_idle_timeout}")
        if self.max_tcp_connections < 1:
            raise ValueError(
                f"max_tcp_connections must be at least 1, not {self.max_tcp_connections}"
            )

    @property
    def udp_reply_limit(self) -> int:
        """The size above which a UDP reply becomes KRB_ERR_RESPONSE_TOO_BIG."""
        return min(self.max_dgram_reply_size, MAX_UDP_PAYLOAD)
