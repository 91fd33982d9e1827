"""RFC 4120 §7.2.2 TCP record marking, parsed from plain bytes."""

from __future__ import annotations

import struct

import pytest

from has_kdc.net.framing import FramingError, RecordReader, encode_record


def test_encode_record_prefixes_big_endian_length() -> None:
    assert encode_record(b"abc") == b"\x00\x00\x00\x03abc"
    assert encode_record(b"") == b"\x00\x00\x00\x00"
    assert encode_record(b"x" * 0x0102)[:4] == b"\x00\x00\x01\x02"


def test_records_split_at_every_byte_are_reassembled() -> None:
    messages = [b"first request", b"", b"x" * 300, b"last"]
    stream = b"".join(encode_record(m) for m in messages)
    reader = RecordReader(max_length=1024)
    received: list[bytes] = []
    for i in range(len(stream)):
        received += reader.feed(stream[i : i + 1])
    assert received == messages
    assert reader.pending == 0


def test_several_records_in_one_chunk_come_out_in_order() -> None:
    reader = RecordReader(max_length=100)
    chunk = encode_record(b"one") + encode_record(b"two") + encode_record(b"thr")[:5]
    assert reader.feed(chunk) == [b"one", b"two"]
    assert reader.pending == 1
    assert reader.feed(b"hr") == [b"thr"]


def test_high_bit_length_is_a_framing_error() -> None:
    reader = RecordReader(max_length=1 << 20)
    with pytest.raises(FramingError) as caught:
        reader.feed(b"\xff\xff\xff\xff")
    assert caught.value.high_bit
    assert caught.value.announced == 0xFFFFFFFF
    assert "high bit" in str(caught.value)


def test_high_bit_with_small_length_is_still_an_error() -> None:
    # The reserved bit alone makes the prefix unreadable, whatever the length bits say.
    reader = RecordReader(max_length=1 << 20)
    with pytest.raises(FramingError) as caught:
        reader.feed(struct.pack("!I", 0x8000_0010) + b"x" * 16)
    assert caught.value.high_bit


def test_length_over_the_limit_is_an_error_and_the_limit_itself_is_not() -> None:
    reader = RecordReader(max_length=64)
    assert reader.feed(encode_record(b"y" * 64)) == [b"y" * 64]
    with pytest.raises(FramingError) as caught:
        reader.feed(struct.pack("!I", 65))
    assert not caught.value.high_bit
    assert "over the limit of 64" in str(caught.value)


def test_split_length_prefix_is_checked_once_complete() -> None:
    reader = RecordReader(max_length=64)
    assert reader.feed(b"\x00\x00") == []
    with pytest.raises(FramingError):
        reader.feed(b"\x10\x00")


def test_bad_max_length_is_refused() -> None:
    with pytest.raises(ValueError, match="max_length"):
        RecordReader(max_length=0x8000_0000)
