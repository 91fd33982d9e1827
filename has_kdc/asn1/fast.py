"""Hand-tuned DER for the messages the KDC and has-kdc's own client handle per request.

pyasn1 (``spec.py``) stays the model of the wire format; this module is a faster
road to the same place for the common, well-formed case. Its scope is what
``has_kdc.kdc`` and ``has_kdc.client`` exchange on every request: they decode
KDC-REQ, AP-REQ, Authenticator, EncTicketPart, PA-ENC-TS-ENC, EncryptedData (the
KDC; and KDC-REQ-BODY, Checksum, PrincipalName inside a FAST-armored request) and
KDC-REP, EncKDCRepPart, KRB-ERROR, METHOD-DATA, ETYPE-INFO2 (the client), and encode
the same messages the other way round; everything else goes to the model.

Nothing here is written per message. The readers and writers of each message are
compiled, when this module is imported, from its description in ``schema.py``
(``_Compiler`` below; ``generated_source("KdcReq")`` shows what it made of one),
around a few hand-tuned readers and writers of the leaf types and the memos that
make the common case cheap. The generated code is what one would write by hand: it
walks the bytes with an index, reads short headers inline, and builds bytes by
joining parts.

The one rule: this path never decides anything the model would decide differently.
It accepts a strict subset of DER (definite minimal lengths, minimal INTEGERs, every
tag exactly as the RFC 4120 module has it, KerberosFlags of exactly 32 bits,
KerberosTime of exactly ``YYYYMMDDHHMMSSZ`` with a valid date, values of exactly the
expected Python types on encode) and raises ``Fallback`` on anything else, so the
codec hands that input to the pyasn1 path, which accepts, rejects and words its
errors as it always did. A ``Fallback`` is therefore never an error: it only means
"not the common case". ``tests/test_asn1_fast_differential.py`` checks that the two
paths agree on every captured and generated message.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from has_kdc.asn1 import schema
from has_kdc.asn1.constants import flags_from_wire
from has_kdc.asn1.der import (
    BIT_STRING,
    GENERAL_STRING,
    GENERALIZED_TIME,
    INTEGER,
    MAX_ELEMENTS,
    OCTET_STRING,
    SEQUENCE,
    application_tag,
    context_tag,
    too_many_elements,
)
from has_kdc.asn1.memo import ENTRY_OVERHEAD, Memo
from has_kdc.asn1.messages import PrincipalName
from has_kdc.asn1.schema import Field, Flags, Leaf, Sequence, SequenceOf, Type

__all__ = [
    "DECODERS",
    "ENCODERS",
    "FIELD_ENCODERS",
    "FIELD_ENCODERS_WITH_MODEL",
    "MANY_ELEMENTS_FROM",
    "READERS",
    "Fallback",
    "encode_etype_info2",
    "encode_method_data",
    "use_model_encoder",
]


class Fallback(Exception):
    """This input (or object) is not the common case; use the pyasn1 path."""


# KerberosTime range the model can encode (1970-01-01 .. 9999-12-31T23:59:59Z)
_TIME_MAX = 253402300799
# Memos of values a KDC sees again and again (times, names, tickets): at most
# ``_MEMO_SIZE`` items each, and those whose keys come in any size (names, tickets,
# texts) also at most so many bytes (``memo.Memo``): a client sending new 60 KB names
# costs recomputation, never memory. Times are keyed by 15 bytes or an int, so their
# entry count is already a byte bound (about 1 MB each).
_MEMO_SIZE = 4096
_MEMO_BYTES = 8 * 1024 * 1024
# Names and texts are bounded by ``_MEMO_BYTES``; their entry count only caps small
# items. It must hold the names a cluster uses at once (every user and service of a
# login burst): a memo is emptied when full, so one smaller than the names in use
# never hits. With 4,096 entries, AS-REQs cycling over 5,000 clients took 44 µs each
# instead of 16 (kdc_bench's spread workload); at 8 MB about 20,000 names fit.
_NAME_MEMO_SIZE = 65536
#: Names longer than this (DER) are decoded or encoded each time: real ones are
#: a few dozen bytes, and a decoded name holds an object per component besides.
_NAME_MEMO_ITEM = 512

# ================================================================ reading the leaves
# Every reader takes (data, pos, end): ``end`` is where the enclosing element's content
# stops, and no element may cross it. Readers return (value, next_pos); the ``_ctx_*``
# ones read ``[tag] X`` where ``tag`` is the identifier octet of the explicit tag.


def _header(d: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """Content span (start, stop) of the element at ``p``, which must have identifier
    ``tag``, a minimal definite length, and end by ``end``."""
    if d[p] != tag:
        raise Fallback
    n = d[p + 1]
    if n < 0x80:
        s = p + 2
    elif n == 0x81:
        n = d[p + 2]
        if n < 0x80:
            raise Fallback
        s = p + 3
    elif n == 0x82:
        n = d[p + 2] << 8 | d[p + 3]
        if n < 0x100:
            raise Fallback
        s = p + 4
    elif n == 0x83:
        n = d[p + 2] << 16 | d[p + 3] << 8 | d[p + 4]
        if n < 0x10000:
            raise Fallback
        s = p + 5
    else:
        raise Fallback
    e = s + n
    if e > end:  # also catches a header that itself runs past ``end`` (e >= s > p)
        raise Fallback
    return s, e


def _int_value(d: bytes, s: int, e: int) -> int:
    n = e - s
    if n == 0 or n > 8:  # longer than 64 bits: refused by the model (der.MAX_INTEGER_BYTES)
        raise Fallback
    if n == 1:
        return int.from_bytes(d[s:e], "big", signed=True)
    first, second = d[s], d[s + 1]
    if first == 0 and second < 0x80:
        raise Fallback  # not minimal
    if first == 0xFF and second >= 0x80 and (second != 0x80 or any(d[s + 2 : e])):
        # not minimal; the one exception is how pyasn1 writes -2**(8k-1), with one
        # 0xFF too many (see _put_int), which the model reads back like any other
        raise Fallback
    return int.from_bytes(d[s:e], "big", signed=True)


def _ctx_int(d: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """``[n] INTEGER``."""
    # the usual case, a one-byte INTEGER: A<n> 03 02 01 vv
    if d[p] == tag and d[p + 1] == 3 and d[p + 2] == INTEGER and d[p + 3] == 1 and p + 5 <= end:
        v = d[p + 4]
        return (v - 256 if v & 0x80 else v), p + 5
    # any other short one (a nonce, a microsecond count): A<n> L 02 L-2 vv..
    n = d[p + 1]
    if d[p] == tag and 2 < n < 0x80 and d[p + 2] == INTEGER and d[p + 3] == n - 2:
        e = p + 2 + n
        if e <= end:
            return _int_value(d, p + 4, e), e
    s, e = _header(d, p, end, tag)
    s2, e2 = _header(d, s, e, INTEGER)
    if e2 != e:
        raise Fallback
    return _int_value(d, s2, e2), e


def _ctx_string(d: bytes, p: int, end: int, tag: int, inner: int) -> tuple[bytes, int]:
    """``[n] OCTET STRING`` / ``[n] GeneralString`` (``inner``) as bytes."""
    # the usual case, short lengths: A<n> L <inner> L-2 ..
    n = d[p + 1]
    if d[p] == tag and 1 < n < 0x80 and d[p + 2] == inner and d[p + 3] == n - 2:
        e = p + 2 + n
        if e <= end:
            return d[p + 4 : e], e
    s, e = _header(d, p, end, tag)
    s2, e2 = _header(d, s, e, inner)
    if e2 != e:
        raise Fallback
    return d[s2:e2], e


def _ctx_octets(d: bytes, p: int, end: int, tag: int) -> tuple[bytes, int]:
    return _ctx_string(d, p, end, tag, OCTET_STRING)


def _ctx_general_bytes(d: bytes, p: int, end: int, tag: int) -> tuple[bytes, int]:
    return _ctx_string(d, p, end, tag, GENERAL_STRING)


def _ctx_text(d: bytes, p: int, end: int, tag: int) -> tuple[str, int]:
    """``[n] KerberosString`` as str (UTF-8, undecodable bytes kept by surrogateescape)."""
    raw, e = _ctx_string(d, p, end, tag, GENERAL_STRING)
    return raw.decode("utf-8", "surrogateescape"), e


_time_memo: dict[bytes, int] = {}


def _time_value(raw: bytes) -> int:
    """Seconds since the epoch of a 15-byte ``YYYYMMDDHHMMSSZ``; Fallback unless valid
    by the model's rules (month 1-12, day 1-31, hour < 24, minute < 60, second < 61;
    year 0 is refused by the model's calendar)."""
    seconds = _time_memo.get(raw)
    if seconds is not None:
        return seconds
    if raw[14] != 0x5A or not raw[:14].isdigit():
        raise Fallback
    year, month, day = int(raw[0:4]), int(raw[4:6]), int(raw[6:8])
    hour, minute, second = int(raw[8:10]), int(raw[10:12]), int(raw[12:14])
    if not (
        year >= 1
        and 1 <= month <= 12
        and 1 <= day <= 31
        and hour < 24
        and minute < 60
        and second < 61
    ):
        raise Fallback
    # days from the civil date (proleptic Gregorian), linear in ``day`` like timegm
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    seconds = days * 86400 + hour * 3600 + minute * 60 + second
    if len(_time_memo) >= _MEMO_SIZE:
        _time_memo.clear()
    _time_memo[raw] = seconds
    return seconds


def _ctx_time(d: bytes, p: int, end: int, tag: int) -> tuple[int, int]:
    """``[n] KerberosTime``: A<n> 11 18 0F YYYYMMDDHHMMSSZ, nothing else."""
    if d[p] != tag or d[p + 1] != 17 or d[p + 2] != GENERALIZED_TIME or d[p + 3] != 15:
        raise Fallback
    e = p + 19
    if e > end:
        raise Fallback
    return _time_value(d[p + 4 : e]), e


# Building an ``enum.Flag`` member from a number costs 2 to 5 µs (``Flag._missing_``
# decomposes it bit by bit), as much as the rest of a small message's decode, and a
# TGS-REQ carries three flag fields. Clients send the same few option values over and
# over, so the members are remembered, per class. Bounded (cleared when full)
# because ``flags_from_wire`` exists precisely so that a client sending every possible
# value cannot grow a cache without limit.
_FLAGS_MEMO_SIZE = 256


def _flags_reader(cls: Any) -> Callable[[bytes, int, int, int], tuple[Any, int]]:
    """The reader of ``[n] KerberosFlags`` of exactly 32 bits (A<n> 07 03 05 00 xx xx
    xx xx) as a member of ``cls``."""
    memo: dict[bytes, Any] = {}  # by the four octets of the value

    def read(d: bytes, p: int, end: int, tag: int) -> tuple[Any, int]:
        if d[p] != tag or d[p + 1] != 7 or d[p + 2] != BIT_STRING or d[p + 3] != 5 or d[p + 4]:
            raise Fallback
        e = p + 9
        if e > end:
            raise Fallback
        raw = d[p + 5 : e]
        member = memo.get(raw)
        if member is None:
            member = flags_from_wire(cls, int.from_bytes(raw, "big"))
            if len(memo) >= _FLAGS_MEMO_SIZE:
                memo.clear()
            memo[raw] = member
        return member, e

    read.__name__ = f"_ctx_{cls.__name__}"
    read.memo = memo  # type: ignore[attr-defined]  # the generated readers look it up inline
    return read


# ================================================================ writing the leaves
# Each _put_* returns the complete DER of its value. A value of an unexpected type or
# out of range raises Fallback: the model path then encodes it or names the problem.

_INTEGER_ID = bytes((INTEGER,))
_OCTET_STRING_ID = bytes((OCTET_STRING,))
_GENERAL_STRING_ID = bytes((GENERAL_STRING,))
_SEQUENCE_ID = bytes((SEQUENCE,))
#: KerberosTime's identifier and length: a GeneralizedTime of exactly 15 octets
_KERBEROS_TIME_HEADER = bytes((GENERALIZED_TIME, 15))
#: KerberosFlags's identifier, length and unused-bits octet: a BIT STRING of 32 bits
_KERBEROS_FLAGS_HEADER = bytes((BIT_STRING, 5, 0))
#: Whole DER sizes of both, the content length of their explicit ``[n]``
_KERBEROS_TIME_SIZE = len(_KERBEROS_TIME_HEADER) + 15
_KERBEROS_FLAGS_SIZE = len(_KERBEROS_FLAGS_HEADER) + 4
_LENGTH = [bytes((n,)) for n in range(0x80)]
#: Length octets of 0 .. 4095 content octets (a KDC message is shorter): the short
#: form, 81 nn, 82 nn nn. About 150 KB, the same in every process.
_LENGTHS_UP_TO = 0x1000
_LENGTHS = (
    _LENGTH
    + [bytes((0x81, n)) for n in range(0x80, 0x100)]
    + [b"\x82" + n.to_bytes(2, "big") for n in range(0x100, _LENGTHS_UP_TO)]
)
_SMALL_INT = {v: bytes((INTEGER, 1, v & 0xFF)) for v in range(-127, 128)}
_SMALL_INT[-128] = bytes((INTEGER, 2, 0xFF, 0x80))  # as pyasn1 writes it, see _put_int
# Identifier and short-form length octets together, for contents under 128 bytes:
# most elements of a KDC message are that small, and one concatenation instead of two
# (and no call to _tlv) is a measurable share of encoding an AS-REP's sixty elements.
_CTX_TAGS = 13  # [0] .. [12], all that RFC 4120 uses
_CTX = [bytes((context_tag(n),)) for n in range(_CTX_TAGS)]
_CTX_SHORT = [[bytes((context_tag(n), size)) for size in range(0x80)] for n in range(_CTX_TAGS)]
_SEQ_SHORT = [bytes((SEQUENCE, size)) for size in range(0x80)]
#: ``[n] INTEGER`` of the small values (pvno, msg-type, etypes, kvno, error codes), whole.
_CTX_SMALL_INT = [{v: _CTX_SHORT[n][len(b)] + b for v, b in _SMALL_INT.items()} for n in range(13)]
#: ``[n] OCTET STRING`` headers (four octets) of the contents under 126 bytes.
_CTX_OCTETS_SHORT = [
    [bytes((context_tag(n), size + 2, OCTET_STRING, size)) for size in range(0x7E)]
    for n in range(_CTX_TAGS)
]
# Encodings of values a KDC writes into every reply (its realm, its principals):
# bounded memos, cleared when full, so a client sending new names cannot grow them.
_text_memo = Memo(_NAME_MEMO_SIZE, _MEMO_BYTES, _NAME_MEMO_ITEM * 2 + ENTRY_OVERHEAD)
_principal_memo = Memo(_NAME_MEMO_SIZE, _MEMO_BYTES, _NAME_MEMO_ITEM * 3 + ENTRY_OVERHEAD)


def _length(n: int) -> bytes:
    """DER length octets of ``n`` content octets (minimal, definite)."""
    if n < _LENGTHS_UP_TO:
        return _LENGTHS[n]
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


def _tlv(tag: bytes, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return tag + _LENGTH[n] + content
    return tag + _length(n) + content


def _put_int(v: Any) -> bytes:
    if type(v) is not int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise Fallback
        v = int(v)
    small = _SMALL_INT.get(v)
    if small is not None:
        return small
    # pyasn1's length rule, byte for byte: minimal for every value except -2**(8k-1)
    # (-128, -32768, -2**31, ...), which it writes one byte longer (ff 80 00 ...).
    # X.690 wants the short form; the model is the reference, so the quirk is kept.
    content: bytes = v.to_bytes((v if v >= 0 else -v).bit_length() // 8 + 1, "big", signed=True)
    return _INTEGER_ID + _length(len(content)) + content


def _put_ctx_int(n: int, v: Any) -> bytes:
    """``[n] INTEGER``."""
    if type(v) is int:
        der = _CTX_SMALL_INT[n].get(v)
        if der is not None:
            return der
    der = _put_int(v)
    return _CTX[n] + _length(len(der)) + der


def _put_ctx_octets(n: int, v: Any) -> bytes:
    """``[n] OCTET STRING`` (the generated writers inline the short ones)."""
    if type(v) is not bytes:
        raise Fallback
    header = _OCTET_STRING_ID + _length(len(v))
    return _CTX[n] + _length(len(header) + len(v)) + header + v


def _put_octets(v: Any) -> bytes:
    if type(v) is not bytes:
        raise Fallback
    return _tlv(_OCTET_STRING_ID, v)


def _put_general_bytes(v: Any) -> bytes:
    """A GeneralString from bytes as they are (the ETYPE-INFO2 salt)."""
    if type(v) is not bytes:
        raise Fallback
    return _tlv(_GENERAL_STRING_ID, v)


def _put_text(v: Any) -> bytes:
    """KerberosString from str (UTF-8, surrogateescape as on decode)."""
    if type(v) is not str:
        raise Fallback
    der = _text_memo.get(v)
    if der is None:
        der = _tlv(_GENERAL_STRING_ID, v.encode("utf-8", "surrogateescape"))
        _text_memo.remember(v, der, len(der) * 2 + ENTRY_OVERHEAD)
    return der


_time_der_memo: dict[int, bytes] = {}


def _put_time(v: Any) -> bytes:
    if type(v) is not int:
        raise Fallback
    der = _time_der_memo.get(v)
    if der is None:
        if not 0 <= v <= _TIME_MAX:
            raise Fallback
        t = time.gmtime(v)
        der = _KERBEROS_TIME_HEADER + b"%04d%02d%02d%02d%02d%02dZ" % (
            t.tm_year,
            t.tm_mon,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec,
        )
        if len(_time_der_memo) >= _MEMO_SIZE:
            _time_der_memo.clear()
        _time_der_memo[v] = der
    return der


def _put_flags(v: Any) -> bytes:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFFFFFF:
        raise Fallback
    return _KERBEROS_FLAGS_HEADER + int(v).to_bytes(4, "big")


# ================================================================ the compiler
# Per leaf type: the reader of ``[n] leaf``, and the expression that writes it (``{n}``
# the tag number, ``{x}`` the value). KerberosTime and KerberosFlags have one length
# only, so their tag and length octets are a constant.
_LEAF_READERS = {
    schema.INTEGER: "_ctx_int",
    schema.OCTET_STRING: "_ctx_octets",
    schema.KERBEROS_STRING: "_ctx_text",
    schema.GENERAL_STRING_BYTES: "_ctx_general_bytes",
    schema.KERBEROS_TIME: "_ctx_time",
}
# Per leaf type, the lines reading ``[n] leaf`` at ``q`` when its header is short and
# its value the common case, without a call; anything else goes to ``{call}``, the
# reader above ({v} the variable, {tag} the identifier octet of ``[n]``).
_LEAF_INLINE = {
    # A<n> 03 02 01 vv: pvno, msg-type, etypes, error codes, kvno
    schema.INTEGER: [
        "if d.startswith({prefix}, q) and q + 5 <= e:",
        "    {v} = d[q + 4]",
        "    if {v} & 0x80:",
        "        {v} -= 256",
        "    q += 5",
        # A<n> 06 02 04 vv vv vv vv, the first octet 01..7F (positive and minimal): a
        # nonce, as MIT and Heimdal send it nearly always
        "elif d.startswith({prefix4}, q) and 0 < d[q + 4] < 0x80 and q + 8 <= e:",
        '    {v} = int.from_bytes(d[q + 4 : q + 8], "big")',
        "    q += 8",
        # A<n> L 02 L-2 vv..: other nonces, a microsecond count
        "elif d[q] == {tag} and 2 < (n := d[q + 1]) < 0x80 and d[q + 2] == INTEGER "
        "and d[q + 3] == n - 2 and q + 2 + n <= e:",
        "    {v} = _int_value(d, q + 4, q + 2 + n)",
        "    q += 2 + n",
        "else:",
        "    {call}",
    ],
    # A<n> 11 18 0F YYYYMMDDHHMMSSZ, the only form there is
    schema.KERBEROS_TIME: [
        "if d.startswith({prefix}, q) and q + 19 <= e:",
        "    {v} = _time_memo.get(d[q + 4 : q + 19])",
        "    if {v} is None:",
        "        {v} = _time_value(d[q + 4 : q + 19])",
        "    q += 19",
        "else:",
        "    raise Fallback",
    ],
    # A<n> L 1B L-2 ..: a realm, a name
    schema.KERBEROS_STRING: [
        "n = d[q + 1]",
        "if d[q] == {tag} and 1 < n < 0x80 and d[q + 2] == GENERAL_STRING "
        "and d[q + 3] == n - 2 and q + 2 + n <= e:",
        '    {v} = d[q + 4 : q + 2 + n].decode("utf-8", "surrogateescape")',
        "    q += 2 + n",
        "else:",
        "    {call}",
    ],
    # A<n> L 04 L-2 ..: a short padata-value or ciphertext
    schema.OCTET_STRING: [
        "n = d[q + 1]",
        "if d[q] == {tag} and 1 < n < 0x80 and d[q + 2] == OCTET_STRING "
        "and d[q + 3] == n - 2 and q + 2 + n <= e:",
        "    {v} = d[q + 4 : q + 2 + n]",
        "    q += 2 + n",
        "else:",
        "    {call}",
    ],
}
# What follows ``[n]`` in the common case of a leaf read inline ({prefix}): one
# ``startswith`` instead of a comparison per octet.
_INLINE_PREFIX: dict[Type, bytes] = {
    schema.INTEGER: bytes((3, INTEGER, 1)),  # a one-octet INTEGER
    schema.KERBEROS_TIME: bytes((17, GENERALIZED_TIME, 15)),
}
_FLAGS_PREFIX = bytes((7, BIT_STRING, 5, 0))  # 32 bits, no unused bits
# ``[n] X`` of a type decoded by its bytes (``_DECODE_MEMOS``, {memo}): a short one
# that is remembered is looked up here, anything else read by ``ctx_X`` ({call}).
_MEMO_INLINE = [
    "n = d[q + 1]",
    "if d[q] == {tag} and n < 0x80 and q + 2 + n <= e:",
    "    {v} = {memo}.get(d[q + 2 : q + 2 + n])",
    "    if {v} is None:",
    "        {call}",
    "    else:",
    "        q += 2 + n",
    "else:",
    "    {call}",
]
# ``[n] KerberosFlags`` whose member is remembered ({memo}, by the value's octets):
# A<n> 07 03 05 00 xx xx xx xx.
_FLAGS_INLINE = [
    "if d.startswith({prefix}, q) and q + 9 <= e:",
    "    {v} = {memo}.get(d[q + 5 : q + 9])",
    "    if {v} is None:",
    "        {call}",
    "    else:",
    "        q += 9",
    "else:",
    "    {call}",
]
_LEAF_WRITERS = {
    # small values from a table, whole (``{x}`` is read once, into ``x``)
    schema.INTEGER: "(_CTX_INT_{n}[x] if type(x := {x}) is int and -129 < x < 128 "
    "else _put_ctx_int({n}, x))",
    # short ones with their four header octets from a table, the rest by a call
    schema.OCTET_STRING: "(_CTX_OCTETS_{n}[len(x)] + x if type(x := {x}) is bytes "
    "and len(x) < 0x7e else _put_ctx_octets({n}, x))",
    # the realm and other names from their memo, inline
    schema.KERBEROS_STRING: "(t if type(x := {x}) is str and (t := _text_memo.get(x)) is not None "
    "else _put_text(x))",
    schema.GENERAL_STRING_BYTES: "_put_general_bytes({x})",
    # the times of the last few seconds from their memo, inline
    schema.KERBEROS_TIME: "{time_prefix} + (t if type(x := {x}) is int and "
    "(t := _time_der_memo.get(x)) is not None else _put_time(x))",
}
#: Leaf writers above that return the inner element only: ``[n]`` goes around it inline.
_LEAF_WRITERS_INNER = frozenset({schema.KERBEROS_STRING, schema.GENERAL_STRING_BYTES})
# SEQUENCE OF a leaf: the loop body reading one item at ``q`` into ``items``, and the
# writer of one item ``i``. A list of etypes is one-byte INTEGERs nearly always.
_LEAF_ITEM_READERS = {
    schema.INTEGER: [
        "if d[q] == INTEGER and d[q + 1] == 1 and q + 3 <= e:",
        "    v = d[q + 2]",
        "    items.append(v - 256 if v & 0x80 else v)",
        "    q += 3",
        "else:",
        "    a, q = _header(d, q, e, INTEGER)",
        "    items.append(_int_value(d, a, q))",
    ],
    schema.KERBEROS_STRING: [
        "a, q = _header(d, q, e, GENERAL_STRING)",
        'items.append(d[a:q].decode("utf-8", "surrogateescape"))',
    ],
}
_LEAF_ITEM_WRITERS = {schema.INTEGER: "_put_int", schema.KERBEROS_STRING: "_put_text"}

# Decoded values remembered by their bytes: (memo, bytes it holds per byte of DER,
# per entry). The same few names come in every request (the user, krbtgt/REALM, the
# services), and a client presents the same TGT in every TGS-REQ for hours; each
# decodes to one value only. Any client can send such bytes, so bounded in bytes.
_principal_by_der = Memo(_NAME_MEMO_SIZE, _MEMO_BYTES, _NAME_MEMO_ITEM * 4 + ENTRY_OVERHEAD)
_ticket_by_der = Memo(1024, 8 * 1024 * 1024, 64 * 1024)
_DECODE_MEMOS: dict[Sequence, tuple[str, Memo, int, int]] = {
    # the bytes twice (key, text) and an object per component (at least 2 bytes each)
    schema.PRINCIPAL_NAME: ("_principal_by_der", _principal_by_der, 4, ENTRY_OVERHEAD),
    # the key, the ticket's own bytes and its ciphertext: three copies
    schema.TICKET: ("_ticket_by_der", _ticket_by_der, 3, 2 * ENTRY_OVERHEAD),
}
# A KDC sends the same few errors over and over (PREAUTH_REQUIRED with the same hints
# to the same user, C_PRINCIPAL_UNKNOWN to the same misspelled name): only the time
# differs. Everything from the named field on is remembered as one piece, keyed by
# the values it is made of, when the first of them is exactly an int.
_error_tail_memo = Memo(_NAME_MEMO_SIZE, _MEMO_BYTES, 8 * 1024)
_TEMPLATED_TAILS: dict[Sequence, tuple[str, str, Memo]] = {
    schema.KRB_ERROR: ("error-code", "_error_tail_memo", _error_tail_memo),
}


def _hex(octet: int) -> str:
    return f"{octet:#04x}"


def _literal(data: bytes) -> str:
    """``data`` as a bytes literal in hex, for the generated code."""
    return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'


def _ident(t: Type) -> str:
    """A Python name for ``t`` in the generated code."""
    if isinstance(t, Sequence):
        return t.cls.__name__
    if isinstance(t, SequenceOf):
        return "SequenceOf" + _ident(t.item)
    if isinstance(t, Flags):
        return t.enum.__name__
    return t.name


def _read_header(tag: str, p: str, end: str, s: str, e: str) -> list[str]:
    """Lines reading the header of the element at ``p`` (identifier ``tag``) into its
    content span ``s``, ``e``: the short form and ``81 nn`` (a request's outer two
    headers) inline, the rest by ``_header``."""
    return [
        f"n = d[{p} + 1]",
        f"if d[{p}] == {tag} and n < 0x80:",
        f"    {s} = {p} + 2",
        f"    {e} = {s} + n",
        f"    if {e} > {end}:",
        "        raise Fallback",
        f"elif n == 0x81 and d[{p}] == {tag} and d[{p} + 2] >= 0x80:",
        f"    {s} = {p} + 3",
        f"    {e} = {s} + d[{p} + 2]",
        f"    if {e} > {end}:",
        "        raise Fallback",
        "else:",
        f"    {s}, {e} = _header(d, {p}, {end}, {tag})",
    ]


#: Every name the generated writers assign or read besides the leaf writers' tables
#: and functions: no field passed to a ``fields_X`` may be called so.
_WRITER_LOCALS = frozenset(
    {"b", "c", "der", "header", "memo_key", "number", "parts", "size", "t", "tag", "v", "x"}
)


def _explicit(n: int, inner: str) -> str:
    """The expression writing ``[n]`` around the element ``inner`` evaluates to: the
    short form from a table, inline (most elements of a KDC message are under 128
    bytes, and a call per element is a measurable share of encoding a reply)."""
    return (
        f"(_CTX_SHORT_{n}[size] + b if (size := len(b := {inner})) < 0x80 "
        f"else _CTX_ID_{n} + (_LENGTHS[size] if size < 0x1000 else _length(size)) + b)"
    )


def _return_seq(parts: str) -> list[str]:
    """Lines returning the SEQUENCE of the elements ``parts`` (an iterable of bytes)."""
    return [
        f'c = b"".join({parts})',
        "size = len(c)",
        "if size < 0x80:",
        "    return _SEQ_SHORT[size] + c",
        "if size < 0x1000:",
        "    return _SEQUENCE_ID + _LENGTHS[size] + c",
        "return _SEQUENCE_ID + _length(size) + c",
    ]


def _application_tag(t: Sequence, owner: str) -> list[str]:
    """Lines setting ``tag`` for a SEQUENCE that is one of several APPLICATION types
    (KDC-REQ, KDC-REP), chosen by its ``application_attr`` read from ``owner``."""
    if len(t.application) < 2:
        return []
    lines = [f"number = {owner}{t.application_attr}"]
    for i, number in enumerate(t.application):
        keyword = "if" if i == 0 else "elif"
        tag = bytes((application_tag(number),))
        lines += [f"{keyword} number == {number}:", f"    tag = {_literal(tag)}"]
    return [*lines, "else:", "    raise Fallback"]


def _return_sequence(t: Sequence) -> list[str]:
    """Lines returning ``t``'s DER from ``parts``, under its APPLICATION tag if any."""
    if len(t.application) > 1:
        return _return_app_seq("tag")
    if t.application:
        return _return_app_seq(_literal(bytes((application_tag(t.application[0]),))))
    return _return_seq("parts")


def _return_app_seq(tag: str) -> list[str]:
    """Lines returning ``[APPLICATION n] SEQUENCE`` of ``parts`` (``tag`` the expression
    of its identifier octet): both headers short inline, else computed once each."""
    return [
        'c = b"".join(parts)',
        "size = len(c)",
        "if size < 0x7e:",
        f"    return {tag} + _LENGTH[size + 2] + _SEQ_SHORT[size] + c",
        "if size < 0xffc:  # both lengths from the table",
        "    header = _SEQUENCE_ID + _LENGTHS[size]",
        f"    return {tag} + _LENGTHS[size + len(header)] + header + c",
        "header = _SEQUENCE_ID + _length(size)",
        f"return {tag} + _length(size + len(header)) + header + c",
    ]


def _indent(lines: list[str], level: int = 1) -> list[str]:
    return ["    " * level + line for line in lines]


class _Compiler:
    """Python source of the readers and writers of every type reachable from the
    ones asked for, executed into one namespace.

    Per SEQUENCE ``X``: ``read_X(d, p, end)`` reads the element at ``p`` (its
    APPLICATION wrapper included) and returns (value, end of element);
    ``ctx_X(d, p, end, tag)`` reads ``[n] X``; ``put_X(v)`` returns the DER of ``v``
    (and ``tail_X(v)`` the templated part, see ``_TEMPLATED_TAILS``). The same three
    exist per SEQUENCE OF, named after its item.
    """

    def __init__(self) -> None:
        self.source: dict[str, list[str]] = {}  # function name -> its lines
        self.namespace: dict[str, Any] = {
            name: value
            for name, value in globals().items()
            if name.startswith("_") and not name.startswith("__")
        }
        self.namespace.update(
            Fallback=Fallback,
            INTEGER=INTEGER,
            GENERAL_STRING=GENERAL_STRING,
            OCTET_STRING=OCTET_STRING,
            _new=object.__new__,
            **{f"_CTX_INT_{n}": table for n, table in enumerate(_CTX_SMALL_INT)},
            **{f"_CTX_OCTETS_{n}": table for n, table in enumerate(_CTX_OCTETS_SHORT)},
            **{f"_CTX_SHORT_{n}": table for n, table in enumerate(_CTX_SHORT)},
            **{f"_CTX_ID_{n}": octet for n, octet in enumerate(_CTX)},
        )

    # -- decoding ------------------------------------------------------------------

    def field_reader(self, t: Type) -> str:
        """The name of the reader of ``[n] t``."""
        if isinstance(t, Leaf):
            return _LEAF_READERS[t]
        if isinstance(t, Flags):
            name = f"_ctx_{_ident(t)}"
            if name not in self.namespace:
                read = _flags_reader(t.enum)
                self.namespace[name] = read
                self.namespace[f"_memo_{_ident(t)}"] = read.memo  # type: ignore[attr-defined]
            return name
        name = "ctx_" + _ident(t)
        if name not in self.source:
            self.source[name] = []  # claimed first: types may refer to each other
            self.source[name] = self._ctx_reader(t)
        return name

    def reader(self, t: Sequence | SequenceOf) -> str:
        name = "read_" + _ident(t)
        if name not in self.source:
            self.source[name] = []
            body = self._sequence_reader(t) if isinstance(t, Sequence) else self._list_reader(t)
            self.source[name] = [f"def {name}(d, p, end):", *_indent(body)]
        return name

    def _ctx_reader(self, t: Sequence | SequenceOf) -> list[str]:
        name = "ctx_" + _ident(t)
        read = self.reader(t)
        lines = _read_header("tag", "p", "end", "s", "e")
        memo = _DECODE_MEMOS.get(t) if isinstance(t, Sequence) else None
        if memo is None:
            lines += [f"v, q = {read}(d, s, e)", "if q != e:", "    raise Fallback"]
        else:
            memo_name, _, per_byte, overhead = memo
            lines += [
                "der = d[s:e]",
                f"v = {memo_name}.get(der)",
                "if v is None:",
                f"    v, q = {read}(d, s, e)",
                "    if q != e:",
                "        raise Fallback",
                f"    {memo_name}.remember(der, v, len(der) * {per_byte} + {overhead})",
            ]
        return [f"def {name}(d, p, end, tag):", *_indent([*lines, "return v, e"])]

    def _sequence_reader(self, t: Sequence) -> list[str]:
        lines: list[str] = []
        if len(t.application) > 1:  # one of several: the first byte says which
            for i, number in enumerate(t.application):
                keyword = "if" if i == 0 else "elif"
                lines += [
                    f"{keyword} d[p] == {_hex(application_tag(number))}:",
                    f"    number = {number}",
                ]
            lines += ["else:", "    raise Fallback", "tag = d[p]"]
            tag = "tag"
        elif t.application:
            lines += [f"number = {t.application[0]}"]
            tag = _hex(application_tag(t.application[0]))
        if t.application:
            lines += _read_header(tag, "p", "end", "s0", "e0")
            lines += _read_header(_hex(SEQUENCE), "s0", "e0", "s", "e")
            lines += ["if e != e0:", "    raise Fallback"]
        else:
            lines += _read_header(_hex(SEQUENCE), "p", "end", "s", "e")
            lines += ["e0 = e"]
        lines += ["q = s"]
        arguments = []
        for i, f in enumerate(t.fields):
            tag = _hex(context_tag(f.tag))
            value = f"v{i}"
            read = self._field_read(f, value, tag)
            if f.der_attr:
                lines += [*read, f"der{i} = d[fs:fe]"]
                arguments.append(f"{f.der_attr}=der{i}")
            elif f.optional:
                absent = "()" if f.empty_is_absent else "None"
                lines += [f"if q < e and d[q] == {tag}:", *_indent(read)]
                lines += ["else:", f"    {value} = {absent}"]
            else:
                lines += read
            if f.name == "msg-type" and t.application:
                lines += [f"if {value} != number:", "    raise Fallback"]
            arguments.append(f"{f.attr}={value}")
        if t.der_attr:
            arguments.append(f"{t.der_attr}=d[p:e0]")
        if t.application_attr and t.application_attr not in {f.attr for f in t.fields}:
            arguments.append(f"{t.application_attr}=number")
        self.namespace[t.cls.__name__] = t.cls
        lines += ["if q != e:", "    raise Fallback"]
        return lines + self._construct(t.cls, arguments)

    def _construct(self, cls: type, arguments: list[str]) -> list[str]:
        """Lines returning ``cls(**arguments)``, and the end of the element, ``e0``.

        A frozen dataclass's ``__init__`` sets each field through
        ``object.__setattr__`` (and parses keywords): a third of the time of a small
        message's decode. When the class has slots and no ``__post_init__``, and the
        arguments name every field, the object is made empty and each slot filled
        through its descriptor instead: the same object, a third of the work.
        """
        name = cls.__name__
        attrs = [a.split("=", 1) for a in arguments]
        slots = cls.__dict__.get("__slots__")
        if (
            not dataclasses.is_dataclass(cls)
            or slots is None
            or hasattr(cls, "__post_init__")
            or {f.name for f in dataclasses.fields(cls)} != {attr for attr, _ in attrs}
            or set(slots) != {attr for attr, _ in attrs}
        ):
            return [f"return {name}({', '.join(arguments)}), e0"]
        lines = [f"o = _new({name})"]
        for attr, value in attrs:
            setter = f"_set_{name}_{attr}"
            self.namespace[setter] = getattr(cls, attr).__set__
            lines.append(f"{setter}(o, {value})")
        return [*lines, "return o, e0"]

    def _field_read(self, f: Field, value: str, tag: str) -> list[str]:
        """Lines reading field ``f`` at ``q`` into ``value``. A SEQUENCE or SEQUENCE OF
        (without a memo) has its explicit tag read here, one call fewer per field."""
        t = f.type
        if isinstance(t, Leaf | Flags) or t in _DECODE_MEMOS:
            assert not f.der_attr
            call = f"{value}, q = {self.field_reader(t)}(d, q, e, {tag})"
            memo = ""
            inline: list[str] | None
            if isinstance(t, Sequence) and t in _DECODE_MEMOS:
                inline, memo = _MEMO_INLINE, _DECODE_MEMOS[t][0]
            elif isinstance(t, Flags):
                inline, memo = _FLAGS_INLINE, f"_memo_{_ident(t)}"
            else:
                inline = _LEAF_INLINE.get(t) if isinstance(t, Leaf) else None
            if inline is None:
                return [call]
            # the constant octets the common case starts with, tag first
            after = _FLAGS_PREFIX if isinstance(t, Flags) else _INLINE_PREFIX.get(t, b"")
            prefix = _literal(bytes((context_tag(f.tag), *after)))
            prefix4 = _literal(bytes((context_tag(f.tag), 6, INTEGER, 4)))  # INTEGER only
            return [
                line.format(v=value, tag=tag, call=call, memo=memo, prefix=prefix, prefix4=prefix4)
                for line in inline
            ]
        return [
            *_read_header(tag, "q", "e", "fs", "fe"),
            f"{value}, q = {self.reader(t)}(d, fs, fe)",
            "if q != fe:",
            "    raise Fallback",
        ]

    def _list_reader(self, t: SequenceOf) -> list[str]:
        if isinstance(t.item, Sequence | SequenceOf):
            item = [f"v, q = {self.reader(t.item)}(d, q, e)", "items.append(v)"]
        elif isinstance(t.item, Leaf):
            item = _LEAF_ITEM_READERS[t.item]
        else:  # RFC 4120 has no SEQUENCE OF KerberosFlags
            raise TypeError(f"no reader of a SEQUENCE OF {t.item}")
        whole: list[str] = []
        if t.item == schema.INTEGER:
            # a list of etypes: one-octet non-negative INTEGERs (02 01 vv ...), in one go
            whole = [
                "c = d[s:e]",
                "k = len(c) // 3",
                'if len(c) == 3 * k and c[::3] == b"\\x02" * k and c[1::3] == b"\\x01" * k:',
                "    v = c[2::3]",
                "    if v.isascii():",
                "        return tuple(v), e",
            ]
        return [
            *_read_header(_hex(SEQUENCE), "p", "end", "s", "e"),
            *whole,
            "items = []",
            "q = s",
            "while q < e:",
            *_indent(item),
            "return tuple(items), e",
        ]

    # -- encoding ------------------------------------------------------------------

    def writer(self, t: Sequence | SequenceOf) -> str:
        name = "put_" + _ident(t)
        if name not in self.source:
            self.source[name] = []
            if isinstance(t, Sequence):
                self.source[name] = self._sequence_writer(t, name)
            else:
                self.source[name] = self._list_writer(t, name)
        return name

    def field_writer(self, f: Field, value: str) -> str:
        """The expression writing ``[n] value`` for field ``f``."""
        n, t = f.tag, f.type
        if isinstance(t, Leaf):
            time_prefix = _literal(bytes((context_tag(n), _KERBEROS_TIME_SIZE)))
            write = _LEAF_WRITERS[t].format(n=n, x=value, time_prefix=time_prefix)
            return _explicit(n, write) if t in _LEAF_WRITERS_INNER else write
        if isinstance(t, Flags):
            prefix = _literal(bytes((context_tag(n), _KERBEROS_FLAGS_SIZE)))
            return f"{prefix} + _put_flags({value})"
        return _explicit(n, f"{self.writer(t)}({value})")

    def _fields_writer(self, fields: tuple[Field, ...], owner: str = "v.") -> list[str]:
        """Lines putting the DER of ``fields`` of ``v`` in ``parts``: the leading
        required ones in the list display, the rest appended when present. With
        ``owner=""`` the values are the variables named after the fields instead."""
        leading = 0
        while leading < len(fields) and not fields[leading].optional:
            leading += 1
        first = [self.field_writer(f, f"{owner}{f.attr}") for f in fields[:leading]]
        lines = [f"parts = [{', '.join(first)}]"]
        for f in fields[leading:]:
            value = "x" if f.optional else f"{owner}{f.attr}"
            write = f"parts.append({self.field_writer(f, value)})"
            if not f.optional:
                lines.append(write)
                continue
            lines.append(f"x = {owner}{f.attr}")
            lines += ["if x:" if f.empty_is_absent else "if x is not None:", f"    {write}"]
        return lines

    def _sequence_writer(self, t: Sequence, name: str) -> list[str]:
        self.namespace[t.cls.__name__] = t.cls
        lines = [f"if type(v) is not {t.cls.__name__}:", "    raise Fallback"]
        lines += _application_tag(t, "v.")
        fields: tuple[Field, ...] = t.fields
        tail: tuple[Field, ...] = ()
        if t in _TEMPLATED_TAILS:
            first, memo_name, _ = _TEMPLATED_TAILS[t]
            split = next(i for i, f in enumerate(fields) if f.name == first)
            fields, tail = fields[:split], fields[split:]
        lines += self._fields_writer(fields)
        functions: list[str] = []
        if tail:
            tail_name = "tail_" + _ident(t)
            key = ", ".join(f"v.{f.attr}" for f in tail)
            size = 2 * ENTRY_OVERHEAD
            lines += [
                f"if type(v.{tail[0].attr}) is int:",
                f"    memo_key = ({key})",
                "    try:",
                f"        der = {memo_name}.get(memo_key)",
                "    except TypeError:  # unhashable, e.g. a list of name components",
                "        der = memo_key = None",
                "    if der is None:",
                f"        der = {tail_name}(v)",
                "        if memo_key is not None:",
                "            # every value of the key is in the piece too: twice its bytes",
                f"            {memo_name}.remember(memo_key, der, len(der) * 2 + {size})",
                "else:",
                f"    der = {tail_name}(v)",
                "parts.append(der)",
            ]
            tail_lines = [*self._fields_writer(tail), 'return b"".join(parts)']
            functions = ["", f"def {tail_name}(v):", *_indent(tail_lines)]
        lines += _return_sequence(t)
        return [f"def {name}(v):", *_indent(lines), *functions]

    def fields_writer(self, t: Sequence) -> str:
        """``fields_X(*, field=..., ...)``: the DER of ``X(field=..., ...)`` from the
        values alone, the same lines as ``put_X`` reading arguments instead of
        attributes (see ``FIELD_ENCODERS``). Defaults are the dataclass's."""
        name = "fields_" + _ident(t)
        if name in self.source:
            return name
        if t in _TEMPLATED_TAILS:
            raise ValueError(f"{t.name}: a templated tail is written from the object only")
        parameters = []
        for f in dataclasses.fields(t.cls):
            if f.name in _WRITER_LOCALS:  # would be shadowed by the generated code
                raise ValueError(f"{t.name}: field {f.name} is a name the writers use")
            if f.default is dataclasses.MISSING:
                parameters.append(f.name)
            elif f.default is None or type(f.default) in (int, str, tuple):
                parameters.append(f"{f.name}={f.default!r}")
            else:
                raise ValueError(f"{t.name}: no literal default for field {f.name}")
        lines = []
        lines += _application_tag(t, "")
        lines += self._fields_writer(t.fields, owner="")
        lines += _return_sequence(t)
        signature = f"(*, {', '.join(parameters)}):"
        self.source[name] = [f"def {name}{signature}", *_indent(lines)]
        # The same lines again, falling back to the model: what ``fields_encoder``
        # hands the KDC, called with keywords straight into its parameters (no dict
        # of fields built and unpacked on the way, 1.2 µs a message).
        cls = t.cls.__name__
        self.namespace[cls] = t.cls
        values = ", ".join(f"{f.name}={f.name}" for f in dataclasses.fields(t.cls))
        self.source["model_" + name] = [
            f"def model_{name}{signature}",
            "    try:",
            *_indent(_indent(lines)),
            "    except (Fallback, AttributeError, TypeError, ValueError, OverflowError):",
            "        pass  # not the common case: the model's answer, whatever it is",
            f"    return _model_encoder[0]({cls}({values}))",
        ]
        return name

    def _list_writer(self, t: SequenceOf, name: str) -> list[str]:
        if isinstance(t.item, Sequence | SequenceOf):
            item = self.writer(t.item)
        elif isinstance(t.item, Leaf):
            item = _LEAF_ITEM_WRITERS[t.item]
        else:
            raise TypeError(f"no writer of a SEQUENCE OF {t.item}")
        return [
            f"def {name}(v):",
            "    if type(v) is not tuple and type(v) is not list:",
            "        raise Fallback",
            *_indent(_return_seq(f"map({item}, v)")),
        ]

    # -- the result ----------------------------------------------------------------

    def text(self) -> str:
        return "\n\n".join("\n".join(lines) for lines in self.source.values()) + "\n"

    def build(self) -> dict[str, Any]:
        code = compile(self.text(), "<has_kdc.asn1.fast: compiled from schema>", "exec")
        exec(code, self.namespace)  # noqa: S102 (our own source, made from schema.py)
        return self.namespace


# ================================================================ the scope

#: Decoders by their public name, and what they decode.
_DECODED: dict[str, Sequence | SequenceOf] = {
    # the KDC
    "decode_kdc_req": schema.KDC_REQ,
    "decode_ap_req": schema.AP_REQ,
    "decode_authenticator": schema.AUTHENTICATOR,
    "decode_enc_ticket_part": schema.ENC_TICKET_PART,
    "decode_pa_enc_ts_enc": schema.PA_ENC_TS_ENC,
    "decode_encrypted_data": schema.ENCRYPTED_DATA,
    # the KDC, inside a FAST-armored request (asn1/fx.py)
    "decode_kdc_req_body": schema.KDC_REQ_BODY,
    "decode_checksum": schema.CHECKSUM,
    "decode_principal_name": schema.PRINCIPAL_NAME,
    # the client
    "decode_kdc_rep": schema.KDC_REP,
    "decode_enc_kdc_rep_part": schema.ENC_KDC_REP_PART,
    "decode_krb_error": schema.KRB_ERROR,
    "decode_method_data": schema.METHOD_DATA,
    "decode_etype_info2": schema.ETYPE_INFO2,
}
#: Messages encoded: the KDC's replies and errors, the client's requests, and the checksum
#: and names FAST encodes on their own.
_ENCODED: tuple[Sequence, ...] = (
    schema.KDC_REP,
    schema.ENC_KDC_REP_PART,
    schema.TICKET,
    schema.ENC_TICKET_PART,
    schema.KRB_ERROR,
    schema.KDC_REQ,
    schema.KDC_REQ_BODY,
    schema.AP_REQ,
    schema.AUTHENTICATOR,
    schema.PA_ENC_TS_ENC,
    schema.ENCRYPTED_DATA,
    schema.CHECKSUM,
    schema.PRINCIPAL_NAME,
)

#: Messages the KDC builds only to encode them (its reply and the two parts it
#: encrypts): encoded from their field values too (``FIELD_ENCODERS``), because
#: building a frozen dataclass of a dozen fields costs more than encoding it.
_BUILT_FROM_FIELDS: tuple[Sequence, ...] = (
    schema.ENC_TICKET_PART,
    schema.ENC_KDC_REP_PART,
    schema.KDC_REP,
)


def _no_model_encoder(obj: Any) -> bytes:
    raise Fallback


#: set by the codec (``use_model_encoder``); read by the generated ``model_fields_X``
_model_encoder: list[Callable[[Any], bytes]] = [_no_model_encoder]


def _compile() -> tuple[_Compiler, dict[str, Any]]:
    compiler = _Compiler()
    compiler.namespace["_model_encoder"] = _model_encoder
    for decoded in _DECODED.values():
        compiler.reader(decoded)
    for encoded in _ENCODED:
        compiler.writer(encoded)
    compiler.writer(schema.METHOD_DATA)
    compiler.writer(schema.ETYPE_INFO2)
    for built in _BUILT_FROM_FIELDS:
        compiler.fields_writer(built)
    namespace = compiler.build()
    # A name's DER is remembered by the name, but only for the exact types: a list
    # is not hashable, and True equals 1 but is not an Int32 here, so the memo never
    # answers where the generated writer would decline.
    build_principal: Callable[[Any], bytes] = namespace["put_PrincipalName"]

    def put_principal(p: Any) -> bytes:
        if type(p) is not PrincipalName:
            raise Fallback
        key = None
        if type(p.components) is tuple and type(p.name_type) is int:
            # keyed by the fields, not the name: a PrincipalName hashes and compares
            # in Python, a tuple of an int and strings in C
            key = (p.name_type, p.components)
            known: bytes | None = _principal_memo.get(key)
            if known is not None:
                return known
        der = build_principal(p)
        if key is not None:
            # the DER, the components it was made from and the name around them
            _principal_memo.remember(key, der, len(der) * 3 + ENTRY_OVERHEAD)
        return der

    namespace["put_PrincipalName"] = put_principal
    return compiler, namespace


_compiler, _generated = _compile()

#: Input this short cannot hold more than MAX_ELEMENTS elements (two bytes each at least).
MANY_ELEMENTS_FROM = 2 * MAX_ELEMENTS


def _entry(name: str, read: Callable[[bytes, int, int], tuple[Any, int]]) -> Callable[[bytes], Any]:
    """Public decoder: exactly one element, bytes in; a read past the end of the input
    is just a Fallback, and so is input with more elements than ``der.MAX_ELEMENTS``,
    which the model refuses (it would read it slowly: a bound on its work is a bound
    on the answer)."""

    def decode(data: bytes) -> Any:
        if len(data) > MANY_ELEMENTS_FROM and too_many_elements(data):
            raise Fallback
        try:
            value, end = read(data, 0, len(data))
        except IndexError:
            raise Fallback from None
        if end != len(data):
            raise Fallback
        return value

    decode.__name__ = decode.__qualname__ = name
    return decode


def _guarded(name: str, function: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """Public encoder: a value this path cannot represent is a Fallback, whatever broke."""

    def encode(obj: Any) -> bytes:
        try:
            return function(obj)
        except (AttributeError, TypeError, ValueError, OverflowError):
            # e.g. a str with a lone surrogate, an attribute missing on a look-alike
            raise Fallback from None

    encode.__name__ = encode.__qualname__ = name
    return encode


def _guarded_fields(name: str, function: Callable[..., bytes]) -> Callable[..., bytes]:
    """``_guarded`` for a ``fields_X``: keyword arguments in."""

    def encode(**fields: Any) -> bytes:
        try:
            return function(**fields)
        except (AttributeError, TypeError, ValueError, OverflowError):
            raise Fallback from None

    encode.__name__ = encode.__qualname__ = name
    return encode


READERS: dict[str, Callable[[bytes, int, int], tuple[Any, int]]] = {
    name: _generated[_compiler.reader(t)] for name, t in _DECODED.items()
}
"""Public decoder name → its reader ``read(data, 0, len(data)) -> (value, end)``, for a
caller that applies ``_entry``'s rules itself (the codec: one call less per message)."""

DECODERS: dict[str, Callable[[bytes], Any]] = {
    name: _entry(name, read) for name, read in READERS.items()
}
"""Public decoder name → fast decoder (raises Fallback when it declines)."""

ENCODERS: dict[type, Callable[[Any], bytes]] = {
    t.cls: _guarded(f"encode_{t.cls.__name__}", _generated[_compiler.writer(t)]) for t in _ENCODED
}
"""``type(obj)`` → fast encoder of ``encode(obj)`` (raises Fallback when it declines)."""

FIELD_ENCODERS: dict[type, Callable[..., bytes]] = {
    t.cls: _guarded_fields(f"encode_{t.cls.__name__}", _generated[_compiler.fields_writer(t)])
    for t in _BUILT_FROM_FIELDS
}
"""``cls`` → fast encoder of ``encode(cls(**fields))`` called as ``f(**fields)``, without
the object (raises Fallback when it declines, TypeError for a missing or unknown field).
The fast path alone, for checking it (tests/test_asn1_encode_fields.py): the codec
uses ``FIELD_ENCODERS_WITH_MODEL``, the same lines with the model behind them."""

FIELD_ENCODERS_WITH_MODEL: dict[type, Callable[..., bytes]] = {
    t.cls: _generated["model_" + _compiler.fields_writer(t)] for t in _BUILT_FROM_FIELDS
}
"""``cls`` → ``encode(cls(**fields))`` called as ``f(**fields)``: the fast path, and
for what it declines the model's encoder (``use_model_encoder``), so no Fallback."""


def use_model_encoder(encode: Callable[[Any], bytes]) -> None:
    """The encoder ``FIELD_ENCODERS_WITH_MODEL`` falls back to (the codec's; this module
    cannot import it)."""
    _model_encoder[0] = encode


encode_method_data = _guarded(
    "encode_method_data", _generated[_compiler.writer(schema.METHOD_DATA)]
)
"""METHOD-DATA from a tuple or list of PAData."""
encode_etype_info2 = _guarded(
    "encode_etype_info2", _generated[_compiler.writer(schema.ETYPE_INFO2)]
)
"""ETYPE-INFO2 from a tuple or list of ETypeInfo2Entry."""


def generated_source(*names: str) -> str:
    """The source of the generated functions whose names contain one of ``names`` (all
    by default), e.g. ``print(fast.generated_source("KdcReq"))``."""
    return "\n\n".join(
        "\n".join(lines)
        for name, lines in _compiler.source.items()
        if not names or any(n in name for n in names)
    )
