"""RFC 4120 §7.2.2 record marking for Kerberos over TCP, with no I/O.

Every request and reply on a TCP stream is preceded by its length as four octets in
network byte order. The high bit of that length is reserved for extensions; a KDC
that does not understand one MUST answer KRB_ERR_FIELD_TOOLONG and close the stream.
MIT krb5kdc gives the same answer to any length over its buffer, and so do we: a
length over ``max_length`` and a length with the high bit set are both a
:class:`FramingError`, after which the stream is not read any further.

Kept apart from the asyncio code so that the parser is tested with plain bytes.
"""

from __future__ import annotations

import struct

LENGTH_PREFIX = struct.Struct("!I")
HIGH_BIT = 0x8000_0000
#: Largest length a record may announce at all (the high bit must be clear).
MAX_RECORD_LENGTH = HIGH_BIT - 1


class FramingError(ValueError):
    """A length prefix that the KDC will not read; the stream must be closed."""

    def __init__(self, announced: int, max_length: int) -> None:
        self.announced = announced
        self.max_length = max_length
        if announced & HIGH_BIT:
            why = "has the reserved high bit set (RFC 4120 §7.2.2 extension)"
        else:
            why = f"is over the limit of {max_length} bytes"
        super().__init__(f"TCP record length {announced} {why}")

    @property
    def high_bit(self) -> bool:
        return bool(self.announced & HIGH_BIT)


def encode_record(message: bytes) -> bytes:
    """``message`` with its 4-byte big-endian length prefix."""
    if len(message) > MAX_RECORD_LENGTH:
        raise ValueError(f"message of {len(message)} bytes is too long for TCP framing")
    return LENGTH_PREFIX.pack(len(message)) + message


class RecordReader:
    """Reassembles length-prefixed records from arbitrary chunks of a stream.

    ``feed`` takes whatever the socket delivered (a prefix split over two reads, half
    a record, three records at once) and returns the records now complete, in order.
    The buffer never holds more than one incomplete record, so its size is bounded by
    ``4 + max_length`` plus one read.
    """

    __slots__ = ("_buffer", "_expected", "max_length")

    def __init__(self, max_length: int) -> None:
        if not 0 <= max_length <= MAX_RECORD_LENGTH:
            raise ValueError(f"max_length must be 0..{MAX_RECORD_LENGTH}, not {max_length}")
        self.max_length = max_length
        self._buffer = bytearray()
        self._expected: int | None = None

    @property
    def pending(self) -> int:
        """Bytes received that are not yet part of a complete record."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Records completed by ``data``; raises :class:`FramingError` on a bad length.

        Records completed before the bad length are lost with the error: the stream
        is closed anyway, and a client that sends garbage after a request does not
        get its earlier reply on a stream that is being torn down.
        """
        buffer = self._buffer
        buffer += data
        records: list[bytes] = []
        while True:
            if self._expected is None:
                if len(buffer) < LENGTH_PREFIX.size:
                    break
                (announced,) = LENGTH_PREFIX.unpack_from(buffer)
                if announced & HIGH_BIT or announced > self.max_length:
                    buffer.clear()
                    raise FramingError(announced, self.max_length)
                del buffer[: LENGTH_PREFIX.size]
                self._expected = announced
            if len(buffer) < self._expected:
                break
            records.append(bytes(buffer[: self._expected]))
            del buffer[: self._expected]
            self._expected = None
        return records
