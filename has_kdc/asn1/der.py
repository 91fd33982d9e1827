"""A minimal DER tag-length-value reader.

pyasn1 decodes against a schema but says little about *where* input went wrong and
cannot tell which bytes a field came from. This reader fills both gaps: it checks
that every constructed element of a message tiles its parent exactly (so truncated or
garbled input is reported with an offset before pyasn1 sees it), and it returns the
byte span of a field, which is how ``KdcReq.req_body_der`` and ``Ticket.ticket_der``
are taken from the packet as received.

Spans are ``(start, end)`` offsets into the original bytes, ``end`` exclusive.
"""

from __future__ import annotations

from has_kdc.asn1.errors import Asn1Error

CLASS_UNIVERSAL = 0x00
CLASS_APPLICATION = 0x40
CLASS_CONTEXT = 0x80
CONSTRUCTED = 0x20

# Identifier octets of the universal types RFC 4120 uses (X.690 §8.1.2, §8.19-8.23)
BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
GENERALIZED_TIME = 0x18
GENERAL_STRING = 0x1B
SEQUENCE = 0x30  # SEQUENCE and SEQUENCE OF, always constructed


def context_tag(number: int) -> int:
    """Identifier octet of ``[number] EXPLICIT``: context class, constructed (number < 31)."""
    return CLASS_CONTEXT | CONSTRUCTED | number


def application_tag(number: int) -> int:
    """Identifier octet of ``[APPLICATION number]``, constructed (number < 31)."""
    return CLASS_APPLICATION | CONSTRUCTED | number


MAX_DEPTH = 48  # RFC 4120 messages nest about 12 deep; anything far deeper is hostile
#: Longest INTEGER content accepted, as MIT's decoder (asn1_decode_int refuses more
#: than an intmax_t): every INTEGER of RFC 4120 is an Int32, UInt32 or Microseconds,
#: and a 30 KB one would be a number with 70,000 digits to carry around.
MAX_INTEGER_BYTES = 8
#: Most elements a message may have. Requests and replies have 30 to 70 (a TGS-REQ
#: with FAST armour: 46); the pyasn1 model takes tens of microseconds an element, so
#: a 64 KB datagram of 30,000 tiny elements would hold the KDC for a second. MIT has
#: no such limit, but neither does any client send a thousandth of that.
MAX_ELEMENTS = 1024

_CLASS_NAMES = {0x00: "UNIVERSAL", 0x40: "APPLICATION", 0x80: "CONTEXT", 0xC0: "PRIVATE"}


def describe_tag(identifier: int, number: int) -> str:
    """``[APPLICATION 10]``-style text for an error message."""
    cls = identifier & 0xC0
    if cls == CLASS_CONTEXT:
        return f"[{number}]"
    return f"[{_CLASS_NAMES[cls]} {number}]"


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    """Read the header of the element starting at ``pos`` (which must end by ``end``).

    Returns ``(identifier_octet, tag_number, content_start, content_end)``.
    """
    if pos >= end:
        raise Asn1Error(f"truncated DER: expected a tag at offset {pos}, input ends")
    identifier = data[pos]
    number = identifier & 0x1F
    p = pos + 1
    if number == 0x1F:  # high tag number form
        number = 0
        while True:
            if p >= end:
                raise Asn1Error(f"truncated DER: tag at offset {pos} is cut short")
            b = data[p]
            p += 1
            number = (number << 7) | (b & 0x7F)
            if not b & 0x80:
                break
            if number > 0xFFFFFF:
                raise Asn1Error(f"garbled DER: tag number too large at offset {pos}")
    if p >= end:
        raise Asn1Error(f"truncated DER: expected a length at offset {p}, input ends")
    first = data[p]
    p += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise Asn1Error(f"not DER: indefinite length at offset {p - 1}")
    else:
        n = first & 0x7F
        if n > 4:
            raise Asn1Error(f"garbled DER: {n}-byte length field at offset {p - 1}")
        if p + n > end:
            raise Asn1Error(f"truncated DER: length field at offset {p - 1} is cut short")
        length = int.from_bytes(data[p : p + n], "big")
        p += n
    content_end = p + length
    if content_end > end:
        raise Asn1Error(
            f"truncated DER: element at offset {pos} declares {length} content bytes, "
            f"only {end - p} remain"
        )
    return identifier, number, p, content_end


def check_structure(data: bytes, what: str) -> None:
    """Check that ``data`` is exactly one DER element whose constructed parts all nest,
    with at most ``MAX_ELEMENTS`` elements and INTEGERs of at most ``MAX_INTEGER_BYTES``.

    Raises Asn1Error naming ``what`` and the offset of the first problem, including
    trailing bytes after the element.
    """
    end = len(data)
    if end == 0:
        raise Asn1Error(f"{what}: empty input")
    try:
        _, _, c_start, c_end = read_header(data, 0, end)
    except Asn1Error as err:
        raise Asn1Error(f"{what}: {err}") from None
    if c_end != end:
        raise Asn1Error(f"{what}: {end - c_end} trailing bytes after the message at offset {c_end}")
    if not data[0] & CONSTRUCTED:
        return
    # Iterative walk: a stack of (position, end) of constructed contents still to read.
    stack = [(c_start, c_end)]
    elements = 1
    while stack:
        pos, stop = stack.pop()
        if pos >= stop:
            continue
        try:
            identifier, _, s, e = read_header(data, pos, stop)
        except Asn1Error as err:
            raise Asn1Error(f"{what}: {err}") from None
        elements += 1
        if elements > MAX_ELEMENTS:
            raise Asn1Error(f"{what}: more than {MAX_ELEMENTS} elements (at offset {pos})")
        stack.append((e, stop))
        if identifier == INTEGER and e - s > MAX_INTEGER_BYTES:
            raise Asn1Error(
                f"{what}: INTEGER of {e - s} bytes at offset {pos}, "
                f"over the {MAX_INTEGER_BYTES} bytes of a 64-bit number"
            )
        if identifier & CONSTRUCTED:
            if len(stack) > MAX_DEPTH:
                raise Asn1Error(f"{what}: nesting deeper than {MAX_DEPTH} at offset {pos}")
            stack.append((s, e))


def too_many_elements(data: bytes) -> bool:
    """Whether ``data`` holds more than ``MAX_ELEMENTS`` elements, as far as it can be
    read (the walk stops at the first element over the limit, or the first that does
    not parse: explaining that is ``check_structure``'s job)."""
    if len(data) <= 2 * MAX_ELEMENTS:  # each element takes two bytes at least
        return False
    stack = [(0, len(data))]
    elements = 0
    try:
        while stack:
            pos, stop = stack.pop()
            if pos >= stop:
                continue
            identifier, _, s, e = read_header(data, pos, stop)
            elements += 1
            if elements > MAX_ELEMENTS:
                return True
            stack.append((e, stop))
            if identifier & CONSTRUCTED:
                if len(stack) > MAX_DEPTH:
                    return False
                stack.append((s, e))
    except Asn1Error:
        return False
    return False


def element_span(data: bytes, pos: int) -> tuple[int, int]:
    """Span of the whole element (header and content) starting at ``pos``."""
    _, _, _, e = read_header(data, pos, len(data))
    return pos, e


def content_span(data: bytes, pos: int) -> tuple[int, int]:
    """Span of the content of the element starting at ``pos``."""
    _, _, s, e = read_header(data, pos, len(data))
    return s, e


def children(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the elements that make up the content ``data[start:end]``."""
    spans = []
    pos = start
    while pos < end:
        _, _, _, e = read_header(data, pos, end)
        spans.append((pos, e))
        pos = e
    return spans


def context_field(data: bytes, start: int, end: int, number: int) -> tuple[int, int] | None:
    """In the SEQUENCE content ``data[start:end]``, the span of the element inside the
    explicit context tag ``[number]``, or None when the field is absent."""
    pos = start
    while pos < end:
        identifier, tag, s, e = read_header(data, pos, end)
        if identifier & 0xC0 == CLASS_CONTEXT and tag == number:
            return element_span(data, s)
        pos = e
    return None
