"""Counters of what the listeners did, cheap enough to bump on every packet.

One :class:`NetStats` per process: worker processes each count their own (the
metrics exporter sums them). Plain integer attributes on a slotted object cost one
attribute store per event; nothing here takes a lock because each event loop is one
thread.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(slots=True)
class NetStats:
    """Event counts since the listener started; read with :meth:`snapshot`."""

    #: requests handed to the handler, per transport
    requests_udp: int = 0
    requests_tcp: int = 0
    #: replies written, per transport
    replies_udp: int = 0
    replies_tcp: int = 0
    #: requests answered with nothing (handler returned None, or no error reply
    #: could be built after a failure)
    dropped: int = 0
    #: UDP replies over max_dgram_reply_size, replaced by KRB_ERR_RESPONSE_TOO_BIG
    too_big: int = 0
    #: handler raised; the request got the generic error reply or nothing
    handler_errors: int = 0
    #: TCP length prefixes with the high bit set or over the limit
    framing_errors: int = 0
    #: TCP connections accepted, closed for idleness, closed to make room
    tcp_accepted: int = 0
    tcp_idle_closed: int = 0
    tcp_evicted: int = 0
    #: TCP connections open right now (a gauge, not a counter)
    tcp_open: int = 0

    def snapshot(self) -> dict[str, int]:
        """The counters as a dict, for logging and the metrics exporter."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
